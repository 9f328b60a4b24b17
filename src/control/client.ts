/**
 * The client side of the control protocol (`protocol.ts`): finds processes
 * in the runtime directory, connects, authenticates with the process's
 * token and sends typed requests. The CLI and the tests use it.
 */
import fs from 'node:fs';
import net from 'node:net';
import { errorFromJSON, lpError, type LivepatchError } from '../errors.js';
import {
  PROTOCOL_VERSION,
  type Envelope, type Request, type RequestOf, type RequestType, type Response, type Results,
} from '../protocol.js';
import { encodeFrame, FrameDecoder, MAX_RESPONSE_BYTES } from './framing.js';
import { checkRuntimeDir, socketPathOf, statusPathOf, tokenPathOf } from './runtime-dir.js';

/** How long a process may take to answer `hello` before it counts as not responding. */
export const HELLO_TIMEOUT_MS = 5000;
/** How long a process may take to answer a request, unless the caller says otherwise. */
export const REQUEST_TIMEOUT_MS = 10_000;
/** How much longer than a request's deadline its client waits, for the process's own refusal of it to arrive. */
const DEADLINE_GRACE_MS = 1000;

function isProcessAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: it exists, but belongs to someone else.
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Removes the socket, token and status file of a process that is gone. */
function removeStale(dir: string, pid: number): void {
  fs.rmSync(socketPathOf(dir, pid), { force: true });
  fs.rmSync(tokenPathOf(dir, pid), { force: true });
  fs.rmSync(statusPathOf(dir, pid), { force: true });
}

/**
 * Pids with a control socket in `dir`, ascending. Sockets of processes that
 * no longer exist are removed on the way (a process killed by SIGKILL
 * leaves its socket behind).
 */
export function discoverProcesses(dir: string): number[] {
  checkRuntimeDir(dir);
  const pids: number[] = [];
  for (const entry of fs.readdirSync(dir)) {
    const match = /^(\d+)\.sock$/.exec(entry);
    if (!match) continue;
    const pid = Number(match[1]);
    if (isProcessAlive(pid)) pids.push(pid);
    else removeStale(dir, pid);
  }
  return pids.sort((a, b) => a - b);
}

interface Pending {
  resolve(result: unknown): void;
  reject(err: LivepatchError): void;
  /** Set for a followed request: called with every response; `resolve` then means the process closed. */
  each?(result: unknown): void;
  /** Fires when the request's deadline has passed without an answer. */
  timer?: NodeJS.Timeout;
}

export class ControlClient {
  readonly pid: number;
  readonly #socket: net.Socket;
  readonly #decoder = new FrameDecoder(MAX_RESPONSE_BYTES);
  readonly #pending = new Map<number, Pending>();
  #nextId = 1;
  /** The thread every request goes to (a worker's thread id, or 0 for the main thread alone); undefined for the process as a whole. */
  thread: number | undefined = undefined;
  /** Set once the connection closed: later requests fail with it at once instead of waiting forever. */
  #gone: LivepatchError | null = null;

