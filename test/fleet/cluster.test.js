// A real node:cluster program under livepatch (docs/fleet.md, "Clusters and
// pm2"): `load --all` patches the primary and its 4 workers under HTTP load
// with no failed request, and a worker forked after the load runs the new
// code from its first request.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { describe, test } from 'node:test';
import { fixture, suiteContext, testPatch, waitFor } from '../helpers.js';
import { cli, cliJson, cliOk, get, LIMIT, runtimeDir, startApp } from '../control/support.js';
import { httpLoad, versionsByPid } from './support.js';

const MAIN = fixture('cluster', 'main.js');
const PATCH = testPatch('cluster', 'fix-version.js');

/** The cluster's processes under livepatch, once the primary and all `workers` have their sockets. */
async function members(dir, workers) {
  return waitFor(async () => {
    const { processes } = await cliJson(['ps'], { dir });
    return processes.length === workers + 1 && processes;
  }, { what: `${workers + 1} processes under livepatch` });
}

describe('a node:cluster program with 4 workers', () => {
  const t = suiteContext();
  const dir = runtimeDir(t);
  let app;

  test('load --all under HTTP load: every process enabled it, no request failed', LIMIT, async () => {
    app = await startApp(t, dir, { script: MAIN });
    const processes = await members(dir, 4);
    assert.deepEqual(processes.map((p) => p.role).sort(), ['primary', 'worker', 'worker', 'worker', 'worker']);
    assert.deepEqual([...new Set(processes.map((p) => p.app))], ['cluster-app']);
    const load = httpLoad(app.port);
    await waitFor(() => load.stats.ok >= 20, { what: 'requests served before the load' });
    const result = await cliJson(['load', PATCH, '--all'], { dir });
    const served = load.stats.ok;
    await waitFor(() => load.stats.ok >= served + 40, { what: 'requests served after the load' });
    const stats = await load.stop();
    assert.equal(stats.failed, 0, stats.errors.join('\n'));
    assert.deepEqual(
      { complete: result.complete, results: result.processes.map((p) => p.result) },
      { complete: true, results: ['enabled', 'enabled', 'enabled', 'enabled', 'enabled'] },
    );
    assert.equal(result.processes[0].role, 'primary');
    assert.ok(result.processes.every((p) => Number.isInteger(p.ms)), JSON.stringify(result.processes));
    // After the command returned, every worker answers with the new code.
    const after = new Set();
    for (let i = 0; i < 40; i++) after.add((await get(app.port, '/')).split(' ')[0]);
    assert.deepEqual([...after], ['v2']);
    // The group's patch set is recorded for processes that no primary of the group starts.
    assert.deepEqual(JSON.parse(fs.readFileSync(path.join(dir, 'cluster-app.patchset'), 'utf8')), { app: 'cluster-app', patches: [{ name: 'fix-version', file: PATCH }] });
  });

  test('a worker forked after the load runs the new code from its first request', LIMIT, async () => {
    // Without the group's record, the primary's hand-off alone gives the new worker the patch.
    fs.rmSync(path.join(dir, 'cluster-app.patchset'));
    const load = httpLoad(app.port);
    app.child.kill('SIGUSR2');
    const pid = Number((await waitFor(() => /forked (\d+)/.exec(app.stdout), { what: 'the new worker' }))[1]);
    await waitFor(() => load.stats.byPid.has(pid) && load.stats.byPid.get(pid).length >= 5, { what: `requests served by ${pid}` });
    const stats = await load.stop();
    assert.equal(stats.failed, 0, stats.errors.join('\n'));
    assert.deepEqual(versionsByPid(stats)[pid], ['v2']);
    assert.match(app.stdout, new RegExp(`worker ${pid} starts on v2`));
    const { processes } = await cliJson(['ps'], { dir });
    assert.deepEqual(processes.find((p) => p.pid === pid).patches.map((p) => p.name), ['fix-version']);
  });

  test('unload --all takes it out of every process', LIMIT, async () => {
    const result = await cliJson(['unload', 'fix-version', '--all'], { dir });
    assert.deepEqual(result.processes.map((p) => p.result), ['disabled', 'disabled', 'disabled', 'disabled', 'disabled', 'disabled']);
    const after = new Set();
    for (let i = 0; i < 20; i++) after.add((await get(app.port, '/')).split(' ')[0]);
    assert.deepEqual([...after], ['v1']);
    assert.equal(fs.existsSync(path.join(dir, 'cluster-app.patchset')), false);
  });
});

