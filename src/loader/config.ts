/**
 * Loader configuration: which modules are instrumented, where the transform
 * cache lives, and the consistency mode. It comes from the `livepatch` field
 * of the application's package.json or from `livepatch.config.json` next to
 * it, and environment variables override it:
 *
 *     { "livepatch": { "include": ["src/**", "express/**"], "exclude": ["src/generated/**"],
 *                      "consistency": "per-task", "cache": true } }
 *
 * `include` and `exclude` are globs over module ids (`*` stays within a path
 * segment, `**` crosses them). By default every module is instrumented.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { lpError } from '../errors.js';
import { DIST } from '../paths.js';
import type { ConsistencyMode } from '../runtime/tasks.js';
import { findRoot } from '../source/format.js';

export interface LoaderConfig {
  /** Application root: module ids of application files are relative to it. */
  root: string;
  include: string[];
  exclude: string[];
  /** Transform cache directory, or null when caching is off. */
  cacheDir: string | null;
  /** V8's compile cache is on, in `<cacheDir>/v8` (only with the transform cache). */
  compileCache: boolean;
  consistency: ConsistencyMode;
  /** Seconds a transition may stall before the blocking tasks are logged. */
  stallNoticeSeconds: number;
  /** Ed25519 public key (PEM file) that patch files must be signed with; null accepts unsigned patches. */
  trustedKey: string | null;
  /** Where `livepatch install` keeps the patches every start applies (docs/cli.md). */
  installDir: string;
}

interface FileConfig {
  include?: string[];
  exclude?: string[];
  cache?: boolean | string;
  compileCache?: boolean;
  consistency?: ConsistencyMode;
  stallNoticeSeconds?: number;
  trustedKey?: string;
  installDir?: string;
}

/** Module ids of livepatch itself and its dependencies, which are never instrumented. */
const OWN_IDS = /^(livepatch|meriyah)\//;

/** The directory of livepatch's own compiled code, which is never instrumented either. */
export const OWN_DIST = DIST + path.sep;

function readFileConfig(root: string): FileConfig {
  try {
    return JSON.parse(fs.readFileSync(path.join(root, 'livepatch.config.json'), 'utf8')) as FileConfig;
  } catch { /* no file, or the package.json field below */ }
  try {
    const pkg = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8'));
    if (pkg && typeof pkg.livepatch === 'object') return pkg.livepatch as FileConfig;
  } catch { /* no package.json */ }
  return {};
}

export function loadConfig(entry: string | undefined, env = process.env): LoaderConfig {
  const root = env.LIVEPATCH_ROOT ? path.resolve(env.LIVEPATCH_ROOT) : findRoot(entry);
  const file = readFileConfig(root);
  const consistency = env.LIVEPATCH_CONSISTENCY ?? file.consistency ?? 'per-task';
  if (consistency !== 'per-task' && consistency !== 'global') {
    throw lpError('ERR_LP_CONFIG', { detail: `unknown consistency mode '${consistency}' (use 'per-task' or 'global')` });
  }
  let cacheDir: string | null;
  const cache = env.LIVEPATCH_CACHE ?? file.cache ?? true;
  if (cache === false || cache === '0' || cache === 'false') cacheDir = null;
  else if (typeof cache === 'string' && cache !== '1' && cache !== 'true') cacheDir = path.resolve(root, cache);
  else if (fs.existsSync(path.join(root, 'node_modules'))) cacheDir = path.join(root, 'node_modules', '.cache', 'livepatch');
  else cacheDir = path.join(env.XDG_CACHE_HOME ?? path.join(os.homedir(), '.cache'), 'livepatch');
  return {
    root,
    include: file.include ?? ['**'],
    exclude: file.exclude ?? [],
    cacheDir,
    compileCache: env.LIVEPATCH_COMPILE_CACHE !== undefined ? !['0', 'false'].includes(env.LIVEPATCH_COMPILE_CACHE) : file.compileCache ?? true,
    consistency,
    stallNoticeSeconds: Number(env.LIVEPATCH_STALL_NOTICE ?? file.stallNoticeSeconds ?? 15),
    trustedKey: env.LIVEPATCH_TRUSTED_KEY ?? (file.trustedKey ? path.resolve(root, file.trustedKey) : null),
    installDir: installDirOf(root, env, file),
  };
}

/**
 * The install directory of the application at `root`: LIVEPATCH_INSTALL_DIR,
 * else `installDir` in its configuration (relative to `root`), else
 * `<root>/.livepatch/installed`.
 */
export function installDirOf(root: string, env = process.env, file = readFileConfig(root)): string {
  if (env.LIVEPATCH_INSTALL_DIR) return path.resolve(env.LIVEPATCH_INSTALL_DIR);
  return file.installDir ? path.resolve(root, file.installDir) : path.join(root, '.livepatch', 'installed');
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
