/**
 * `livepatch run <script> [args…]`: runs a Node program under livepatch,
 * exactly as `node --import livepatch/register <script> [args…]` does, and
 * exits with its exit code. Signals are forwarded so that the program sees
 * Ctrl-C and service managers' TERM as if it ran directly.
 */
import { spawn } from 'node:child_process';
import { REGISTER } from '../../paths.js';
import type { CommandContext } from '../context.js';

export async function run(ctx: CommandContext): Promise<number> {
  const [script, ...args] = ctx.rest;
  const child = spawn(process.execPath, [...process.execArgv, '--import', REGISTER, script, ...args], { stdio: 'inherit' });
  const forward = (signal: NodeJS.Signals) => child.kill(signal);
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(signal, forward);
  return new Promise((resolve) => {
    child.on('exit', (code, signal) => resolve(code ?? 128 + (signal ? osSignal(signal) : 0)));
  });
}

function osSignal(signal: NodeJS.Signals): number {
  return { SIGHUP: 1, SIGINT: 2, SIGKILL: 9, SIGTERM: 15 }[signal as string] ?? 0;
}
