#!/usr/bin/env node
// Builds dist/: the type declarations with tsc (which also type-checks),
// and the code with esbuild, bundled per entry point with the shared code
// in chunks. A process under livepatch then loads a handful of files at
// start instead of every module of src/ (docs/architecture.md): each one
// costs a resolution, a read and a link, which is most of livepatch's
// start-up. Code splitting keeps one instance of every module across the
// entry points, so `livepatch` and `livepatch/register` share one engine.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const dist = path.join(root, 'dist');
fs.rmSync(dist, { recursive: true, force: true });

const tsc = spawnSync(process.execPath, [path.join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', path.join(root, 'tsconfig.json'), '--emitDeclarationOnly'], { stdio: 'inherit' });
if (tsc.status !== 0) process.exit(tsc.status ?? 1);

await build({
  // The package's entry points (package.json "exports" and "bin").
  entryPoints: ['index', 'internal', 'startup/register', 'cli/index'].map((entry) => path.join(root, 'src', `${entry}.ts`)),
  outdir: dist,
  outbase: path.join(root, 'src'),
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node22.15',
  chunkNames: 'chunks/[name]-[hash]',
  // The parser loads on the first cache miss, from node_modules.
  external: ['meriyah'],
  sourcemap: 'linked',
  logLevel: 'warning',
});
