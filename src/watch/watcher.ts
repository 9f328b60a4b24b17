/**
 * A patch directory that the process converges to, the analog of the
 * client that KernelCare and Canonical Livepatch run on each host: the
 * process loads, replaces and unloads patches so that what it runs matches
 * the directory (`watchDir`, LIVEPATCH_WATCH_DIR), and publishes how it
 * fares (`status.ts`, and `livepatch ps --json`).
 *
 * The rule (docs/fleet.md):
 * - each patch file of the directory (`listing.ts`) is one patch; they are
 *   loaded in name order, one engine step at a time, each through the same
 *   path as `livepatch load` (`host.ts`), so signatures are enforced in a
 *   process that trusts a key;
 * - a file that changes is loaded again, as a new version of its patch;
 *   the patch its previous version ran is unloaded once the new one is in,
 *   unless the new one, a cumulative patch, replaced it already;
 * - a file that goes away has its patch unloaded;
 * - a patch replaced by a later cumulative patch, or unloaded by an
 *   operator, is `unapplied` and stays so until its file changes;
 * - a version that fails is tried again with exponential backoff, from
 *   RETRY_BASE_MS to RETRY_CAP_MS, and at once when its file changes.
 *
 * Nothing here stops the program: every failure ends in a state with a
 * coded reason and a log line. The timers and the directory watch are
 * unref'd. Scans never overlap: one that is asked for while another runs
 * runs after it.
 */
import fs from 'node:fs';
import path from 'node:path';
import { describeBug, describeThrown, isLivepatchError, lpError, type ErrorCode, type ErrorJSON } from '../errors.js';
import { disablePatch, loadPatch, patchFailure, patchInfo, replacedBy, transitionStatus, waitForTransition } from '../host.js';
import { pr } from '../log.js';
import type { WatchedPatch, WatchState, WatchStatus } from '../protocol.js';
import { listPatchFiles, Settling, type ListedFile } from './listing.js';
import { StatusFile } from './status.js';

/** How often the directory is read, whatever the directory watch reports. */
export const POLL_MS = 250;
/** A directory event is acted on this long after it, so that a burst of them makes one scan. */
const EVENT_DELAY_MS = 20;
/** The first retry of a failed version comes this long after it failed, each next one twice as long after, up to the cap. */
const RETRY_BASE_MS = 1000;
const RETRY_CAP_MS = 60_000;
/** How long one patch module may take to load before it is refused (ERR_LP_PATCH_LOAD). */
const LOAD_MS = 10_000;

/** The codes of a file that could not be taken as a patch module: `check-failed`; any other failure is `apply-failed`. */
const CHECK_CODES: ReadonlySet<ErrorCode> = new Set<ErrorCode>([
  'ERR_LP_PATCH_LOAD', 'ERR_LP_PATCH_NOT_FOUND', 'ERR_LP_PATCH_SYNTAX', 'ERR_LP_PATCH_THREW', 'ERR_LP_NO_DEFAULT_EXPORT',
  'ERR_LP_TS_SYNTAX', 'ERR_LP_UNTRUSTED_FILE', 'ERR_LP_UNSIGNED', 'ERR_LP_BAD_SIGNATURE',
]);

/** The states from worst to best: a process's state is its worst patch's. */
const SEVERITY: WatchState[] = ['check-failed', 'apply-failed', 'applying', 'unapplied', 'applied'];

/** A patch file as the watch tracks it: the published fields, and the version they are about. */
interface Tracked extends WatchedPatch {
  fingerprint: string;
}

/** What one scan did: an engine step (a load or an unload) or nothing. */
type ScanOutcome = 'stepped' | 'idle';

class DirectoryWatch {
  readonly #dir: string;
  readonly #status: StatusFile | null;
  readonly #settling = new Settling();
  readonly #tracked = new Map<string, Tracked>();
  /** Patches that earlier versions of files ran, to unload. */
  readonly #retired: string[] = [];
  #dirError: ErrorJSON | null = null;
  #since = Date.now();
  #scanning = false;
  #again = false;
  #timer: NodeJS.Timeout | null = null;
  #timerAt = Infinity;
  #watcher: fs.FSWatcher | null = null;
  /** False during the first convergence, which runs its scans itself. */
  #started = false;
  /** A scan is due when the running transition completes: one wait, however many scans meet the transition. */
  #awaitingTransition = false;

  constructor(dir: string, status: StatusFile | null) {
    this.#dir = dir;
    this.#status = status;
  }

