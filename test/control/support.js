// Support for the control-plane tests: a fixture service started under
// livepatch in its own runtime directory, the CLI run against it, and
// plain HTTP requests to the service.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { CLI, collect, fixture, REGISTER, ROOT, testPatch, waitFor } from '../helpers.js';

export const APP_ROOT = fixture('control', 'app');
export const SERVER = path.join(APP_ROOT, 'src', 'server.js');
export const patch = (name) => testPatch('control', name);

/**
 * A fresh runtime directory for one test: `<tmp>/rt`, created by the first
 * process that starts. Its parent is world-searchable so that another uid
 * reaches the ownership check rather than failing on the parent.
 */
export function runtimeDir(t) {
  const base = fs.mkdtempSync(path.join(os.tmpdir(), 'lp-ctl-'));
  fs.chmodSync(base, 0o755);
  t.after(() => fs.rmSync(base, { recursive: true, force: true }));
  return path.join(base, 'rt');
}

/**
 * Starts the fixture service (or `script`) under livepatch and resolves once
 * it printed its port. The process is killed when the test ends.
 */
export async function startApp(t, dir, { script = SERVER, env = {} } = {}) {
  const child = spawn(process.execPath, ['--import', REGISTER, script], {
    cwd: path.dirname(script),
    env: { ...process.env, LIVEPATCH_RUNTIME_DIR: dir, LIVEPATCH_CACHE: '0', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const app = { child, pid: child.pid, port: 0, stdout: '', stderr: '' };
  child.stdout.on('data', (d) => (app.stdout += d));
  child.stderr.on('data', (d) => (app.stderr += d));
  app.exited = new Promise((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
  t.after(async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    await app.exited;
  });
  app.port = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`the app did not start:\n${app.stdout}\n${app.stderr}`)), 15_000);
    child.stdout.on('data', () => {
      const match = /port (\d+)/.exec(app.stdout);
      if (match) {
        clearTimeout(timer);
        resolve(Number(match[1]));
      }
    });
    app.exited.then(() => reject(new Error(`the app exited early:\n${app.stdout}\n${app.stderr}`)));
  });
  // The control socket opens on the app's first turn of the event loop; a
  // test starts once it is there (as a user's command would find it), or
  // once livepatch said it opens none.
  if (env.LIVEPATCH_CONTROL !== '0') {
    await waitFor(() => fs.existsSync(path.join(dir, `${child.pid}.sock`)) || app.stderr.includes('livepatch: control socket disabled'), {
      what: `the control socket of ${child.pid}`,
    });
  }
  return app;
}

/** Runs the CLI and resolves with its exit code and output. */
export function cli(args, { dir, env = {}, cwd = ROOT, uid, gid } = {}) {
  return collect(process.execPath, [CLI, ...args], {
    cwd,
    env: { ...process.env, LIVEPATCH_RUNTIME_DIR: dir, ...env },
    timeout: 30_000,
    ...(uid === undefined ? {} : { uid, gid }),
  }).then(({ code, stdout, stderr }) => ({ code, stdout, stderr }));
}

/** Runs the CLI and fails the test unless it exits 0. */
export async function cliOk(args, options) {
  const result = await cli(args, options);
  assert.equal(result.code, 0, `livepatch ${args.join(' ')} exited ${result.code}\nstdout:\n${result.stdout}\nstderr:\n${result.stderr}`);
  return result;
}

/** Runs the CLI with --json, checks its exit code, and parses its output. */
export async function cliJson(args, options, code = 0) {
  const result = await cli([...args, '--json'], options);
  assert.equal(result.code, code, `livepatch ${args.join(' ')} --json exited ${result.code}\nstdout:\n${result.stdout}\nstderr:\n${result.stderr}`);
  return JSON.parse(result.stdout);
}

/** GET `path` from the fixture service; resolves with the body. */
export function get(port, urlPath) {
  return new Promise((resolve, reject) => {
    http.get({ host: '127.0.0.1', port, path: urlPath, agent: false }, (res) => {
      let body = '';
      res.on('data', (d) => (body += d));
      res.on('end', () => resolve(body.trim()));
    }).on('error', reject);
  });
}

/** Starts a `/hold` request and resolves, with its pending response, once the service holds it. */
export async function hold(app) {
  const before = Number(await get(app.port, '/held'));
  const response = get(app.port, '/hold');
  await waitFor(async () => Number(await get(app.port, '/held')) !== before, { intervalMs: 10, what: 'the service to hold a /hold request' });
  return { response };
}

/** The lines of `text` without those matching `pattern` (progress lines, timings). */
export function without(text, pattern) {
  return text.split('\n').filter((line) => !pattern.test(line)).join('\n');
}

/** Options for every test here: a regression that hangs (a process that never exits) fails instead. */
export const LIMIT = { timeout: 45_000 };

/** A raw connection speaking the framing only, to send what the CLI never would. */
export async function raw(socketPath) {
  const socket = net.createConnection(socketPath);
  await new Promise((resolve, reject) => socket.once('connect', resolve).once('error', reject));
  let buffer = Buffer.alloc(0);
  const frames = [];
  const waiting = [];
  socket.on('data', (chunk) => {
    buffer = Buffer.concat([buffer, chunk]);
    while (buffer.length >= 4 && buffer.length >= 4 + buffer.readUInt32BE(0)) {
      frames.push(JSON.parse(buffer.subarray(4, 4 + buffer.readUInt32BE(0)).toString()));
      buffer = buffer.subarray(4 + buffer.readUInt32BE(0));
    }
    while (frames.length > 0 && waiting.length > 0) waiting.shift()(frames.shift());
  });
  // A connection the process drops may end in ECONNRESET: `closed` says it ended.
  socket.on('error', () => {});
  const closed = new Promise((resolve) => socket.on('close', resolve));
  const frame = (payload) => {
    const body = Buffer.isBuffer(payload) ? payload : Buffer.from(JSON.stringify(payload));
    const header = Buffer.alloc(4);
    header.writeUInt32BE(body.length);
    return Buffer.concat([header, body]);
  };
  return {
    send: (payload) => socket.write(frame(payload)),
    sendBytes: (bytes) => socket.write(bytes),
    next: () => (frames.length > 0 ? Promise.resolve(frames.shift()) : new Promise((resolve) => waiting.push(resolve))),
    closed,
    end: () => socket.destroy(),
    socket,
  };
}
