/**
 * The control protocol's framing (src/protocol.ts): a 4-byte big-endian
 * payload length, then that many bytes of UTF-8 JSON. Kept apart from the
 * protocol's types so that those, which the public API re-exports, need no
 * Node typings.
 */
import { lpError } from '../errors.js';

/** Requests are small; a larger frame is refused before it is buffered. */
export const MAX_REQUEST_BYTES = 1 << 20;
/** Responses carry symbol tables and the log ring, which can be large. */
export const MAX_RESPONSE_BYTES = 64 << 20;

export function encodeFrame(message: object): Buffer {
  const payload = Buffer.from(JSON.stringify(message), 'utf8');
  const header = Buffer.alloc(4);
  header.writeUInt32BE(payload.length, 0);
  return Buffer.concat([header, payload]);
}

/** Splits a byte stream into frame payloads. */
export class FrameDecoder {
  /** The largest payload accepted; a server raises it once the client has said hello. */
  maxBytes: number;
  #chunks: Buffer[] = [];
  #length = 0;

  constructor(maxBytes: number) {
    this.maxBytes = maxBytes;
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
      if (size > this.maxBytes) {
        throw lpError('ERR_LP_PROTOCOL', { detail: `frame of ${size} bytes exceeds the limit of ${this.maxBytes}` });
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
