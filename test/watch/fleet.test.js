// A fleet converging to one patch directory: eight replicas of a service
// and one whose module differs watch a directory laid out as a Kubernetes
// ConfigMap volume. Each new version is published by an atomic swap of
// `..data`; the replicas converge and report `applied`, the differing one
// reports `apply-failed` with the reason and keeps serving, and
// `livepatch ps --all` reports all of them. (How fast they converge is
// bench/fleet-watch.js's to measure.)
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { before, describe, test } from 'node:test';
import { suiteContext } from '../helpers.js';
import { APP_ROOT, cliJson, cliOk, get, runtimeDir, SERVER, startApp } from '../control/support.js';
import { configMapVolume, entry, greetPatch, scratch, statusWhen } from './support.js';

const REPLICAS = 8;

/** The hash of greet() in the fixture service, as `livepatch symbols` prints it. */
async function greetHash() {
  const { symbols } = await cliJson(['symbols', SERVER], {});
  return symbols.find((s) => s.name === 'greet').hash;
}

/** A copy of the fixture service whose greet() differs from the one the patches were built for. */
function differingService(dir) {
  const root = path.join(dir, 'other-app');
  fs.cpSync(APP_ROOT, root, { recursive: true });
  const server = path.join(root, 'src', 'server.js');
  fs.writeFileSync(server, fs.readFileSync(server, 'utf8').replace('return `hello ${name}`;', 'return `hi ${name}`;'));
  return server;
}

describe('eight processes watching one ConfigMap-style directory', { timeout: 60_000 }, () => {
  const suite = suiteContext();
  let rt;
  let volume;
  let hash;
  let replicas;
  let differing;
  const watching = (status, name) => entry(status, 'patch.js')?.name === name && entry(status, 'patch.js').state === 'applied';

  before(async () => {
    const dir = scratch(suite);
    rt = runtimeDir(suite);
    const patches = path.join(dir, 'patches');
    fs.mkdirSync(patches);
    volume = configMapVolume(patches);
    hash = await greetHash();
    volume.publish({ 'patch.js': greetPatch('fleet-1', 'v1', { oldHash: hash }) });
    const env = { LIVEPATCH_WATCH_DIR: patches };
    [differing, ...replicas] = await Promise.all([
      startApp(suite, rt, { script: differingService(dir), env }),
      ...Array.from({ length: REPLICAS }, () => startApp(suite, rt, { env })),
    ]);
  });

  test('every replica converges to the first version and reports applied', async () => {
    for (const app of replicas) await statusWhen(rt, app.pid, (s) => watching(s, 'fleet-1'), 'fleet-1 applied');
    for (const app of replicas) assert.equal(await get(app.port, '/greet'), 'v1 world');
  });

  test('an atomic swap of ..data: every replica converges to the new version, and reports applied', async () => {
    volume.publish({ 'patch.js': greetPatch('fleet-2', 'v2', { oldHash: hash }) });
    for (const app of replicas) {
      const status = await statusWhen(rt, app.pid, (s) => watching(s, 'fleet-2'), 'fleet-2 applied');
      assert.equal(status.state, 'applied');
      assert.equal(status.pid, app.pid);
      assert.ok(entry(status, 'patch.js').since <= Date.now() && status.since >= entry(status, 'patch.js').since);
    }
    for (const app of replicas) assert.equal(await get(app.port, '/greet'), 'v2 world');
    // The cumulative patch replaced the first version: each process runs fleet-2 alone.
    const { patches } = await cliJson(['list', '-p', String(replicas[0].pid)], { dir: rt });
    assert.deepEqual(patches.map((p) => [p.name, p.enabled]), [['fleet-2', true]]);
  });

  test('the process whose module differs reports apply-failed with the reason, retries, and keeps serving', async () => {
    const status = await statusWhen(rt, differing.pid, (s) => entry(s, 'patch.js')?.attempts >= 1 && entry(s, 'patch.js').error?.message.includes("'fleet-2'"),
      'fleet-2 refused');
    const patch = entry(status, 'patch.js');
    assert.equal(status.state, 'apply-failed');
    assert.equal(patch.state, 'apply-failed');
    assert.equal(patch.error.code, 'ERR_LP_HASH_MISMATCH');
    assert.match(patch.error.message, new RegExp(`patch 'fleet-2', object 'src/server.js', symbol 'greet'.*${hash}`));
    assert.equal(patch.name, null, 'no version of the file runs in it');
    assert.ok(patch.retryAt > patch.since, 'another attempt is due');
    assert.equal(await get(differing.port, '/greet'), 'hi world');
    const { patches } = await cliJson(['list', '-p', String(differing.pid)], { dir: rt });
    assert.deepEqual(patches, []);
  });

  test('ps --json carries each process\'s status; ps --all --json gives every process, its patches and their states', async () => {
    const { processes } = await cliJson(['ps'], { dir: rt });
    const one = processes.find((p) => p.pid === replicas[0].pid);
    assert.equal(one.watch.state, 'applied');
    assert.equal(entry(one.watch, 'patch.js').name, 'fleet-2');

    const report = await cliJson(['ps', '--all'], { dir: rt });
    assert.deepEqual(report.processes.map((p) => p.pid).sort(), [differing.pid, ...replicas.map((a) => a.pid)].sort());
    for (const app of replicas) {
      const row = report.processes.find((p) => p.pid === app.pid);
      assert.deepEqual(row.patches.map((p) => [p.name, p.state, p.origin]), [['fleet-2', 'applied', 'watch:patch.js']]);
      assert.equal(row.transition, null);
      // The rest of the process's answer comes with it, whatever its version adds.
      assert.deepEqual([row.node, row.watch.state, row.argv.at(-1)], [process.version, 'applied', SERVER]);
    }
    const failed = report.processes.find((p) => p.pid === differing.pid);
    assert.deepEqual(failed.patches.map((p) => [p.name, p.state, p.origin, p.error.code]), [[null, 'apply-failed', 'watch:patch.js', 'ERR_LP_HASH_MISMATCH']]);

    const ps = (await cliOk(['ps'], { dir: rt })).stdout;
    assert.match(ps, new RegExp(`^${differing.pid} +v[\\d.]+ +per-task +patch\\.js \\(apply-failed\\) +node `, 'm'));
    assert.match(ps, new RegExp(`^${replicas[0].pid} +v[\\d.]+ +per-task +fleet-2 +node `, 'm'));

    const { stdout } = await cliOk(['ps', '--all'], { dir: rt });
    const lines = stdout.trim().split('\n');
    assert.match(lines[0], /^PID +PATCH +STATE +SINCE +FROM +DETAIL$/);
    assert.equal(lines.filter((l) => /^\d+ +fleet-2 +applied +\d\d:\d\d:\d\d +watch:patch\.js$/.test(l)).length, REPLICAS);
    assert.match(stdout, new RegExp(`^${differing.pid} +- +apply-failed +\\d\\d:\\d\\d:\\d\\d +watch:patch\\.js +ERR_LP_HASH_MISMATCH: `, 'm'));
  });
});
