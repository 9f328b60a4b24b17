// The demo shop: an HTTP service with in-memory carts. Prints
// `listening <port>` once it accepts connections; a SIGTERM stops it
// gracefully (in-flight requests finish first).
import http from 'node:http';
import { route } from './src/routes.js';

const server = http.createServer((req, res) => route(req, res));
server.keepAliveTimeout = 30_000;
server.listen(Number(process.env.PORT ?? 0), '127.0.0.1', () => {
  process.stdout.write(`listening ${server.address().port}\n`);
});
process.on('SIGTERM', () => {
  server.close(() => process.exit(0));
  server.closeIdleConnections();
});