  status(): WatchStatus {
    const patches = [...this.#tracked.values()].map(({ fingerprint: _, ...published }) => published);
    const worst = this.#dirError ? 'check-failed' : SEVERITY.find((s) => patches.some((p) => p.state === s)) ?? 'applied';
    return {
      pid: process.pid, dir: this.#dir, state: worst, since: this.#since,
      ...(this.#dirError ? { error: this.#dirError } : {}), patches,
    };
  }

  /**
   * The first convergence, at start, before the application's entry
   * module: the patches the directory holds then are enabled as its modules
   * load, as installed patches are. Then the watch goes on by itself.
   */
  async start(): Promise<void> {
    pr('info', `watch: converging to ${this.#dir}`);
    // Ref'd on purpose, as for installed patches: the program's start waits
    // here, and a patch module whose top level never finishes must meet its
    // deadline rather than end the process as an unsettled top-level await.
    const keepAlive = setInterval(() => {}, LOAD_MS);
    try {
      for (let steps = 0; steps < 1000 && (await this.#scanOnce()) === 'stepped'; steps++) await waitForTransition();
    } finally {
      clearInterval(keepAlive);
    }
    this.#started = true;
    this.#schedule(POLL_MS);
  }

  /** Runs a scan at once, or after the one that is running. */
  #scan(): void {
    if (this.#scanning) {
      this.#again = true;
      return;
    }
    this.#scanOnce().finally(() => {
      if (this.#again) {
        this.#again = false;
        this.#schedule(0);
      }
    });
  }

  /** Asks for a scan in `ms`, unless one is due sooner; the poll asks after every scan. */
  #schedule(ms: number): void {
    if (!this.#started) return;
    const at = Date.now() + ms;
    if (this.#timer && this.#timerAt <= at) return;
    if (this.#timer) clearTimeout(this.#timer);
    this.#timerAt = at;
    this.#timer = setTimeout(() => {
      this.#timer = null;
      this.#timerAt = Infinity;
      this.#scan();
    }, ms).unref();
  }

  async #scanOnce(): Promise<ScanOutcome> {
    this.#scanning = true;
    try {
      return await this.#converge();
    } catch (err) {
      pr('warn', `watch: internal error, this is a bug: ${describeBug(err)}`);
      return 'idle';
    } finally {
      this.#scanning = false;
      this.#status?.write(this.status());
      this.#schedule(POLL_MS);
    }
  }

