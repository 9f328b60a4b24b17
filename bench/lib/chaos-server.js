// The service bench/chaos.js drives, under livepatch. GET /?park=<ms> runs
// handle(ms), an async function that reads version() before and after it
// parks for <ms>, and answers which handle ran and both versions it read.
// Every patch of the run replaces both functions, so a response is
// consistent when all three agree. GET /__stats collects garbage and
// answers process.memoryUsage(). Run with --expose-gc.
import http from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';

export function version() {
  return 'v0';
}

export async function handle(ms) {
  const before = version();
  await sleep(ms);
  return { handler: 'v0', before, after: version() };
}

function respond(res, status, body) {
  res.statusCode = status;
  res.end(typeof body === 'string' ? body : JSON.stringify(body));
}

const server = http.createServer((req, res) => {
  const url = new URL(req.url, 'http://localhost');
  if (url.pathname === '/__stats') {
    globalThis.gc();
    respond(res, 200, process.memoryUsage());
    return;
  }
  handle(Number(url.searchParams.get('park') ?? 0)).then((body) => respond(res, 200, body), (err) => respond(res, 500, String(err)));
});
server.keepAliveTimeout = 60_000;
server.listen(0, '127.0.0.1', () => console.log(`port ${server.address().port}`));
