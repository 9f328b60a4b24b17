/**
 * The control socket of a process under livepatch: the analog of
 * `/sys/kernel/livepatch`, `insmod` and `/proc/<pid>/patch_state`, served
 * over a Unix socket that the `livepatch` CLI connects to.
 *
 * Access control. Node cannot ask a Unix socket who its peer is, so two
 * things keep other users out: the runtime directory (0700, ours) with the
 * socket (0600) in it, and a random token in `<pid>.token` (0600) that the
 * first request of every connection (`hello`) must present.
 *
 * The host program comes first: the server and its connections are
 * unref'd, a failure here logs one warning and never throws into the
 * program, and the socket and token files are removed on exit. Requests are
 * handled from the socket's data callback, which runs from the event loop
 * with an empty stack, so state-tree writes call the engine directly.
 */
import fs from 'node:fs';
import net from 'node:net';
import { describeBug, describeThrown, isLivepatchError, lpError, type LivepatchError } from '../errors.js';
import { pr } from '../log.js';
import type { LoaderConfig } from '../loader/config.js';
import { checkRequest, PROTOCOL_VERSION, type Request, type RequestType, type Results } from '../protocol.js';
import { encodeFrame, FrameDecoder, MAX_REQUEST_BYTES } from './framing.js';
import { isolateHandlers, Usage, type Connection, type Handlers } from './handlers.js';
import { chooseRuntimeDir, prepareRuntimeDir, socketPathOf, tokenPathOf } from './runtime-dir.js';

/*
 * The limits of the control socket (docs/cli.md, "The control protocol"):
 * what a client, however it behaves, can take of the process.
 */
/** A connection must say hello with the token within this long of connecting. */
const HELLO_DEADLINE_MS = 5000;
/** The largest frame before hello: a hello is some 100 bytes. */
const MAX_HELLO_BYTES = 4096;
/** Connections open at once: one more is refused. */
const MAX_CONNECTIONS = 64;
/** Requests answered later (a load, a wait for a transition) in flight on one connection. */
const MAX_IN_FLIGHT = 32;
/** Answers a connection has not read: beyond this its client is not reading, and it is dropped. */
const MAX_UNSENT_BYTES = 8 << 20;

/**
 * One client connection: frames in, responses out. It stays unauthenticated
 * until a `hello` with the token, which must come within the hello
 * deadline; anything else first closes it. A client that does not read its
 * answers is dropped.
 */
class ControlConnection implements Connection {
  readonly #socket: net.Socket;
  readonly #token: Buffer;
  readonly #handlers: Handlers;
  readonly #decoder = new FrameDecoder(MAX_HELLO_BYTES);
  readonly #closers: (() => void)[] = [];
  readonly #helloDeadline: NodeJS.Timeout;
  #authenticated = false;
  /** Requests answered later that are not answered yet. */
  #inFlight = 0;
  /** False once the connection is being closed: frames that arrived with the one that closed it are dropped. */
  #open = true;

