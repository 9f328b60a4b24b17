// The parameter lists the enable check reads from a replacement's source
// text (src/source/params.ts, docs/writing-patches.md "The replacement's
// parameters"): each declared parameter's name (null for a pattern) and
// whether a rest parameter ends the list, in every form a function takes.
import assert from 'node:assert/strict';
import test from 'node:test';
import { parameterList } from 'livepatch/internal';

const cases = [
  ['a function', function f(self, a, b) { return [self, a, b]; }, { names: ['self', 'a', 'b'], rest: false }],
  ['an arrow with one bare parameter', (self) => self, { names: ['self'], rest: false }],
  ['an arrow without parentheses', eval('self => self'), { names: ['self'], rest: false }],
  ['an async arrow', async (self, x) => [self, x], { names: ['self', 'x'], rest: false }],
  ['an async arrow without parentheses', eval('async self => self'), { names: ['self'], rest: false }],
  ['no parameters', () => 0, { names: [], rest: false }],
  ['a rest parameter', (self, ...args) => [self, args], { names: ['self'], rest: true }],
  ['defaults holding commas, brackets and calls', (self, a = [1, 2], b = { x: 1, y: 2 }, c = Math.max(1, 2)) => [self, a, b, c], { names: ['self', 'a', 'b', 'c'], rest: false }],
  ['defaults holding strings with brackets and commas', (self, a = '(,', b = ")]}", c = `,${1}`) => [self, a, b, c], { names: ['self', 'a', 'b', 'c'], rest: false }],
  ['a string holding an escaped quote', (self, a = 'it\'s, (') => [self, a], { names: ['self', 'a'], rest: false }],
  ['destructuring patterns', (self, { a, b }, [c, d]) => [self, a, b, c, d], { names: ['self', null, null], rest: false }],
  ['comments between parameters', eval('(self /* the receiver, (it) */, a // the first\n, b) => [self, a, b]'), { names: ['self', 'a', 'b'], rest: false }],
  ['a method', { m(self, a) { return [self, a]; } }.m, { names: ['self', 'a'], rest: false }],
  ['a generator', function* g(self, a) { yield [self, a]; }, { names: ['self', 'a'], rest: false }],
];

for (const [what, fn, expected] of cases) {
  test(`${what}: ${JSON.stringify(expected)}`, () => {
    assert.deepEqual(parameterList(fn), expected);
  });
}

test('a class and a native function are not read: null, and the check passes them over', () => {
  assert.equal(parameterList(class C { constructor(a) { this.a = a; } }), null);
  assert.equal(parameterList(Math.max), null);
  assert.equal(parameterList(function () {}.bind(null)), null);
});
