// The consistency model in real processes, in both modes. `per-task` is
// the kernel's model: a task switches when it holds no live frame of a
// function the transition changes. `global` treats the process as one task:
// new work keeps the old code until no old frame is live anywhere.
import assert from 'node:assert/strict';
import test from 'node:test';
import { assertTranscript, fixture, runOk, scenario, transcript } from '../helpers.js';

const DRIVER = fixture('consistency', 'driver.js');

const ENABLE = `livepatch: enabling patch 'fix'
  livepatch: 'fix': initializing patching transition
  livepatch: 'fix': starting patching transition`;
const COMPLETE = `livepatch: 'fix': completing patching transition
  livepatch: 'fix': patching complete`;
const UNCOMPLETE = `livepatch: 'fix': completing unpatching transition
  livepatch: 'fix': unpatching complete`;

for (const mode of ['per-task', 'global']) {
  const perTask = mode === 'per-task';
  const env = { LIVEPATCH_CONSISTENCY: mode };

  test(`${mode}: a task suspended in the old version keeps the old code and blocks; it exits and the transition completes within one turn`, async () => {
    const steps = ['start A', 'load consistency/fix.ts', 'status', 'tasks', 'call B compute', 'call root format', 'start C', 'release A', 'turn', 'release C', 'turn', 'call D compute'];
    assertTranscript(await scenario(DRIVER, steps, env), perTask ? `
      % start A
      % load consistency/fix.ts
      ${ENABLE}
      % status
      test_klp_driver: fix -> patched: 1/2 switched; blocking: A in service.js:handle
      % tasks
      test_klp_driver: tasks: root=1 A=0
      % call B compute
      test_klp_driver: B compute() = v2
      % call root format
      test_klp_driver: root format() = v2
      % start C
      % release A
      test_klp_driver: A = v1/v1/v1
      % turn
      ${COMPLETE}
      test_klp_driver: transition idle
      % release C
      test_klp_driver: C = new:v2/v2/v2
      % turn
      test_klp_driver: transition idle
      % call D compute
      test_klp_driver: D compute() = v2` : `
      % start A
      % load consistency/fix.ts
      ${ENABLE}
      % status
      test_klp_driver: fix -> patched: 0/1 switched; blocking: root in service.js:handle
      % tasks
      test_klp_driver: tasks: root=0
      % call B compute
      test_klp_driver: B compute() = v1
      % call root format
      test_klp_driver: root format() = v1
      % start C
      % release A
      test_klp_driver: A = v1/v1/v1
      % turn
      test_klp_driver: transition running
      % release C
      test_klp_driver: C = v1/v1/v1
      % turn
      ${COMPLETE}
      test_klp_driver: transition idle
      % call D compute
      test_klp_driver: D compute() = v2`);
  });

  test(`${mode}: reverse while blocked`, async () => {
    const steps = ['start A', 'load consistency/fix.ts', 'start B', 'disable fix', 'status', 'release A', 'turn', 'release B', 'turn', 'call D compute'];
    assertTranscript(await scenario(DRIVER, steps, env), perTask ? `
      % start A
      % load consistency/fix.ts
      ${ENABLE}
      % start B
      % disable fix
      livepatch: 'fix': reversing transition from patching to unpatching
      livepatch: 'fix': starting unpatching transition
      % status
      test_klp_driver: fix -> unpatched: 2/3 switched; blocking: B in (not checked yet)
      % release A
      test_klp_driver: A = v1/v1/v1
      % turn
      test_klp_driver: transition running
      % release B
      test_klp_driver: B = new:v2/v2/v2
      % turn
      ${UNCOMPLETE}
      test_klp_driver: transition idle
      % call D compute
      test_klp_driver: D compute() = v1` : `
      % start A
      % load consistency/fix.ts
      ${ENABLE}
      % start B
      % disable fix
      livepatch: 'fix': reversing transition from patching to unpatching
      livepatch: 'fix': starting unpatching transition
      % status
      test_klp_driver: fix -> unpatched: 1/1 switched; blocking: (none)
      % release A
      test_klp_driver: A = v1/v1/v1
      % turn
      ${UNCOMPLETE}
      test_klp_driver: transition idle
      % release B
      test_klp_driver: B = v1/v1/v1
      % turn
      test_klp_driver: transition idle
      % call D compute
      test_klp_driver: D compute() = v1`);
  });

  test(`${mode}: force while blocked; a forced disable marks the patch forced for good`, async () => {
    const steps = ['start A', 'load consistency/fix.ts', 'force fix', 'turn', 'release A', 'pinned', 'start B', 'disable fix', 'force fix', 'turn', 'pinned', 'release B'];
    assertTranscript(await scenario(DRIVER, steps, env), `
      % start A
      % load consistency/fix.ts
      ${ENABLE}
      % force fix
      livepatch: forcing remaining tasks to the patched state
      % turn
      ${COMPLETE}
      test_klp_driver: transition idle
      % release A
      test_klp_driver: A = v1/v2/v2
      % pinned
      test_klp_driver: pinned: (none)
      % start B
      % disable fix
      livepatch: 'fix': initializing unpatching transition
      livepatch: 'fix': starting unpatching transition
      % force fix
      livepatch: forcing remaining tasks to the patched state
      % turn
      ${UNCOMPLETE}
      test_klp_driver: transition idle
      % pinned
      test_klp_driver: pinned: fix forced=true
      % release B
      test_klp_driver: B = new:v2/v1/v1`);
  });

  test(`${mode}: disable while a task sits in the new version; another patch meanwhile is busy`, async () => {
    const steps = ['load consistency/fix.ts', 'wait', 'start B', 'disable fix', 'status', 'call C compute', 'load consistency/fix2.ts', 'release B', 'turn', 'call D compute'];
    assertTranscript(await scenario(DRIVER, steps, env), `
      % load consistency/fix.ts
      ${ENABLE}
      ${COMPLETE}
      % wait
      % start B
      % disable fix
      livepatch: 'fix': initializing unpatching transition
      livepatch: 'fix': starting unpatching transition
      % status
      test_klp_driver: fix -> unpatched: ${perTask ? '1/2 switched; blocking: B in service.js:handle' : '0/1 switched; blocking: root in service.js:handle'}
      % call C compute
      test_klp_driver: C compute() = ${perTask ? 'v1' : 'v2'}
      % load consistency/fix2.ts
      test_klp_driver: load failed: EBUSY ERR_LP_BUSY
      % release B
      test_klp_driver: B = new:v2/v2/v2
      % turn
      ${UNCOMPLETE}
      test_klp_driver: transition idle
      % call D compute
      test_klp_driver: D compute() = v1`);
  });

  test(`${mode}: an abandoned async generator does not block: the stall notice names it and the collector releases it`, async () => {
    const steps = ['abandon G', 'load consistency/fix.ts', 'status', 'wait', 'call C compute'];
    const blocker = perTask ? "'G' (task 1)" : "'root' (task 0)";
    assertTranscript(await scenario(DRIVER, steps, { ...env, LIVEPATCH_STALL_NOTICE: '1' }), `
      % abandon G
      test_klp_driver: G got v1
      % load consistency/fix.ts
      ${ENABLE}
      % status
      test_klp_driver: fix -> patched: ${perTask ? '1/2 switched; blocking: G' : '0/1 switched; blocking: root'} in service.js:stream
      % wait
      livepatch: 'fix': transition stalled for 1s, blocking tasks: ${blocker} in service.js:stream
      livepatch: signaling remaining tasks
      ${COMPLETE}
      % call C compute
      test_klp_driver: C compute() = v2`);
  });

  test(`${mode}: a long-lived worker task, blocked at start, switches in a pause between iterations`, async () => {
    const steps = ['loop W', 'load consistency/fix.ts', 'status', 'step W', 'status', 'step W', 'stop W'];
    assertTranscript(await scenario(DRIVER, steps, env), `
      % loop W
      % load consistency/fix.ts
      ${ENABLE}
      % status
      test_klp_driver: fix -> patched: ${perTask ? '1/2 switched; blocking: W' : '0/1 switched; blocking: root'} in service.js:handle
      % step W
      test_klp_driver: W iteration = v1/v1/v1
      ${COMPLETE}
      % status
      test_klp_driver: no transition
      % step W
      test_klp_driver: W iteration = new:v2/v2/v2
      % stop W`);
  });

  test(`${mode}: HTTP: a slow request parked in the old code, a flood of new requests, then completion`, async () => {
    const { stdout, stderr } = await runOk(fixture('consistency', 'http.js'), { env });
    assert.deepEqual(JSON.parse(stdout), {
      mode,
      blocking: perTask ? ['GET /slow?name=S in service.js:handle', 'GET /slow?name=P in service.js:handle'] : ['root in service.js:handle'],
      // per-task: new requests get the new code at once; global: not until no old frame is live.
      flood: perTask ? { 'v2/v2': 200 } : { 'v1/v1': 200 },
      stillRunning: true,
      // A request pipelined behind a parked one on the same connection is a
      // new task created by the listener, not by the parked request.
      pipelined: ['v1/v1/v1', perTask ? 'v2/v2' : 'v1/v1'],
      slow: 'v1/v1/v1',
      completedWithinMs: true,
      after: { 'v2/v2': 20 },
    });
    assert.ok(transcript(stderr).includes("livepatch: 'fix': patching complete"));
  });
}

test('per-task: the current task follows nested, failing and timer-continued tasks, and frames count against it', async () => {
  const { stdout } = await runOk(fixture('consistency', 'current-task.js'), { env: { LIVEPATCH_CONSISTENCY: 'per-task' } });
  assert.equal(stdout.trim(), 'current task ok');
});