  constructor(socket: net.Socket, token: Buffer, handlers: Handlers) {
    this.#socket = socket;
    this.#token = token;
    this.#handlers = handlers;
    socket.unref();
    socket.on('data', (chunk: Buffer) => this.#receive(chunk));
    // A client that goes away mid-response is not the program's problem.
    socket.on('error', () => {});
    socket.on('close', () => {
      clearTimeout(this.#helloDeadline);
      for (const close of this.#closers) close();
    });
    // A timer that fires after the event loop was held can come before the
    // hello that arrived meanwhile; the check waits for the poll phase to read it.
    this.#helloDeadline = setTimeout(() => setImmediate(() => this.#expire()).unref(), HELLO_DEADLINE_MS).unref();
  }

  send<T extends RequestType>(id: number, result: Results[T]): void {
    this.#write({ v: PROTOCOL_VERSION, id, ok: true, result });
  }

  onClose(fn: () => void): void {
    this.#closers.push(fn);
  }

  #expire(): void {
    if (this.#authenticated || !this.#open) return;
    this.#fail(null, lpError('ERR_LP_PERMISSION', { detail: `no hello with the token within ${HELLO_DEADLINE_MS / 1000} seconds` }));
    this.#close();
  }

  #receive(chunk: Buffer): void {
    let frames: Buffer[];
    try {
      frames = this.#decoder.push(chunk);
    } catch (err) {
      this.#fail(null, err);
      this.#close();
      return;
    }
    for (const frame of frames) this.#handle(frame);
  }

  #handle(payload: Buffer): void {
    if (!this.#open) return;
    let id: number | null = null;
    try {
      const message = JSON.parse(payload.toString('utf8')) as { id?: unknown };
      if (Number.isSafeInteger(message?.id)) id = message.id as number;
      const request = checkRequest(message);
      if (request.deadline !== undefined && Date.now() > request.deadline) throw lpError('ERR_LP_NOT_RESPONDING', { detail: String(process.pid) });
      if (!this.#authenticated) this.#authenticate(request);
      if (this.#inFlight >= MAX_IN_FLIGHT) throw lpError('ERR_LP_LIMIT', { detail: `${MAX_IN_FLIGHT} requests are in flight on this connection` });
      const handler = this.#handlers[request.type] as (r: typeof request, c: Connection) => unknown;
      const result = handler(request, this);
      if (result instanceof Promise) this.#answerLater(request.id, result);
      else this.send(request.id, result as never);
    } catch (err) {
      this.#fail(id, err instanceof SyntaxError ? lpError('ERR_LP_PROTOCOL', { detail: `not JSON: ${err.message}` }) : err);
      if (!this.#authenticated) this.#close();
    }
  }

  #answerLater(id: number, result: Promise<unknown>): void {
    this.#inFlight++;
    result.then((r) => this.send(id, r as never), (err) => this.#fail(id, err)).finally(() => this.#inFlight--);
  }

  #authenticate(request: Request): void {
    const presented = Buffer.from(request.type === 'hello' ? request.token : '', 'utf8');
    if (!equalInConstantTime(presented, this.#token)) {
      throw lpError('ERR_LP_PERMISSION', { detail: request.type === 'hello' ? 'wrong token' : 'the first request must be hello with the token' });
    }
    this.#authenticated = true;
    clearTimeout(this.#helloDeadline);
    this.#decoder.maxBytes = MAX_REQUEST_BYTES;
  }

  /**
   * Sends a frame, unless the client has left more than the limit unread:
   * then it is not reading, and buffering more for it would only grow the
   * process, so it is dropped. Nothing here may throw into the program:
   * this runs in socket callbacks and promise reactions.
   */
  #write(message: object): void {
    if (!this.#socket.writable) return;
    if (this.#socket.writableLength > MAX_UNSENT_BYTES) {
      pr('warn', `control connection dropped: ${this.#socket.writableLength} bytes of answers were not read`);
      this.#open = false;
      this.#socket.destroy();
      return;
    }
    try {
      this.#socket.write(encodeFrame(message));
    } catch (err) {
      pr('warn', `control socket: cannot send a response: ${describeThrown(err)}`);
    }
  }

  #fail(id: number | null, err: unknown): void {
    let error: LivepatchError;
    if (isLivepatchError(err)) {
      error = err;
    } else {
      pr('warn', `control request failed: ${describeBug(err)}`);
      error = lpError('ERR_LP_INTERNAL', { detail: describeThrown(err) });
    }
    this.#write({ v: PROTOCOL_VERSION, id, ok: false, error: error.toJSON() });
  }

  /**
   * Closes the connection, and frees its descriptor whatever the client
   * does: once what was written is sent, or at once when a client that
   * stopped reading left some of it unsent.
   */
  #close(): void {
    this.#open = false;
    this.#socket.pause();
    if (this.#socket.writableLength > 0) this.#socket.destroy();
    else this.#socket.end(() => this.#socket.destroy());
  }
}

/**
 * Takes a new connection, or refuses it with ERR_LP_LIMIT when the process
 * already holds as many as it allows.
 */
function accept(socket: net.Socket, token: Buffer, handlers: Handlers, usage: Usage): void {
  if (usage.connections >= MAX_CONNECTIONS) {
    socket.unref();
    socket.on('error', () => {});
    const error = lpError('ERR_LP_LIMIT', { detail: `${MAX_CONNECTIONS} control connections are open` });
    socket.end(encodeFrame({ v: PROTOCOL_VERSION, id: null, ok: false, error: error.toJSON() }), () => socket.destroy());
    return;
  }
  usage.connections++;
  socket.on('close', () => usage.connections--);
  new ControlConnection(socket, token, handlers);
}

/**
 * Compares a presented token with ours in time that does not depend on
 * where they differ (crypto.timingSafeEqual, without loading node:crypto
 * into every process that is ever connected to).
 */
function equalInConstantTime(a: Buffer, b: Buffer): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a[i] ^ b[i];
  return diff === 0;
}

/**
 * 32 random bytes, hex. Read from the kernel's random source where there is
 * one: `node:crypto` takes a few milliseconds to load, which every process
 * would pay at start for one token.
 */
function randomToken(): string {
  const bytes = Buffer.alloc(32);
  try {
    const fd = fs.openSync('/dev/urandom', 'r');
    try {
      if (fs.readSync(fd, bytes, 0, 32, null) === 32) return bytes.toString('hex');
    } finally {
      fs.closeSync(fd);
    }
  } catch { /* no /dev/urandom: crypto below */ }
  return process.getBuiltinModule('node:crypto').randomBytes(32).toString('hex');
}

/** What starts with the control socket. */
export interface ServerOptions {
  /** Makes the process's handlers out of the main thread's engine's (`fleet/threads.ts` adds the worker threads). */
  handlers?: (isolate: Handlers) => Handlers;
}

/**
 * Starts the control server of this process. Never throws: without a
 * usable runtime directory the process runs without a control socket, and
 * says so once.
 */
export function startControlServer(config: LoaderConfig, options: ServerOptions = {}): void {
  const { dir, passedOver } = chooseRuntimeDir();
  if (passedOver !== null) {
    const { dir: usual, problem } = passedOver;
    pr('warn', `the runtime directory ${usual} ${problem}: another user may have made it to take this process's control socket; using ${dir} instead (remove ${usual} to use it again)`);
  }
  const socketFile = socketPathOf(dir, process.pid);
  const tokenFile = tokenPathOf(dir, process.pid);

  function removeFiles(): void {
    try {
      fs.rmSync(socketFile, { force: true });
      fs.rmSync(tokenFile, { force: true });
    } catch { /* an exit handler must not change how the program exits; `livepatch ps` removes stale files */ }
  }
  // SIGINT, SIGTERM and SIGHUP kill a process that has no listener for
  // them without an 'exit' event. This listener acts only when it is the
  // only one, exactly when the default action would have applied: it
  // removes the files, steps aside and re-raises the signal, so the process
  // still dies by it. A program's own listener takes precedence.
  const onSignal = (signal: NodeJS.Signals) => {
    if (process.listenerCount(signal) > 1) return;
    removeFiles();
    process.removeListener(signal, onSignal);
    process.kill(process.pid, signal);
  };
  const SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;
  // The listeners come before the files: a signal at any moment after a
  // file exists finds them. removeListeners is their counterpart when the
  // socket cannot be set up.
  process.on('exit', removeFiles);
  for (const signal of SIGNALS) process.on(signal, onSignal);
  const removeListeners = () => {
    process.removeListener('exit', removeFiles);
    for (const signal of SIGNALS) process.removeListener(signal, onSignal);
  };

  let created = false;
  try {
    prepareRuntimeDir(dir);
    // Files left by an earlier process that had our pid and was killed.
    fs.rmSync(socketFile, { force: true });
    fs.rmSync(tokenFile, { force: true });
    const token = randomToken();
    fs.writeFileSync(tokenFile, token, { mode: 0o600, flag: 'wx' });
    created = true;

    const usage = new Usage();
    const isolate = isolateHandlers(config, usage);
    const handlers = options.handlers?.(isolate) ?? isolate;
    const server = net.createServer((socket) => accept(socket, Buffer.from(token, 'utf8'), handlers, usage));
    server.on('error', (err) => {
      pr('warn', `control socket ${socketFile} failed: ${err.message}; the process runs without one`);
      removeFiles();
      removeListeners();
    });
    // The socket file is created by the bind inside listen(): the umask makes
    // it 0600 from its first moment, and the chmod once listening is for
    // file systems that ignore the umask on sockets. `exclusive`: in a
    // `cluster` worker, a listen is otherwise bound by the primary, which
    // would hold the socket (with its own umask) and announce it as one of
    // the program's servers.
    const umask = process.umask(0o077);
    try {
      server.listen({ path: socketFile, exclusive: true }, () => {
        try {
          fs.chmodSync(socketFile, 0o600);
        } catch (err) {
          pr('warn', `cannot restrict control socket ${socketFile}: ${(err as Error).message}`);
        }
      });
    } finally {
      process.umask(umask);
    }
    server.unref();
  } catch (err) {
    const text = isLivepatchError(err) ? err.message : (err as Error).message;
    pr('warn', `control socket disabled: ${text}`);
    // Only files of ours: a directory that failed its checks is left alone.
    if (created) removeFiles();
    removeListeners();
  }
}
