/**
 * The error catalog: every error livepatch reports, with a stable code, the
 * kernel errno it corresponds to, and what to do next. Errors are created by
 * `lpError` from this table only; `docs/errors.md` documents the same codes,
 * and a test keeps the two in step in both directions.
 */

export interface ErrorContext {
  /** The worker thread the error happened in, when it was not the main thread. */
  thread?: number;
  patch?: string;
  object?: string;
  symbol?: string;
  sympos?: number;
  /** Free detail: the failing value, the cause, the expected value. */
  detail?: string;
}

/** Linux errno numbers of the errno names the catalog uses. */
export const ERRNO = {
  EPERM: 1, ENOENT: 2, ESRCH: 3, EIO: 5, ENOEXEC: 8, EAGAIN: 11, ENOMEM: 12, EACCES: 13, EFAULT: 14, EBUSY: 16,
  EEXIST: 17, ENODEV: 19, EINVAL: 22, ENODATA: 61, EPROTO: 71, EOPNOTSUPP: 95, ETIMEDOUT: 110, ECANCELED: 125,
  ENOKEY: 126, EKEYREJECTED: 129,
} as const;

/** An errno name the catalog uses; a misspelt one does not compile. */
export type Errno = keyof typeof ERRNO;

/** The errno name of a (negative or positive) errno number, as a callback may return it. */
export function errnoName(n: number): Errno | undefined {
  return (Object.keys(ERRNO) as Errno[]).find((name) => ERRNO[name] === Math.abs(n));
}

interface CatalogEntry {
  errno: Errno;
  message: (c: ErrorContext) => string;
  hint: (c: ErrorContext) => string;
}

const where = (c: ErrorContext) => [
  c.thread !== undefined ? `thread ${c.thread}` : '',
  c.patch !== undefined ? `patch '${c.patch}'` : '',
  c.object !== undefined ? `object '${c.object}'` : '',
  c.symbol !== undefined ? `symbol '${c.symbol}'${c.sympos ? `,${c.sympos}` : ''}` : '',
].filter(Boolean).join(', ');

const at = (c: ErrorContext) => (where(c) ? `${where(c)}: ` : '');

