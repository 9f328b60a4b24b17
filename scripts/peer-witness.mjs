// Preloaded after livepatch/register in every process and worker thread of
// a peer-suite run (scripts/peer-suites.js): at exit, appends to
// $PEER_WITNESS one line saying whether this thread ran under livepatch and
// how many of its modules were instrumented.
import fs from 'node:fs';
import { threadId } from 'node:worker_threads';
import { listModules } from 'livepatch';

const file = process.env.PEER_WITNESS;
if (file) {
  process.on('exit', () => {
    let modules = 0;
    try {
      modules = listModules().length;
    } catch {
      // No engine in this thread: it counts as not instrumented.
    }
    const instrumented = globalThis.__livepatch !== undefined && modules > 0;
    fs.appendFileSync(file, `${JSON.stringify({ pid: process.pid, threadId, entry: process.argv[1] ?? null, modules, instrumented })}\n`);
  });
}
