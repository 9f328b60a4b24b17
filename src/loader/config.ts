/**
 * Loader configuration: which modules are instrumented, where the transform
 * cache lives, the consistency mode, the trusted signing key, the install
 * directory and the patch directory the process converges to. It comes from `livepatch.config.json` at the application root,
 * or else from the `livepatch` field of its package.json, and environment
 * variables override it:
 *
 *     { "livepatch": { "include": ["src/**", "express/**"], "exclude": ["src/generated/**"],
 *                      "consistency": "per-task", "cache": true } }
 *
 * `include` and `exclude` are globs over module ids (`*` stays within a path
 * segment, `**` crosses them). By default every module is instrumented.
 *
 * A setting that cannot be honoured is refused, with ERR_LP_CONFIG (or
 * ERR_LP_TRUSTED_KEY): a misspelt setting, a value of the wrong type, a
 * configuration file that does not parse. None is guessed at, because a
 * guess could be a weaker policy than the one asked for; for the same
 * reason the environment may turn signing on but never change or drop the
 * key the configuration trusts.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { envFlag, envValue, flagOf } from '../env.js';
import { describeThrown, describeValue, lpError } from '../errors.js';
import { DIST } from '../paths.js';
import type { ConsistencyMode } from '../runtime/tasks.js';
import { rootAbove } from '../source/module-id.js';
import { readTrustedKey, type TrustedKey } from './signature.js';

export interface LoaderConfig {
  /** The application root of the process: where its configuration, transform cache and install directory are. */
  root: string;
  /** LIVEPATCH_ROOT, when set: module ids of the files inside it are relative to it (`source/module-id.ts`). */
  fixedRoot: string | null;
  include: string[];
  exclude: string[];
  /** Transform cache directory, or null when caching is off. */
  cacheDir: string | null;
  /** V8's compile cache is on, in `<cacheDir>/v8` (only with the transform cache). */
  compileCache: boolean;
  consistency: ConsistencyMode;
  /** Seconds a transition may stall before the blocking tasks are logged. */
  stallNoticeSeconds: number;
  /** The Ed25519 public key patch files must be signed with; null accepts unsigned patches. */
  trustedKey: TrustedKey | null;
  /** Where `livepatch install` keeps the patches every start applies (docs/cli.md). */
  installDir: string;
  /** The patch directory the process converges to (`watch/`), or null when it watches none. */
  watchDir: string | null;
  /** The process serves a control socket (LIVEPATCH_CONTROL). */
  control: boolean;
  /** The installed patches load at start (LIVEPATCH_INSTALLED). */
  installed: boolean;
  /** Debug log lines also go to stderr (LIVEPATCH_DEBUG). */
  debug: boolean;
  /** The application's name, which groups its processes for `load --all --app` (docs/fleet.md). */
  app: string;
}

/** The settings of the configuration file, each with the type of value it takes. */
const SETTINGS = {
  include: 'a list of globs', exclude: 'a list of globs', cache: 'a boolean or a path', compileCache: 'a boolean',
  consistency: 'a string', stallNoticeSeconds: 'a number of seconds', trustedKey: 'a path', installDir: 'a path',
  watchDir: 'a path',
  app: 'an application name',
} as const;

interface FileConfig {
  include?: string[];
  exclude?: string[];
  cache?: boolean | string;
  compileCache?: boolean;
  consistency?: string;
  stallNoticeSeconds?: number;
  trustedKey?: string;
  installDir?: string;
  watchDir?: string;
  app?: string;
}

/** An application name: a package name's characters, as `npm` allows them, up to 100. */
const APP_NAME = /^[A-Za-z0-9@][A-Za-z0-9@/._-]{0,99}$/;

const IS: Record<(typeof SETTINGS)[keyof typeof SETTINGS], (value: unknown) => boolean> = {
  'a list of globs': (v) => Array.isArray(v) && v.every((g) => typeof g === 'string'),
  'a boolean or a path': (v) => typeof v === 'boolean' || (typeof v === 'string' && v !== ''),
  'a boolean': (v) => typeof v === 'boolean',
  'a string': (v) => typeof v === 'string',
  'a number of seconds': (v) => typeof v === 'number' && Number.isFinite(v) && v >= 0,
  'a path': (v) => typeof v === 'string' && v !== '',
  'an application name': (v) => typeof v === 'string' && APP_NAME.test(v),
};

/** Module ids of livepatch itself and its dependencies, which are never instrumented. */
const OWN_IDS = /^(livepatch|meriyah)\//;

/** The directory of livepatch's own compiled code, which is never instrumented either. */
export const OWN_DIST = DIST + path.sep;

/** The parsed content of a JSON file, undefined when it does not exist; ERR_LP_CONFIG when it cannot be read or parsed. */
function readJson(file: string): unknown {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw lpError('ERR_LP_CONFIG', { detail: `${file}: ${describeThrown(err)}` }, { cause: err });
  }
  try {
    return JSON.parse(text);
  } catch (err) {
    throw lpError('ERR_LP_CONFIG', { detail: `${file}: ${describeThrown(err)}` }, { cause: err });
  }
}

