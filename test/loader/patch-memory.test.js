// A patch module that is refused, or freed once its patch is disabled,
// leaves nothing behind: the heap, after garbage collection, does not grow
// with the number of loads. The budget is deliberate: a module kept per
// load (at least its 20 KB of source) would take 40 MB over the cycles.
import assert from 'node:assert/strict';
import test from 'node:test';
import { fixture, runOk } from '../helpers.js';

const CYCLES = 2000;
const BUDGET_BYTES = 1 << 20;

test(`${CYCLES} cycles of a patch loaded and freed, and one refused, grow the heap by less than 1 MiB`, { timeout: 120_000 }, async () => {
  const { stdout } = await runOk(fixture('memory', 'cycles.js'), {
    nodeArgs: ['--expose-gc'], env: { CYCLES: String(CYCLES), LIVEPATCH_DEBUG: '0', LIVEPATCH_CONTROL: '0' }, timeout: 120_000,
  });
  const { cycles, grownBytes } = JSON.parse(stdout);
  assert.equal(cycles, CYCLES);
  assert.ok(grownBytes < BUDGET_BYTES, `the heap grew by ${(grownBytes / 2 ** 20).toFixed(1)} MiB over ${CYCLES} cycles`);
});
