// The control socket's limits (docs/cli.md, "The control protocol"): a
// deadline for hello, a cap on connections, on log followers and on
// requests in flight, and a client that does not read its responses is
// dropped rather than buffered. The service serves HTTP throughout.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { before, describe, test } from 'node:test';
import { suiteContext } from '../helpers.js';
import { cli, cliJson, get, hold, LIMIT, patch, raw, runtimeDir, startApp } from './support.js';

/** A raw connection to the app that has said hello with the token. */
async function authenticated(dir, app) {
  const conn = await raw(path.join(dir, `${app.pid}.sock`));
  conn.send({ v: 1, id: 0, type: 'hello', token: fs.readFileSync(path.join(dir, `${app.pid}.token`), 'utf8') });
  assert.equal((await conn.next()).ok, true);
  return conn;
}

/** Checks that `frame` refuses with `code`, and the message's detail. */
const assertRefusal = (frame, code, detail) => assert.deepEqual({ ok: frame.ok, code: frame.error?.code, detail: frame.error?.detail }, { ok: false, code, detail });

describe('limits of the control socket', () => {
  const suite = suiteContext();
  let dir;
  let app;
  before(async () => {
    dir = runtimeDir(suite);
    app = await startApp(suite, dir);
  }, LIMIT);
  const connect = () => raw(path.join(dir, `${app.pid}.sock`));

  test('a connection that sends half a header and waits is refused and closed after 5 seconds', LIMIT, async () => {
    const conn = await connect();
    conn.sendBytes(Buffer.from([0, 0]));
    const started = Date.now();
    assertRefusal(await conn.next(), 'ERR_LP_PERMISSION', 'no hello with the token within 5 seconds');
    await conn.closed;
    const waited = Date.now() - started;
    assert.ok(waited >= 4500 && waited < 15_000, `closed after ${waited} ms`);
  });

  test('a frame before hello may be at most 4 KiB', LIMIT, async () => {
    const conn = await connect();
    conn.send({ v: 1, id: 1, type: 'hello', token: 'x'.repeat(8192) });
    assertRefusal(await conn.next(), 'ERR_LP_PROTOCOL', 'frame of 8232 bytes exceeds the limit of 4096');
    await conn.closed;
  });

  test('64 connections at once: the 65th is refused and closed, the service serves on, and a slot frees when one closes', LIMIT, async () => {
    const idle = await Promise.all(Array.from({ length: 64 }, connect));
    const extra = await connect();
    assertRefusal(await extra.next(), 'ERR_LP_LIMIT', '64 control connections are open');
    await extra.closed;
    assert.equal(await get(app.port, '/greet'), 'hello world');
    idle.pop().end();
    const list = await cliJson(['list'], { dir });
    assert.deepEqual(list.patches, []);
    for (const conn of idle) conn.end();
  });

  test('16 log followers at once: the 17th is refused, and its connection serves on', LIMIT, async () => {
    const conn = await authenticated(dir, app);
    for (let id = 1; id <= 17; id++) conn.send({ v: 1, id, type: 'log', follow: true });
    const answers = [];
    for (let i = 0; i < 17; i++) answers.push(await conn.next());
    assertRefusal(answers.find((a) => a.id === 17), 'ERR_LP_LIMIT', '16 log followers are following');
    conn.send({ v: 1, id: 18, type: 'transition' });
    assert.deepEqual(await conn.next(), { v: 1, id: 18, ok: true, result: null });
    conn.end();
  });

  test('a client that asks and never reads is dropped once 8 MiB of answers wait for it; the service serves on', LIMIT, async () => {
    const conn = await authenticated(dir, app);
    conn.socket.pause();
    for (let id = 1; id <= 40_000; id++) conn.send({ v: 1, id, type: 'process' });
    await conn.closed;
    assert.equal(await get(app.port, '/greet'), 'hello world');
    const log = (await cliJson(['log'], { dir })).records.map((r) => r.text);
    assert.ok(log.some((line) => /^livepatch: control connection dropped: \d+ bytes of answers were not read$/.test(line)), log.join('\n'));
  });

  // Last: it leaves a transition stalled.
  test('32 waits for a stalled transition are in flight at once on a connection; the 33rd is refused at once', LIMIT, async (t) => {
    const { response } = await hold(app);
    t.after(async () => {
      await get(app.port, '/release');
      await response;
    });
    assert.equal((await cli(['load', patch('fix-hold.ts'), '--wait', '0', '--keep'], { dir })).code, 3, 'the transition stalls');
    const conn = await authenticated(dir, app);
    for (let id = 1; id <= 33; id++) conn.send({ v: 1, id, type: 'transition', waitMs: 60_000 });
    assertRefusal(await conn.next(), 'ERR_LP_LIMIT', '32 requests are in flight on this connection');
    conn.end();
  });
});
