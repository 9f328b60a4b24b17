// Support for the fleet tests: an HTTP load that counts every failed
// request, and the answers each process gave, in order.
import { get } from '../control/support.js';

/**
 * Sends requests to `port` from `concurrency` loops, one connection each,
 * until stopped. Every answer must be `<version> <pid>`; anything else, or
 * an error, is a failed request.
 */
export function httpLoad(port, { concurrency = 4 } = {}) {
  let running = true;
  const stats = { ok: 0, failed: 0, errors: [], byPid: new Map() };
  const loop = async () => {
    while (running) {
      try {
        const body = await get(port, '/');
        const match = /^(\S+) (\d+)$/.exec(body);
        if (!match) throw new Error(`unexpected answer ${JSON.stringify(body)}`);
        stats.ok++;
        const pid = Number(match[2]);
        if (!stats.byPid.has(pid)) stats.byPid.set(pid, []);
        stats.byPid.get(pid).push(match[1]);
      } catch (err) {
        stats.failed++;
        stats.errors.push(err.message);
      }
    }
  };
  const loops = Array.from({ length: concurrency }, loop);
  return {
    stats,
    stop: async () => {
      running = false;
      await Promise.all(loops);
      return stats;
    },
  };
}

/** The versions every process answered with, by pid: `{ pid: Set of versions }` as sorted arrays. */
export function versionsByPid(stats) {
  return Object.fromEntries([...stats.byPid].map(([pid, versions]) => [pid, [...new Set(versions)].sort()]));
}
