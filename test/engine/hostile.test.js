// What an author writes cannot corrupt the engine or take the process down:
// definitions that change between reads or throw while they are read (the
// engine reads a definition once, checks that copy and uses only it), and
// callbacks that return promises (callbacks are synchronous, as the
// kernel's are). Every error is coded, and a refusal changes nothing.
import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import { fixture, runOk } from '../helpers.js';

/** Runs a fixture that tries every case of `expected`, and compares each case's outcome with it. */
function assertCases(title, script, expected, codes) {
  describe(title, () => {
    let results;
    before(async () => {
      results = JSON.parse((await runOk(fixture('hostile', script))).stdout);
    });

    test('the fixture tries every case, and survives them', () => {
      assert.deepEqual(Object.keys(results), Object.keys(expected));
    });

    test('every refusal is coded', () => {
      assert.deepEqual([...new Set(Object.values(results).map((r) => r.code))].sort(), codes);
    });

    for (const [name, outcome] of Object.entries(expected)) {
      test(name, () => assert.deepEqual(results[name], outcome));
    }
  });
}

const baseline = 'ping: baseline';
const refused = (code) => ({ code, patches: ['baseline'], stacks: [baseline], pong: 'ping', changed: false });
const accepted = (name) => ({ code: null, patches: ['baseline', name], stacks: [baseline, `pong: ${name}`], pong: 'new', changed: false });

assertCases('hostile definitions: one snapshot, checked, then used', 'definitions.js', {
  'a name that turns invalid after the check': { ...accepted('turns-invalid'), stacks: [baseline], pong: 'ping' },
  'a name that turns into a loaded one after the check': { ...accepted('loaded-later'), stacks: [baseline], pong: 'ping' },
  'a name that turns into a free one after the check': refused('ERR_LP_PATCH_EXISTS'),
  'funcs that gain a duplicate after the check': accepted('duplicates-later'),
  'a newFunc that turns into a non-function after the check': accepted('newfunc-later'),
  'a name getter that throws': refused('ERR_LP_INVALID_DEFINITION'),
  'a getter that throws null': refused('ERR_LP_INVALID_DEFINITION'),
  'a getter that throws an object without a prototype': refused('ERR_LP_INVALID_DEFINITION'),
  'a Proxy whose get trap throws': refused('ERR_LP_INVALID_DEFINITION'),
  'a Proxy whose traps throw, as an array': refused('ERR_LP_INVALID_DEFINITION'),
  'a revoked Proxy as the objects': refused('ERR_LP_INVALID_DEFINITION'),
  'an array that claims four billion entries': refused('ERR_LP_INVALID_DEFINITION'),
  'a BigInt name': refused('ERR_LP_INVALID_NAME'),
  'a Symbol name': refused('ERR_LP_INVALID_NAME'),
  'a BigInt module id': refused('ERR_LP_INVALID_MODULE_ID'),
  'a withScope factory that is not a function': refused('ERR_LP_INVALID_DEFINITION'),
  'a newFunc Proxy whose getPrototypeOf trap throws': refused('ERR_LP_INVALID_DEFINITION'),
  'a prePatch that throws an object without a prototype': refused('ERR_LP_PRE_PATCH_FAILED'),
  'a withScope factory that throws an object without a prototype': refused('ERR_LP_FACTORY_FAILED'),
}, [
  'ERR_LP_FACTORY_FAILED', 'ERR_LP_INVALID_DEFINITION', 'ERR_LP_INVALID_MODULE_ID', 'ERR_LP_INVALID_NAME', 'ERR_LP_PATCH_EXISTS',
  'ERR_LP_PRE_PATCH_FAILED', null,
]);

const asyncRefused = (detail, warnings = []) => ({ code: 'ERR_LP_ASYNC_CALLBACK', detail, patches: [], warnings });
const rejection = (patch, callback, message) => `livepatch: '${patch}': the promise ${callback} returned for object 'target.js' was rejected: ${message}`;
const notAwaited = (patch, callback) => `livepatch: '${patch}': ${callback} callback for object 'target.js' returned a promise, which is not awaited: callbacks run synchronously`;
const preRefused = (patch) => ["livepatch: pre-patch callback failed for object 'target.js'", `livepatch: failed to enable patch '${patch}'`];

assertCases('callbacks that return promises: refused when declared async, never left unhandled', 'callbacks.js', {
  'an async prePatch that rejects': asyncRefused('callbacks.prePatch is an async function'),
  'an async postUnpatch': asyncRefused('callbacks.postUnpatch is an async function'),
  'a generator postPatch': asyncRefused('callbacks.postPatch is a generator function'),
  'a prePatch that returns a rejected promise': asyncRefused('callbacks.prePatch returned a promise', [
    ...preRefused('promise-pre'), rejection('promise-pre', 'prePatch', 'pre rejected'),
  ]),
  'a prePatch that returns a thenable whose then throws': asyncRefused('callbacks.prePatch returned a promise', [
    ...preRefused('thenable-pre'), rejection('thenable-pre', 'prePatch', 'then getter'),
  ]),
  'a postPatch that returns a rejected promise': {
    code: null, detail: null, patches: ['promise-post'],
    warnings: [notAwaited('promise-post', 'postPatch'), rejection('promise-post', 'postPatch', 'post rejected')],
  },
  'a postUnpatch that returns a rejected promise': {
    code: null, detail: null, patches: ['promise-post-unpatch'],
    warnings: [notAwaited('promise-post-unpatch', 'postUnpatch'), rejection('promise-post-unpatch', 'postUnpatch', 'post-unpatch rejected')],
  },
}, ['ERR_LP_ASYNC_CALLBACK', null]);
