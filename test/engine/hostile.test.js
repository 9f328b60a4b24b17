// Definitions that change between reads or throw while they are read: the
// engine reads a definition once, checks that copy and uses only it, and
// what a getter or a Proxy trap throws is the author's error, coded.
import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import { fixture, runOk } from '../helpers.js';

const baseline = 'ping: baseline';
const refused = (code) => ({ code, patches: ['baseline'], stacks: [baseline], pong: 'ping', changed: false });
const accepted = (name) => ({ code: null, patches: ['baseline', name], stacks: [baseline, `pong: ${name}`], pong: 'new', changed: false });

const EXPECTED = {
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
};

describe('hostile definitions: one snapshot, checked, then used; every error coded', () => {
  let results;
  before(async () => {
    results = JSON.parse((await runOk(fixture('hostile', 'definitions.js'))).stdout);
  });

  test('the fixture tries every case', () => {
    assert.deepEqual(Object.keys(results), Object.keys(EXPECTED));
  });

  for (const [name, expected] of Object.entries(EXPECTED)) {
    test(name, () => assert.deepEqual(results[name], expected));
  }
});
