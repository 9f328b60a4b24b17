/**
 * Exit codes of the `livepatch` command, documented in docs/cli.md. Commands
 * throw; only `cli/index.ts` turns errors into exit codes.
 */
import { LivepatchError, type ErrorCode } from '../errors.js';

export const EXIT = {
  OK: 0,
  /** The operation failed: the process or the engine refused it (a coded error). */
  FAILED: 1,
  /** Bad command line. */
  USAGE: 2,
  /** A transition did not complete within --wait (and was reversed unless --keep). */
  STALLED: 3,
  /** No such process, or it went away. */
  NO_PROCESS: 4,
  /** Permission denied, a file another user could change, or a patch signature was refused. */
  DENIED: 5,
  /** A module the patch names is not loaded (a wrong module id, most likely); nothing was changed. */
  NOT_LOADED: 6,
  /** build: the change cannot be expressed as a live patch. */
  UNPATCHABLE: 7,
  /** build: the two versions do not differ in function. */
  NO_CHANGE: 8,
  /** unload, info: the patch was replaced by atomic replace; another patch carries its functions. */
  REPLACED: 9,
  /** load --all, unload --all: some processes of the group failed (the table says which and why). */
  GROUP_FAILED: 10,
} as const;

const BY_CODE: Partial<Record<ErrorCode, number>> = {
  ERR_LP_USAGE: EXIT.USAGE,
  ERR_LP_TIMEOUT: EXIT.STALLED,
  ERR_LP_NO_PROCESS: EXIT.NO_PROCESS,
  ERR_LP_AMBIGUOUS_PROCESS: EXIT.USAGE,
  ERR_LP_NO_THREAD: EXIT.NO_PROCESS,
  ERR_LP_AMBIGUOUS_APP: EXIT.USAGE,
  ERR_LP_GROUP_FAILED: EXIT.GROUP_FAILED,
  ERR_LP_PERMISSION: EXIT.DENIED,
  ERR_LP_UNTRUSTED_FILE: EXIT.DENIED,
  ERR_LP_UNSIGNED: EXIT.DENIED,
  ERR_LP_BAD_SIGNATURE: EXIT.DENIED,
  ERR_LP_NOT_LOADED: EXIT.NOT_LOADED,
  ERR_LP_BUILD_REFUSED: EXIT.UNPATCHABLE,
  ERR_LP_BUILD_NO_CHANGE: EXIT.NO_CHANGE,
  ERR_LP_REPLACED: EXIT.REPLACED,
};

export function exitCodeOf(err: unknown): number {
  if (err instanceof LivepatchError) return BY_CODE[err.code] ?? EXIT.FAILED;
  return EXIT.FAILED;
}
