/**
 * The check `livepatch install` makes before it installs a patch: the patch
 * loads and enables in a scratch process under livepatch, so that a patch
 * that installs is one that loads.
 */
import { spawn } from 'node:child_process';
import path from 'node:path';
import { describeThrown, errorFromJSON, lpError, type ErrorJSON } from '../errors.js';
import { INDEX_URL, REGISTER } from '../paths.js';

const CHECK_TIMEOUT_MS = 30_000;

/**
 * Reads a patch module's name the only reliable way, by running it: a
 * scratch process under livepatch (no control socket, no installed
 * patches, no application modules) loads and enables it. That also checks
 * the definition and, when the application trusts a key, the signature,
 * exactly as a real load would, so a patch that installs is one that loads.
 */
export function readPatchName(file: string, root: string, env: NodeJS.ProcessEnv = process.env): Promise<string> {
  // The answer is all the check needs: the process ends once it is written,
  // whatever the patch's top level left running (a server, a timer).
  const script = `import { loadPatch } from ${JSON.stringify(INDEX_URL)};
let answer;
try {
  answer = { name: (await loadPatch(${JSON.stringify(path.resolve(file))})).name };
} catch (err) {
  answer = { error: typeof err?.toJSON === 'function' ? err.toJSON() : { code: 'ERR_LP_PATCH_LOAD', detail: String(err) } };
}
process.stdout.write(JSON.stringify(answer), () => process.exit(0));`;
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
    // The process could not start: the root is not a directory, or node is gone.
    child.on('error', (err) => reject(lpError('ERR_LP_IO', { detail: `${root}: cannot start the checking process there: ${describeThrown(err)}` }, { cause: err })));
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
