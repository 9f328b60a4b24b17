/**
 * The state tree: the analog of `/sys/kernel/livepatch` and
 * `/proc/<pid>/patch_state` (docs/cli.md, "The state tree"), read and
 * written through the control socket (`livepatch sys`).
 *
 *     livepatch/<patch>/enabled                      rw  "%d\n"; 0 disables or reverses an enable, 1 reverses a disable
 *     livepatch/<patch>/transition                   ro  1 iff the patch is in transition
 *     livepatch/<patch>/force                        wo  1 forces the transition in progress, 0 is a no-op
 *     livepatch/<patch>/replace                      ro
 *     livepatch/<patch>/stack_order                  ro  1-based position in enable order
 *     livepatch/<patch>/<object>/patched             ro
 *     livepatch/<patch>/<object>/<func>,<sympos>/    dir, no attributes (sympos 0 shows as 1)
 *     tasks/<id>/patch_state                         ro  -1 idle, 0 unpatched, 1 patched
 *     tasks/<id>/name                                ro
 *
 * An object directory is named by its module id as it is, `/` included
 * (`livepatch/fix-1/src/orders.js/patched`). A path is resolved one
 * directory at a time, and within a directory the longest entry that is the
 * path or a prefix of it followed by `/` wins, so an object's name never
 * needs escaping. A patch attribute wins over an object of the same name.
 * A path without a `livepatch/` or `tasks/` root is under `livepatch/`.
 *
 * Reads never fail on an existing attribute. Writes parse a boolean as
 * `kstrtobool` does and call the engine's `writeEnabled`/`writeForce`, so
 * they must run from the event loop with an empty stack, like every engine
 * entry point.
 */
import { lpError } from '../errors.js';
import type { SysEntry, SysRead } from '../protocol.js';
import { forEachTask, type Task } from '../runtime/tasks.js';
import { writeEnabled, writeForce } from './core.js';
import { listedPatches } from './patches.js';
import type { KlpObject, KlpPatch } from './records.js';
import { getTransitionPatch } from './transition.js';

interface Dir {
  kind: 'dir';
  path: string;
  children(): Node[];
}

interface Attr {
  kind: 'attr';
  path: string;
  mode: 'ro' | 'rw' | 'wo';
  show?(): string;
  store?(value: boolean): void;
}

type Node = Dir | Attr;

const int = (value: boolean | number) => `${Number(value)}\n`;

function patchDir(patch: KlpPatch): Dir {
  const path = `livepatch/${patch.name}`;
  return {
    kind: 'dir',
    path,
    children: () => [
      { kind: 'attr', path: `${path}/enabled`, mode: 'rw', show: () => int(patch.enabled), store: (v) => writeEnabled(patch.name, v) },
      { kind: 'attr', path: `${path}/transition`, mode: 'ro', show: () => int(patch === getTransitionPatch()) },
      { kind: 'attr', path: `${path}/force`, mode: 'wo', store: (v) => writeForce(patch.name, v) },
      { kind: 'attr', path: `${path}/replace`, mode: 'ro', show: () => int(patch.replace) },
      { kind: 'attr', path: `${path}/stack_order`, mode: 'ro', show: () => int(listedPatches().indexOf(patch) + 1) },
      ...patch.objects.map((object) => objectDir(path, object)),
    ],
  };
}

function objectDir(parent: string, object: KlpObject): Dir {
  const path = `${parent}/${object.name}`;
  return {
    kind: 'dir',
    path,
    children: () => [
      { kind: 'attr', path: `${path}/patched`, mode: 'ro', show: () => int(object.patched) },
      ...object.funcs.map((func): Dir => ({ kind: 'dir', path: `${path}/${func.dirName}`, children: () => [] })),
    ],
  };
}

function taskDir(task: Task): Dir {
  const path = `tasks/${task.id}`;
  return {
    kind: 'dir',
    path,
    children: () => [
      { kind: 'attr', path: `${path}/name`, mode: 'ro', show: () => `${task.name}\n` },
      { kind: 'attr', path: `${path}/patch_state`, mode: 'ro', show: () => `${task.patchState}\n` },
    ],
  };
}

const ROOT: Dir = {
  kind: 'dir',
  path: '',
  children: () => [
    { kind: 'dir', path: 'livepatch', children: () => listedPatches().map(patchDir) },
    {
      kind: 'dir',
      path: 'tasks',
      children: () => {
        const dirs: Dir[] = [];
        forEachTask((task) => dirs.push(taskDir(task)));
        return dirs;
      },
    },
  ],
};

/** `/a/b/` and `a//b` name `a/b`; a path without a known root is under `livepatch/`. */
function normalize(path: string): string {
  const parts = path.split('/').filter(Boolean);
  if (parts.some((p) => p === '.' || p === '..')) throw lpError('ERR_LP_NO_ENTRY', { detail: path });
  if (parts.length > 0 && parts[0] !== 'livepatch' && parts[0] !== 'tasks') parts.unshift('livepatch');
  return parts.join('/');
}

function resolve(path: string): Node {
  const target = normalize(path);
  let node: Node = ROOT;
  while (node.path !== target) {
    if (node.kind !== 'dir') throw lpError('ERR_LP_NO_ENTRY', { detail: target });
    let next: Node | undefined;
    for (const child of node.children()) {
      if (child.path === target) {
        next = child;
        break;
      }
      if (child.kind === 'dir' && target.startsWith(`${child.path}/`) && (!next || child.path.length > next.path.length)) next = child;
    }
    if (!next) throw lpError('ERR_LP_NO_ENTRY', { detail: target });
    node = next;
  }
  return node;
}

function entries(dir: Dir, out: SysEntry[]): SysEntry[] {
  out.push({ path: dir.path, mode: 'dir' });
  for (const child of dir.children()) {
    if (child.kind === 'dir') entries(child, out);
    else out.push(child.show ? { path: child.path, mode: child.mode, value: child.show() } : { path: child.path, mode: child.mode });
  }
  return out;
}

/** Reads an attribute, or lists a directory and everything below it (`''` is the whole tree). */
export function readSys(path: string): SysRead {
  const node = resolve(path);
  if (node.kind === 'dir') return { kind: 'dir', path: node.path, entries: entries(node, []) };
  if (!node.show) throw lpError('ERR_LP_WRITE_ONLY', { detail: node.path });
  return { kind: 'attr', path: node.path, value: node.show() };
}

/** `kstrtobool`: the first character decides (y/Y/t/T/1, n/N/f/F/0), and `on`/`off` take two. */
function parseBool(value: string, path: string): boolean {
  const c = value[0];
  if (c !== undefined && 'yYtT1'.includes(c)) return true;
  if (c !== undefined && 'nNfF0'.includes(c)) return false;
  if (c === 'o' || c === 'O') {
    if (value[1] === 'n' || value[1] === 'N') return true;
    if (value[1] === 'f' || value[1] === 'F') return false;
  }
  throw lpError('ERR_LP_INVALID_VALUE', { detail: `${JSON.stringify(value)} for ${path}` });
}

/**
 * Writes an attribute (`enabled` or `force`) with the kernel's semantics;
 * returns the attribute's normalized path. Engine errors (ERR_LP_ALREADY,
 * ERR_LP_BUSY, ERR_LP_NOT_IN_TRANSITION) pass through.
 */
export function writeSys(path: string, value: string): string {
  const node = resolve(path);
  if (node.kind === 'dir' || !node.store) throw lpError('ERR_LP_READ_ONLY', { detail: node.path || '/' });
  node.store(parseBool(value, node.path));
  return node.path;
}
