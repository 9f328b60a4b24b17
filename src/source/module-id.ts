/**
 * Module ids: the stable name of a loaded module, the analog of a kernel
 * module's name. Dependency files are named by
 * `<package>/<path inside package>` (`lodash/lodash.js`), whatever the
 * node_modules layout (nested, hoisted or pnpm's `.pnpm` store).
 * Application files are named by their path relative to their application
 * root (`src/orders.js`), which is found from the file itself, the same way
 * in every process and offline, whichever entry script or launcher started
 * Node (docs/running.md#module-ids):
 * - LIVEPATCH_ROOT, when it is set and holds the file;
 * - else the nearest directory above the file that declares itself the
 *   root: it holds a `livepatch.config.json`, or a package.json with a
 *   `livepatch` field (a monorepo declares its top this way);
 * - else the nearest directory above the file with a package.json;
 * - else the file's own directory.
 * The root is always a directory above the file, so an id never holds `..`.
 */
import fs from 'node:fs';
import path from 'node:path';

const NODE_MODULES = `${path.sep}node_modules${path.sep}`;

/** The module id of `filename` (an absolute, real path); `fixedRoot` is LIVEPATCH_ROOT (or `--root`), resolved, or null. */
export function moduleIdOf(filename: string, fixedRoot: string | null): string {
  const at = filename.lastIndexOf(NODE_MODULES);
  if (at >= 0) {
    const parts = filename.slice(at + NODE_MODULES.length).split(path.sep);
    const scoped = parts[0].startsWith('@') && parts.length > 2;
    const name = scoped ? `${parts[0]}/${parts[1]}` : parts[0];
    return `${name}/${parts.slice(scoped ? 2 : 1).join('/')}`;
  }
  return path.relative(applicationRootOf(filename, fixedRoot), filename).split(path.sep).join('/');
}

/** The application root of the file `filename` (see above). */
export function applicationRootOf(filename: string, fixedRoot: string | null): string {
  if (fixedRoot !== null && filename.startsWith(fixedRoot.endsWith(path.sep) ? fixedRoot : fixedRoot + path.sep)) return fixedRoot;
  const dir = path.dirname(filename);
  return rootAbove(dir) ?? dir;
}

/** The application root at or above the directory `dir`, by the rule above; null when no directory there has a package.json or declares itself one. */
export function rootAbove(dir: string): string | null {
  const found = rootsAbove(dir);
  return found.declared ?? found.nearest;
}

interface RootsAbove {
  /** The nearest directory at or above that declares itself an application root. */
  declared: string | null;
  /** The nearest directory at or above with a package.json. */
  nearest: string | null;
}

/** Per directory, read once: a process asks for every module it loads, and most share their directories. */
const rootsCache = new Map<string, RootsAbove>();

function rootsAbove(dir: string): RootsAbove {
  const cached = rootsCache.get(dir);
  if (cached) return cached;
  const parent = path.dirname(dir);
  const above = parent === dir ? { declared: null, nearest: null } : rootsAbove(parent);
  const pkg = readPackage(path.join(dir, 'package.json'));
  const declares = pkg.livepatch || fs.existsSync(path.join(dir, 'livepatch.config.json'));
  const roots = { declared: declares ? dir : above.declared, nearest: pkg.exists ? dir : above.nearest };
  rootsCache.set(dir, roots);
  return roots;
}

/** Whether a package.json exists, and whether it has a `livepatch` field. One that does not parse counts as there, without the field: the configuration reports it. */
function readPackage(file: string): { exists: boolean; livepatch: boolean } {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch {
    return { exists: false, livepatch: false };
  }
  try {
    const pkg = JSON.parse(text) as { livepatch?: unknown } | null;
    return { exists: true, livepatch: pkg?.livepatch !== undefined };
  } catch {
    return { exists: true, livepatch: false };
  }
}

/** Longest module id accepted in a patch definition. */
const MODULE_ID_MAX = 1024;

/**
 * Whether `id` is well formed: relative, `/`-separated, without empty, `.`
 * or `..` segments, whitespace or backslashes. A well-formed id whose module
 * is not loaded is not an error: the patch applies when it loads.
 */
export function isValidModuleId(id: unknown): id is string {
  if (typeof id !== 'string' || id.length === 0 || id.length > MODULE_ID_MAX) return false;
  if (/[\s\\\0]/.test(id)) return false;
  return id.split('/').every((segment) => segment !== '' && segment !== '.' && segment !== '..');
}
