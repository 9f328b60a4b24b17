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

/**
 * Node's builtins, taken from `process.getBuiltinModule` instead of imported
 * as ES modules. An ES import of a builtin builds its module facade, which
 * reads every export, lazy getters included: `node:fs` then loads its
 * streams and `node:util` its diff and colors, milliseconds at every start
 * of a process and of the CLI. Here a builtin binds its default export and
 * the names src/ imports from it by name, and nothing else.
 */
function namedImports() {
  const names = new Map();
  const files = fs.readdirSync(path.join(root, 'src'), { recursive: true }).filter((f) => f.endsWith('.ts'));
  for (const file of files) {
    const source = fs.readFileSync(path.join(root, 'src', file), 'utf8');
    for (const [, list, specifier] of source.matchAll(/^import\s+(?:type\s+)?\{([^}]*)\}\s+from\s+'(node:[^']+)'/gm)) {
      const set = names.get(specifier) ?? names.set(specifier, new Set()).get(specifier);
      for (const entry of list.split(',').map((e) => e.trim())) if (entry && !entry.startsWith('type ')) set.add(entry);
    }
  }
  return names;
}

const builtins = {
  name: 'builtins',
  setup(b) {
    const names = namedImports();
    b.onResolve({ filter: /^node:/ }, (args) => ({ path: args.path, namespace: 'builtin' }));
    b.onLoad({ filter: /.*/, namespace: 'builtin' }, (args) => {
      const named = [...(names.get(args.path) ?? [])];
      return {
        contents: [
          `const m = process.getBuiltinModule(${JSON.stringify(args.path)});`,
          'export default m;',
          named.length > 0 ? `export const { ${named.join(', ')} } = m;` : '',
        ].join('\n'),
        loader: 'js',
      };
    });
  },
};

const common = {
  outdir: dist,
  outbase: path.join(root, 'src'),
  bundle: true,
  format: 'esm',
  platform: 'node',
  target: 'node22.15',
  // Dependencies load from node_modules when first used: the parser on the
  // first cache miss, the diff library when a patch is built.
  external: ['meriyah', 'diff'],
  sourcemap: 'linked',
  plugins: [builtins],
  logLevel: 'warning',
};

await build({
  ...common,
  // The package's entry points (package.json "exports"), which share one engine.
  entryPoints: ['index', 'internal', 'startup/register'].map((entry) => path.join(root, 'src', `${entry}.ts`)),
  splitting: true,
  chunkNames: 'chunks/[name]-[hash]',
});

/**
 * `livepatch build` and `livepatch demo`, kept out of the command's file: the
 * builder would double it, and both bring the diff library, whose many
 * modules every other command would resolve and read at start.
 */
const ownFiles = {
  name: 'own-files',
  setup(b) {
    b.onResolve({ filter: /^\.\/commands\/(build|demo)\.js$/ }, (args) => (args.importer.endsWith(path.join('cli', 'index.ts')) ? { path: args.path, external: true } : undefined));
  },
};

// The `livepatch` command runs in its own process and shares no state with
// the entry points: one file, so that its start resolves and reads one
// module; `livepatch build` and `livepatch demo` are files of their own.
// Errors cross the files by brand, not by class (`LivepatchError`).
await build({
  ...common,
  entryPoints: ['cli/index', 'cli/commands/build', 'cli/commands/demo'].map((entry) => path.join(root, 'src', `${entry}.ts`)),
  plugins: [builtins, ownFiles],
});
