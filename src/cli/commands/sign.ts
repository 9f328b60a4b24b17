/**
 * `livepatch sign <patch-file> --key <private.pem>`: writes the detached
 * Ed25519 signature `<patch-file>.sig` that processes trusting the matching
 * public key (`trustedKey`) require (`src/security.ts`). The analog of
 * `scripts/sign-file` for kernel modules.
 */
import fs from 'node:fs';
import { isLivepatchError, lpError } from '../../errors.js';
import { signPatchFile } from '../../loader/signature.js';
import type { CommandContext } from '../context.js';

export async function sign(ctx: CommandContext): Promise<number> {
  const [file] = ctx.rest;
  const keyFile = ctx.options.key as string | undefined;
  if (!keyFile) throw lpError('ERR_LP_USAGE', { detail: ctx.usage });
  let pem: string;
  try {
    pem = fs.readFileSync(keyFile, 'utf8');
  } catch (err) {
    throw lpError('ERR_LP_USAGE', { detail: `cannot read the key ${keyFile}: ${(err as Error).message}` });
  }
  let signature: string;
  try {
    signature = signPatchFile(file, pem);
  } catch (err) {
    // ERR_LP_USAGE for a key that is not Ed25519; other failures are worded below.
    if (isLivepatchError(err)) throw err;
    throw lpError('ERR_LP_USAGE', { detail: `cannot sign ${file}: ${(err as Error).message}` });
  }
  if (ctx.json) ctx.out(JSON.stringify({ file, signature }, null, 2));
  else ctx.out(`signed ${file} (${signature})`);
  return 0;
}