export const catalog = {
  /* Patch definition (klp_enable_patch validation) */
  ERR_LP_INVALID_NAME: {
    errno: 'EINVAL',
    message: (c) => `invalid patch name ${c.detail}`,
    hint: () => 'use 1 to 55 characters from [A-Za-z0-9_.-], starting with a letter, digit or underscore',
  },
  ERR_LP_INVALID_DEFINITION: {
    errno: 'EINVAL',
    message: (c) => `${at(c)}malformed patch definition: ${c.detail}`,
    hint: () => 'see docs/writing-patches.md for the shape of a patch definition',
  },
  ERR_LP_INVALID_MODULE_ID: {
    errno: 'EINVAL',
    message: (c) => `${at(c)}malformed module id ${c.detail}`,
    hint: () => "use an app-relative path ('src/orders.js') or '<package>/<path in package>' ('lodash/lodash.js'); `livepatch symbols <file>` prints a file's module id",
  },
  ERR_LP_DUPLICATE_OBJECT: {
    errno: 'EEXIST',
    message: (c) => `${at(c)}the module is listed twice in the patch`,
    hint: () => 'merge the funcs of both entries into one object',
  },
  ERR_LP_DUPLICATE_FUNC: {
    errno: 'EEXIST',
    message: (c) => `${at(c)}the function is listed twice in the object (sympos 0 and 1 name the same function)`,
    hint: () => 'keep one entry per function',
  },
  ERR_LP_MISSING_NEW_FUNC: {
    errno: 'EINVAL',
    message: (c) => `${at(c)}newFunc is missing or not a function`,
    hint: () => 'set newFunc to the replacement, a function taking `self` (the original `this`) as its first argument',
  },
  ERR_LP_SYMBOL_NOT_FOUND: {
    errno: 'EINVAL',
    message: (c) => `${at(c)}symbol not found in symbol table${c.detail ? ` (${c.detail})` : ''}`,
    hint: (c) => `list the module's symbols with \`livepatch symbols ${c.object ?? '<module>'} -p <pid>\``,
  },
  ERR_LP_SYMBOL_AMBIGUOUS: {
    errno: 'EINVAL',
    message: (c) => `${at(c)}unresolvable ambiguity: ${c.detail}`,
    hint: () => 'set oldSympos to the position of the function you mean (1 is the first in source order)',
  },
  ERR_LP_SYMPOS_NOT_FOUND: {
    errno: 'EINVAL',
    message: (c) => `${at(c)}symbol position not found: ${c.detail}`,
    hint: (c) => `list the positions with \`livepatch symbols ${c.object ?? '<module>'} -p <pid>\``,
  },
  ERR_LP_SOURCE_NOT_FOUND: {
    errno: 'ENOENT',
    message: (c) => `${at(c)}no function found at that original location: ${c.detail}`,
    hint: (c) => `list the module's functions with their original locations with \`livepatch symbols <file of ${c.object ?? 'the module'}>\`; original names a file of the module's source map and the line its function begins on`,
  },
  ERR_LP_SOURCE_AMBIGUOUS: {
    errno: 'EINVAL',
    message: (c) => `${at(c)}the original location names more than one function: ${c.detail}`,
    hint: () => 'give more of the original file\'s path, or name the function by oldName and oldSympos as `livepatch symbols <file>` prints them',
  },
  ERR_LP_HASH_MISMATCH: {
    errno: 'EINVAL',
    message: (c) => `${at(c)}the running function is not the one the patch was built for: ${c.detail}`,
    hint: () => 'rebuild the patch against the code this process runs, or drop oldHash if the change is known to be safe',
  },
  ERR_LP_NOT_PATCHABLE: {
    errno: 'EINVAL',
    message: (c) => `${at(c)}cannot be patched: ${c.detail}`,
    hint: () => 'patch the functions it calls instead; see the limits in docs/livepatch.md',
  },
  ERR_LP_FACTORY_FAILED: {
    errno: 'EINVAL',
    message: (c) => `${at(c)}the withScope factory threw: ${c.detail}`,
    hint: () => 'a withScope factory receives the module instance\'s scope table and returns the replacement; make it return one without throwing',
  },
  ERR_LP_SCOPE_NOT_RUN: {
    errno: 'EAGAIN',
    message: (c) => `${at(c)}the scope the function is declared in has not run yet: ${c.detail}`,
    hint: () => 'the function lives in a top-level IIFE that has not run; load the patch once the module has finished loading',
  },
  ERR_LP_KIND_MISMATCH: {
    errno: 'EINVAL',
    message: (c) => `${at(c)}${c.detail}`,
    hint: () => 'make the replacement the same kind of function as the original (generator for generator, sync for sync)',
  },
  ERR_LP_SELF_MISSING: {
    errno: 'EINVAL',
    message: (c) => `${at(c)}self is missing: ${c.detail}`,
    hint: () => 'a replacement takes the original\'s this first, then its arguments: write (self, …) (or name the first parameter _ when unused); see "The replacement\'s parameters" in docs/writing-patches.md',
  },
  ERR_LP_ARITY: {
    errno: 'EINVAL',
    message: (c) => `${at(c)}the replacement takes more arguments than the original is called with: ${c.detail}`,
    hint: () => 'check that oldName (and oldSympos) name the function you meant (`livepatch symbols <file>`); a replacement takes self, then at most the original\'s parameters',
  },
  ERR_LP_NOT_LOADED: {
    errno: 'ENOENT',
    message: (c) => `${at(c)}a module it names is not loaded: ${c.detail}`,
    hint: () => 'a module id is the path from the application root, or <package>/<path in package> for a dependency: `livepatch symbols <file>` prints the id of a file; to load a patch for a module that has not loaded yet, pass --allow-unloaded',
  },
  ERR_LP_PATCH_EXISTS: {
    errno: 'EEXIST',
    message: (c) => `${at(c)}a patch with this name is already loaded`,
    hint: () => 'unload it first, or give the new patch another name (a cumulative patch with replace: true takes over)',
  },
  ERR_LP_INCOMPATIBLE_STATES: {
    errno: 'EINVAL',
    message: (c) => `${at(c)}not compatible with the already installed livepatches: ${c.detail}`,
    hint: () => 'a patch must keep every system state at the same or a higher version; a replace patch must declare every state of the patches it replaces',
  },
  ERR_LP_BUSY: {
    errno: 'EBUSY',
    message: (c) => `${at(c)}another patch is in transition${c.detail ? ` (${c.detail})` : ''}`,
    hint: () => 'wait for the transition to finish (`livepatch list`), or reverse or force it',
  },
  ERR_LP_PRE_PATCH_FAILED: {
    errno: 'EINVAL',
    message: (c) => `${at(c)}pre-patch callback failed: ${c.detail}`,
    hint: () => 'the patch refused itself; see its log lines for why',
  },
  ERR_LP_ASYNC_CALLBACK: {
    errno: 'EINVAL',
    message: (c) => `${at(c)}${c.detail}: callbacks run synchronously`,
    hint: () => 'make it a plain function: callbacks run inside the engine\'s steps, as the kernel\'s run under klp_mutex, and are never awaited; start asynchronous work from postPatch without returning its promise, and handle its errors there',
  },
  ERR_LP_MODULE_REFUSED: {
    errno: 'EINVAL',
    message: (c) => `${at(c)}refusing to load module: ${c.detail}`,
    hint: () => 'unload the patch that refuses this module, or fix the module so that the patch applies',
  },
  ERR_LP_SHADOW_KEY: {
    errno: 'EINVAL',
    message: (c) => `invalid shadow variable key: ${c.detail}`,
    hint: () => 'a shadow variable is attached to an object (or a function) under an integer id: `shadow.alloc(obj, 0x1234)`',
  },
  ERR_LP_INSTALLED_FAILED: {
    errno: 'EINVAL',
    message: (c) => `${at(c)}the installed patch does not apply: ${c.detail}`,
    hint: (c) => `the program runs without it; rebuild it against the code installed now, or remove it with \`livepatch uninstall ${c.patch ?? '<name>'}\``,
  },
  /* Life cycle and the state tree */
  ERR_LP_NO_PATCH: {
    errno: 'ENOENT',
    message: (c) => `${at(c)}no such patch`,
    hint: () => 'list the loaded patches with `livepatch list`',
  },
  ERR_LP_REPLACED: {
    errno: 'ENOENT',
    message: (c) => `${at(c)}no longer loaded: atomic replace by '${c.detail}' freed it, and '${c.detail}' carries its functions now`,
    hint: (c) => `to run the original code again, unload '${c.detail}'; \`livepatch list\` shows the loaded patches`,
  },
  ERR_LP_ALREADY: {
    errno: 'EINVAL',
    message: (c) => `${at(c)}already in the requested state`,
    hint: () => 'a disabled patch is freed and cannot be enabled again: load it again as a new patch',
  },
  ERR_LP_NOT_IN_TRANSITION: {
    errno: 'EINVAL',
    message: (c) => `${at(c)}not in transition`,
    hint: () => 'force applies only to the patch that is in transition',
  },
  ERR_LP_INVALID_VALUE: {
    errno: 'EINVAL',
    message: (c) => `${at(c)}invalid value ${c.detail}`,
    hint: () => 'write a boolean: 1/0, y/n, true/false, on/off',
  },
  ERR_LP_READ_ONLY: {
    errno: 'EACCES',
    message: (c) => `${c.detail} is not writable`,
    hint: () => 'only enabled and force can be written; see docs/cli.md for the state tree',
  },
  ERR_LP_NO_ENTRY: {
    errno: 'ENOENT',
    message: (c) => `no such entry in the state tree: ${c.detail}`,
    hint: () => 'list the tree with `livepatch sys`',
  },
  /* Loading patch modules, and the configuration */
  ERR_LP_CONFIG: {
    errno: 'EINVAL',
    message: (c) => `invalid livepatch configuration: ${c.detail}`,
    hint: () => 'see docs/cli.md, "Environment", for the settings and the values they take',
  },
  ERR_LP_NOT_LIVEPATCH: {
    errno: 'ENODEV',
    message: () => 'this process was not started under livepatch',
    hint: () => 'start it with `node --import livepatch/register app.js` or `livepatch run app.js`',
  },
  ERR_LP_PATCH_LOAD: {
    errno: 'ENOEXEC',
    message: (c) => `cannot load patch module ${c.detail}`,
    hint: () => 'a patch module is a regular file of at most 4 MiB, an ESM or TypeScript module whose top level builds the definition and exports it as its default',
  },
  ERR_LP_PATCH_NOT_FOUND: {
    errno: 'ENOENT',
    message: (c) => `no patch file ${c.detail}`,
    hint: () => 'check the path: the CLI takes it from its own current directory, and an import in a patch names a file relative to the importing file',
  },
  ERR_LP_PATCH_SYNTAX: {
    errno: 'ENOEXEC',
    message: (c) => `syntax error in patch module ${c.detail}`,
    hint: () => 'fix the line named; `node --check <file>` (or `tsc --noEmit` for TypeScript) finds syntax errors before a load',
  },
  ERR_LP_PATCH_THREW: {
    errno: 'ENOEXEC',
    message: (c) => `patch module ${c.detail}`,
    hint: () => 'a patch module\'s top level runs when it loads: it should only build the definition; do the work in callbacks (postPatch) or in the replacements',
  },
  ERR_LP_NO_DEFAULT_EXPORT: {
    errno: 'ENOEXEC',
    message: (c) => `patch module ${c.detail}`,
    hint: () => 'export the definition as the module\'s default: `export default definePatch({ name, objects: [...] })`',
  },
  ERR_LP_TS_SYNTAX: {
    errno: 'ENOEXEC',
    message: (c) => `${c.detail}`,
    hint: () => 'Node runs TypeScript by stripping its types, so a patch may use only syntax that erases; `tsc --erasableSyntaxOnly` checks a patch before it is loaded',
  },
  ERR_LP_TRUSTED_KEY: {
    errno: 'ENOKEY',
    message: (c) => `cannot use the trusted key: ${c.detail}`,
    hint: () => 'trustedKey (or LIVEPATCH_TRUSTED_KEY) names the Ed25519 public key in PEM that patches are signed for (`openssl pkey -in patch-signing.pem -pubout -out patch-signing.pub`), in a file that only you or root may change',
  },
  ERR_LP_UNTRUSTED_FILE: {
    errno: 'EPERM',
    message: (c) => `refusing ${c.detail}`,
    hint: () => 'a patch file, and every directory above it, must belong to you or root and be writable by no one else, as OpenSSH requires of authorized_keys: `chmod go-w` what is named, or move the patch somewhere that is',
  },
  ERR_LP_UNSIGNED: {
    errno: 'ENOKEY',
    message: (c) => `patch module ${c.detail} has no signature, and this process only accepts signed patches`,
    hint: () => 'sign it with `livepatch sign <patch-file> --key <private.pem>`',
  },
  ERR_LP_BAD_SIGNATURE: {
    errno: 'EKEYREJECTED',
    message: (c) => `the signature of patch module ${c.detail} does not verify with the trusted key`,
    hint: () => 'the file changed after it was signed, or it was signed with another key; sign it again with the trusted key',
  },
  ERR_LP_WATCH_DIR: {
    errno: 'ENOENT',
    message: (c) => `the patch directory cannot be read: ${c.detail}`,
    hint: () => 'point watchDir or LIVEPATCH_WATCH_DIR at a directory this user can read; the process keeps what it runs and reads it again at every scan',
  },
  /* Control plane and CLI */
  ERR_LP_PROTOCOL: {
    errno: 'EPROTO',
    message: (c) => `malformed control request: ${c.detail}`,
    hint: () => 'use the livepatch CLI of the same version as the process, or see docs/cli.md for the protocol',
  },
  ERR_LP_UNKNOWN_REQUEST: {
    errno: 'EOPNOTSUPP',
    message: (c) => `unknown control request ${c.detail}`,
    hint: () => 'use the livepatch CLI of the same version as the process',
  },
  ERR_LP_PERMISSION: {
    errno: 'EPERM',
    message: (c) => `permission denied: ${c.detail}`,
    hint: () => 'run the CLI as the user that owns the process',
  },
  ERR_LP_LIMIT: {
    errno: 'EAGAIN',
    message: (c) => `control socket limit reached: ${c.detail}`,
    hint: () => 'the process bounds what its control clients hold (docs/cli.md, "The control protocol"): close idle connections (`livepatch log -f`, scripts), read the answers you ask for, and try again',
  },
  ERR_LP_NO_PROCESS: {
    errno: 'ESRCH',
    message: (c) => `no process ${c.detail}`,
    hint: () => 'list the processes running under livepatch with `livepatch ps`',
  },
  ERR_LP_NO_THREAD: {
    errno: 'ESRCH',
    message: (c) => `no thread ${c.detail}`,
    hint: () => '`livepatch ps` lists the worker threads of each process by thread id; 0 is the main thread',
  },
  ERR_LP_AMBIGUOUS_APP: {
    errno: 'EINVAL',
    message: (c) => `several applications run under livepatch: ${c.detail}`,
    hint: () => 'choose one with --app NAME; a process takes its name from LIVEPATCH_APP, else `app` in its livepatch configuration, else its package.json name',
  },
  ERR_LP_GROUP_FAILED: {
    errno: 'EIO',
    message: (c) => `${at(c)}failed in ${c.detail}`,
    hint: () => 'the table gives each process\'s result and error; with --atomic every process that had enabled the patch was reverted, with --rolling the processes not reached were skipped; fix what refused it and run the command again',
  },
  ERR_LP_AMBIGUOUS_PROCESS: {
    errno: 'EINVAL',
    message: (c) => `several processes run under livepatch: ${c.detail}`,
    hint: () => 'choose one with -p <pid>',
  },
  ERR_LP_TIMEOUT: {
    errno: 'ETIMEDOUT',
    message: (c) => `${at(c)}transition did not complete: ${c.detail}`,
    hint: () => 'the tasks listed above are suspended in patched functions: give them longer (--wait), or, if they never return, force the transition (`livepatch sys <patch>/force 1`) knowing they may then mix old and new code',
  },
  ERR_LP_NOT_INSTALLED: {
    errno: 'ENOENT',
    message: (c) => `${at(c)}not installed`,
    hint: () => 'list installed patches with `livepatch installed`',
  },
  ERR_LP_USAGE: {
    errno: 'EINVAL',
    message: (c) => `${c.detail}`,
    hint: () => 'see `livepatch help`',
  },
  ERR_LP_WRITE_ONLY: {
    errno: 'EACCES',
    message: (c) => `${c.detail} is write-only`,
    hint: () => 'force is only written: `livepatch sys <patch>/force 1` forces the transition in progress',
  },
  ERR_LP_NO_MODULE: {
    errno: 'ENOENT',
    message: (c) => `module '${c.detail}' is not loaded in this process`,
    hint: () => 'list the loaded modules with `livepatch symbols -p <pid>`; a patch for a module that is not loaded yet applies when it loads',
  },
  ERR_LP_NOT_RESPONDING: {
    errno: 'ETIMEDOUT',
    message: (c) => `process ${c.detail} is not responding on its control socket`,
    hint: () => 'its event loop is blocked or it is stopped (SIGSTOP, a debugger); try again once it runs',
  },
  ERR_LP_ALREADY_INSTALLED: {
    errno: 'EEXIST',
    message: (c) => `${at(c)}already installed as ${c.detail}`,
    hint: (c) => `uninstall it first with \`livepatch uninstall ${c.patch ?? '<name>'}\``,
  },
  ERR_LP_IO: {
    errno: 'EIO',
    message: (c) => `${at(c)}cannot use ${c.detail}`,
    hint: () => 'check that the path exists and that this user may read and write it',
  },
  /* Building and checking patches */
  ERR_LP_BUILD_REFUSED: {
    errno: 'EOPNOTSUPP',
    message: (c) => `the change cannot be expressed as a live patch:${c.detail}`,
    hint: () => 'change only function bodies (keep state, exports and class shapes as they are), or write the patch by hand with shadow variables or callbacks: see docs/build.md',
  },
  ERR_LP_BUILD_NO_CHANGE: {
    errno: 'ENODATA',
    message: (c) => `no functional change between ${c.detail}`,
    hint: () => 'whitespace, comments and moved lines are not changes; check that the two versions are the ones you meant',
  },
  ERR_LP_BUILD_PARSE: {
    errno: 'ENOEXEC',
    message: (c) => `cannot parse ${c.detail}`,
    hint: () => 'the builder reads what Node would run; fix the syntax error, or leave the file out of the change',
  },
  ERR_LP_BUILD_DIFF: {
    errno: 'EINVAL',
    message: (c) => `the diff does not apply: ${c.detail}`,
    hint: () => 'make the diff against the program at --root (by default the nearest directory with a package.json), with paths relative to it (git diff and diff -u both do)',
  },
  ERR_LP_BUILD_GIT: {
    errno: 'EINVAL',
    message: (c) => `cannot check out the revisions: ${c.detail}`,
    hint: () => 'give --git a revision range of the repository that holds --root (A..B, or one commit to compare with its parent)',
  },
  ERR_LP_BUILD_PACKAGE: {
    errno: 'ENOENT',
    message: (c) => `cannot read the package versions: ${c.detail}`,
    hint: () => 'install the package in the program (npm install), and give --to a directory, a tarball or a version your npm registry has',
  },
  ERR_LP_BUILD_BASE: {
    errno: 'ENOEXEC',
    message: (c) => `cannot carry the base patch: ${c.detail}`,
    hint: () => 'a base is a patch module whose default export is definePatch({ … }) written as an object literal, as livepatch build and docs/writing-patches.md write them',
  },
  ERR_LP_CHECK_REFUSED: {
    errno: 'EINVAL',
    message: (c) => `${at(c)}the process would refuse the patch: ${c.detail}`,
    hint: () => 'rebuild the patch against the code the process runs (`livepatch build`), or correct the module ids and symbols listed above',
  },
  ERR_LP_INTERNAL: {
    errno: 'EFAULT',
    message: (c) => `internal error in the process: ${c.detail}`,
    hint: () => 'this is a bug in livepatch; please report it with the output of `livepatch log`',
  },
} satisfies Record<string, CatalogEntry>;

