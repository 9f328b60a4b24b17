/**
 * Patch module signatures: the analog of module signing. When a process
 * trusts a key (`trustedKey` in the configuration, or LIVEPATCH_TRUSTED_KEY),
 * it accepts only patch files with a valid detached Ed25519 signature in
 * `<file>.sig`, made by `livepatch sign`. The signature covers the exact
 * bytes the loader then compiles. `node:crypto` is loaded only when a
 * signature is made or checked.
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

/** Rejects unless `keyFile` is null (no key is trusted), or the bytes of `file` carry a valid signature by that key. */
export async function verifySignature(file: string, bytes: Buffer, keyFile: string | null): Promise<void> {
  if (!keyFile) return;
  const read = await readRegularFile(file + SIGNATURE_SUFFIX, MAX_SIGNATURE_BYTES, 'a signature file', 'anyone');
  if (!('bytes' in read)) throw lpError('ERR_LP_UNSIGNED', { detail: file });
  const signature = Buffer.from(read.bytes.toString('utf8').trim(), 'base64');
  const key = crypto().createPublicKey(fs.readFileSync(keyFile));
  if (!crypto().verify(null, bytes, key, signature)) {
    throw lpError('ERR_LP_BAD_SIGNATURE', { detail: file });
  }
}
