'use strict';
// Image helpers mirroring what OpenCV does in PaddleOCR's preprocessing. Images are
// {width, height, channels: 3, data: Float32Array HWC} in BGR order (as cv2.imread returns).

function toBgr(png) {
  const { width, height, channels, data } = png;
  const out = new Float32Array(width * height * 3);
  for (let i = 0; i < width * height; i++) {
    if (channels <= 2) { out[i * 3] = out[i * 3 + 1] = out[i * 3 + 2] = data[i * channels]; continue; }
    out[i * 3] = data[i * channels + 2]; out[i * 3 + 1] = data[i * channels + 1]; out[i * 3 + 2] = data[i * channels];
  }
  return { width, height, channels: 3, data: out };
}

// cv2.resize(..., INTER_LINEAR): half-pixel centres, edge clamped, result rounded to uint8 like cv2 on uint8 input.
function resizeBilinear(img, newW, newH) {
  const { width, height, channels, data } = img;
  const out = new Float32Array(newW * newH * channels);
  const sx = width / newW, sy = height / newH;
  for (let y = 0; y < newH; y++) {
    let fy = (y + 0.5) * sy - 0.5;
    if (fy < 0) fy = 0;
    let y0 = Math.floor(fy); if (y0 > height - 1) y0 = height - 1;
    const y1 = Math.min(y0 + 1, height - 1);
    const wy = Math.min(fy - y0, 1);
    for (let x = 0; x < newW; x++) {
      let fx = (x + 0.5) * sx - 0.5;
      if (fx < 0) fx = 0;
      let x0 = Math.floor(fx); if (x0 > width - 1) x0 = width - 1;
      const x1 = Math.min(x0 + 1, width - 1);
      const wx = Math.min(fx - x0, 1);
      for (let c = 0; c < channels; c++) {
        const p00 = data[(y0 * width + x0) * channels + c], p01 = data[(y0 * width + x1) * channels + c];
        const p10 = data[(y1 * width + x0) * channels + c], p11 = data[(y1 * width + x1) * channels + c];
        const v = (p00 * (1 - wx) + p01 * wx) * (1 - wy) + (p10 * (1 - wx) + p11 * wx) * wy;
        out[(y * newW + x) * channels + c] = Math.min(255, Math.max(0, Math.round(v)));
      }
    }
  }
  return { width: newW, height: newH, channels, data: out };
}

function crop(img, x0, y0, x1, y1) {
  x0 = Math.max(0, x0); y0 = Math.max(0, y0); x1 = Math.min(img.width, x1); y1 = Math.min(img.height, y1);
  const w = x1 - x0, h = y1 - y0, c = img.channels;
  const out = new Float32Array(w * h * c);
  for (let y = 0; y < h; y++) out.set(img.data.subarray(((y0 + y) * img.width + x0) * c, ((y0 + y) * img.width + x1) * c), y * w * c);
  return { width: w, height: h, channels: c, data: out };
}

function rotate180(img) {
  const { width, height, channels, data } = img;
  const out = new Float32Array(data.length);
  const n = width * height;
  for (let i = 0; i < n; i++) for (let c = 0; c < channels; c++) out[(n - 1 - i) * channels + c] = data[i * channels + c];
  return { width, height, channels, data: out };
}

// HWC image -> CHW Float32Array of size C*H*padW with (x/255 - mean[c]) / std[c]; columns >= width stay 0 (PaddleOCR pads with 0).
function normalizeChw(img, mean, std, padW = img.width) {
  const { width, height, channels, data } = img;
  const out = new Float32Array(channels * height * padW);
  for (let c = 0; c < channels; c++)
    for (let y = 0; y < height; y++)
      for (let x = 0; x < width; x++)
        out[(c * height + y) * padW + x] = (data[(y * width + x) * channels + c] / 255 - mean[c]) / std[c];
  return out;
}

module.exports = { toBgr, resizeBilinear, crop, rotate180, normalizeChw };
