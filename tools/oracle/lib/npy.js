'use strict';
// Minimal NumPy .npy reader/writer (format 1.0/2.0/3.0, C order, little endian).
const fs = require('fs');

// numpy descr <-> our dtype names (ONNX Runtime tensor type names).
const DESCR_TO_DTYPE = {
  '<f4': 'float32', '<f8': 'float64', '<f2': 'float16',
  '<i8': 'int64', '<i4': 'int32', '<i2': 'int16', '|i1': 'int8',
  '<u8': 'uint64', '<u4': 'uint32', '<u2': 'uint16', '|u1': 'uint8', '|b1': 'bool',
};
const DTYPE_TO_DESCR = Object.fromEntries(Object.entries(DESCR_TO_DTYPE).map(([k, v]) => [v, k]));
const ARRAY_OF = {
  float32: Float32Array, float64: Float64Array, float16: Uint16Array,
  int64: BigInt64Array, int32: Int32Array, int16: Int16Array, int8: Int8Array,
  uint64: BigUint64Array, uint32: Uint32Array, uint16: Uint16Array, uint8: Uint8Array, bool: Uint8Array,
};

function parseHeader(text) {
  const descr = /'descr'\s*:\s*'([^']+)'/.exec(text);
  const fortran = /'fortran_order'\s*:\s*(True|False)/.exec(text);
  const shape = /'shape'\s*:\s*\(([^)]*)\)/.exec(text);
  if (!descr || !fortran || !shape) throw new Error(`bad npy header: ${text}`);
  let d = descr[1];
  if (d === '<b1' || d === '=b1') d = '|b1';
  if (d === '<i1') d = '|i1';
  if (d === '<u1') d = '|u1';
  if (d[0] === '=') d = '<' + d.slice(1);
  const dims = shape[1].split(',').map((s) => s.trim()).filter((s) => s.length).map(Number);
  return { descr: d, fortran: fortran[1] === 'True', shape: dims };
}

function readNpy(path) {
  const buf = fs.readFileSync(path);
  if (buf.readUInt32BE(0) !== 0x934e554d || buf[4] !== 0x50 || buf[5] !== 0x59) throw new Error(`${path}: not an .npy file`);
  const major = buf[6];
  const headerLen = major === 1 ? buf.readUInt16LE(8) : buf.readUInt32LE(8);
  const headerStart = major === 1 ? 10 : 12;
  const header = parseHeader(buf.toString('latin1', headerStart, headerStart + headerLen));
  if (header.fortran) throw new Error(`${path}: Fortran order not supported`);
  const dtype = DESCR_TO_DTYPE[header.descr];
  if (!dtype) throw new Error(`${path}: unsupported dtype ${header.descr}`);
  const Ctor = ARRAY_OF[dtype];
  const count = header.shape.reduce((a, b) => a * b, 1);
  const start = headerStart + headerLen;
  const bytes = buf.subarray(start, start + count * Ctor.BYTES_PER_ELEMENT);
  if (bytes.length !== count * Ctor.BYTES_PER_ELEMENT) throw new Error(`${path}: truncated data`);
  // Copy into an aligned buffer.
  const data = new Ctor(count);
  new Uint8Array(data.buffer).set(bytes);
  return { dtype, shape: header.shape, data };
}

function writeNpy(path, dtype, shape, data) {
  const descr = DTYPE_TO_DESCR[dtype];
  if (!descr) throw new Error(`writeNpy: unsupported dtype ${dtype}`);
  const shapeStr = shape.length === 0 ? '()' : shape.length === 1 ? `(${shape[0]},)` : `(${shape.join(', ')})`;
  let header = `{'descr': '${descr}', 'fortran_order': False, 'shape': ${shapeStr}, }`;
  const total = 10 + header.length + 1;
  header += ' '.repeat((64 - (total % 64)) % 64) + '\n';
  const pre = Buffer.alloc(10);
  pre.writeUInt32BE(0x934e554d, 0); pre[4] = 0x50; pre[5] = 0x59; pre[6] = 1; pre[7] = 0;
  pre.writeUInt16LE(header.length, 8);
  let body;
  if (dtype === 'bool') body = Buffer.from(Uint8Array.from(data, (v) => (v ? 1 : 0)));
  else if (ArrayBuffer.isView(data)) body = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  else body = Buffer.from(new ARRAY_OF[dtype](data).buffer);
  const count = shape.reduce((a, b) => a * b, 1);
  if (body.length !== count * ARRAY_OF[dtype].BYTES_PER_ELEMENT) throw new Error(`writeNpy ${path}: data size does not match shape`);
  const tmp = `${path}.tmp${process.pid}`;
  fs.writeFileSync(tmp, Buffer.concat([pre, Buffer.from(header, 'latin1'), body]));
  fs.renameSync(tmp, path);
}

// Same rule as qforge: every char outside [A-Za-z0-9._-] becomes '_'.
function sanitize(name) {
  return name.replace(/[^A-Za-z0-9._-]/g, '_');
}

module.exports = { readNpy, writeNpy, sanitize, ARRAY_OF };
