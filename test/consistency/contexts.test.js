// Per-task mode: the current task through every kind of asynchronous
// continuation, next to an application's own AsyncLocalStorage, and per
// HTTP request, on this Node version's AsyncLocalStorage (AsyncContextFrame
// from Node 24, async hooks before; both on Node 22).
import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import { fixture, runOk } from '../helpers.js';

const contexts = [
  { label: `Node ${process.version}`, nodeArgs: [] },
  ...(process.versions.node.startsWith('22.') ? [{ label: 'Node 22 with AsyncContextFrame', nodeArgs: ['--experimental-async-context-frame'] }] : []),
];

for (const { label, nodeArgs } of contexts) {
  describe(`the current task (${label})`, () => {
    let seen;
    before(async () => {
      const { stdout } = await runOk(fixture('consistency', 'contexts.js'), { nodeArgs, env: { LIVEPATCH_CONSISTENCY: 'per-task', LIVEPATCH_DEBUG: '0' } });
      seen = JSON.parse(stdout);
    });

    test('promise continuations: after await, in then, in queueMicrotask', () => {
      assert.deepEqual([seen.await, seen.then, seen.queueMicrotask], [['promises'], ['promises'], ['promises']]);
    });

    test('timers: setTimeout, setImmediate, each run of setInterval, process.nextTick', () => {
      assert.deepEqual([seen.setTimeout, seen.setImmediate, seen.setInterval, seen.nextTick], [['timers'], ['timers'], ['timers', 'timers'], ['timers']]);
    });

    test('an application\'s own AsyncLocalStorage run() leaves the task as it is, across awaits', () => {
      assert.deepEqual([seen['app run'], seen['app run, after await']], [['app-store'], ['app-store']]);
    });

    test('an application\'s own AsyncLocalStorage enterWith() leaves the task as it is, across awaits and timers', () => {
      assert.deepEqual(
        [seen['app enterWith'], seen['app enterWith, after await'], seen['app enterWith, in a timer']],
        [['app-store'], ['app-store'], ['app-store']],
      );
    });

    test('an event listener runs in the task of the code that emits', () => {
      assert.deepEqual(seen.emit, ['emitter']);
    });

    test('each HTTP request is its own task, across its awaits and timers, and not the next request\'s on a keep-alive connection', () => {
      assert.deepEqual([seen['request /one'], seen['request /two'], seen.responses], [
        ['GET /one', 'GET /one', 'GET /one'], ['GET /two', 'GET /two', 'GET /two'], ['GET /one', 'GET /two'],
      ]);
    });
  });
}
