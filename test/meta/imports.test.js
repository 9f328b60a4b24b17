// The architecture as a test (docs/architecture.md): imports in src/ go one
// way, from a layer to the layers below it, and form no cycle.
import assert from 'node:assert/strict';
import path from 'node:path';
import test from 'node:test';
import { ROOT } from '../helpers.js';
import { filesUnder, parse, ts, walk } from './source.js';

/** Bottom first; a file or folder of src/ may import only from its own layer and the ones below. */
const LAYERS = [
  ['version.ts', 'log.ts', 'errors.ts', 'env.ts', 'definition.ts', 'paths.ts', 'channels.ts'],
  ['runtime/'],
  ['protocol.ts'],
  ['source/'],
  ['loader/'],
  ['engine/'],
  ['host.ts'],
  ['index.ts', 'internal.ts'],
  ['control/', 'install/', 'watch/'],
  ['startup/', 'fleet/'],
  ['cli/', 'demo/', 'build/'],
];

const SRC = path.join(ROOT, 'src');
const rel = (file) => path.relative(SRC, file).split(path.sep).join('/');

/** The index in LAYERS of a file's layer; -1 when it belongs to none. */
function layerOf(file) {
  const name = rel(file);
  return LAYERS.findIndex((layer) => layer.some((entry) => (entry.endsWith('/') ? name.startsWith(entry) : name === entry)));
}

/** Relative imports of a file, static, dynamic and type-only, as absolute .ts paths. */
function importsOf(file) {
  const out = [];
  walk(parse(file), (node) => {
    let specifier;
    if ((ts.isImportDeclaration(node) || ts.isExportDeclaration(node)) && node.moduleSpecifier) specifier = node.moduleSpecifier.text;
    if (ts.isCallExpression(node) && node.expression.kind === ts.SyntaxKind.ImportKeyword && ts.isStringLiteral(node.arguments[0])) {
      specifier = node.arguments[0].text;
    }
    if (specifier?.startsWith('.')) out.push(path.resolve(path.dirname(file), specifier).replace(/\.js$/, '.ts'));
  });
  return out;
}

const files = filesUnder('src', /\.ts$/);
const graph = new Map(files.map((file) => [file, importsOf(file)]));

test('every import in src/ resolves to a file of src/', () => {
  const missing = [...graph].flatMap(([file, deps]) => deps.filter((d) => !graph.has(d)).map((d) => `${rel(file)} -> ${rel(d)}`));
  assert.deepEqual(missing, []);
});

test('every file of src/ belongs to a layer', () => {
  const unlayered = files.filter((file) => layerOf(file) < 0).map(rel);
  assert.deepEqual(unlayered, [], `files of src/ in no layer: ${unlayered.join(', ')}; add them to LAYERS and to docs/architecture.md`);
});

test('no file of src/ imports from a higher layer (runtime, loader and engine never import control or cli)', () => {
  const upward = [...graph].flatMap(([file, deps]) =>
    deps.filter((d) => graph.has(d) && layerOf(d) > layerOf(file)).map((d) => `${rel(file)} -> ${rel(d)}`));
  assert.deepEqual(upward, []);
});

test('the imports of src/ form no cycle', () => {
  const state = new Map();
  const cycles = [];
  const visit = (file, stack) => {
    if (state.get(file) === 'done') return;
    if (state.get(file) === 'open') {
      cycles.push([...stack.slice(stack.indexOf(file)), file].map(rel).join(' -> '));
      return;
    }
    state.set(file, 'open');
    for (const dep of graph.get(file) ?? []) visit(dep, [...stack, file]);
    state.set(file, 'done');
  };
  for (const file of files) visit(file, []);
  assert.deepEqual(cycles, []);
});
