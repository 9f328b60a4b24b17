// The same service the way it is run without livepatch: a cluster primary
// owns the port and workers serve it. SIGUSR2 reloads gracefully, as
// `pm2 reload` does: a new worker starts, and once it listens the old one
// gets SIGTERM, stops accepting, closes its idle connections and finishes
// its in-flight requests; if it still runs after KILL_TIMEOUT_MS (pm2's
// kill_timeout), it is killed. In-memory state does not survive: it lived
// in the old worker.
import cluster from 'node:cluster';
import { fileURLToPath } from 'node:url';

const KILL_TIMEOUT_MS = 3000;

cluster.setupPrimary({ exec: fileURLToPath(new URL('./server.js', import.meta.url)), silent: true });
const port = Number(process.env.PORT);
let current = cluster.fork({ PORT: String(port) });
current.once('listening', () => process.stdout.write(`listening ${port}\n`));

process.on('SIGUSR2', () => {
  const old = current;
  current = cluster.fork({ PORT: String(port) });
  current.once('listening', () => {
    process.stdout.write('reloaded\n');
    const kill = setTimeout(() => old.process.kill('SIGKILL'), KILL_TIMEOUT_MS);
    old.once('exit', () => {
      clearTimeout(kill);
      process.stdout.write('old worker exited\n');
    });
    old.process.kill('SIGTERM');
  });
});
process.on('SIGTERM', () => {
  for (const worker of Object.values(cluster.workers)) worker?.process.kill('SIGTERM');
});
