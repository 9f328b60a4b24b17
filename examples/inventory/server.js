// GET /reserve/<item>/<qty> and GET /available/<item>. Prints `listening <port>`.
import http from 'node:http';
import { available, reserve } from './src/stock.js';

const server = http.createServer((req, res) => {
  const [, action, item, qty] = req.url.split('/');
  const body = action === 'reserve' ? reserve(item, Number(qty)) : { item, available: available(item) };
  res.end(`${JSON.stringify(body)}\n`);
});
server.listen(Number(process.env.PORT ?? 8080), '127.0.0.1', () => {
  console.log(`listening ${server.address().port}`);
});
