// The trampoline: what an instrumented function looks like to the program
// unpatched, through a set slot, and through a handler that returns NOP;
// and the scope tables a replacement reaches module state through.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { before, describe, test } from 'node:test';
import { fixture, runOk } from '../helpers.js';

test('plain/shapes.js is the uninstrumented twin of shapes.js', () => {
  assert.equal(fs.readFileSync(fixture('trampoline', 'plain', 'shapes.js'), 'utf8'), fs.readFileSync(fixture('trampoline', 'shapes.js'), 'utf8'));
});

// Each fixture runs its checks in one process, in order, and prints one JSON
// object keyed by check: 'ok', or the error the check failed with.
describe('the trampoline of shapes.js: unpatched, through a set slot, through a NOP handler', () => {
  const CHECKS = [
    'shapes.js is instrumented and plain/shapes.js excluded',
    'unpatched, an instrumented function behaves exactly as the plain one',
    "name, length and identity are the plain function's",
    'a set slot receives this first, then the arguments, also through references captured before',
    'the replacement receives the arguments the caller passed',
    'constructor calls, async functions and generators keep their semantics through the slot',
    'a handler returning NOP falls through to the original body once, without re-entering',
    'clearing the slot restores the original',
  ];
  let results;
  before(async () => {
    results = JSON.parse((await runOk(fixture('trampoline', 'check.js'))).stdout);
  });
  test('the fixture runs every check, and no other', () => {
    assert.deepEqual(Object.keys(results), CHECKS);
  });
  for (const name of CHECKS) {
    test(name, () => assert.equal(results[name], 'ok'));
  }
});

describe('scope tables: two instances of state.js and its IIFE', () => {
  const CHECKS = [
    'each instance has its own table, reading its live bindings',
    'assignment through the table updates the module binding',
    'unexported functions and imports are reachable',
    'const bindings and imports refuse assignment',
    "the table holds the module's top-level bindings, and no other",
    'a once-run IIFE scope has a table of its own',
  ];
  let results;
  before(async () => {
    results = JSON.parse((await runOk(fixture('scope', 'main.js'))).stdout);
  });
  test('the fixture runs every check, and no other', () => {
    assert.deepEqual(Object.keys(results), CHECKS);
  });
  for (const name of CHECKS) {
    test(name, () => assert.equal(results[name], 'ok'));
  }
});