/** Checks each setting of a configuration read from `where`; a misspelt one is refused rather than ignored. */
function checkFileConfig(config: unknown, where: string): FileConfig {
  if (typeof config !== 'object' || config === null || Array.isArray(config)) {
    throw lpError('ERR_LP_CONFIG', { detail: `${where} is not an object of settings` });
  }
  for (const [name, value] of Object.entries(config)) {
    if (!Object.hasOwn(SETTINGS, name)) {
      throw lpError('ERR_LP_CONFIG', { detail: `${where}: unknown setting '${name}' (the settings are ${Object.keys(SETTINGS).join(', ')})` });
    }
    const type = SETTINGS[name as keyof typeof SETTINGS];
    if (!IS[type](value)) throw lpError('ERR_LP_CONFIG', { detail: `${where}: ${name} must be ${type}, not ${describeValue(value)}` });
  }
  return config as FileConfig;
}

/** The configuration of the application at `root`: `livepatch.config.json`, else the `livepatch` field of package.json, else none. */
function readFileConfig(root: string): FileConfig {
  const own = path.join(root, 'livepatch.config.json');
  const config = readJson(own);
  if (config !== undefined) return checkFileConfig(config, own);
  const pkg = readJson(path.join(root, 'package.json')) as { livepatch?: unknown } | undefined;
  if (pkg?.livepatch === undefined) return {};
  return checkFileConfig(pkg.livepatch, `the livepatch field of ${path.join(root, 'package.json')}`);
}

function consistencyOf(env: NodeJS.ProcessEnv, file: FileConfig): ConsistencyMode {
  const consistency = envValue(env, 'LIVEPATCH_CONSISTENCY') ?? file.consistency ?? 'per-task';
  if (consistency !== 'per-task' && consistency !== 'global') {
    throw lpError('ERR_LP_CONFIG', { detail: `unknown consistency mode ${describeValue(consistency)} (use 'per-task' or 'global')` });
  }
  return consistency;
}

/** LIVEPATCH_CACHE or `cache`: a flag (off, or the default place), or a path. */
function cacheDirOf(root: string, env: NodeJS.ProcessEnv, file: FileConfig): string | null {
  const value = envValue(env, 'LIVEPATCH_CACHE');
  const cache = value === undefined ? file.cache ?? true : flagOf(value) ?? value;
  if (cache === false) return null;
  if (typeof cache === 'string') return path.resolve(root, cache);
  if (fs.existsSync(path.join(root, 'node_modules'))) return path.join(root, 'node_modules', '.cache', 'livepatch');
  return path.join(envValue(env, 'XDG_CACHE_HOME') ?? path.join(os.homedir(), '.cache'), 'livepatch');
}

function stallNoticeOf(env: NodeJS.ProcessEnv, file: FileConfig): number {
  const value = envValue(env, 'LIVEPATCH_STALL_NOTICE');
  if (value === undefined) return file.stallNoticeSeconds ?? 15;
  const seconds = Number(value);
  if (value.trim() === '' || !Number.isFinite(seconds) || seconds < 0) {
    throw lpError('ERR_LP_CONFIG', { detail: `LIVEPATCH_STALL_NOTICE=${describeValue(value)} is not a number of seconds` });
  }
  return seconds;
}

/**
 * The trusted key: `trustedKey` of the configuration, else
 * LIVEPATCH_TRUSTED_KEY. The environment may turn signing on, never off or
 * to another key: naming a different key than the configuration's is refused.
 */
async function trustedKeyOf(root: string, env: NodeJS.ProcessEnv, file: FileConfig): Promise<TrustedKey | null> {
  const configured = file.trustedKey === undefined ? undefined : path.resolve(root, file.trustedKey);
  const value = envValue(env, 'LIVEPATCH_TRUSTED_KEY');
  const fromEnv = value === undefined ? undefined : path.resolve(value);
  if (configured !== undefined && fromEnv !== undefined && configured !== fromEnv) {
    throw lpError('ERR_LP_CONFIG', {
      detail: `LIVEPATCH_TRUSTED_KEY names ${fromEnv}, but the configuration trusts ${configured}; the environment may turn signing on, not change the key`,
    });
  }
  const keyFile = configured ?? fromEnv;
  return keyFile === undefined ? null : readTrustedKey(keyFile);
}

/**
 * The application root of a process (docs/running.md#module-ids):
 * LIVEPATCH_ROOT; else the root of the entry script, unless the script is
 * a dependency's, as a launcher's is (mocha's `cli.js`, pm2's container);
 * else the root of the working directory, where such a launcher runs; else
 * the working directory. Module ids do not depend on it: only where the
 * configuration, the transform cache and the install directory are.
 */
