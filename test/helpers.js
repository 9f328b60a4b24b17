/**
 * Shared test support: spawn real Node processes under livepatch, collect
 * their output, and compare log transcripts exactly, as the kernel's
 * selftests do (`check_result`).
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import path from 'node:path';
import { after } from 'node:test';
import { fileURLToPath } from 'node:url';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const REGISTER = path.join(ROOT, 'dist', 'startup', 'register.js');
export const CLI = path.join(ROOT, 'dist', 'cli', 'index.js');

export function fixture(...parts) {
  return path.join(ROOT, 'test', 'fixtures', ...parts);
}

export function testPatch(...parts) {
  return path.join(ROOT, 'test', 'patches', ...parts);
}

/**
 * Spawns a process, collects its output, and resolves with its exit code,
 * signal and output; rejects when it runs longer than `timeout` ms.
 */
export function collect(command, args, { timeout = 60_000, input, ...options } = {}) {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ['pipe', 'pipe', 'pipe'], ...options });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${[command, ...args].join(' ')} timed out after ${timeout} ms\nstdout:\n${stdout}\nstderr:\n${stderr}`));
    }, timeout);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
    child.stdin.end(input);
  });
}

/**
 * Runs `node [nodeArgs] [--import register] script [args]` and resolves with
 * its exit code and output. The transform cache is off unless `env` sets it,
 * so tests never write into the fixtures, and debug log lines are on.
 */
export function runNode(script, { args = [], env = {}, cwd, nodeArgs = [], register = true, timeout = 60_000, input } = {}) {
  const argv = [...nodeArgs, ...(register ? ['--import', REGISTER] : []), script, ...args];
  return collect(process.execPath, argv, {
    cwd: cwd ?? path.dirname(script),
    env: { ...process.env, LIVEPATCH_CACHE: '0', LIVEPATCH_DEBUG: '1', ...env },
    timeout,
    input,
  });
}

/** Like runNode, but fails the test unless the process exits 0. */
export async function runOk(script, options) {
  const result = await runNode(script, options);
  assert.equal(result.code, 0, `${path.basename(script)} exited ${result.code}\nstdout:\n${result.stdout}\nstderr:\n${result.stderr}`);
  return result;
}

/** The log lines a transcript compares: livepatch's own and the test patches' (`test_klp…`). */
export function transcript(text, prefixes = ['livepatch: ', 'test_klp']) {
  return text.split('\n').filter((line) => prefixes.some((p) => line.startsWith(p)));
}

/**
 * A stand-in for a test's context in a describe() block, for helpers that
 * take `t` to register a clean-up (`t.after`): the clean-ups run, last
 * first, once the block's tests are done. Call it in the describe() body.
 */
export function suiteContext() {
  const cleanups = [];
  after(async () => {
    for (const fn of cleanups.reverse()) await fn();
  });
  return { after: (fn) => void cleanups.push(fn) };
}

/** Resolves after `ms` milliseconds. */
export function sleep(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * Calls `fn` every `intervalMs` until it returns a truthy value, and
 * resolves with that value. Fails, naming `what` (by default `fn`'s source),
 * once `timeoutMs` has passed: a condition that never comes fails the test
 * instead of hanging it.
 */
export async function waitFor(fn, { timeoutMs = 10_000, intervalMs = 20, what = String(fn) } = {}) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await fn();
    if (value) return value;
    if (Date.now() >= deadline) assert.fail(`gave up after ${timeoutMs} ms waiting for ${what}`);
    await sleep(intervalMs);
  }
}

/**
 * Runs a scenario driver, a fixture that performs `steps` (passed as JSON)
 * and logs each as `% …`, and resolves with its transcript: livepatch's
 * lines, the test patches' and the steps', in order.
 */
export async function scenario(driver, steps, env = {}) {
  const { stderr } = await runOk(driver, { args: [JSON.stringify(steps)], env });
  return transcript(stderr, ['livepatch: ', 'test_klp', '% ']);
}

/** Compares a transcript with an expected block (one line each, indentation ignored). */
export function assertTranscript(actual, expected) {
  const want = expected.split('\n').map((l) => l.trim()).filter(Boolean);
  if (JSON.stringify(actual) === JSON.stringify(want)) return;
  const width = Math.max(...want.map((l) => l.length), 8);
  const rows = [];
  for (let i = 0; i < Math.max(actual.length, want.length); i++) {
    const mark = actual[i] === want[i] ? ' ' : '!';
    rows.push(`${mark} ${(want[i] ?? '').padEnd(width)} | ${actual[i] ?? ''}`);
  }
  assert.fail(`transcript differs (expected | actual):\n${rows.join('\n')}`);
}