  /** One step towards the directory: read it, take the engine's news, then load or unload at most one patch. */
  async #converge(): Promise<ScanOutcome> {
    this.#watchDirectory();
    let listed: ListedFile[];
    try {
      listed = await listPatchFiles(this.#dir);
    } catch (err) {
      this.#failDirectory(err);
      return 'idle';
    }
    this.#failDirectory(null);
    const { settled, wakeIn } = this.#settling.settle(listed, Date.now());
    if (wakeIn !== null) this.#schedule(wakeIn);
    this.#takeEngineNews();
    if (transitionStatus()) {
      // One transition at a time: the next step waits for this one to complete.
      this.#afterTransition();
      return 'idle';
    }
    const present = new Set(listed.map((f) => f.name));
    if (await this.#unloadGone(present)) return 'stepped';
    for (const file of settled) {
      const tracked = this.#tracked.get(file.name);
      const due = !tracked || tracked.fingerprint !== file.fingerprint ||
        ((tracked.state === 'apply-failed' || tracked.state === 'check-failed') && Date.now() >= (tracked.retryAt ?? 0));
      if (due) return this.#load(file, tracked);
    }
    return 'idle';
  }

  /** Scans again once the running transition completes. */
  #afterTransition(): void {
    if (this.#awaitingTransition) return;
    this.#awaitingTransition = true;
    const next = () => {
      this.#awaitingTransition = false;
      this.#schedule(0);
    };
    waitForTransition().then(next, next);
  }

  /** Watches the directory for changes, when it can: a scan follows each event. The poll covers what it misses. */
  #watchDirectory(): void {
    if (this.#watcher) return;
    try {
      this.#watcher = fs.watch(this.#dir, { persistent: false }, () => this.#schedule(EVENT_DELAY_MS));
      this.#watcher.on('error', () => {
        this.#watcher?.close();
        this.#watcher = null;
      });
    } catch {
      // The directory is missing or cannot be watched: the poll goes on, and the next scan tries again.
      this.#watcher = null;
    }
  }

  #failDirectory(err: unknown): void {
    const error = err === null ? null : lpError('ERR_LP_WATCH_DIR', { detail: `${this.#dir}: ${describeThrown(err)}` }, { cause: err }).toJSON();
    if (error) {
      // A directory made again is a new one: the next scan watches whatever is there then.
      this.#watcher?.close();
      this.#watcher = null;
    }
    if (JSON.stringify(error) === JSON.stringify(this.#dirError)) return;
    if (error) pr('warn', `watch: ${error.message}; what runs stays as it is`);
    this.#dirError = error;
    this.#since = Date.now();
  }

  #setState(tracked: Tracked, state: WatchState): void {
    if (tracked.state === state) return;
    tracked.state = state;
    tracked.since = this.#since = Date.now();
  }

  /** What the engine did meanwhile: transitions that completed, patches replaced or unloaded from outside. */
  #takeEngineNews(): void {
    for (const tracked of this.#tracked.values()) {
      if (tracked.name === null || (tracked.state !== 'applied' && tracked.state !== 'applying')) continue;
      const failure = patchFailure(tracked.name);
      if (failure) {
        // It did not apply to a module that loaded after it, and is being disabled: the module runs without it.
        tracked.name = null;
        this.#fail(tracked, failure);
        continue;
      }
      const info = patchInfo(tracked.name);
      if (info?.enabled) {
        if (!info.transition && tracked.state === 'applying') {
          this.#setState(tracked, 'applied');
          pr('info', `watch: ${tracked.file}: patch '${tracked.name}' applied`);
        }
        continue;
      }
      const by = replacedBy(tracked.name);
      tracked.note = by !== undefined
        ? `replaced by the cumulative patch '${by}'`
        : 'unloaded from outside the watch; it loads again when its file changes';
      this.#setState(tracked, 'unapplied');
      pr('info', `watch: ${tracked.file}: patch '${tracked.name}' ${tracked.note}`);
    }
  }

  /** Unloads one patch whose file went away, or that an earlier version of a file ran; true when it started one. */
  async #unloadGone(present: Set<string>): Promise<boolean> {
    for (const tracked of [...this.#tracked.values()]) {
      if (present.has(tracked.file)) continue;
      this.#tracked.delete(tracked.file);
      this.#since = Date.now();
      // The files whose patches it replaced are the directory's again.
      for (const other of this.#tracked.values()) {
        if (other.state === 'unapplied' && other.note?.includes(`'${tracked.name}'`)) other.fingerprint = '';
      }
      if (tracked.name !== null && tracked.state !== 'unapplied' && patchInfo(tracked.name)?.enabled) {
        pr('info', `watch: ${tracked.file} is gone: unloading patch '${tracked.name}'`);
        return this.#unload(tracked.name);
      }
    }
    while (this.#retired.length > 0) {
      const name = this.#retired.shift()!;
      if (patchInfo(name)?.enabled) {
        pr('info', `watch: unloading patch '${name}', which an earlier version of its file ran`);
        return this.#unload(name);
      }
    }
    return false;
  }

  async #unload(name: string): Promise<boolean> {
    try {
      await disablePatch(name);
      this.#afterTransition();
      return true;
    } catch (err) {
      pr('warn', `watch: cannot unload patch '${name}': ${describeThrown(err)}`);
      return false;
    }
  }

  /** Loads a version of a file (a new one, or one due for another try), and records how it went. */
  async #load(file: ListedFile, previous: Tracked | undefined): Promise<ScanOutcome> {
    const retry = previous !== undefined && previous.fingerprint === file.fingerprint;
    const tracked: Tracked = retry ? previous : {
      file: file.name, name: previous?.name ?? null, state: previous?.state ?? 'applying', since: previous?.since ?? Date.now(),
      attempts: 0, retryAt: null, fingerprint: file.fingerprint,
    };
    delete tracked.error;
    delete tracked.note;
    this.#tracked.set(file.name, tracked);
    this.#setState(tracked, 'applying');
    this.#status?.write(this.status());
    pr('info', `watch: loading ${file.name} (${file.size} bytes)`);
    try {
      // Watched: a module that loads later and does not take the patch loads without it, and the program runs on.
      const info = await loadPatch(path.join(this.#dir, file.name), { signal: AbortSignal.timeout(LOAD_MS), origin: 'watched' });
      if (tracked.name !== null && tracked.name !== info.name) this.#retired.push(tracked.name);
      tracked.name = info.name;
      tracked.attempts = 0;
      tracked.retryAt = null;
      this.#since = Date.now();
      if (info.transition) this.#afterTransition();
      else this.#takeEngineNews();
      return 'stepped';
    } catch (err) {
      this.#fail(tracked, err);
      return 'idle';
    }
  }

  /** Records a failed version, and when it is tried again: exponential backoff, capped. */
  #fail(tracked: Tracked, err: unknown): void {
    const coded = isLivepatchError(err) ? err : lpError('ERR_LP_PATCH_LOAD', { detail: `${tracked.file}: ${describeThrown(err)}` }, { cause: err });
    const delay = Math.min(RETRY_BASE_MS * 2 ** tracked.attempts, RETRY_CAP_MS);
    tracked.attempts++;
    tracked.retryAt = Date.now() + delay;
    tracked.error = coded.toJSON();
    this.#since = Date.now();
    this.#setState(tracked, CHECK_CODES.has(coded.code) ? 'check-failed' : 'apply-failed');
    pr('warn', `watch: ${tracked.file}: ${coded.message}; trying again in ${delay / 1000} s`);
    this.#schedule(delay);
  }
}

let watch: DirectoryWatch | null = null;

/**
 * Starts converging to `dir`, in the main thread (from `startup/`): the
 * first convergence runs before the entry module, then the watch goes on
 * by itself. Never throws.
 */
export async function startWatching(dir: string): Promise<void> {
  if (watch) return;
  watch = new DirectoryWatch(dir, StatusFile.open());
  await watch.start();
}

/** This process's convergence to its patch directory; undefined when it watches none. */
export function watchStatus(): WatchStatus | undefined {
  return watch?.status();
}
