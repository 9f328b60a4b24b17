// The trampoline: what an instrumented function looks like to the program
// unpatched, through a set slot, and through a handler that returns NOP.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import test from 'node:test';
import { fixture, runOk } from '../helpers.js';

test('plain/shapes.js is the uninstrumented twin of shapes.js', () => {
  assert.equal(fs.readFileSync(fixture('trampoline', 'plain', 'shapes.js'), 'utf8'), fs.readFileSync(fixture('trampoline', 'shapes.js'), 'utf8'));
});

test('this, arguments, new.target, parameters, name/length/identity, async/generator/accessor semantics, captured references, nop fall-through', async () => {
  const { stdout } = await runOk(fixture('trampoline', 'check.js'));
  assert.match(stdout, /^ok 7 checks: /);
});

test('scope tables: live bindings per instance, imports and unexported functions, assignment where legal, IIFE scopes', async () => {
  const { stdout } = await runOk(fixture('scope', 'main.js'));
  assert.equal(stdout.trim(), 'scope ok');
});
