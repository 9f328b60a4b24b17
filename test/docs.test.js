// The documentation's examples are real: every fenced block that quotes a
// file (```ts file=path) matches that file, every quoted output
// (```text output=script stream=stdout|stderr) is what running the script
// under livepatch prints, every quoted `$ livepatch symbols …` prints what
// the block shows, and every terminal session (```text session=server)
// replays against that server running under livepatch.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import http from 'node:http';
import fs from 'node:fs';
import path from 'node:path';
import test from 'node:test';
import { CLI, REGISTER, ROOT } from './helpers.js';

const DOCS = ['README.md', ...fs.readdirSync(path.join(ROOT, 'docs')).filter((f) => f.endsWith('.md')).map((f) => `docs/${f}`)];

function blocks(doc) {
  const text = fs.readFileSync(path.join(ROOT, doc), 'utf8');
  return [...text.matchAll(/^```(\w*)([^\n]*)\n([\s\S]*?)^```$/gm)].map((m) => ({
    lang: m[1],
    attrs: Object.fromEntries([...m[2].matchAll(/(\w+)=(\S+)/g)].map((a) => [a[1], a[2]])),
    body: m[3],
  }));
}

/** Runs an example under livepatch, once however many blocks quote its output. */
const runs = new Map();
function run(script) {
  if (!runs.has(script)) {
    runs.set(script, spawnSync(process.execPath, ['--import', REGISTER, path.join(ROOT, script)], {
      cwd: path.dirname(path.join(ROOT, script)), encoding: 'utf8', timeout: 60_000,
      env: { ...process.env, LIVEPATCH_CACHE: '0', LIVEPATCH_DEBUG: '0' },
    }));
  }
  return runs.get(script);
}

const lines = (s) => s.trimEnd().split('\n').map((l) => l.trimEnd());

/** Session lines compare with numbers (pids, times, ports) normalized, and `…` matching anything. */
function sessionMatch(expected, actual) {
  const number = (l) => l.replace(/\d+(\.\d+)?/g, '#');
  const pattern = number(expected).split('…').map((part) => part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('.*');
  return new RegExp(`^${pattern}$`).test(number(actual));
}

const TAKES_PID = new Set(['load', 'unload', 'list', 'info', 'tasks', 'log', 'sys']);

/**
 * Replays a session and checks what each command prints: starts the server
 * under livepatch, then runs each `$ livepatch …` (with `-p` of that server)
 * and `$ curl -s localhost:8080/…` (against its port) from the server's
 * directory.
 */
async function assertSessionReplays(server, body) {
  const dir = path.dirname(path.join(ROOT, server));
  const child = spawn(process.execPath, ['--import', REGISTER, path.join(ROOT, server)], {
    cwd: dir, env: { ...process.env, PORT: '0', LIVEPATCH_CACHE: '0', LIVEPATCH_DEBUG: '0' }, stdio: ['ignore', 'pipe', 'ignore'],
  });
  try {
    const port = await new Promise((resolve, reject) => {
      child.stdout.on('data', (d) => { const m = /listening (\d+)/.exec(d); if (m) resolve(m[1]); });
      child.on('exit', () => reject(new Error(`${server} exited`)));
    });
    const steps = [];
    for (const line of lines(body)) {
      if (line.startsWith('$ ')) steps.push({ command: line.slice(2), expected: [] });
      else steps.at(-1).expected.push(line);
    }
    for (const { command, expected } of steps) {
      let output;
      if (command.startsWith('curl ')) {
        const url = command.split(' ').at(-1).replace('localhost:8080', `127.0.0.1:${port}`);
        output = await new Promise((resolve, reject) => http.get(`http://${url}`, (res) => {
          let text = '';
          res.on('data', (d) => (text += d));
          res.on('end', () => resolve(text));
        }).on('error', reject));
      } else {
        const args = command.slice('livepatch '.length).split(' ');
        if (TAKES_PID.has(args[0])) args.push('-p', String(child.pid));
        const result = spawnSync(process.execPath, [CLI, ...args], { cwd: dir, encoding: 'utf8' });
        output = result.stdout + result.stderr;
      }
      const actual = lines(output);
      assert.equal(actual.length, expected.length, `$ ${command}\n${output}`);
      expected.forEach((want, i) => assert.ok(sessionMatch(want, actual[i]), `$ ${command}: expected\n  ${want}\ngot\n  ${actual[i]}`));
    }
  } finally {
    child.kill();
  }
}

for (const doc of DOCS) {
  const found = blocks(doc);
  test(`${doc}: quoted files match the repository`, () => {
    for (const b of found.filter((x) => x.attrs.file)) {
      assert.equal(b.body, fs.readFileSync(path.join(ROOT, b.attrs.file), 'utf8'), `${doc} quotes ${b.attrs.file}`);
    }
  });
  const outputs = found.filter((x) => x.attrs.output);
  if (outputs.length) {
    test(`${doc}: quoted outputs are what the examples print`, () => {
      for (const b of outputs) {
        const result = run(b.attrs.output);
        assert.equal(result.status, 0, `${b.attrs.output} failed:\n${result.stdout}\n${result.stderr}`);
        assert.deepEqual(lines(result[b.attrs.stream ?? 'stdout']), lines(b.body), `${doc}: ${b.attrs.output} ${b.attrs.stream ?? 'stdout'}`);
      }
    });
  }
  const sessions = found.filter((x) => x.attrs.session);
  if (sessions.length) {
    test(`${doc}: terminal sessions replay against the running example`, async () => {
      for (const b of sessions) await assertSessionReplays(b.attrs.session, b.body);
    });
  }
  const commands = found.filter((x) => x.body.startsWith('$ livepatch symbols '));
  if (commands.length) {
    test(`${doc}: quoted commands print what the document shows`, () => {
      for (const b of commands) {
        const [command, ...expected] = lines(b.body);
        const args = command.slice('$ livepatch '.length).split(' ');
        const result = spawnSync(process.execPath, [CLI, ...args], { cwd: ROOT, encoding: 'utf8' });
        assert.deepEqual(lines(result.stdout), expected, `${doc}: ${command}`);
      }
    });
  }
}
