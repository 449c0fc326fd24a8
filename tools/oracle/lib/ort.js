'use strict';
// Locates the npm install made by scripts/fetch_models.sh (.cache/npm) and loads onnxruntime-node from it.
const path = require('path');
const fs = require('fs');

const REPO_ROOT = path.resolve(__dirname, '..', '..', '..');
const NPM_DIR = process.env.QF_NPM_DIR || path.join(REPO_ROOT, '.cache', 'npm');
const NODE_MODULES = path.join(NPM_DIR, 'node_modules');

function requireCached(name) {
  const dir = path.join(NODE_MODULES, name);
  if (!fs.existsSync(dir)) {
    throw new Error(`${name} not found under ${NODE_MODULES}: run scripts/fetch_models.sh first`);
  }
  return require(dir);
}

module.exports = { REPO_ROOT, NPM_DIR, NODE_MODULES, requireCached };
