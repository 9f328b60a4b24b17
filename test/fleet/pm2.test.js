// pm2 in cluster mode (docs/fleet.md, "Clusters and pm2"): a real pm2
// daemon from the npm registry, with its own PM2_HOME, runs a service
// under livepatch in 2 cluster workers; `load --all --app` patches both
// under HTTP load with no failed request, and the workers `pm2 reload`
// starts afterwards keep the patch. The daemon is killed after.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { describe, test } from 'node:test';
import { fixture, REGISTER, ROOT, suiteContext, testPatch, waitFor } from '../helpers.js';
import { cliJson, get, runtimeDir } from '../control/support.js';
import { httpLoad } from './support.js';

const PM2 = path.join(ROOT, 'node_modules', 'pm2', 'bin', 'pm2');
const APP_ROOT = fixture('pm2');
const PATCH = testPatch('pm2', 'fix-version.js');
const INSTANCES = 2;

/** A free loopback port: pm2's cluster workers share the one the service listens on. */
async function freePort() {
  const server = net.createServer().listen(0, '127.0.0.1');
  await new Promise((resolve) => server.once('listening', resolve));
  const { port } = server.address();
  await new Promise((resolve) => server.close(resolve));
  return port;
}

describe('a pm2 cluster-mode application under livepatch', { timeout: 90_000 }, () => {
  const t = suiteContext();
  const dir = runtimeDir(t);
  const home = fs.mkdtempSync(path.join(os.tmpdir(), 'lp-pm2-'));
  const env = { ...process.env, PM2_HOME: home, LIVEPATCH_RUNTIME_DIR: dir };
  const log = path.join(home, 'pm2.log');
  // pm2's output goes to a file: the daemon it starts inherits its stdio, and would hold a pipe open.
  const run = (args) => new Promise((resolve, reject) => {
    const out = fs.openSync(log, 'a');
    const child = spawn(process.execPath, [PM2, ...args], { env, cwd: home, stdio: ['ignore', out, out] });
    fs.closeSync(out);
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.on('error', reject);
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve(code);
    });
  });
  const pm2 = async (...args) => {
    const code = await run(args);
    assert.equal(code, 0, `pm2 ${args.join(' ')} exited ${code}\n${fs.readFileSync(log, 'utf8')}`);
  };
  t.after(async () => {
    await run(['kill']);
    fs.rmSync(home, { recursive: true, force: true });
  });
  let port;

  /** The application's processes under livepatch, once there are INSTANCES of them and none of `old`. */
  const workers = (old = []) => waitFor(async () => {
    const { processes } = await cliJson(['ps'], { dir });
    const fresh = processes.filter((p) => p.app === 'pm2-app' && !old.includes(p.pid));
    return fresh.length === INSTANCES && processes.length === INSTANCES && fresh;
  }, { timeoutMs: 30_000, what: `${INSTANCES} pm2 workers under livepatch` });

  test('pm2 starts the workers under livepatch, each a cluster worker of the application', async () => {
    port = await freePort();
    const ecosystem = path.join(home, 'ecosystem.config.cjs');
    fs.writeFileSync(ecosystem, `module.exports = ${JSON.stringify({
      apps: [{
        name: 'pm2-app',
        script: path.join(APP_ROOT, 'server.cjs'),
        cwd: APP_ROOT,
        exec_mode: 'cluster',
        instances: INSTANCES,
        node_args: ['--import', REGISTER],
        env: { PORT: String(port), LIVEPATCH_APP: 'pm2-app', LIVEPATCH_CACHE: '0' },
      }],
    })};\n`);
    await pm2('start', ecosystem);
    const started = await workers();
    assert.deepEqual(started.map((p) => p.role), ['worker', 'worker']);
    await waitFor(async () => (await get(port, '/').catch(() => '')).startsWith('v1'), { what: 'the service to answer' });
  });

  test('load --all --app under HTTP load: both workers enabled it, no request failed', async () => {
    const load = httpLoad(port);
    await waitFor(() => load.stats.ok >= 20, { what: 'requests served before the load' });
    const result = await cliJson(['load', PATCH, '--all', '--app', 'pm2-app'], { dir });
    const served = load.stats.ok;
    await waitFor(() => load.stats.ok >= served + 20, { what: 'requests served after the load' });
    const stats = await load.stop();
    assert.equal(stats.failed, 0, stats.errors.join('\n'));
    assert.deepEqual(result.processes.map((p) => p.result), ['enabled', 'enabled']);
    const after = new Set();
    for (let i = 0; i < 20; i++) after.add((await get(port, '/')).split(' ')[0]);
    assert.deepEqual([...after], ['v2']);
  });

  test('the workers pm2 reload starts afterwards run the patch', async () => {
    const before = (await cliJson(['ps'], { dir })).processes.map((p) => p.pid);
    await pm2('reload', 'pm2-app');
    const reloaded = await workers(before);
    assert.deepEqual(reloaded.map((p) => p.patches.map((x) => x.name)), [['fix-version'], ['fix-version']]);
    const after = new Map();
    for (let i = 0; i < 20; i++) {
      const [version, pid] = (await get(port, '/')).split(' ');
      after.set(Number(pid), version);
    }
    assert.ok([...after.keys()].every((pid) => !before.includes(pid)), `answers from old workers: ${[...after.keys()]}`);
    assert.deepEqual([...new Set(after.values())], ['v2']);
  });
});
