/**
 * The control protocol, shared by the server (`server.ts`, in every process
 * started under livepatch) and the client (`client.ts`, the CLI and tests).
 *
 * Framing: a 4-byte big-endian payload length, then that many bytes of
 * UTF-8 JSON. Every request carries the protocol version `v` and an `id`
 * chosen by the client; every response echoes both:
 *
 *     → { v: 1, id: 7, type: 'sys-write', path: 'fix-1/enabled', value: '0' }
 *     ← { v: 1, id: 7, ok: true, result: { path: 'livepatch/fix-1/enabled', value: '0' } }
 *     ← { v: 1, id: 8, ok: false, error: { code: 'ERR_LP_BUSY', errno: 'EBUSY', message, hint, … } }
 *
 * The first request on a connection must be `hello` with the token the
 * process wrote next to its socket; anything else closes the connection
 * with ERR_LP_PERMISSION. A `log` request with `follow` gets one response
 * per batch of records, all with its id, until the client closes.
 * docs/cli.md documents the same.
 */
import { catalog, lpError, type ErrorCode, type LivepatchError } from '../errors.js';
import type {
  ModuleInfo, PatchedFunction, PatchInfo, TaskInfo, TransitionStatus,
} from '../host.js';
import type { LogRecord } from '../log.js';
import type { SymbolMeta } from '../runtime/abi.js';
import type { ConsistencyMode } from '../runtime/tasks.js';
import type { SysRead } from '../engine/sysfs.js';

export const PROTOCOL_VERSION = 1;

/** Requests are small; a larger frame is refused before it is buffered. */
export const MAX_REQUEST_BYTES = 1 << 20;
/** Responses carry symbol tables and the log ring, which can be large. */
export const MAX_RESPONSE_BYTES = 64 << 20;

export type Request =
  | { type: 'hello'; token: string }
  | { type: 'process' }
  | { type: 'load'; file: string }
  | { type: 'list' }
  | { type: 'patch'; name: string }
  | { type: 'transition'; waitMs?: number }
  | { type: 'tasks' }
  | { type: 'log'; after?: number; follow?: boolean }
  | { type: 'modules' }
  | { type: 'symbols'; module: string }
  | { type: 'sys-read'; path: string }
  | { type: 'sys-write'; path: string; value: string };

export type RequestType = Request['type'];
export type RequestOf<T extends RequestType> = Extract<Request, { type: T }>;

export interface ProcessInfo {
  pid: number;
  argv: string[];
  execArgv: string[];
  node: string;
  livepatch: string;
  consistency: ConsistencyMode;
  /** Application root: module ids of application files are relative to it. */
  root: string;
  installDir: string;
  /** Milliseconds since the epoch. */
  startTime: number;
  patches: { name: string; enabled: boolean; transition: boolean; forced: boolean }[];
}

/** What each request type answers with. */
export interface Results {
  hello: { pid: number; protocol: number; livepatch: string };
  process: ProcessInfo;
  load: PatchInfo;
  list: {
    patches: PatchInfo[];
    /** Freed patches that were forced: their code may still run. */
    pinned: PatchInfo[];
    functions: PatchedFunction[];
    transition: TransitionStatus | null;
    installDir: string;
  };
  patch: PatchInfo;
  /** The running transition after waiting up to `waitMs` for it to complete; null when idle. */
  transition: TransitionStatus | null;
  tasks: { tasks: TaskInfo[]; transition: TransitionStatus | null };
  log: { records: LogRecord[]; startTime: number };
  modules: { modules: ModuleInfo[] };
  symbols: { module: string; symbols: SymbolMeta[] };
  'sys-read': SysRead;
  'sys-write': { path: string; value: string };
}

/** `LivepatchError.toJSON()`: the code, errno, message, hint and context. */
export interface ErrorJSON {
  code: string;
  errno: string;
  message: string;
  hint: string;
  patch?: string;
  object?: string;
  symbol?: string;
  sympos?: number;
  detail?: string;
}

export type Response<T extends RequestType = RequestType> =
  | { v: number; id: number | null; ok: true; result: Results[T] }
  | { v: number; id: number | null; ok: false; error: ErrorJSON };

type FieldType = 'string' | 'number' | 'boolean';

