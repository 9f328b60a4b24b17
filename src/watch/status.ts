/**
 * The status file of a process that converges to a patch directory:
 * `<runtime dir>/<pid>.status.json`, next to its control socket, for fleet
 * tooling that collects files rather than asking processes (a node
 * exporter's textfile collector, an Ansible fact, a sidecar). It holds the
 * process's `WatchStatus`, the same object `livepatch ps --json` shows.
 *
 * It is written whole, to a temporary name in the same directory and
 * renamed into place, so a reader sees the previous status or the new one,
 * never a part. It is removed when the process exits; `livepatch ps`
 * removes the one of a process that was killed. A runtime directory that
 * cannot be used costs the file, once logged, never the program.
 */
import fs from 'node:fs';
import path from 'node:path';
import { chooseRuntimeDir, prepareRuntimeDir, statusPathOf } from '../control/runtime-dir.js';
import { describeThrown, isLivepatchError } from '../errors.js';
import { pr } from '../log.js';
import type { WatchStatus } from '../protocol.js';

export class StatusFile {
  readonly #file: string;
  readonly #temporary: string;
  #written = '';
  #failed = false;

  private constructor(file: string) {
    this.#file = file;
    this.#temporary = path.join(path.dirname(file), `.${path.basename(file)}.tmp`);
    process.on('exit', () => this.remove());
  }

  /** The status file of this process, in its runtime directory; null (logged) when that cannot be used. */
  static open(): StatusFile | null {
    const { dir } = chooseRuntimeDir();
    try {
      prepareRuntimeDir(dir);
    } catch (err) {
      pr('warn', `watch: no status file: ${isLivepatchError(err) ? err.message : describeThrown(err)}`);
      return null;
    }
    return new StatusFile(statusPathOf(dir, process.pid));
  }

  get path(): string {
    return this.#file;
  }

  /** Writes `status` when it differs from what the file holds. Synchronous: it is a few hundred bytes on a local directory. */
  write(status: WatchStatus): void {
    const text = `${JSON.stringify(status, null, 2)}\n`;
    if (text === this.#written) return;
    try {
      fs.writeFileSync(this.#temporary, text, { mode: 0o600 });
      fs.renameSync(this.#temporary, this.#file);
      this.#written = text;
      this.#failed = false;
    } catch (err) {
      // Logged once per run of failures: a full disk must not flood the log.
      if (!this.#failed) pr('warn', `watch: cannot write the status file ${this.#file}: ${describeThrown(err)}`);
      this.#failed = true;
    }
  }

  remove(): void {
    try {
      fs.rmSync(this.#file, { force: true });
      fs.rmSync(this.#temporary, { force: true });
    } catch { /* an exit handler must not change how the program exits; `livepatch ps` removes stale files */ }
  }
}
