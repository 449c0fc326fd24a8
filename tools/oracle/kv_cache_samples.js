#!/usr/bin/env node
'use strict';
// Second-step samples for a KV-cache decoder, made from its first-step samples with the float model in
// ONNX Runtime (CPU, graph optimisation disabled):
//   node kv_cache_samples.js --model M.onnx --inputs DIR --output-dir OUT
// DIR holds one folder per sample (<input>.npy each, as `qforge run` reads them) for the first decoding
// step: the prompt of T >= 2 tokens and an empty cache. For each sample the script runs the model on the
// prompt minus its last token, takes the cache it returns, and writes OUT/<sample>/ for the next step: the
// last token alone, fed with that cache (same input names, same layout; sample folders keep their names).
//
// Convention (checked; anything else is an error naming the input):
// - cache inputs are the float inputs whose first-step array has a zero-length dimension; each is named
//   past_key_values.N.X and its next-step value is the model output present.N.X (Hugging Face's
//   optimum/transformers.js export names);
// - an input named attention_mask covers the cache plus the new tokens: [B, T-1] for the prefix run,
//   [B, T] (its full first-step value) for the next step;
// - every other input is per token, [B, T] with the prompt's T (input_ids, position_ids, token_type_ids):
//   its first T-1 columns for the prefix run, its last column for the next step (so position_ids become
//   [[T-1]] when the prompt's were 0..T-1).
const fs = require('fs');
const path = require('path');
const { readNpy, writeNpy, sanitize } = require('./lib/npy');
const { requireCached } = require('./lib/ort');

const PAST = /^past_key_values\.(\d+)\.(.+)$/;
const FLOATS = new Set(['float32', 'float16', 'float64']);

function usage(msg) {
  if (msg) console.error(`kv_cache_samples: ${msg}`);
  console.error('usage: kv_cache_samples.js --model M.onnx --inputs DIR --output-dir OUT');
  process.exit(2);
}

function parseArgs(argv) {
  const opts = {};
  const keys = { '--model': 'model', '--inputs': 'inputs', '--output-dir': 'outputDir' };
  for (let i = 0; i < argv.length; i++) {
    const key = keys[argv[i]];
    if (!key) usage(`unknown argument ${argv[i]}`);
    if (i + 1 >= argv.length) usage(`${argv[i]} needs a value`);
    opts[key] = argv[++i];
  }
  if (!opts.model || !opts.inputs || !opts.outputDir) usage('--model, --inputs and --output-dir are required');
  return opts;
}

// Sample folders of DIR, sorted, hidden ones ignored (as qforge reads them).
function sampleFolders(dir) {
  return fs.readdirSync(dir, { withFileTypes: true })
    .filter((e) => e.isDirectory() && !e.name.startsWith('.'))
    .map((e) => e.name)
    .sort();
}

// Columns [from, to) of a [B, T] array.
function columns(arr, from, to) {
  const [b, t] = arr.shape;
  const Ctor = arr.data.constructor;
  const data = new Ctor(b * (to - from));
  for (let r = 0; r < b; r++) data.set(arr.data.subarray(r * t + from, r * t + to), r * (to - from));
  return { dtype: arr.dtype, shape: [b, to - from], data };
}

// Splits one sample's inputs by the convention above; throws naming the input that breaks it.
function classify(session, arrays, where) {
  const past = [], perToken = [];
  let mask = null;
  for (const name of session.inputNames) {
    const a = arrays[name];
    if (FLOATS.has(a.dtype) && a.shape.includes(0)) {
      const m = PAST.exec(name);
      if (!m) throw new Error(`${where}: empty float input '${name}' is not named past_key_values.N.X`);
      const present = `present.${m[1]}.${m[2]}`;
      if (!session.outputNames.includes(present)) throw new Error(`${where}: cache input '${name}' has no output '${present}'`);
      past.push({ name, present });
    } else if (PAST.test(name)) {
      throw new Error(`${where}: cache input '${name}' is not empty ([${a.shape}]): not a first-step sample`);
    } else if (a.shape.length !== 2) {
      throw new Error(`${where}: input '${name}' has shape [${a.shape}], expected [batch, tokens]`);
    } else if (name === 'attention_mask') {
      mask = name;
    } else {
      perToken.push(name);
    }
  }
  if (past.length === 0) throw new Error(`${where}: no empty past_key_values.N.X input: not a first-step sample`);
  if (perToken.length === 0) throw new Error(`${where}: no per-token input (input_ids)`);
  const t = arrays[perToken[0]].shape[1];
  for (const name of perToken.concat(mask ? [mask] : [])) {
    if (arrays[name].shape[1] !== t) throw new Error(`${where}: input '${name}' has ${arrays[name].shape[1]} tokens, '${perToken[0]}' ${t}`);
  }
  if (t < 2) throw new Error(`${where}: the prompt has ${t} token(s); a second step needs at least 2`);
  return { past, perToken, mask, t };
}

async function secondStep(ort, session, model, inDir, outDir) {
  const arrays = {};
  for (const name of session.inputNames) {
    const file = path.join(inDir, `${sanitize(name)}.npy`);
    if (!fs.existsSync(file)) throw new Error(`${inDir}: input '${name}' has no file ${file}`);
    arrays[name] = readNpy(file);
  }
  const { past, perToken, mask, t } = classify(session, arrays, inDir);
  const tensor = (a) => new ort.Tensor(a.dtype, a.data, a.shape);
  const feeds = {};
  for (const name of perToken.concat(mask ? [mask] : [])) feeds[name] = tensor(columns(arrays[name], 0, t - 1));
  for (const p of past) feeds[p.name] = tensor(arrays[p.name]);
  const results = await session.run(feeds, past.map((p) => p.present));

  fs.mkdirSync(outDir, { recursive: true });
  const write = (name, a) => writeNpy(path.join(outDir, `${sanitize(name)}.npy`), a.dtype, a.shape, a.data);
  for (const name of perToken) write(name, columns(arrays[name], t - 1, t));
  if (mask) write(mask, arrays[mask]);
  for (const p of past) {
    const r = results[p.present];
    write(p.name, { dtype: r.type, shape: r.dims, data: r.data });
  }
  fs.writeFileSync(path.join(outDir, 'SOURCE.txt'),
    `second decoding step of ${inDir} (tools/oracle/kv_cache_samples.js): cache = present.* of ${path.basename(model)} ` +
    `on the first ${t - 1} of ${t} prompt tokens, input = the last token\n`);
}

async function main() {
  const opts = parseArgs(process.argv.slice(2));
  const ort = requireCached('onnxruntime-node');
  ort.env.logLevel = 'error';
  const session = await ort.InferenceSession.create(opts.model, {
    executionProviders: ['cpu'], graphOptimizationLevel: 'disabled', intraOpNumThreads: 1,
    interOpNumThreads: 1, executionMode: 'sequential', logSeverityLevel: 3,
  });
  const samples = sampleFolders(opts.inputs);
  if (samples.length === 0) throw new Error(`${opts.inputs}: no sample folders`);
  for (const s of samples) await secondStep(ort, session, opts.model, path.join(opts.inputs, s), path.join(opts.outputDir, s));
  await session.release();
  console.log(`kv_cache_samples: wrote ${samples.length} second-step sample(s) to ${opts.outputDir}`);
}

main().catch((e) => {
  console.error(`kv_cache_samples: ${e && e.message ? e.message : e}`);
  process.exit(1);
});
