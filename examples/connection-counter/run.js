// Three keep-alive clients talk to the service while count-requests and
// then count-and-limit are loaded into it, and then unloaded. Each client
// prints what the counter header said on each of its requests ('-' for none).
import http from 'node:http';
import { disablePatch, loadPatch, waitForTransition } from 'livepatch';
import { server } from './server.js';

await new Promise((resolve) => server.once('listening', resolve));
const clients = ['a', 'b', 'c'].map((name) => ({ name, agent: new http.Agent({ keepAlive: true, maxSockets: 1 }), seen: [] }));
const request = (client) => new Promise((resolve) => {
  http.get({ port: server.address().port, path: `/${client.name}`, agent: client.agent }, (res) => {
    res.resume();
    res.on('end', () => {
      client.seen.push(res.headers['x-connection-requests'] ?? '-');
      resolve();
    });
  });
});
async function round(label) {
  for (let i = 0; i < 3; i++) await Promise.all(clients.map(request));
  console.log(`${label.padEnd(16)} ${clients.map((c) => `${c.name}: ${c.seen.splice(0).join(' ')}`).join('   ')}`);
}
const patch = (file) => new URL(file, import.meta.url).pathname;

await round('unpatched');
await loadPatch(patch('count-requests.ts'));
await waitForTransition();
await round('count-requests');
await loadPatch(patch('count-and-limit.ts'));
await waitForTransition();
await round('count-and-limit');
await disablePatch('count-and-limit');
await waitForTransition();
await round('unloaded');
for (const c of clients) c.agent.destroy();
server.close();
