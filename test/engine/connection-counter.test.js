// The worked data-structure change (examples/connection-counter) in a live
// process under load: keep-alive clients hammer the service while the CLI
// loads count-requests, replaces it with count-and-limit, and unloads it.
// Per connection, the counter must count every request from the patch on,
// carry on without a reset across the replace, close the connection at the
// limit, and be gone after the unload; no request may fail.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import http from 'node:http';
import path from 'node:path';
import test from 'node:test';
import { CLI, REGISTER, ROOT, sleep } from '../helpers.js';

const EXAMPLE = path.join(ROOT, 'examples', 'connection-counter');

function assertCliOk(...args) {
  const result = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8' });
  assert.equal(result.status, 0, `livepatch ${args.join(' ')}\n${result.stdout}${result.stderr}`);
}

test('per-connection counters in shadow variables, taken over by a cumulative patch, under load', async (t) => {
  const service = spawn(process.execPath, ['--import', REGISTER, path.join(EXAMPLE, 'server.js')], {
    env: { ...process.env, LIVEPATCH_CACHE: '0' }, stdio: ['ignore', 'pipe', 'inherit'],
  });
  t.after(() => service.kill());
  const port = await new Promise((resolve) => service.stdout.on('data', (d) => {
    const m = /listening (\d+)/.exec(d);
    if (m) resolve(Number(m[1]));
  }));

  // Each client has one keep-alive connection at a time; every response is
  // recorded against the client-side socket it came on.
  const connections = new Map(); // socket → { id, seen: [] }
  let failed = 0;
  let phase = 'unpatched';
  let running = true;
  async function client(name) {
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    while (running) {
      await new Promise((resolve) => {
        http.get({ port, path: `/${name}`, agent }, (res) => {
          if (!connections.has(res.socket)) connections.set(res.socket, { id: connections.size, seen: [] });
          connections.get(res.socket).seen.push({ phase, counter: res.headers['x-connection-requests'] ?? null, close: res.headers.connection === 'close' });
          res.resume();
          res.on('end', resolve);
        }).on('error', () => {
          failed++;
          resolve();
        });
      });
    }
    agent.destroy();
  }
  const clients = Array.from({ length: 12 }, (_, i) => client(`c${i}`));
  await sleep(300);
  phase = 'count-requests';
  assertCliOk('load', path.join(EXAMPLE, 'count-requests.ts'), '-p', String(service.pid));
  await sleep(500);
  phase = 'count-and-limit';
  assertCliOk('load', path.join(EXAMPLE, 'count-and-limit.ts'), '-p', String(service.pid));
  await sleep(500);
  phase = 'unloaded';
  assertCliOk('unload', 'count-and-limit', '-p', String(service.pid));
  await sleep(300);
  running = false;
  await Promise.all(clients);

  assert.equal(failed, 0, 'no request failed');
  let takenOver = 0;
  let closedAtLimit = 0;
  for (const { id, seen } of connections.values()) {
    const counted = seen.filter((s) => s.counter !== null);
    // From the first counted request on, every request of the connection is
    // counted, one by one, until the unload: no reset, no gap.
    counted.forEach((s, i) => assert.equal(Number(s.counter), i + 1 + Number(counted[0].counter) - 1, `connection ${id}: ${JSON.stringify(seen)}`));
    const first = seen.findIndex((s) => s.counter !== null);
    if (first >= 0) {
      const last = first + counted.length;
      assert.ok(seen.slice(first, last).every((s) => s.counter !== null), `connection ${id}: counted without a gap`);
      assert.ok(seen.slice(last).every((s) => s.phase === 'unloaded'), `connection ${id}: only the unload stops the count`);
      // Connections that existed before the patch start at 1: the counter was attached lazily.
      assert.equal(counted[0].counter, '1', `connection ${id}`);
    }
    if (counted.some((s) => s.phase === 'count-requests') && counted.some((s) => s.phase === 'count-and-limit')) takenOver++;
    // count-and-limit closes a connection at its limit; one that was already
    // past it when the counters were taken over closes at once. A phase
    // starts with its command, so count-and-limit still answers for a while
    // in the 'unloaded' phase, until the unload takes effect.
    for (const s of seen) {
      if (s.close) {
        closedAtLimit++;
        assert.ok(s.phase !== 'count-requests' && s.phase !== 'unpatched' && Number(s.counter) >= 5, `connection ${id} closes at the limit: ${JSON.stringify(s)}`);
        assert.equal(s, seen.at(-1), `connection ${id}: nothing after the close`);
      }
    }
  }
  assert.ok(takenOver > 0, 'some connections were counted by both patches, without a reset');
  assert.ok(closedAtLimit > 0, 'count-and-limit closed connections at its limit');
  assert.ok([...connections.values()].some((c) => c.seen.some((s) => s.phase === 'unloaded' && s.counter === null)), 'after the unload nothing is counted');
});
