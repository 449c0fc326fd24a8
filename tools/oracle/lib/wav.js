'use strict';
// 16-bit PCM WAV reader -> {sampleRate, channels, samples: Int16Array (first channel)}.
const fs = require('fs');

function readWav(path) {
  const buf = fs.readFileSync(path);
  if (buf.toString('latin1', 0, 4) !== 'RIFF' || buf.toString('latin1', 8, 12) !== 'WAVE') throw new Error(`${path}: not a WAV file`);
  let pos = 12, fmt = null;
  while (pos + 8 <= buf.length) {
    const id = buf.toString('latin1', pos, pos + 4);
    const len = buf.readUInt32LE(pos + 4);
    if (id === 'fmt ') fmt = { format: buf.readUInt16LE(pos + 8), channels: buf.readUInt16LE(pos + 10), sampleRate: buf.readUInt32LE(pos + 12), bits: buf.readUInt16LE(pos + 22) };
    else if (id === 'data') {
      if (!fmt || fmt.format !== 1 || fmt.bits !== 16) throw new Error(`${path}: only 16-bit PCM supported`);
      const n = Math.floor(Math.min(len, buf.length - pos - 8) / (2 * fmt.channels));
      const samples = new Int16Array(n);
      for (let i = 0; i < n; i++) samples[i] = buf.readInt16LE(pos + 8 + i * 2 * fmt.channels);
      return { sampleRate: fmt.sampleRate, channels: fmt.channels, samples };
    }
    pos += 8 + len + (len & 1);
  }
  throw new Error(`${path}: no data chunk`);
}

module.exports = { readWav };
