// Every error that can reach a caller comes from the catalog (docs/errors.md):
// each `throw` in src/ throws `lpError(…)`, or says on the line above (or at
// the end of its own line) why what it throws is something else.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import test from 'node:test';
import { ROOT } from '../helpers.js';
import { filesUnder, parse, ts, walk } from './source.js';

function uncommentedThrows(file) {
  const lines = fs.readFileSync(file, 'utf8').split('\n');
  const source = parse(file);
  const found = [];
  walk(source, (node) => {
    if (!ts.isThrowStatement(node)) return;
    const thrown = node.expression;
    if (ts.isCallExpression(thrown) && ts.isIdentifier(thrown.expression) && thrown.expression.text === 'lpError') return;
    const line = source.getLineAndCharacterOfPosition(node.getStart()).line;
    const trailing = ts.getTrailingCommentRanges(source.text, node.end) ?? [];
    const explained = trailing.length > 0 || /^\s*\/\//.test(lines[line - 1] ?? '');
    if (!explained) found.push(`${path.relative(ROOT, file)}:${line + 1}: ${lines[line].trim()}`);
  });
  return found;
}

test('every throw in src/ raises a catalog error, or a comment names why not', () => {
  assert.deepEqual(filesUnder('src', /\.ts$/).flatMap(uncommentedThrows), []);
});
