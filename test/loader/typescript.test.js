// TypeScript run by Node's own type stripping: `.ts`, `.mts` and `.cts`
// modules are instrumented like any other, keep their lines and columns in
// stack traces, and are patched by a TypeScript patch that Node-style
// stripping loads without a compiler. A patch with syntax stripping cannot
// remove is refused with a coded error naming the construct and the line.
import assert from 'node:assert/strict';
import path from 'node:path';
import { before, describe, test } from 'node:test';
import { fixture, runNode, runOk } from '../helpers.js';

describe('a TypeScript program patched by a TypeScript patch', {
  skip: !process.features.typescript && `Node ${process.version} strips TypeScript only with --experimental-strip-types (the default from 22.18)`,
}, () => {
  const main = fixture('typescript', 'main.ts');
  let out;
  let stderr;
  before(async () => {
    const result = await runOk(main, { env: { LIVEPATCH_DEBUG: '0' } });
    out = JSON.parse(result.stdout);
    stderr = result.stderr;
  });

  test('.ts, .mts and .cts modules are instrumented, with their symbols at their lines', () => {
    assert.deepEqual(out.modules, ['legacy.cts 1', 'main.ts 0', 'prices.ts 2', 'tax.mts 1']);
    assert.deepEqual(out.symbols, ['total sync line 4', 'fail sync line 8']);
  });

  test('a stack frame in a stripped module has the line and column plain Node gives', async () => {
    const plain = await runNode(fixture('typescript', 'frame.mjs'), { register: false });
    assert.equal(out.frame, plain.stdout.trim());
    assert.match(out.frame, /^prices\.ts:9:\d+$/);
  });

  test('the TypeScript patch replaces a function in each kind of module', () => {
    assert.deepEqual(out.before, [20, 120, 'hello ts']);
    assert.deepEqual(out.after, [1, 100, 'hi ts']);
  });

  test('a patch with an enum is refused with ERR_LP_TS_SYNTAX, naming the construct, the line and what to write instead', () => {
    assert.deepEqual(out.enumPatch, {
      code: 'ERR_LP_TS_SYNTAX',
      message: `${path.join(path.dirname(main), 'enum-patch.ts')}:4: an enum cannot be stripped of its types; write a const object and a union type: \`const Color = { Red: 0 } as const; type Color = (typeof Color)[keyof typeof Color];\` instead`,
    });
  });

  test('nothing but livepatch\'s own log lines reaches stderr: no experimental or deprecation warning', () => {
    assert.deepEqual(stderr.split('\n').filter((line) => line && !line.startsWith('livepatch: ')), []);
  });
});
