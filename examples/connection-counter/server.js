// The service: keep-alive HTTP. Run directly, it prints `listening <port>`.
import http from 'node:http';
import { pathToFileURL } from 'node:url';
import { handleRequest } from './src/handler.js';

export const server = http.createServer((req, res) => handleRequest(req, res));
server.keepAliveTimeout = 30_000;
server.listen(Number(process.env.PORT ?? 0), '127.0.0.1', () => {
  if (import.meta.url === pathToFileURL(process.argv[1]).href) process.stdout.write(`listening ${server.address().port}\n`);
});
