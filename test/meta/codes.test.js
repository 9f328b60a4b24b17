// The error catalog, its documentation and its tests name the same codes,
// as fastify keeps its error catalog, its docs and its types in step.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import test from 'node:test';
import { catalog } from 'livepatch/internal';
import { ROOT } from '../helpers.js';
import { filesUnder, parse, ts, walk } from './source.js';

const CODE = /\bERR_LP_[A-Z_]+\b/g;

/** `assert`, `assert.x`, `t.assert.x`, and helpers named `assertX`: calls whose arguments are what a test expects. */
const isAssertion = (call) => /^(t\.)?assert(\.\w+)?$|^assert[A-Z]\w*$/.test(call.expression.getText());

/**
 * The codes a test file expects: those written in the arguments of an
 * assertion, or in a constant that an assertion's arguments use. A code
 * only mentioned (a test name, a comment, a fixture's output) is not expected.
 */
function expectedCodes(file) {
  const expected = [];
  const constants = new Map();
  const asserted = new Set();
  const visit = (node, inAssertion) => {
    if (ts.isCallExpression(node) && isAssertion(node)) {
      for (const arg of node.arguments) visit(arg, true);
      return;
    }
    if (ts.isStringLiteralLike(node) || ts.isRegularExpressionLiteral(node) || ts.isTemplateLiteralToken(node)) {
      const codes = node.getText().match(CODE) ?? [];
      if (inAssertion) expected.push(...codes);
      let holder = node.parent;
      while (holder && !ts.isVariableDeclaration(holder) && !ts.isFunctionLike(holder)) holder = holder.parent;
      if (!inAssertion && holder && ts.isVariableDeclaration(holder) && ts.isIdentifier(holder.name)) {
        constants.set(holder.name.text, [...(constants.get(holder.name.text) ?? []), ...codes]);
      }
    }
    if (inAssertion && ts.isIdentifier(node)) asserted.add(node.text);
    ts.forEachChild(node, (child) => visit(child, inAssertion));
  };
  visit(parse(file), false);
  for (const [name, codes] of constants) if (asserted.has(name)) expected.push(...codes);
  return expected;
}

test('every code of the catalog is expected by some test, but the one only a bug can raise', () => {
  // ERR_LP_INTERNAL reports a broken invariant; no input is meant to reach it.
  const bugOnly = ['ERR_LP_INTERNAL'];
  const expected = new Set(filesUnder('test', /\.test\.js$/, ['fixtures', 'node_modules']).flatMap(expectedCodes));
  assert.deepEqual(Object.keys(catalog).filter((code) => !bugOnly.includes(code) && !expected.has(code)), []);
});

const errorsDoc = () => fs.readFileSync(path.join(ROOT, 'docs', 'errors.md'), 'utf8');

test('docs/errors.md documents every code of the catalog, and no other', () => {
  const documented = [...errorsDoc().matchAll(/^### (ERR_LP_\w+)/gm)].map((m) => m[1]);
  assert.deepEqual(documented.sort(), Object.keys(catalog).sort());
});

test('docs/errors.md gives each code the errno of the catalog', () => {
  const text = errorsDoc();
  for (const [code, entry] of Object.entries(catalog)) {
    const section = text.slice(text.indexOf(`### ${code}`)).split('\n### ')[0];
    assert.match(section, new RegExp(`\`${entry.errno}\``), `${code} is documented with ${entry.errno}`);
  }
});
