// livepatch's diagnostics_channel channels, read by a real subscriber in a
// real process: the exact sequence of messages while patches load, complete,
// are reversed in transition, are disabled and freed, and fail to load.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { assertTranscript, fixture, REGISTER, runOk } from '../helpers.js';

test('a subscriber sees each load, transition and patch life-cycle event, in order, with its message', async () => {
  const { stdout } = await runOk(fixture('channels', 'driver.mjs'), { env: { LIVEPATCH_DEBUG: '0' } });
  assertTranscript(stdout.split('\n').filter(Boolean), `
    % load fix-compute
    tracing:livepatch.load:start {"file":"fix-compute.mjs","origin":"loaded"}
    tracing:livepatch.load:end {"file":"fix-compute.mjs","origin":"loaded"}
    tracing:livepatch.transition:start {"patch":"fix-compute","target":"patched"}
    tracing:livepatch.transition:end {"patch":"fix-compute","target":"patched"}
    livepatch:patch.enabled {"patch":"fix-compute","origin":"loaded","replace":false}
    tracing:livepatch.transition:asyncStart {"patch":"fix-compute","target":"patched","outcome":"complete","forced":false,"durationMs":"number"}
    livepatch:transition.complete {"patch":"fix-compute","target":"patched","forced":false,"durationMs":"number"}
    tracing:livepatch.transition:asyncEnd {"patch":"fix-compute","target":"patched","outcome":"complete","forced":false,"durationMs":"number"}
    tracing:livepatch.load:asyncStart {"file":"fix-compute.mjs","origin":"loaded","result":"fix-compute"}
    tracing:livepatch.load:asyncEnd {"file":"fix-compute.mjs","origin":"loaded","result":"fix-compute"}
    % start a task inside handle, then load fix-handle
    tracing:livepatch.load:start {"file":"fix-handle.mjs","origin":"loaded"}
    tracing:livepatch.load:end {"file":"fix-handle.mjs","origin":"loaded"}
    tracing:livepatch.transition:start {"patch":"fix-handle","target":"patched"}
    tracing:livepatch.transition:end {"patch":"fix-handle","target":"patched"}
    livepatch:patch.enabled {"patch":"fix-handle","origin":"loaded","replace":false}
    tracing:livepatch.load:asyncStart {"file":"fix-handle.mjs","origin":"loaded","result":"fix-handle"}
    tracing:livepatch.load:asyncEnd {"file":"fix-handle.mjs","origin":"loaded","result":"fix-handle"}
    % disable fix-handle while its transition waits for T
    tracing:livepatch.transition:asyncStart {"patch":"fix-handle","target":"patched","outcome":"reversed","forced":false,"durationMs":"number"}
    tracing:livepatch.transition:asyncEnd {"patch":"fix-handle","target":"patched","outcome":"reversed","forced":false,"durationMs":"number"}
    tracing:livepatch.transition:start {"patch":"fix-handle","target":"unpatched"}
    tracing:livepatch.transition:end {"patch":"fix-handle","target":"unpatched"}
    livepatch:patch.disabled {"patch":"fix-handle"}
    tracing:livepatch.transition:asyncStart {"patch":"fix-handle","target":"unpatched","outcome":"complete","forced":false,"durationMs":"number"}
    livepatch:transition.complete {"patch":"fix-handle","target":"unpatched","forced":false,"durationMs":"number"}
    tracing:livepatch.transition:asyncEnd {"patch":"fix-handle","target":"unpatched","outcome":"complete","forced":false,"durationMs":"number"}
    livepatch:patch.freed {"patch":"fix-handle"}
    % T returned v2
    % disable fix-compute
    tracing:livepatch.transition:start {"patch":"fix-compute","target":"unpatched"}
    tracing:livepatch.transition:end {"patch":"fix-compute","target":"unpatched"}
    livepatch:patch.disabled {"patch":"fix-compute"}
    tracing:livepatch.transition:asyncStart {"patch":"fix-compute","target":"unpatched","outcome":"complete","forced":false,"durationMs":"number"}
    livepatch:transition.complete {"patch":"fix-compute","target":"unpatched","forced":false,"durationMs":"number"}
    tracing:livepatch.transition:asyncEnd {"patch":"fix-compute","target":"unpatched","outcome":"complete","forced":false,"durationMs":"number"}
    livepatch:patch.freed {"patch":"fix-compute"}
    % load broken
    tracing:livepatch.load:start {"file":"broken.mjs","origin":"loaded"}
    tracing:livepatch.load:end {"file":"broken.mjs","origin":"loaded"}
    tracing:livepatch.load:error {"file":"broken.mjs","origin":"loaded","error":"ERR_LP_INVALID_DEFINITION"}
    tracing:livepatch.load:asyncStart {"file":"broken.mjs","origin":"loaded","error":"ERR_LP_INVALID_DEFINITION"}
    tracing:livepatch.load:asyncEnd {"file":"broken.mjs","origin":"loaded","error":"ERR_LP_INVALID_DEFINITION"}
  `);
});

test('the channels are those CHANNELS names, and the same patches run the same without a subscriber', async () => {
  const { stdout } = await runOk(fixture('channels', 'driver.mjs'), { env: { LIVEPATCH_DEBUG: '0', CHANNELS_UNSUBSCRIBED: '1' } });
  assert.deepEqual(stdout.split('\n').filter(Boolean), [
    '% load fix-compute', '% start a task inside handle, then load fix-handle', '% disable fix-handle while its transition waits for T',
    '% T returned v2', '% disable fix-compute', '% load broken',
  ]);
});

test('a subscriber preloaded before livepatch sees an installed patch applied at start, as origin installed', async (t) => {
  const installDir = fs.mkdtempSync(path.join(os.tmpdir(), 'livepatch-channels-'));
  t.after(() => fs.rmSync(installDir, { recursive: true, force: true }));
  fs.copyFileSync(fixture('channels', 'fix-compute.mjs'), path.join(installDir, 'fix-compute.mjs'));
  const { stdout } = await runOk(fixture('channels', 'installed-app.mjs'), {
    register: false, nodeArgs: ['--import', fixture('channels', 'subscriber.mjs'), '--import', REGISTER],
    env: { LIVEPATCH_DEBUG: '0', LIVEPATCH_INSTALL_DIR: installDir },
  });
  assertTranscript(stdout.split('\n').filter(Boolean), `
    tracing:livepatch.load:start {"file":"fix-compute.mjs","origin":"installed"}
    tracing:livepatch.load:end {"file":"fix-compute.mjs","origin":"installed"}
    tracing:livepatch.transition:start {"patch":"fix-compute","target":"patched"}
    tracing:livepatch.transition:end {"patch":"fix-compute","target":"patched"}
    livepatch:patch.enabled {"patch":"fix-compute","origin":"installed","replace":false}
    tracing:livepatch.transition:asyncStart {"patch":"fix-compute","target":"patched","outcome":"complete","forced":false,"durationMs":"number"}
    livepatch:transition.complete {"patch":"fix-compute","target":"patched","forced":false,"durationMs":"number"}
    tracing:livepatch.transition:asyncEnd {"patch":"fix-compute","target":"patched","outcome":"complete","forced":false,"durationMs":"number"}
    tracing:livepatch.load:asyncStart {"file":"fix-compute.mjs","origin":"installed","result":"fix-compute"}
    tracing:livepatch.load:asyncEnd {"file":"fix-compute.mjs","origin":"installed","result":"fix-compute"}
    % compute() = v2
  `);
});
