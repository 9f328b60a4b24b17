/**
 * Child process of bench/startup.js: instrumentation throughput of the real
 * `instrument()` on one file. The first call in this fresh process is the
 * cold one (parser and instrumenter not yet compiled); the warm ones follow.
 * Parse-only times (the same parser, `parseSource`) split the cost.
 *
 * argv[2]: JSON { dist, file, id, format, warmup, warm }: after the cold
 * call, `warmup` unrecorded calls, then `warm` recorded ones.
 */
import fs from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { childResult, nowMs } from './harness.js';

const cfg = JSON.parse(process.argv[2]);
const { instrument, parseSource } = await import(pathToFileURL(path.join(cfg.dist, 'internal.js')).href);
const source = fs.readFileSync(cfg.file, 'utf8');
const options = { id: cfg.id, format: cfg.format };

function once() {
  const t0 = nowMs();
  const out = instrument(source, options);
  return [nowMs() - t0, out];
}

const [coldMs, out] = once();
for (let i = 0; i < cfg.warmup; i++) once();
const warmMs = [];
for (let i = 0; i < cfg.warm; i++) warmMs.push(once()[0]);
const parseMs = [];
for (let i = 0; i < cfg.warm; i++) {
  const t0 = nowMs();
  parseSource(source, cfg.format);
  parseMs.push(nowMs() - t0);
}

childResult({
  coldMs,
  warmMs,
  parseMs,
  bytes: Buffer.byteLength(source),
  lines: source.split('\n').length,
  outBytes: Buffer.byteLength(out.code),
  symbols: out.meta.symbols.length,
  slots: out.meta.slots,
});
