// The fuzz test: fast-check, seeded, over the three ways input reaches
// livepatch (test/fixtures/fuzz/): patch definitions enabled in a process,
// frames sent to a live service's control socket, and command lines run by
// the CLI against that service. Each case must end in acceptance or a
// coded refusal, leave the state as it was when refused, and leave the
// process responsive. A failure prints its seed and the command that
// replays it. LP_FUZZ_SCALE=10 (or more) runs that many times the cases,
// for a long run on a developer's machine.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { collect, fixture, REGISTER, ROOT } from '../helpers.js';

const SCALE = Number(process.env.LP_FUZZ_SCALE ?? 1);
const SURFACES = [
  { surface: 'definitions', cases: 6000, args: ['--import', REGISTER, fixture('fuzz', 'definitions.js')] },
  { surface: 'frames', cases: 3000, args: [fixture('fuzz', 'frames.js')] },
  { surface: 'cli', cases: 1500, args: [fixture('fuzz', 'cli.js')] },
];

describe(`fuzz: ${SURFACES.reduce((n, s) => n + s.cases, 0) * SCALE} cases, seeded`, () => {
  const ran = [];
  for (const { surface, cases, args } of SURFACES) {
    test(`${surface}: every case accepted or refused with a code, nothing changed by a refusal, the process responsive`, { timeout: 120_000 * SCALE }, async () => {
      const { code, stdout } = await collect(process.execPath, args, {
        cwd: ROOT, env: { ...process.env, LIVEPATCH_CACHE: '0', LIVEPATCH_DEBUG: '0' }, timeout: 120_000 * SCALE,
      });
      const summary = new RegExp(`^fuzz ${surface} ok: (.*)$`, 'm').exec(stdout);
      assert.ok(summary && code === 0, `the fuzzer crashed or found a case (exit ${code}):\n${stdout}`);
      const tally = JSON.parse(summary[1]);
      ran.push(tally.cases);
      assert.deepEqual({ uncoded: tally.uncoded, hangs: tally.hangs, stateChanges: tally.stateChanges, dead: tally.dead }, { uncoded: 0, hangs: 0, stateChanges: 0, dead: 0 });
      assert.equal(tally.cases, Math.round(cases * SCALE));
      assert.ok(tally.accepted > 0 && Object.keys(tally.refused).length > 3, `cases reach acceptance and several refusals: ${summary[1]}`);
    });
  }

  test('together, at least 10,000 cases', () => {
    assert.ok(ran.reduce((a, b) => a + b, 0) >= 10_000 * SCALE, `ran ${ran.join(' + ')} cases`);
  });
});
