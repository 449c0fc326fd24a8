#!/usr/bin/env node
'use strict';
// Compares the float .npy outputs of two runs (e.g. ONNX Runtime on quantized_model.onnx against qforge run
// on calibrated_model.onnx):   node npy_diff.js DIR_A DIR_B
// Prints one line per float file of DIR_A:  <name> max_abs=X cosine=Y sqnr_db=Z shape=[...]
// (sqnr of B against A as the reference; inf when identical). Non-float files are compared for equality.
const fs = require('fs');
const path = require('path');
const { readNpy } = require('./lib/npy');

function stats(a, b) {
  let maxAbs = 0, dot = 0, aa = 0, bb = 0, noise = 0;
  for (let i = 0; i < a.length; i++) {
    const x = a[i], y = b[i], d = x - y;
    maxAbs = Math.max(maxAbs, Math.abs(d));
    dot += x * y; aa += x * x; bb += y * y; noise += d * d;
  }
  const cosine = aa === 0 && bb === 0 ? 1 : aa === 0 || bb === 0 ? 0 : dot / Math.sqrt(aa * bb);
  const sqnr = noise === 0 ? Infinity : 10 * Math.log10(aa / noise);
  return { maxAbs, cosine, sqnr };
}

function main() {
  const [dirA, dirB] = process.argv.slice(2);
  if (!dirA || !dirB) { console.error('usage: npy_diff.js DIR_A DIR_B'); process.exit(2); }
  let failed = false;
  for (const file of fs.readdirSync(dirA).filter((f) => f.endsWith('.npy')).sort()) {
    const a = readNpy(path.join(dirA, file));
    const fileB = path.join(dirB, file);
    if (!fs.existsSync(fileB)) { console.log(`${file} missing in ${dirB}`); failed = true; continue; }
    const b = readNpy(fileB);
    if (a.shape.join(',') !== b.shape.join(',')) { console.log(`${file} shape [${a.shape}] vs [${b.shape}]`); failed = true; continue; }
    if (!a.dtype.startsWith('float')) {
      const same = a.data.every((v, i) => v === b.data[i]);
      console.log(`${file.slice(0, -4)} equal=${same} shape=[${a.shape}]`);
      failed = failed || !same;
      continue;
    }
    const s = stats(a.data, b.data);
    console.log(`${file.slice(0, -4)} max_abs=${s.maxAbs.toExponential(3)} cosine=${s.cosine.toFixed(6)} sqnr_db=${s.sqnr === Infinity ? 'inf' : s.sqnr.toFixed(2)} shape=[${a.shape}]`);
  }
  process.exit(failed ? 1 : 0);
}

main();