describe('a cluster whose last worker runs an older release', () => {
  const t = suiteContext();
  const dir = runtimeDir(t);
  let app;

  test('--atomic: one worker refuses, every process that enabled it is reverted, exit 10', LIMIT, async () => {
    app = await startApp(t, dir, { script: MAIN, env: { LEGACY_LAST: '1' } });
    await members(dir, 4);
    const result = await cliJson(['load', PATCH, '--all', '--atomic'], { dir }, 10);
    assert.equal(result.error.code, 'ERR_LP_GROUP_FAILED');
    const results = result.processes.map((p) => p.result).sort();
    assert.deepEqual(results, ['failed', 'reverted', 'reverted', 'reverted', 'reverted']);
    assert.equal(result.processes.find((p) => p.result === 'failed').error.code, 'ERR_LP_NOT_LOADED');
    const { processes } = await cliJson(['ps'], { dir });
    assert.deepEqual(processes.flatMap((p) => p.patches), []);
    const human = await cli(['load', PATCH, '--all', '--atomic'], { dir });
    assert.equal(human.code, 10);
    assert.match(human.stdout, /^PID +ROLE +RESULT +MS +ERROR$/m);
    assert.match(human.stderr, /failed in 1 of 5 processes/);
  });

  test('--rolling 1: one process at a time, stopping at the first that refuses', LIMIT, async () => {
    const result = await cliJson(['load', PATCH, '--all', '--rolling', '1'], { dir }, 10);
    const results = result.processes.map((p) => p.result);
    const failedAt = results.indexOf('failed');
    assert.ok(failedAt > 0, results.join(','));
    assert.deepEqual(results, results.map((_, i) => (i < failedAt ? 'enabled' : i === failedAt ? 'failed' : 'skipped')));
    // Run again, the rollout passes over the processes that already run the patch, and stops at the same one.
    const again = await cliJson(['load', PATCH, '--all', '--rolling', '1'], { dir }, 10);
    assert.deepEqual(again.processes.map((p) => p.result), results.map((_, i) => (i < failedAt ? 'already' : i === failedAt ? 'failed' : 'skipped')));
    await cliJson(['unload', 'fix-version', '--all'], { dir }, 0);
  });

  test('--app selects the group by name; two applications and no --app is ERR_LP_AMBIGUOUS_APP', LIMIT, async () => {
    await startApp(t, dir, { script: MAIN, env: { LIVEPATCH_APP: 'other-app', WORKERS: '1' } });
    await members(dir, 4 + 2);
    const ambiguous = await cliJson(['load', PATCH, '--all'], { dir }, 2);
    assert.deepEqual([ambiguous.error.code, ambiguous.error.detail], ['ERR_LP_AMBIGUOUS_APP', 'cluster-app, other-app']);
    const other = await cliJson(['load', PATCH, '--all', '--app', 'other-app'], { dir });
    assert.deepEqual(other.processes.map((p) => [p.role, p.result]), [['primary', 'enabled'], ['worker', 'enabled']]);
    const none = await cliJson(['load', PATCH, '--all', '--app', 'another-app'], { dir }, 4);
    assert.equal(none.error.code, 'ERR_LP_NO_PROCESS');
    const usage = await cliJson(['load', PATCH, '--atomic'], { dir }, 2);
    assert.equal(usage.error.code, 'ERR_LP_USAGE');
  });
});

// A host where a process started under an earlier livepatch still runs
// beside the upgraded ones: its `process` answer lacks the fields added
// since. ps lists it, and a group never takes it in.
describe('a cluster beside a process of an earlier livepatch release', () => {
  const t = suiteContext();
  const dir = runtimeDir(t);

  test('ps lists both, and load --all patches the cluster and passes over the earlier process', LIMIT, async () => {
    await startApp(t, dir, { script: MAIN, env: { WORKERS: '1' } });
    const earlier = spawn(process.execPath, [fixture('fleet', 'earlier-release.js')], { env: { ...process.env, LIVEPATCH_RUNTIME_DIR: dir }, stdio: ['ignore', 'pipe', 'inherit'] });
    t.after(() => earlier.kill('SIGKILL'));
    await new Promise((resolve) => earlier.stdout.once('data', resolve));
    const { processes } = await cliJson(['ps'], { dir });
    const old = processes.find((p) => p.pid === earlier.pid);
    assert.deepEqual([old.app, old.role, old.threads, old.transition], ['', 'process', [], null]);
    const { stdout } = await cliOk(['ps'], { dir });
    assert.match(stdout, new RegExp(`^${earlier.pid} .* fix-earlier +node /srv/earlier/server\\.js$`, 'm'));
    const result = await cliJson(['load', PATCH, '--all'], { dir });
    assert.deepEqual(result.processes.map((p) => [p.role, p.result]), [['primary', 'enabled'], ['worker', 'enabled']]);
  });
});
