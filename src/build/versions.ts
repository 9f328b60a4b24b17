/**
 * The two versions a build compares, from what the user has at hand, as
 * kpatch-build takes a source tree and patches and klp-build a tree and
 * its history:
 *
 * - two directories (`--old`, `--new`);
 * - the program's tree and a unified diff applied to a copy of it (`--diff`);
 * - two revisions of the program's own git history (`--git A..B`);
 * - a dependency as installed in `node_modules` and its fixed version: a
 *   directory, a tarball, or a version number fetched with `npm pack`, so
 *   that the registry the user's npm is set up for is the one used.
 *
 * Copies and checkouts go to a scratch directory the caller removes.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { applyPatch, parsePatch } from 'diff';
import { lpError } from '../errors.js';
import { extractTarball } from './tarball.js';

export interface Versions {
  old: string;
  new: string;
}

/** What is left out of a copy of a program's tree: its dependencies and its history. */
const NOT_COPIED = new Set(['node_modules', '.git']);

/** Strips git's `a/` and `b/` prefixes, as `patch -p1` does for a git diff. */
function diffPath(name: string | undefined): string | null {
  if (!name || name === '/dev/null') return null;
  return /^[ab]\//.test(name) ? name.slice(2) : name;
}

/** The program's tree, and a copy of it with `diffFile` applied. Refuses a diff that does not apply, as `patch --dry-run` would. */
export function fromDiff(root: string, diffFile: string, scratch: string): Versions {
  let text: string;
  try {
    text = fs.readFileSync(diffFile, 'utf8');
  } catch (err) {
    throw lpError('ERR_LP_BUILD_DIFF', { detail: `cannot read ${diffFile}: ${(err as Error).message}` });
  }
  const patches = parsePatch(text);
  if (patches.every((p) => p.hunks.length === 0)) throw lpError('ERR_LP_BUILD_DIFF', { detail: `${diffFile} holds no unified diff` });
  const copy = path.join(scratch, 'new');
  fs.cpSync(root, copy, { recursive: true, filter: (src) => !NOT_COPIED.has(path.basename(src)) });
  for (const patch of patches) {
    const from = diffPath(patch.oldFileName);
    const to = diffPath(patch.newFileName);
    const target = path.join(copy, to ?? from ?? '');
    const before = from === null ? '' : readIfThere(path.join(copy, from));
    if (before === null) throw lpError('ERR_LP_BUILD_DIFF', { detail: `${diffFile}: ${from} is not in ${root}` });
    const after = applyPatch(before, patch);
    if (after === false) throw lpError('ERR_LP_BUILD_DIFF', { detail: `${diffFile}: a hunk of ${to ?? from} does not apply to ${root}` });
    if (to === null) {
      fs.rmSync(target);
    } else {
      fs.mkdirSync(path.dirname(target), { recursive: true });
      fs.writeFileSync(target, after);
    }
  }
  return { old: root, new: copy };
}

/** The file's text, or null when there is no such file. */
function readIfThere(file: string): string | null {
  return fs.existsSync(file) ? fs.readFileSync(file, 'utf8') : null;
}

function git(args: string[], cwd: string, env: NodeJS.ProcessEnv = process.env): string {
  const result = spawnSync('git', args, { cwd, env, encoding: 'utf8' });
  if (result.error) throw lpError('ERR_LP_BUILD_GIT', { detail: `cannot run git: ${result.error.message}` });
  if (result.status !== 0) throw lpError('ERR_LP_BUILD_GIT', { detail: `git ${args.join(' ')}: ${result.stderr.trim()}` });
  return result.stdout.trim();
}

/**
 * Two revisions of the program's history, checked out into the scratch
 * directory through a scratch index, which leaves the repository's own
 * index, work tree and worktree list alone. `A..B` compares A with B; a
 * single revision compares it with its parent.
 */
export function fromGit(root: string, range: string, scratch: string): Versions {
  const top = git(['rev-parse', '--show-toplevel'], root);
  const inside = path.relative(fs.realpathSync(top), fs.realpathSync(root));
  const [from, to] = range.includes('..') ? range.split(/\.\.\.?/) : [`${range}^`, range];
  const checkout = (rev: string, name: string): string => {
    const commit = git(['rev-parse', '--verify', '--end-of-options', `${rev || 'HEAD'}^{commit}`], top);
    const dir = path.join(scratch, name);
    const env = { ...process.env, GIT_INDEX_FILE: path.join(scratch, `${name}.index`) };
    git(['read-tree', commit], top, env);
    git(['checkout-index', '--all', `--prefix=${dir}${path.sep}`], top, env);
    return path.join(dir, inside);
  };
  return { old: checkout(from, 'old'), new: checkout(to, 'new') };
}

/** Where `name` is installed for the program at `root`: the nearest `node_modules/<name>` at or above it. */
export function installedPackage(root: string, name: string): string {
  for (let dir = path.resolve(root); ; dir = path.dirname(dir)) {
    const candidate = path.join(dir, 'node_modules', name);
    if (fs.existsSync(path.join(candidate, 'package.json'))) return fs.realpathSync(candidate);
    if (path.dirname(dir) === dir) throw lpError('ERR_LP_BUILD_PACKAGE', { detail: `'${name}' is not installed for ${root}` });
  }
}

/**
 * The fixed version of package `name`, laid out as `<scratch>/node_modules/<name>`
 * so that its files get the module ids the loader gives the installed ones.
 * `to` is a directory, a tarball, or a version `npm pack` fetches.
 */
export function fixedPackage(root: string, name: string, to: string, scratch: string): string {
  const dest = path.join(scratch, 'node_modules', name);
  const stat = fs.statSync(to, { throwIfNoEntry: false });
  if (stat?.isDirectory()) {
    fs.cpSync(to, dest, { recursive: true, filter: (src) => path.basename(src) !== 'node_modules' });
  } else if (stat?.isFile()) {
    extractTarball(to, dest);
  } else {
    extractTarball(npmPack(root, `${name}@${to}`, scratch), dest);
  }
  if (!fs.existsSync(path.join(dest, 'package.json'))) throw lpError('ERR_LP_BUILD_PACKAGE', { detail: `${to} is not a package: it has no package.json` });
  return dest;
}

/** Fetches a package tarball with the user's npm, from the program's directory so that its .npmrc applies. */
function npmPack(root: string, spec: string, scratch: string): string {
  const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
  const result = spawnSync(npm, ['pack', spec, '--json', '--pack-destination', scratch], { cwd: root, encoding: 'utf8' });
  if (result.error) throw lpError('ERR_LP_BUILD_PACKAGE', { detail: `cannot run npm: ${result.error.message}` });
  if (result.status !== 0) {
    const last = result.stderr.trim().split('\n').filter((l) => !l.includes('npm error A complete log')).slice(-3).join('; ');
    throw lpError('ERR_LP_BUILD_PACKAGE', { detail: `npm pack ${spec} failed: ${last}` });
  }
  const [packed] = JSON.parse(result.stdout) as { filename: string }[];
  return path.join(scratch, packed.filename);
}