export function processRoot(entry: string | undefined, env = process.env): string {
  const rootValue = envValue(env, 'LIVEPATCH_ROOT');
  if (rootValue) return path.resolve(rootValue);
  const script = entry ? path.resolve(entry) : undefined;
  if (script !== undefined && !script.includes(`${path.sep}node_modules${path.sep}`)) return rootAbove(path.dirname(script)) ?? path.dirname(script);
  return rootAbove(process.cwd()) ?? process.cwd();
}

/** Reads and checks the configuration of the process whose entry script is `entry`, its trusted key included. */
export async function loadConfig(entry: string | undefined, env = process.env): Promise<LoaderConfig> {
  const root = processRoot(entry, env);
  const rootValue = envValue(env, 'LIVEPATCH_ROOT');
  const file = readFileConfig(root);
  return {
    root,
    fixedRoot: rootValue ? path.resolve(rootValue) : null,
    include: file.include ?? ['**'],
    exclude: file.exclude ?? [],
    cacheDir: cacheDirOf(root, env, file),
    compileCache: envFlag(env, 'LIVEPATCH_COMPILE_CACHE') ?? file.compileCache ?? true,
    consistency: consistencyOf(env, file),
    stallNoticeSeconds: stallNoticeOf(env, file),
    trustedKey: await trustedKeyOf(root, env, file),
    installDir: installDirOf(root, env, file),
    watchDir: watchDirOf(root, env, file),
    control: envFlag(env, 'LIVEPATCH_CONTROL') ?? true,
    installed: envFlag(env, 'LIVEPATCH_INSTALLED') ?? true,
    debug: envFlag(env, 'LIVEPATCH_DEBUG') ?? false,
    app: appOf(root, env, file),
  };
}

/**
 * The application's name: LIVEPATCH_APP, else `app` in the configuration,
 * else the name in its package.json, else the root's directory name.
 */
function appOf(root: string, env: NodeJS.ProcessEnv, file: FileConfig): string {
  const value = envValue(env, 'LIVEPATCH_APP');
  if (value !== undefined && !APP_NAME.test(value)) {
    throw lpError('ERR_LP_CONFIG', { detail: `LIVEPATCH_APP=${describeValue(value)} is not an application name: use up to 100 letters, digits and @/._-` });
  }
  const named = value ?? file.app ?? (readJson(path.join(root, 'package.json')) as { name?: unknown } | undefined)?.name;
  return typeof named === 'string' && APP_NAME.test(named) ? named : path.basename(root) || 'app';
}

/**
 * The install directory of the application at `root`: LIVEPATCH_INSTALL_DIR,
 * else `installDir` in its configuration (relative to `root`), else
 * `<root>/.livepatch/installed`.
 */
export function installDirOf(root: string, env = process.env, file = readFileConfig(root)): string {
  const value = envValue(env, 'LIVEPATCH_INSTALL_DIR');
  if (value !== undefined) return path.resolve(value);
  return file.installDir ? path.resolve(root, file.installDir) : path.join(root, '.livepatch', 'installed');
}

/**
 * The patch directory the process converges to: LIVEPATCH_WATCH_DIR, else
 * `watchDir` in its configuration (relative to `root`), else none.
 */
function watchDirOf(root: string, env: NodeJS.ProcessEnv, file: FileConfig): string | null {
  const value = envValue(env, 'LIVEPATCH_WATCH_DIR');
  if (value !== undefined) return path.resolve(value);
  return file.watchDir ? path.resolve(root, file.watchDir) : null;
}

/** Compiles a glob over module ids: `*` and `?` stay within a segment, `**` crosses them. */
export function globToRegExp(glob: string): RegExp {
  let re = '';
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i];
    if (c === '*' && glob[i + 1] === '*') {
      // `**/` also matches nothing, so `src/**/x.js` matches `src/x.js`.
      if (glob[i + 2] === '/') {
        re += '(?:.*/)?';
        i += 2;
      } else {
        re += '.*';
        i += 1;
      }
    } else if (c === '*') {
      re += '[^/]*';
    } else if (c === '?') {
      re += '[^/]';
    } else {
      re += c.replace(/[.+^${}()|[\]\\]/g, '\\$&');
    }
  }
  return new RegExp(`^${re}$`);
}

export class ModuleFilter {
  private readonly include: RegExp[];
  private readonly exclude: RegExp[];

  constructor(config: Pick<LoaderConfig, 'include' | 'exclude'>) {
    this.include = config.include.map(globToRegExp);
    this.exclude = config.exclude.map(globToRegExp);
  }

  /** Whether the file with this id is instrumented. Node builtins never reach the loader hooks. */
  accepts(id: string, filename: string): boolean {
    if (filename.startsWith(OWN_DIST) || OWN_IDS.test(id)) return false;
    return this.include.some((re) => re.test(id)) && !this.exclude.some((re) => re.test(id));
  }
}
