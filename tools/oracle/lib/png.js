'use strict';
// Small PNG decoder (8-bit gray / gray+alpha / RGB / RGBA / palette, non-interlaced) -> {width, height, channels, data}.
const fs = require('fs');
const zlib = require('zlib');

function paeth(a, b, c) {
  const p = a + b - c;
  const pa = Math.abs(p - a), pb = Math.abs(p - b), pc = Math.abs(p - c);
  return pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
}

function decodePng(path) {
  const buf = fs.readFileSync(path);
  if (buf.readUInt32BE(0) !== 0x89504e47) throw new Error(`${path}: not a PNG`);
  let pos = 8, width = 0, height = 0, bitDepth = 0, colorType = 0, interlace = 0, palette = null;
  const idat = [];
  while (pos < buf.length) {
    const len = buf.readUInt32BE(pos);
    const type = buf.toString('latin1', pos + 4, pos + 8);
    const body = buf.subarray(pos + 8, pos + 8 + len);
    if (type === 'IHDR') {
      width = body.readUInt32BE(0); height = body.readUInt32BE(4);
      bitDepth = body[8]; colorType = body[9]; interlace = body[12];
    } else if (type === 'PLTE') palette = body;
    else if (type === 'IDAT') idat.push(body);
    else if (type === 'IEND') break;
    pos += 12 + len;
  }
  if (bitDepth !== 8 || interlace !== 0) throw new Error(`${path}: only 8-bit non-interlaced PNG supported`);
  const srcChannels = { 0: 1, 2: 3, 3: 1, 4: 2, 6: 4 }[colorType];
  if (!srcChannels) throw new Error(`${path}: unsupported color type ${colorType}`);
  const raw = zlib.inflateSync(Buffer.concat(idat));
  const stride = width * srcChannels;
  const pixels = Buffer.alloc(stride * height);
  for (let y = 0; y < height; y++) {
    const filter = raw[y * (stride + 1)];
    const line = raw.subarray(y * (stride + 1) + 1, (y + 1) * (stride + 1));
    const out = pixels.subarray(y * stride, (y + 1) * stride);
    const prev = y > 0 ? pixels.subarray((y - 1) * stride, y * stride) : null;
    for (let x = 0; x < stride; x++) {
      const a = x >= srcChannels ? out[x - srcChannels] : 0;
      const b = prev ? prev[x] : 0;
      const c = prev && x >= srcChannels ? prev[x - srcChannels] : 0;
      let v = line[x];
      if (filter === 1) v += a;
      else if (filter === 2) v += b;
      else if (filter === 3) v += (a + b) >> 1;
      else if (filter === 4) v += paeth(a, b, c);
      else if (filter !== 0) throw new Error(`${path}: bad filter ${filter}`);
      out[x] = v & 255;
    }
  }
  if (colorType === 3) {
    const rgb = Buffer.alloc(width * height * 3);
    for (let i = 0; i < width * height; i++) palette.copy(rgb, i * 3, pixels[i] * 3, pixels[i] * 3 + 3);
    return { width, height, channels: 3, data: rgb };
  }
  return { width, height, channels: srcChannels, data: pixels };
}

module.exports = { decodePng };
