// Writes x.br and x.gz beside every compressible file of dist/, so that the
// homeserver (web/web.go) serves them to browsers that accept them without
// compressing anything at run time. Brotli comes from Node's own zlib (Go's
// standard library has no brotli encoder), at the highest quality: the cost
// is paid once per build. A variant is kept only when it is smaller.
import { readdirSync, readFileSync, writeFileSync, unlinkSync } from 'node:fs';
import { join, extname } from 'node:path';
import { brotliCompressSync, gzipSync, constants } from 'node:zlib';

const dist = new URL('../dist/', import.meta.url).pathname;
const compressible = new Set(['.js', '.mjs', '.css', '.html', '.svg', '.json', '.txt', '.wasm', '.map', '.webmanifest', '.ico']);
const minSize = 1024; // below this, headers outweigh the saving

function* walk(dir) {
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    if (e.name.startsWith('.')) continue;
    const p = join(dir, e.name);
    if (e.isDirectory()) yield* walk(p);
    else yield p;
  }
}

let files = 0, raw = 0, br = 0, gz = 0;
for (const p of walk(dist)) {
  const ext = extname(p);
  if (ext === '.br' || ext === '.gz' || !compressible.has(ext)) continue;
  const data = readFileSync(p);
  for (const suffix of ['.gz', '.br']) {
    try { unlinkSync(p + suffix); } catch { /* none from an earlier build */ }
  }
  if (data.length < minSize) continue;
  const b = brotliCompressSync(data, {
    params: {
      [constants.BROTLI_PARAM_QUALITY]: constants.BROTLI_MAX_QUALITY,
      [constants.BROTLI_PARAM_SIZE_HINT]: data.length,
      [constants.BROTLI_PARAM_MODE]: ext === '.wasm' ? constants.BROTLI_MODE_GENERIC : constants.BROTLI_MODE_TEXT,
    },
  });
  const g = gzipSync(data, { level: 9 });
  files++; raw += data.length;
  if (b.length < data.length) { writeFileSync(p + '.br', b); br += b.length; } else br += data.length;
  if (g.length < data.length) { writeFileSync(p + '.gz', g); gz += g.length; } else gz += data.length;
}
const kb = (n) => (n / 1024).toFixed(1) + ' KiB';
console.log(`precompress: ${files} files, ${kb(raw)} raw, ${kb(gz)} gzip, ${kb(br)} brotli`);