  private constructor(pid: number, socket: net.Socket) {
    this.pid = pid;
    this.#socket = socket;
    socket.on('data', (chunk: Buffer) => this.#receive(chunk));
    socket.on('error', () => {});
    socket.on('close', () => {
      this.#gone = lpError('ERR_LP_NO_PROCESS', { detail: `${pid}: it went away` });
      for (const id of [...this.#pending.keys()]) {
        const pending = this.#settle(id)!;
        if (pending.each) pending.resolve(undefined);
        else pending.reject(this.#gone);
      }
    });
  }

  /**
   * Connects to process `pid` in runtime directory `dir` and authenticates.
   * Throws ERR_LP_NO_PROCESS (removing its files when the process is gone),
   * ERR_LP_PERMISSION, or ERR_LP_NOT_RESPONDING.
   */
  static async connect(dir: string, pid: number, { timeoutMs = HELLO_TIMEOUT_MS } = {}): Promise<ControlClient> {
    checkRuntimeDir(dir);
    const socketFile = socketPathOf(dir, pid);
    if (!isProcessAlive(pid)) {
      removeStale(dir, pid);
      throw lpError('ERR_LP_NO_PROCESS', { detail: `${pid}: it is not running` });
    }
    let token: string;
    try {
      token = fs.readFileSync(tokenPathOf(dir, pid), 'utf8');
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') throw lpError('ERR_LP_NO_PROCESS', { detail: `${pid} under livepatch: there is no control socket for it in ${dir}` });
      throw lpError('ERR_LP_PERMISSION', { detail: `cannot read ${tokenPathOf(dir, pid)} (${code})` });
    }
    const socket = await new Promise<net.Socket>((resolve, reject) => {
      const s = net.createConnection(socketFile);
      s.once('connect', () => resolve(s));
      s.once('error', (err: NodeJS.ErrnoException) => {
        if (err.code === 'EACCES' || err.code === 'EPERM') {
          reject(lpError('ERR_LP_PERMISSION', { detail: `cannot connect to ${socketFile} (${err.code})` }));
          return;
        }
        // Nobody listens: the socket outlived its process, and the pid now
        // belongs to another one (which removes the files itself if it is
        // a livepatch process that has not started its server yet).
        if (err.code === 'ECONNREFUSED') removeStale(dir, pid);
        reject(lpError('ERR_LP_NO_PROCESS', { detail: `${pid} under livepatch: cannot connect to ${socketFile} (${err.code})` }));
      });
    });
    const client = new ControlClient(pid, socket);
    try {
      await client.request({ type: 'hello', token }, { timeoutMs });
    } catch (err) {
      client.close();
      // ERR_LP_NOT_RESPONDING, or the process's own catalog error.
      throw err;
    }
    return client;
  }

  /**
   * Sends a request and resolves with its result. The request carries its
   * deadline, `timeoutMs` from now (REQUEST_TIMEOUT_MS by default): the
   * process refuses it once that has passed, and without an answer shortly
   * after it, this rejects with ERR_LP_NOT_RESPONDING and closes the
   * connection, whose later answers could no longer be matched.
   */
  request<T extends RequestType>(request: RequestOf<T>, { timeoutMs = REQUEST_TIMEOUT_MS } = {}): Promise<Results[T]> {
    return new Promise((resolve, reject) => {
      this.#send({ ...request, deadline: Date.now() + timeoutMs }, { resolve: resolve as (r: unknown) => void, reject });
    });
  }

  /**
   * Sends a request that is answered more than once (`log` with `follow`)
   * and calls `each` with every response. Resolves when the process closes
   * the connection (it exited); rejects on an error response.
   */
  follow<T extends RequestType>(request: RequestOf<T>, each: (result: Results[T]) => void): Promise<void> {
    return new Promise((resolve, reject) => this.#send(request, { resolve: resolve as (r: unknown) => void, reject, each: each as (r: unknown) => void }));
  }

  /** Sends a request; a connection that is gone rejects it at once, and one without an answer by its deadline, soon after. */
  #send(request: Request & Omit<Envelope, 'id'>, pending: Pending): void {
    if (this.#gone) {
      pending.reject(this.#gone);
      return;
    }
    const id = this.#nextId++;
    this.#pending.set(id, pending);
    if (this.thread !== undefined && request.type !== 'hello') request = { ...request, thread: this.thread };
    if (request.deadline !== undefined) {
      pending.timer = setTimeout(() => {
        this.#settle(id);
        pending.reject(lpError('ERR_LP_NOT_RESPONDING', { detail: String(this.pid) }));
        this.close();
      }, request.deadline - Date.now() + DEADLINE_GRACE_MS).unref();
    }
    this.#socket.write(encodeFrame({ v: PROTOCOL_VERSION, id, ...request }));
  }

  /** Takes the pending request `id` out, its deadline with it. */
  #settle(id: number): Pending | undefined {
    const pending = this.#pending.get(id);
    clearTimeout(pending?.timer);
    this.#pending.delete(id);
    return pending;
  }

  close(): void {
    this.#socket.destroy();
  }

  #receive(chunk: Buffer): void {
    let frames: Buffer[];
    try {
      frames = this.#decoder.push(chunk);
    } catch (err) {
      this.#failAll(err as LivepatchError);
      return;
    }
    for (const frame of frames) {
      let response: Response;
      try {
        response = JSON.parse(frame.toString('utf8')) as Response;
      } catch {
        this.#failAll(lpError('ERR_LP_PROTOCOL', { detail: 'the process sent a frame that is not JSON' }));
        return;
      }
      const pending = response.id === null ? undefined : this.#pending.get(response.id);
      if (!pending) {
        // An error the process could not attribute to a request ends the conversation.
        if (!response.ok) this.#failAll(errorFromJSON(response.error));
        continue;
      }
      if (!response.ok) {
        this.#settle(response.id!);
        pending.reject(errorFromJSON(response.error));
      } else if (pending.each) {
        pending.each(response.result);
      } else {
        this.#settle(response.id!);
        pending.resolve(response.result);
      }
    }
  }

  #failAll(err: LivepatchError): void {
    for (const id of [...this.#pending.keys()]) this.#settle(id)?.reject(err);
    this.#socket.destroy();
  }
}
