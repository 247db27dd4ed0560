#!/usr/bin/env node
// Size budget of the web client: the gzip size of the JavaScript and CSS that
// dist/index.html makes the browser load before the first screen (its module
// scripts, modulepreloads and stylesheets, plus whatever those scripts import
// statically), beside the total of every chunk including the lazy ones.
// Budget: 120 kB of JS and 20 kB of CSS (gzip, kB = 1000 bytes); the run fails
// only above 1.5x a budget, because figures drift by a few kB between builds
// and the strict targets are tracked in docs/benchmarks.md.
//
// Usage: node scripts/size-budget.mjs [distDir] [--json]
import { readFileSync, readdirSync, statSync, existsSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { join, posix, relative } from 'node:path';

const BUDGET_JS = 120_000;
const BUDGET_CSS = 20_000;
const GATE = 1.5;

const args = process.argv.slice(2);
const json = args.includes('--json');
const dist = args.find((a) => !a.startsWith('--')) ?? new URL('../dist', import.meta.url).pathname;
const indexPath = join(dist, 'index.html');
if (!existsSync(indexPath)) {
  console.error(`size-budget: ${indexPath} is missing; build the client first (npm run build)`);
  process.exit(2);
}
const html = readFileSync(indexPath, 'utf8');

/** Maps a URL path of the page ("/assets/x.js") to the file in dist. */
function fileOf(url) {
  const path = url.split(/[?#]/)[0];
  if (/^[a-z]+:/i.test(path) || path.startsWith('//')) return null; // another origin: not ours
  return join(dist, path.replace(/^\//, ''));
}

const eager = new Set();
const attrs = (tag) => Object.fromEntries([...tag.matchAll(/([\w-]+)\s*=\s*("([^"]*)"|'([^']*)'|([^\s>]+))/g)].map((m) => [m[1].toLowerCase(), m[3] ?? m[4] ?? m[5]]));
for (const m of html.matchAll(/<script\b[^>]*>/gi)) {
  const a = attrs(m[0]);
  if (a.src) eager.add(fileOf(a.src));
}
for (const m of html.matchAll(/<link\b[^>]*>/gi)) {
  const a = attrs(m[0]);
  const rel = (a.rel ?? '').toLowerCase().split(/\s+/);
  if (a.href && (rel.includes('stylesheet') || rel.includes('modulepreload'))) eager.add(fileOf(a.href));
}
eager.delete(null);

// Static imports of eager modules are eager too (dynamic import() is not):
// `import x from "./a.js"`, `import{a}from"./a.js"`, `import "./a.js"`, `export * from "./a.js"`.
const staticImport = /(?:^|[;\n}\s])(?:import|export)\s*(?:[\w$*{}\s,]+?\s*from\s*)?["']([^"']+\.(?:m?js|css))["']/g;
const queue = [...eager].filter((f) => f.endsWith('.js'));
while (queue.length) {
  const file = queue.shift();
  if (!existsSync(file)) continue;
  const src = readFileSync(file, 'utf8');
  for (const m of src.matchAll(staticImport)) {
    const spec = m[1];
    const target = spec.startsWith('/') ? fileOf(spec) : join(file, '..', spec);
    if (!eager.has(target)) {
      eager.add(target);
      if (target.endsWith('.js')) queue.push(target);
    }
  }
}

function walk(dir) {
  return readdirSync(dir).flatMap((n) => {
    const p = join(dir, n);
    return statSync(p).isDirectory() ? walk(p) : [p];
  });
}
const gz = (file) => gzipSync(readFileSync(file), { level: 9 }).length;
const all = walk(dist).filter((f) => /\.(m?js|css)$/.test(f)); // .gz/.br twins are not counted

const rows = [];
const missing = [];
for (const f of eager) {
  if (!existsSync(f)) {
    missing.push(relative(dist, f));
    continue;
  }
  rows.push({ file: relative(dist, f).split('\\').join(posix.sep), raw: statSync(f).size, gzip: gz(f) });
}
const sum = (rs, ext) => rs.filter((r) => ext.test(r.file)).reduce((n, r) => n + r.gzip, 0);
const jsEager = sum(rows, /\.m?js$/);
const cssEager = sum(rows, /\.css$/);
const allRows = all.map((f) => ({ file: relative(dist, f), gzip: gz(f) }));
const jsAll = sum(allRows, /\.m?js$/);
const cssAll = sum(allRows, /\.css$/);

const kb = (n) => `${(n / 1000).toFixed(1)} kB`;
if (json) {
  console.log(JSON.stringify({ jsEager, cssEager, jsAll, cssAll, files: rows }));
} else {
  console.log('size-budget: files index.html loads eagerly (gzip -9)');
  for (const r of rows.sort((a, b) => b.gzip - a.gzip)) console.log(`  ${r.file.padEnd(48)} ${kb(r.raw).padStart(10)} raw ${kb(r.gzip).padStart(10)} gzip`);
  console.log(`  eager JS   ${kb(jsEager).padStart(9)} gzip (budget ${kb(BUDGET_JS)}, fails above ${kb(BUDGET_JS * GATE)})`);
  console.log(`  eager CSS  ${kb(cssEager).padStart(9)} gzip (budget ${kb(BUDGET_CSS)}, fails above ${kb(BUDGET_CSS * GATE)})`);
  console.log(`  all JS     ${kb(jsAll).padStart(9)} gzip, all CSS ${kb(cssAll)} gzip, lazy chunks included (${allRows.length} files)`);
}

let bad = false;
if (missing.length) {
  console.error(`size-budget: index.html names files that are not in dist: ${missing.join(', ')}`);
  bad = true;
}
if (rows.filter((r) => /\.m?js$/.test(r.file)).length === 0) {
  console.error('size-budget: index.html loads no JavaScript from dist; is this the built page?');
  bad = true;
}
if (jsEager > BUDGET_JS * GATE) {
  console.error(`size-budget: eager JS is ${kb(jsEager)} gzip, over 1.5x the ${kb(BUDGET_JS)} budget`);
  bad = true;
}
if (cssEager > BUDGET_CSS * GATE) {
  console.error(`size-budget: eager CSS is ${kb(cssEager)} gzip, over 1.5x the ${kb(BUDGET_CSS)} budget`);
  bad = true;
}
process.exit(bad ? 1 : 0);
