/**
 * Module ids: the stable name of a loaded module, the analog of a kernel
 * module's name. Application files are named by their path relative to the
 * application root (`src/orders.js`); dependency files by
 * `<package>/<path inside package>` (`lodash/lodash.js`), whatever the
 * node_modules layout (nested, hoisted or pnpm's `.pnpm` store).
 */
import path from 'node:path';

const NODE_MODULES = `${path.sep}node_modules${path.sep}`;

export function moduleIdOf(filename: string, root: string): string {
  const at = filename.lastIndexOf(NODE_MODULES);
  if (at >= 0) {
    const parts = filename.slice(at + NODE_MODULES.length).split(path.sep);
    const scoped = parts[0].startsWith('@') && parts.length > 2;
    const name = scoped ? `${parts[0]}/${parts[1]}` : parts[0];
    return `${name}/${parts.slice(scoped ? 2 : 1).join('/')}`;
  }
  return path.relative(root, filename).split(path.sep).join('/');
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
