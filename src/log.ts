/**
 * The printk analog: one ordered stream of log lines, kept in an in-process
 * ring buffer (the dmesg analog, read by `livepatch log`) and handed to a
 * pluggable logger. Engine lines carry the kernel's `livepatch: ` prefix and
 * wording; patch code writes its own lines to the same stream with `printk`.
 */

export type LogLevel = 'debug' | 'info' | 'notice' | 'warn' | 'err';

export interface LogRecord {
  /** Sequence number, increasing from 1; `livepatch log -f` follows it. */
  seq: number;
  /** Milliseconds since the epoch. */
  time: number;
  level: LogLevel;
  text: string;
  /** The worker thread that logged it, in a log gathered from every thread of a process. */
  thread?: number;
}

/** Receives every record as it is written. */
export type Logger = (record: LogRecord) => void;

const RING_SIZE = 2048;

const ring: LogRecord[] = [];
let nextSeq = 1;
const followers = new Set<Logger>();

/** Whether debug lines go to stderr too (LIVEPATCH_DEBUG, set at start); the ring buffer always keeps them. */
let debugToStderr = false;

export function logDebugToStderr(on: boolean): void {
  debugToStderr = on;
}

const defaultLogger: Logger = (record) => {
  if (record.level === 'debug' && !debugToStderr) return;
  process.stderr.write(`${record.text}\n`);
};

let logger: Logger = defaultLogger;

/**
 * Replaces the logger that receives each line (stderr by default). Pass
 * `null` to restore the default. The ring buffer is not affected.
 */
export function setLogger(next: Logger | null): void {
  logger = next ?? defaultLogger;
}

/** Writes one line as it is, for patch code (the kernel's `pr_info` from a patch module). */
export function printk(text: string, level: LogLevel = 'info'): void {
  write(level, text);
}

/** Writes one engine line with the kernel's `livepatch: ` prefix. */
export function pr(level: LogLevel, text: string): void {
  write(level, `livepatch: ${text}`);
}

function write(level: LogLevel, text: string): void {
  const record: LogRecord = { seq: nextSeq++, time: Date.now(), level, text };
  ring.push(record);
  if (ring.length > RING_SIZE) ring.shift();
  // A logger or follower that throws must not break the code that logged.
  try {
    logger(record);
  } catch { /* the ring buffer still has the line */ }
  for (const follow of followers) {
    try {
      follow(record);
    } catch { /* same */ }
  }
}

/** Records with `seq > after`, oldest first. */
export function readLog(after = 0): LogRecord[] {
  return ring.filter((r) => r.seq > after);
}

/** Calls `fn` for every new record until the returned function is called. */
export function followLog(fn: Logger): () => void {
  followers.add(fn);
  return () => followers.delete(fn);
}

const warned = new Set<string>();

/**
 * The WARN_ON analog for broken internal invariants: logs once per key and
 * never throws into the program.
 */
export function warnOnce(key: string, text: string): void {
  if (warned.has(key)) return;
  warned.add(key);
  pr('warn', text);
}
