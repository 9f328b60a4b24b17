// Instrumentation is line-preserving: stack traces of instrumented code
// point at the original lines, without source maps and with them (where a
// TypeScript source map then maps to the .ts file).
import assert from 'node:assert/strict';
import fs from 'node:fs';
import test from 'node:test';
import ts from 'typescript';
import { fixture, runOk } from '../helpers.js';

/** Marker name → 1-based line, from `// @line name` comments. */
function markers(file) {
  const out = {};
  fs.readFileSync(fixture('stacks', file), 'utf8').split('\n').forEach((line, i) => {
    const m = /\/\/ @line (\w+)/.exec(line);
    if (m) out[m[1]] = i + 1;
  });
  return out;
}

const expected = (typedFile) => {
  const { typed, ...js } = { ...markers('throwers.js'), ...markers('throwers.cjs'), ...markers(typedFile) };
  return { ...js, typed };
};

test('the committed typed.js is exactly what tsc emits for typed.ts', () => {
  const source = fs.readFileSync(fixture('stacks', 'typed.ts'), 'utf8');
  const out = ts.transpileModule(source, { fileName: 'typed.ts', compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022, inlineSourceMap: true, inlineSources: true } });
  assert.equal(fs.readFileSync(fixture('stacks', 'typed.js'), 'utf8'), out.outputText);
});

test('original lines without source maps', async () => {
  const { stdout } = await runOk(fixture('stacks', 'main.js'));
  assert.deepEqual(JSON.parse(stdout), expected('typed.js'));
});

test('original lines with --enable-source-maps, through the TypeScript map', async () => {
  const { stdout } = await runOk(fixture('stacks', 'main.js'), { nodeArgs: ['--enable-source-maps'] });
  assert.deepEqual(JSON.parse(stdout), expected('typed.ts'));
});

test('the same lines as the uninstrumented program', async () => {
  const plain = await runOk(fixture('stacks', 'main.js'), { register: false });
  const instrumented = await runOk(fixture('stacks', 'main.js'));
  assert.equal(instrumented.stdout, plain.stdout);
});
