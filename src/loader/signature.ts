/**
 * Patch module signatures: the analog of module signing. When a process
 * trusts a key (`trustedKey` in the configuration, or LIVEPATCH_TRUSTED_KEY),
 * it accepts only patch files with a valid detached Ed25519 signature in
 * `<file>.sig`, made by `livepatch sign`. The signature covers the exact
 * bytes the loader then compiles. The key is read and checked when the
 * process starts; `node:crypto` is loaded only when a signature is made or
 * checked.
 */
import fs from 'node:fs';
import { lpError } from '../errors.js';
import { readRegularFile } from './files.js';

export const SIGNATURE_SUFFIX = '.sig';

const crypto = () => process.getBuiltinModule('node:crypto');

export function signPatchFile(file: string, privateKeyPem: string): string {
  const key = crypto().createPrivateKey(privateKeyPem);
  if (key.asymmetricKeyType !== 'ed25519') throw lpError('ERR_LP_USAGE', { detail: 'the signing key must be an Ed25519 private key' });
  const signature = crypto().sign(null, fs.readFileSync(file), key).toString('base64');
  fs.writeFileSync(file + SIGNATURE_SUFFIX, `${signature}\n`);
  return file + SIGNATURE_SUFFIX;
}

/** A signature file is one line of base64: far less than this. */
export const MAX_SIGNATURE_BYTES = 4096;
/** A PEM public key is a few lines; far less than this. */
const MAX_KEY_BYTES = 16 << 10;
/** The DER prefix of an Ed25519 SubjectPublicKeyInfo (RFC 8410), followed by the 32-byte key. */
const ED25519_SPKI = Buffer.from('302a300506032b6570032100', 'hex');

/** The key a process trusts: its file, and the PEM read from it at start. */
export interface TrustedKey {
  file: string;
  pem: string;
}

/**
 * Reads the trusted key at start: an Ed25519 public key in PEM (as `openssl
 * pkey -pubout` writes it), in a file no other user can change. Anything
 * else is ERR_LP_TRUSTED_KEY, so that a process never starts with signing
 * it cannot do. The key is checked by its shape; node:crypto waits for the
 * first signature.
 */
export async function readTrustedKey(file: string): Promise<TrustedKey> {
  const read = await readRegularFile(file, MAX_KEY_BYTES, 'a key file', 'ours');
  if ('refusal' in read) throw lpError('ERR_LP_TRUSTED_KEY', { detail: `${file}: ${read.refusal}` });
  if ('untrusted' in read) throw lpError('ERR_LP_TRUSTED_KEY', { detail: `refusing ${read.untrusted}` });
  const pem = read.bytes.toString('utf8');
  const body = /^-----BEGIN PUBLIC KEY-----\r?\n([A-Za-z0-9+/=\r\n]+)-----END PUBLIC KEY-----\s*$/.exec(pem.trim())?.[1];
  const der = body === undefined ? null : Buffer.from(body, 'base64');
  if (der?.length !== ED25519_SPKI.length + 32 || !der.subarray(0, ED25519_SPKI.length).equals(ED25519_SPKI)) {
    throw lpError('ERR_LP_TRUSTED_KEY', { detail: `${file}: it is not an Ed25519 public key in PEM` });
  }
  return { file, pem };
}

/** Rejects unless `key` is null (no key is trusted), or the bytes of `file` carry a valid signature by that key. */
export async function verifySignature(file: string, bytes: Buffer, key: TrustedKey | null): Promise<void> {
  if (!key) return;
  const read = await readRegularFile(file + SIGNATURE_SUFFIX, MAX_SIGNATURE_BYTES, 'a signature file', 'anyone');
  if (!('bytes' in read)) throw lpError('ERR_LP_UNSIGNED', { detail: file });
  const signature = Buffer.from(read.bytes.toString('utf8').trim(), 'base64');
  if (!crypto().verify(null, bytes, crypto().createPublicKey(key.pem), signature)) {
    throw lpError('ERR_LP_BAD_SIGNATURE', { detail: file });
  }
}
