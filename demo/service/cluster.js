// The same service the way it is run without livepatch: a cluster primary
// owns the port and workers serve it. SIGUSR2 reloads gracefully, as
// `pm2 reload` does: a new worker starts, and once it listens the old one
// disconnects, finishing its in-flight requests. In-memory state does not
// survive: it lived in the old worker.
import cluster from 'node:cluster';
import { fileURLToPath } from 'node:url';

cluster.setupPrimary({ exec: fileURLToPath(new URL('./server.js', import.meta.url)), silent: true });
const port = Number(process.env.PORT);
let current = cluster.fork({ PORT: String(port) });
current.once('listening', () => process.stdout.write(`listening ${port}\n`));

process.on('SIGUSR2', () => {
  const old = current;
  current = cluster.fork({ PORT: String(port) });
  current.once('listening', () => {
    process.stdout.write('reloaded\n');
    old.disconnect();
  });
});
process.on('SIGTERM', () => {
  for (const worker of Object.values(cluster.workers)) worker?.disconnect();
  process.exitCode = 0;
});
