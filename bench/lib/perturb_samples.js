#!/usr/bin/env node
'use strict';
// Grows a small calibration set into N samples for memory benchmarks: sample k is a copy of real sample
// k % R (R = number of real samples), and every copy past the first R gets small deterministic noise on its
// floating-point tensors (uniform in +-noise * std of that tensor, seeded by k). Integer tensors (ids, sample
// rates) are copied unchanged. The result is NOT new data: it only exercises the sample count.
//   node bench/lib/perturb_samples.js --src DIR --dst DIR --count N [--noise 0.02]
// DIR/sample_NNN/<input>.npy layout on both sides; other files (SOURCE.txt) are not copied, each output
// sample gets its own SOURCE.txt naming its origin.
const fs = require('fs');
const path = require('path');
const { readNpy, writeNpy } = require('../../tools/oracle/lib/npy.js');

function parseArgs(argv) {
  const args = { noise: 0.02 };
  for (let i = 0; i < argv.length; i += 2) {
    const key = argv[i].replace(/^--/, '');
    if (!['src', 'dst', 'count', 'noise'].includes(key) || i + 1 >= argv.length) {
      throw new Error(`perturb_samples: bad argument ${argv[i]}`);
    }
    args[key] = argv[i + 1];
  }
  if (!args.src || !args.dst || !args.count) throw new Error('perturb_samples: --src, --dst and --count are required');
  args.count = Number(args.count);
  args.noise = Number(args.noise);
  return args;
}

// mulberry32: tiny seeded PRNG, so the same k always gets the same noise.
function prng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function stddev(data) {
  let sum = 0, sumSq = 0;
  for (let i = 0; i < data.length; ++i) { sum += data[i]; sumSq += data[i] * data[i]; }
  const mean = sum / data.length;
  return Math.sqrt(Math.max(0, sumSq / data.length - mean * mean));
}

function main() {
  const args = parseArgs(process.argv.slice(2));
  const real = fs.readdirSync(args.src).filter((d) => fs.statSync(path.join(args.src, d)).isDirectory()).sort();
  if (real.length === 0) throw new Error(`perturb_samples: no sample folders in ${args.src}`);
  // Load the real samples once; they are small compared with the copies.
  const tensors = real.map((d) => fs.readdirSync(path.join(args.src, d)).filter((f) => f.endsWith('.npy')).sort()
    .map((f) => ({ file: f, ...readNpy(path.join(args.src, d, f)) })));
  const width = Math.max(3, String(args.count - 1).length);
  for (let k = 0; k < args.count; ++k) {
    const r = k % real.length;
    const perturbed = k >= real.length;
    const dir = path.join(args.dst, `sample_${String(k).padStart(width, '0')}`);
    fs.mkdirSync(dir, { recursive: true });
    const rand = prng(0x9e3779b9 ^ (k * 2654435761));
    for (const t of tensors[r]) {
      let data = t.data;
      if (perturbed && (t.dtype === 'float32' || t.dtype === 'float64')) {
        const amplitude = args.noise * stddev(t.data);
        data = new t.data.constructor(t.data.length);
        for (let i = 0; i < data.length; ++i) data[i] = t.data[i] + amplitude * (2 * rand() - 1);
      }
      writeNpy(path.join(dir, t.file), t.dtype, t.shape, data);
    }
    fs.writeFileSync(path.join(dir, 'SOURCE.txt'), perturbed
      ? `perturbed copy of ${path.join(args.src, real[r])}: uniform noise +-${args.noise} * std per float tensor, seed k=${k}\n`
      : `exact copy of ${path.join(args.src, real[r])}\n`);
  }
}

try { main(); } catch (e) { console.error(e.message); process.exit(1); }
