/**
 * Load generator for bench/http.js: a bounded, closed-loop keep-alive
 * client. `connections` loops each send GET requests one after another over
 * a keep-alive Agent (at most `connections` sockets) until the deadline;
 * a warm-up period is not counted. Before and after the measured window it
 * reads the server's own counters (`/__stats`: requests handled, CPU time),
 * which gives the server's CPU time per request.
 *
 * argv[2]: JSON { port, connections, warmupMs, durationMs }
 */
import http from 'node:http';
import { childResult, nowMs, quantile } from './harness.js';

const cfg = JSON.parse(process.argv[2]);
const agent = new http.Agent({ keepAlive: true, maxSockets: cfg.connections });

function get(path) {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port: cfg.port, path, agent }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d) => (body += d));
      res.on('end', () => (res.statusCode === 200 ? resolve(body) : reject(new Error(`HTTP ${res.statusCode}`))));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}

let counting = false;
let done = 0;
let errors = 0;
const latencies = [];

async function loop(id, deadline) {
  let k = id;
  while (nowMs() < deadline) {
    const t0 = nowMs();
    try {
      const body = await get(`/u/${k++ % 100}`);
      if (!body.startsWith('{"ok":true')) throw new Error('bad body');
      if (counting) {
        done++;
        if ((done & 7) === 0) latencies.push(nowMs() - t0);
      }
    } catch {
      if (counting) errors++;
    }
  }
}

const all = (deadline) => Promise.all(Array.from({ length: cfg.connections }, (_, i) => loop(i, deadline)));
await all(nowMs() + cfg.warmupMs);
const s0 = JSON.parse(await get('/__stats'));
counting = true;
const t0 = nowMs();
await all(t0 + cfg.durationMs);
const elapsed = nowMs() - t0;
counting = false;
const s1 = JSON.parse(await get('/__stats'));
agent.destroy();

const served = s1.requests - s0.requests - 1;
childResult({
  requests: done,
  errors,
  rps: (done * 1000) / elapsed,
  p50: quantile(latencies, 0.5),
  p99: quantile(latencies, 0.99),
  serverCpuUsPerRequest: (s1.cpuUs - s0.cpuUs) / served,
  served,
  mode: s1.mode,
  instrumented: s1.instrumented,
});