export type ErrorCode = keyof typeof catalog;

/** Marks a `LivepatchError` whichever copy of this module made it. */
const BRAND = Symbol.for('livepatch.LivepatchError');

export class LivepatchError extends Error {
  /**
   * `instanceof` holds for an error another copy of this module made: the
   * builder's command runs from a bundle of its own, and one program may
   * hold two installs of livepatch.
   */
  static override [Symbol.hasInstance](value: unknown): boolean {
    return typeof value === 'object' && value !== null && (value as { [BRAND]?: unknown })[BRAND] === true;
  }

  readonly code: ErrorCode;
  /** The kernel errno this error corresponds to (`EINVAL`, `EBUSY`, …). */
  readonly errno: Errno;
  readonly hint: string;
  readonly context: ErrorContext;

  constructor(code: ErrorCode, context: ErrorContext, options?: { cause?: unknown; errno?: Errno }) {
    const entry = catalog[code] as CatalogEntry;
    super(entry.message(context), options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'LivepatchError';
    this.code = code;
    this.errno = options?.errno ?? entry.errno;
    this.hint = entry.hint(context);
    this.context = context;
    Object.defineProperty(this, BRAND, { value: true });
  }

  /** The message followed by what to do next, as the CLI prints it. */
  describe(): string {
    return `${this.message}\n  hint: ${this.hint}`;
  }

  toJSON(): ErrorJSON {
    return { code: this.code, errno: this.errno, message: this.message, hint: this.hint, ...this.context };
  }
}

/**
 * A `LivepatchError` as it crosses a process boundary (the control socket,
 * `--json` output): its code, errno, message, hint and context. `code` is a
 * string because a newer process may answer with a code this copy does not know.
 */
export interface ErrorJSON extends ErrorContext {
  code: string;
  errno: string;
  message: string;
  hint: string;
}

/**
 * Rebuilds a LivepatchError from its JSON form, so that the CLI prints and
 * exits on an error from a process exactly as on a local one. A code this
 * copy does not know (a newer process) keeps the process's message.
 */
export function errorFromJSON(json: ErrorJSON): LivepatchError {
  const { code, errno, thread, patch, object, symbol, sympos, detail } = json;
  if (!Object.hasOwn(catalog, code)) {
    return lpError('ERR_LP_PROTOCOL', { detail: `the process answered with unknown error ${code}: ${json.message}` });
  }
  // An errno this copy does not know keeps the catalog's.
  return lpError(code as ErrorCode, { thread, patch, object, symbol, sympos, detail }, Object.hasOwn(ERRNO, errno) ? { errno: errno as Errno } : undefined);
}

/** How long a string of the author's may be in an error's detail. */
const DETAIL_CHARS = 120;

/**
 * A value as an error's detail names it, without running any code of the
 * value's: no toString, no getter, no Proxy trap. Strings are quoted.
 */
export function describeValue(value: unknown): string {
  switch (typeof value) {
    case 'string': {
      const text = JSON.stringify(value);
      return text.length > DETAIL_CHARS ? `${text.slice(0, DETAIL_CHARS)}…"` : text;
    }
    case 'bigint': return `${value}n`;
    case 'symbol': return `Symbol(${(value.description ?? '').slice(0, DETAIL_CHARS)})`;
    case 'function': return 'a function';
    case 'object': return value === null ? 'null' : 'an object';
    default: return String(value);
  }
}

/**
 * What something thrown says, for an error's detail: an error's message, or
 * the value itself. Reading `message` may run the author's getter; one that
 * throws leaves the value's own description.
 */
export function describeThrown(thrown: unknown): string {
  try {
    const message = (thrown as { message?: unknown } | null | undefined)?.message;
    if (typeof message === 'string') return message;
  } catch { /* a getter or a Proxy trap threw: the value describes itself below */ }
  return describeValue(thrown);
}

/** Something livepatch threw by mistake, for the log: its stack when it has one. */
export function describeBug(thrown: unknown): string {
  try {
    const stack = (thrown as { stack?: unknown } | null | undefined)?.stack;
    if (typeof stack === 'string') return stack;
  } catch { /* as in describeThrown */ }
  return describeThrown(thrown);
}

export function lpError(code: ErrorCode, context: ErrorContext = {}, options?: { cause?: unknown; errno?: Errno }): LivepatchError {
  return new LivepatchError(code, context, options);
}

/** Whether `err` is a livepatch error, of `code` when given; narrows `err.code` to it. */
export function isLivepatchError<C extends ErrorCode = ErrorCode>(err: unknown, code?: C): err is LivepatchError & { readonly code: C } {
  return err instanceof LivepatchError && (code === undefined || err.code === code);
}
