/**
 * Installed patches: the analog of kpatch's `/var/lib/kpatch/<kver>/` and
 * `kpatch.service`. `livepatch install` copies a patch module (and its
 * `.sig`) into the install directory, named by the patch's name; every
 * process started under livepatch loads every installed patch, in name
 * order, before the application's modules load, so each patch applies to
 * its modules as they load.
 *
 * The install directory is `$LIVEPATCH_INSTALL_DIR`, else `installDir` in
 * the application's livepatch configuration (relative to the application
 * root), else `<root>/.livepatch/installed/`. LIVEPATCH_INSTALLED=0 skips
 * the installed patches at start, the analog of booting with
 * `kpatch.enable=0`.
 *
 * An installed patch module is a single file: it may import `livepatch` and
 * packages resolvable from the install directory, not files next to the
 * original.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import { installDirOf } from './loader/config.js';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { errorFromJSON, lpError, type ErrorJSON } from './errors.js';
import { pr } from './log.js';
import { SIGNATURE_SUFFIX } from './security.js';

const PATCH_FILE = /^(.+)\.(js|mjs|ts|mts)$/;

export interface InstalledPatch {
  name: string;
  file: string;
  signed: boolean;
}

/** The installed patches, in name order; none when the directory does not exist. */
export function installedPatches(dir: string): InstalledPatch[] {
  let names: string[];
  try {
    names = fs.readdirSync(dir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
  const out: InstalledPatch[] = [];
  for (const entry of names) {
    const match = PATCH_FILE.exec(entry);
    if (!match) continue;
    const file = path.join(dir, entry);
    out.push({ name: match[1], file, signed: names.includes(entry + SIGNATURE_SUFFIX) });
  }
  return out.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

/**
 * Copies a patch module into the install directory as `<name><ext>`, with
 * its signature when it has one. Refuses a name that is already installed.
 */
export function installPatch(file: string, name: string, dir: string): InstalledPatch {
  const ext = PATCH_FILE.exec(path.basename(file))?.[2];
  if (!ext) throw lpError('ERR_LP_PATCH_LOAD', { detail: `${file}: a patch module ends in .js, .mjs, .ts or .mts` });
  const existing = installedPatches(dir).find((p) => p.name === name);
  if (existing) throw lpError('ERR_LP_ALREADY_INSTALLED', { patch: name, detail: existing.file });
  fs.mkdirSync(dir, { recursive: true });
  const target = path.join(dir, `${name}.${ext}`);
  // A stale signature of an earlier install must not sit next to the new file.
  fs.rmSync(target + SIGNATURE_SUFFIX, { force: true });
  const signed = fs.existsSync(file + SIGNATURE_SUFFIX);
  if (signed) fs.copyFileSync(file + SIGNATURE_SUFFIX, target + SIGNATURE_SUFFIX);
  fs.copyFileSync(file, target);
  return { name, file: target, signed };
}

/** Removes an installed patch and its signature; returns the files removed. */
export function uninstallPatch(name: string, dir: string): string[] {
  const installed = installedPatches(dir).find((p) => p.name === name);
  if (!installed) throw lpError('ERR_LP_NOT_INSTALLED', { patch: name, detail: dir });
  const removed = [installed.file];
  fs.rmSync(installed.file);
  if (installed.signed) {
    fs.rmSync(installed.file + SIGNATURE_SUFFIX);
    removed.push(installed.file + SIGNATURE_SUFFIX);
  }
  return removed;
}

const REGISTER = fileURLToPath(new URL('./loader/register.js', import.meta.url));
const CHECK_TIMEOUT_MS = 30_000;
const INDEX = new URL('./index.js', import.meta.url).href;

/**
 * Reads a patch module's name the only reliable way, by running it: a
 * scratch process under livepatch (no control socket, no installed
 * patches, no application modules) loads and enables it. That also checks
 * the definition and, when the application trusts a key, the signature,
 * exactly as a real load would, so a patch that installs is one that loads.
 */
export function readPatchName(file: string, root: string, env: NodeJS.ProcessEnv = process.env): Promise<string> {
  const script = `import { loadPatch } from ${JSON.stringify(INDEX)};
try {
  process.stdout.write(JSON.stringify({ name: (await loadPatch(${JSON.stringify(path.resolve(file))})).name }));
} catch (err) {
  process.stdout.write(JSON.stringify({ error: typeof err?.toJSON === 'function' ? err.toJSON() : { code: 'ERR_LP_PATCH_LOAD', detail: String(err) } }));
}`;
  const child = spawn(process.execPath, ['--import', REGISTER, '--input-type=module', '-e', script], {
    cwd: root,
    env: { ...env, LIVEPATCH_ROOT: root, LIVEPATCH_CONTROL: '0', LIVEPATCH_INSTALLED: '0', LIVEPATCH_CACHE: '0' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => (stdout += d));
  child.stderr.on('data', (d) => (stderr += d));
  // A patch module whose top level never finishes would hang the install.
  const timer = setTimeout(() => child.kill('SIGKILL'), CHECK_TIMEOUT_MS);
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      if (signal === 'SIGKILL') {
        reject(lpError('ERR_LP_PATCH_LOAD', { detail: `${file}: it did not finish loading within ${CHECK_TIMEOUT_MS / 1000} seconds` }));
        return;
      }
      let answer: { name?: string; error?: ErrorJSON };
      try {
        answer = JSON.parse(stdout);
      } catch {
        reject(lpError('ERR_LP_PATCH_LOAD', { detail: `${file}: the checking process exited ${code}: ${stderr.trim()}` }));
        return;
      }
      if (answer.error) reject(errorFromJSON(answer.error));
      else resolve(answer.name!);
    });
  });
}

/**
 * Loads every installed patch, in name order, at process start (from
 * `livepatch/register`, before the application's entry module). A patch that
 * fails is logged and skipped: the program always starts.
 */
export async function applyInstalledPatches(root: string): Promise<void> {
  // Imported here: the CLI uses the rest of this module without the engine.
  const { loadPatch, waitForTransition } = await import('./host.js');
  const dir = installDirOf(root);
  let patches: InstalledPatch[];
  try {
    patches = installedPatches(dir);
  } catch (err) {
    pr('warn', `cannot read installed patches in ${dir}: ${(err as Error).message}`);
    return;
  }
  for (const { name, file } of patches) {
    try {
      await loadPatch(file);
      // No application code runs yet, so this completes at once; waiting
      // keeps the next enable from finding a transition in progress.
      await waitForTransition();
    } catch (err) {
      pr('warn', `failed to load installed patch '${name}' (${file}): ${(err as Error).message}`);
    }
  }
}

export { installDirOf };
