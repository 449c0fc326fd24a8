#!/usr/bin/env node
'use strict';
// Accuracy of a quantized (QDQ) model against its float model, both run in ONNX Runtime's CPU provider
// with the session options of tools/oracle/ort_run.js, on every sample folder of DIR:
//   node bench/lib/ort_accuracy.js --reference FLOAT.onnx --model QDQ.onnx --data DIR [--opt-level disabled|all]
//   node bench/lib/ort_accuracy.js --reference FLOAT.onnx --data DIR --signal
// The second form prints "<sample> <peak>" per sample folder: the smallest over the float outputs of their
// max |y| (0 when an output is all zero on that sample: such a sample cannot be an evaluation sample alone).
// DIR holds sample_*/<input>.npy. Prints one JSON line:
//   {"samples":N,"outputs":[{"name","sqnr","cosine"}],"worst_sqnr":S,"worst_cosine":C}
// per float output: SQNR = 10 log10(sum ref^2 / sum (ref - q)^2) pooled over the samples (null when
// identical), cosine = mean over the samples (the definitions of docs/accuracy.md); worst = min over outputs.
const fs = require('fs');
const path = require('path');
const { readNpy, sanitize } = require('../../tools/oracle/lib/npy');
const { requireCached } = require('../../tools/oracle/lib/ort');

function parseArgs(argv) {
  const opts = { optLevel: 'disabled', signal: false };
  const keys = { '--reference': 'reference', '--model': 'model', '--data': 'data', '--opt-level': 'optLevel' };
  for (let i = 0; i < argv.length; i += 2) {
    if (argv[i] === '--signal') { opts.signal = true; i -= 1; continue; }
    const key = keys[argv[i]];
    if (!key || i + 1 >= argv.length) throw new Error(`bad argument ${argv[i]}`);
    opts[key] = argv[i + 1];
  }
  if (!opts.reference || !opts.data || (!opts.model && !opts.signal)) throw new Error('--reference, --model and --data are required');
  return opts;
}

async function session(ort, file, optLevel) {
  return ort.InferenceSession.create(file, {
    executionProviders: ['cpu'], graphOptimizationLevel: optLevel, intraOpNumThreads: 1, interOpNumThreads: 1,
    executionMode: 'sequential', logSeverityLevel: 3,
    extra: { session: { qdq_matmulnbits_accuracy_level: '0' } },
  });
}

function feedsOf(ort, sess, dir) {
  const feeds = {};
  for (const name of sess.inputNames) {
    const file = path.join(dir, `${sanitize(name)}.npy`);
    if (!fs.existsSync(file)) throw new Error(`input '${name}' has no file ${file}`);
    const arr = readNpy(file);
    feeds[name] = new ort.Tensor(arr.dtype, arr.data, arr.shape);
  }
  return feeds;
}

function accumulate(acc, name, ref, q) {
  if (ref.length !== q.length) throw new Error(`output '${name}': ${ref.length} values vs ${q.length}`);
  let dot = 0, rr = 0, qq = 0, noise = 0;
  for (let i = 0; i < ref.length; i++) {
    const x = ref[i], y = q[i], d = x - y;
    dot += x * y; rr += x * x; qq += y * y; noise += d * d;
  }
  const cosine = rr === 0 && qq === 0 ? 1 : rr === 0 || qq === 0 ? 0 : dot / Math.sqrt(rr * qq);
  const a = acc[name] || (acc[name] = { signal: 0, noise: 0, cosine: 0, n: 0 });
  a.signal += rr; a.noise += noise; a.cosine += cosine; a.n += 1;
}

async function printSignal(ort, ref, data) {
  for (const s of fs.readdirSync(data).filter((d) => d.startsWith('sample_')).sort()) {
    const out = await ref.run(feedsOf(ort, ref, path.join(data, s)));
    let peak = Infinity;
    for (const name of ref.outputNames) {
      if (out[name].type !== 'float32' && out[name].type !== 'float64') continue;
      peak = Math.min(peak, out[name].data.reduce((m, v) => Math.max(m, Math.abs(v)), 0));
    }
    console.log(`${s} ${Number.isFinite(peak) ? peak : 0}`);
  }
}

async function main() {
  const opts = parseArgs(process.argv.slice(2));
  const ort = requireCached('onnxruntime-node');
  ort.env.logLevel = 'error';
  const ref = await session(ort, opts.reference, opts.optLevel);
  if (opts.signal) return printSignal(ort, ref, opts.data);
  const qdq = await session(ort, opts.model, opts.optLevel);
  const samples = fs.readdirSync(opts.data).filter((d) => d.startsWith('sample_')).sort();
  if (samples.length === 0) throw new Error(`no sample_* folder in ${opts.data}`);
  const acc = {};
  for (const s of samples) {
    const dir = path.join(opts.data, s);
    const a = await ref.run(feedsOf(ort, ref, dir));
    const b = await qdq.run(feedsOf(ort, qdq, dir));
    for (const name of ref.outputNames) {
      if (a[name].type !== 'float32' && a[name].type !== 'float64') continue;
      if (!b[name]) throw new Error(`output '${name}' missing in ${opts.model}`);
      accumulate(acc, name, a[name].data, b[name].data);
    }
  }
  const outputs = Object.entries(acc).map(([name, a]) => ({
    name, sqnr: a.noise === 0 ? null : 10 * Math.log10(a.signal / a.noise), cosine: a.cosine / a.n }));
  const worstSqnr = Math.min(...outputs.map((o) => (o.sqnr === null ? Infinity : o.sqnr)));
  const worstCos = Math.min(...outputs.map((o) => o.cosine));
  console.log(JSON.stringify({ samples: samples.length, outputs,
    worst_sqnr: Number.isFinite(worstSqnr) ? worstSqnr : null, worst_cosine: worstCos }));
}

main().catch((e) => {
  console.error(`ort_accuracy: ${e && e.message ? e.message : e}`);
  process.exit(1);
});
