/**
 * TypeScript, stripped the way Node strips it (`module.stripTypeScriptTypes`,
 * the same type stripper Node runs on `.ts` files): types become
 * whitespace, so every line and column of the code stays where it was and
 * stack traces need no source map.
 *
 * Application modules are stripped in the load hook, synchronously, as Node
 * would strip them itself. Patch modules are stripped in a short-lived worker
 * thread (`stripOffThread`): the stripper's first use in a process compiles
 * its WebAssembly, which would hold the event loop of a serving process for
 * tens of milliseconds.
 */
import { stripTypeScriptTypes } from 'node:module';
import { lpError, type LivepatchError } from '../errors.js';

/** The marker an internal worker carries in its environment, so that `livepatch/register` leaves it alone. */
export const INTERNAL_WORKER = 'LIVEPATCH_INTERNAL_WORKER';

/** Whether a file name or a loader format is TypeScript that Node strips. */
export function isTypeScript(fileOrFormat: string): boolean {
  return /\.[cm]?ts$/.test(fileOrFormat) || fileOrFormat.endsWith('-typescript');
}

let warningSilenced = false;

/**
 * Strips the types of `source`. Node marks `stripTypeScriptTypes` as not yet
 * stable and warns once on its first use, although it is what Node itself
 * runs on every `.ts` file without a warning; that one warning, and only
 * it, is kept from the program's stderr.
 */
export function stripTypes(source: string, file: string): string {
  if (warningSilenced) return strip(source, file);
  const emitWarning = process.emitWarning;
  const filtered = (warning: string | Error, ...rest: unknown[]): void => {
    const text = typeof warning === 'string' ? warning : warning.message;
    if (!text.startsWith('stripTypeScriptTypes is an experimental feature')) Reflect.apply(emitWarning, process, [warning, ...rest]);
  };
  process.emitWarning = filtered as typeof process.emitWarning;
  try {
    return strip(source, file);
  } finally {
    process.emitWarning = emitWarning;
    warningSilenced = true;
  }
}

/** What to write instead of each construct that needs TypeScript's transform. */
const INSTEAD: [RegExp, string, string][] = [
  [/\benum\b/, 'an enum', 'a const object and a union type: `const Color = { Red: 0 } as const; type Color = (typeof Color)[keyof typeof Color];`'],
  [/\bnamespace\b/, 'a namespace', 'module-level declarations, or an object that groups them'],
  [/parameter property/, 'a parameter property', 'a field declared in the class and assigned in the constructor'],
  [/angle-bracket/, 'an angle-bracket type assertion', '`expr as T`'],
  [/import equals/, 'an `import x = require()` declaration', '`import x from` or `createRequire(import.meta.url)`'],
];

function strip(source: string, file: string): string {
  try {
    return stripTypeScriptTypes(source, { mode: 'strip', sourceUrl: file });
  } catch (err) {
    // strippingError makes the catalog error: ERR_LP_TS_SYNTAX, ERR_LP_PATCH_SYNTAX or ERR_LP_PATCH_LOAD.
    throw strippingError(err as NodeJS.ErrnoException, file);
  }
}

/** The coded error for what the stripper refused, naming the file, the line and, for a construct it cannot strip, what to write instead. */
function strippingError(err: { code?: string; message: string; stack?: string }, file: string): LivepatchError {
  const { code, message, stack } = err;
  if (code !== 'ERR_UNSUPPORTED_TYPESCRIPT_SYNTAX' && code !== 'ERR_INVALID_TYPESCRIPT_SYNTAX') {
    return lpError('ERR_LP_PATCH_LOAD', { detail: `${file}: cannot strip its types: ${message}` }, { cause: err });
  }
  // The stripper reports the position only in its stack, as `<sourceUrl>:<line>`.
  const at = (stack ?? '').split('\n').find((l) => l.startsWith(`${file}:`));
  const where = at && /^\d+$/.test(at.slice(file.length + 1)) ? at : file;
  const known = INSTEAD.find(([pattern]) => pattern.test(message));
  if (code === 'ERR_INVALID_TYPESCRIPT_SYNTAX') return lpError('ERR_LP_PATCH_SYNTAX', { detail: `${where}: ${message}` }, { cause: err });
  if (!known) return lpError('ERR_LP_PATCH_LOAD', { detail: `${where}: ${message}` }, { cause: err });
  return lpError('ERR_LP_TS_SYNTAX', { detail: `${where}: ${known[1]} cannot be stripped of its types; write ${known[2]} instead` }, { cause: err });
}

/*
 * The off-thread stripper: one worker, started on the first patch that
 * needs it, and stopped after a quiet minute. It holds the process only
 * while a patch waits for it (a program awaiting a load must not exit
 * under it), and `livepatch/register` does not run in it.
 */
const IDLE_MS = 60_000;
const STRIPPER = `
const { parentPort } = require('node:worker_threads');
const { stripTypeScriptTypes } = require('node:module');
parentPort.on('message', ({ id, source, file }) => {
  try {
    parentPort.postMessage({ id, code: stripTypeScriptTypes(source, { mode: 'strip', sourceUrl: file }) });
  } catch (err) {
    parentPort.postMessage({ id, error: { code: err.code, message: err.message, stack: err.stack } });
  }
});`;

let stripper: import('node:worker_threads').Worker | null = null;
let idle: NodeJS.Timeout | null = null;
let nextId = 0;
const waiting = new Map<number, { file: string; resolve(code: string): void; reject(err: unknown): void }>();

function startStripper(): import('node:worker_threads').Worker {
  const { Worker } = process.getBuiltinModule('node:worker_threads');
  const worker = new Worker(STRIPPER, {
    eval: true,
    execArgv: ['--disable-warning=ExperimentalWarning'],
    env: { ...process.env, [INTERNAL_WORKER]: '1' },
    stdout: true,
    stderr: true,
  });
  worker.on('message', ({ id, code, error }: { id: number; code?: string; error?: NodeJS.ErrnoException }) => {
    const job = waiting.get(id);
    if (!job) return;
    waiting.delete(id);
    if (waiting.size === 0) worker.unref();
    if (code !== undefined) {
      job.resolve(code);
      return;
    }
    job.reject(strippingError(error ?? { message: 'the stripper failed' }, job.file));
  });
  worker.on('error', (err) => failAll(err));
  worker.on('exit', () => {
    if (stripper === worker) stripper = null;
    failAll(new Error('the type-stripping worker exited'));
  });
  return worker;
}

function failAll(err: Error): void {
  for (const job of waiting.values()) job.reject(lpError('ERR_LP_PATCH_LOAD', { detail: `${job.file}: ${err.message}` }, { cause: err }));
  waiting.clear();
  stripper?.unref();
}

/** Strips `source` in the stripper worker; rejects with the same coded errors as `stripTypes`. */
export function stripOffThread(source: string, file: string): Promise<string> {
  stripper ??= startStripper();
  if (idle) clearTimeout(idle);
  idle = setTimeout(() => {
    if (waiting.size > 0) return;
    void stripper?.terminate();
    stripper = null;
  }, IDLE_MS).unref();
  const id = ++nextId;
  // The worker's listeners ref it; it is unref'd again once no patch waits.
  stripper.ref();
  return new Promise((resolve, reject) => {
    waiting.set(id, { file, resolve, reject });
    stripper!.postMessage({ id, source, file });
  });
}
