/**
 * SHA-256 for content hashes (symbol hashes, cache keys, entry checks).
 * `node:crypto` takes a few milliseconds to load, so it is loaded on the
 * first hash, not when livepatch starts: a process or worker that
 * instruments nothing never pays for it.
 */
let crypto: typeof import('node:crypto') | null = null;

/** The hex SHA-256 of `text`, or its first `length` hex digits. */
export function sha256(text: string, length = 64): string {
  crypto ??= process.getBuiltinModule('node:crypto');
  return crypto.createHash('sha256').update(text).digest('hex').slice(0, length);
}
