#!/usr/bin/env node
'use strict';
// ONNX Runtime (CPU) oracle with the same command line as `qforge run`:
//   node ort_run.js --model M.onnx --inputs DIR --output-dir OUT [--threads N] [--benchmark N]
//                   [--opt-level disabled|basic|extended|all]
// DIR holds <input>.npy per runtime input; OUT receives <output>.npy (names sanitized like qforge).
// --benchmark N: one warm-up run, then N timed runs of session.run alone (no loading), printing
//   latency_ms median=X min=Y max=Z runs=N threads=T   (the same line as qforge run --benchmark)
const fs = require('fs');
const path = require('path');
const { readNpy, writeNpy, sanitize } = require('./lib/npy');
const { requireCached } = require('./lib/ort');

function usage(msg) {
  if (msg) console.error(`ort_run: ${msg}`);
  console.error('usage: ort_run.js --model M.onnx --inputs DIR [--output-dir OUT] [--threads N] [--benchmark N] [--opt-level L]');
  process.exit(2);
}

function parseArgs(argv) {
  const opts = { threads: 1, benchmark: 0, optLevel: 'disabled' };
  const keys = { '--model': 'model', '--inputs': 'inputs', '--output-dir': 'outputDir', '--threads': 'threads',
    '--benchmark': 'benchmark', '--opt-level': 'optLevel' };
  for (let i = 0; i < argv.length; i++) {
    const key = keys[argv[i]];
    if (!key) usage(`unknown argument ${argv[i]}`);
    if (i + 1 >= argv.length) usage(`${argv[i]} needs a value`);
    opts[key] = argv[++i];
  }
  opts.threads = Number(opts.threads);
  opts.benchmark = Number(opts.benchmark);
  if (!opts.model || !opts.inputs) usage('--model and --inputs are required');
  if (!opts.outputDir && !opts.benchmark) usage('--output-dir or --benchmark is required');
  if (!Number.isInteger(opts.threads) || opts.threads < 1) usage('--threads must be a positive integer');
  if (!Number.isInteger(opts.benchmark) || opts.benchmark < 0) usage('--benchmark must be a non-negative integer');
  return opts;
}

function median(sorted) {
  const n = sorted.length;
  return n % 2 ? sorted[(n - 1) / 2] : (sorted[n / 2 - 1] + sorted[n / 2]) / 2;
}

async function main() {
  const opts = parseArgs(process.argv.slice(2));
  const ort = requireCached('onnxruntime-node');
  ort.env.logLevel = 'error';
  const session = await ort.InferenceSession.create(opts.model, {
    executionProviders: ['cpu'],
    graphOptimizationLevel: opts.optLevel,
    intraOpNumThreads: opts.threads,
    interOpNumThreads: 1,
    executionMode: 'sequential',
    logSeverityLevel: 3,
    // With optimisation on, ORT fuses DequantizeLinear -> MatMul into MatMulNBits and by default (level 4)
    // quantizes the float activations to int8 on the fly: an approximation of its own on top of the export.
    // Level 0 keeps them float, so the oracle checks the exported weights' arithmetic.
    extra: { session: { qdq_matmulnbits_accuracy_level: '0' } },
  });

  const feeds = {};
  for (const name of session.inputNames) {
    const file = path.join(opts.inputs, `${sanitize(name)}.npy`);
    if (!fs.existsSync(file)) throw new Error(`${opts.model}: input '${name}' has no file ${file}`);
    const arr = readNpy(file);
    feeds[name] = new ort.Tensor(arr.dtype, arr.data, arr.shape);
  }

  const results = await session.run(feeds);
  if (opts.outputDir) {
    fs.mkdirSync(opts.outputDir, { recursive: true });
    for (const name of session.outputNames) {
      const t = results[name];
      writeNpy(path.join(opts.outputDir, `${sanitize(name)}.npy`), t.type, t.dims, t.data);
    }
  }

  if (opts.benchmark > 0) {
    const times = [];
    for (let i = 0; i < opts.benchmark; i++) {
      const t0 = process.hrtime.bigint();
      await session.run(feeds);
      times.push(Number(process.hrtime.bigint() - t0) / 1e6);
    }
    times.sort((a, b) => a - b);
    console.log(`latency_ms median=${median(times).toFixed(4)} min=${times[0].toFixed(4)} max=${times[times.length - 1].toFixed(4)} runs=${times.length} threads=${opts.threads}`);
  }
  await session.release();
}

main().catch((e) => {
  console.error(`ort_run: ${e && e.message ? e.message : e}`);
  process.exit(1);
});