/** Each request's fields; a `?` suffix marks an optional one. */
const FIELDS: { [T in RequestType]: Record<Exclude<keyof RequestOf<T>, 'type'>, FieldType | `${FieldType}?`> } = {
  hello: { token: 'string' },
  process: {},
  load: { file: 'string' },
  list: {},
  patch: { name: 'string' },
  transition: { waitMs: 'number?' },
  tasks: {},
  log: { after: 'number?', follow: 'boolean?' },
  modules: {},
  symbols: { module: 'string' },
  'sys-read': { path: 'string' },
  'sys-write': { path: 'string', value: 'string' },
};

/**
 * Checks a decoded message against the protocol and returns it as a typed
 * request. Throws ERR_LP_PROTOCOL for a malformed one and
 * ERR_LP_UNKNOWN_REQUEST for a well-formed one of an unknown type.
 */
export function checkRequest(message: unknown): Request & { id: number } {
  if (typeof message !== 'object' || message === null || Array.isArray(message)) {
    throw lpError('ERR_LP_PROTOCOL', { detail: 'a request is a JSON object' });
  }
  const m = message as Record<string, unknown>;
  if (m.v !== PROTOCOL_VERSION) {
    throw lpError('ERR_LP_PROTOCOL', { detail: `protocol version ${JSON.stringify(m.v)}, this process speaks ${PROTOCOL_VERSION}` });
  }
  if (!Number.isSafeInteger(m.id)) throw lpError('ERR_LP_PROTOCOL', { detail: 'id must be an integer' });
  if (typeof m.type !== 'string') throw lpError('ERR_LP_PROTOCOL', { detail: 'type must be a string' });
  if (!Object.hasOwn(FIELDS, m.type)) throw lpError('ERR_LP_UNKNOWN_REQUEST', { detail: JSON.stringify(m.type) });
  const fields = FIELDS[m.type as RequestType] as Record<string, string>;
  for (const [name, spec] of Object.entries(fields)) {
    const optional = spec.endsWith('?');
    const want = optional ? spec.slice(0, -1) : spec;
    if (m[name] === undefined && optional) continue;
    if (typeof m[name] !== want || (want === 'number' && !Number.isFinite(m[name]))) {
      throw lpError('ERR_LP_PROTOCOL', { detail: `${m.type}.${name} must be a ${want}` });
    }
  }
  return m as unknown as Request & { id: number };
}

export function encodeFrame(message: object): Buffer {
  const payload = Buffer.from(JSON.stringify(message), 'utf8');
  const header = Buffer.alloc(4);
  header.writeUInt32BE(payload.length, 0);
  return Buffer.concat([header, payload]);
}

/** Splits a byte stream into frame payloads. */
export class FrameDecoder {
  readonly #maxBytes: number;
  #chunks: Buffer[] = [];
  #length = 0;

  constructor(maxBytes: number) {
    this.#maxBytes = maxBytes;
  }

  /**
   * Appends a chunk and returns the payloads it completes. Throws
   * ERR_LP_PROTOCOL as soon as a header announces an oversized frame, so
   * that its body is never buffered; the stream is unusable afterwards.
   */
  push(chunk: Buffer): Buffer[] {
    this.#chunks.push(chunk);
    this.#length += chunk.length;
    const frames: Buffer[] = [];
    while (this.#length >= 4) {
      if (this.#chunks[0].length < 4) this.#chunks = [Buffer.concat(this.#chunks, this.#length)];
      const size = this.#chunks[0].readUInt32BE(0);
      if (size > this.#maxBytes) {
        throw lpError('ERR_LP_PROTOCOL', { detail: `frame of ${size} bytes exceeds the limit of ${this.#maxBytes}` });
      }
      if (this.#length < 4 + size) break;
      // Chunks are joined once a whole frame is there, so a large response arriving in many chunks is copied once.
      const all = this.#chunks.length === 1 ? this.#chunks[0] : Buffer.concat(this.#chunks, this.#length);
      frames.push(all.subarray(4, 4 + size));
      const rest = all.subarray(4 + size);
      this.#chunks = rest.length > 0 ? [rest] : [];
      this.#length = rest.length;
    }
    return frames;
  }
}

/**
 * Rebuilds a LivepatchError from its JSON form, so that the CLI prints and
 * exits on an error from a process exactly as on a local one. A code this
 * copy does not know (a newer process) keeps the process's message.
 */
export function errorFromJSON(json: ErrorJSON): LivepatchError {
  const { code, errno, patch, object, symbol, sympos, detail } = json;
  if (!Object.hasOwn(catalog, code)) {
    return lpError('ERR_LP_PROTOCOL', { detail: `the process answered with unknown error ${code}: ${json.message}` });
  }
  return lpError(code as ErrorCode, { patch, object, symbol, sympos, detail }, { errno });
}
