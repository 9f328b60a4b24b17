import { addItem, carts, cartSummary, codeVersion, itemCount } from './cart.js';
import { buildReport } from './report.js';

function send(res, status, body) {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
}

export async function route(req, res) {
  const url = new URL(req.url, 'http://shop');
  const [, resource, user] = url.pathname.split('/');
  try {
    if (resource === 'add') {
      const { status, ...body } = addItem(user, url.searchParams.get('sku'), Number(url.searchParams.get('qty')));
      return send(res, status, { version: codeVersion(), ...body });
    }
    if (resource === 'cart') return send(res, 200, { version: codeVersion(), ...cartSummary(user) });
    if (resource === 'report') return send(res, 200, await buildReport(user));
    if (resource === 'stats') {
      let items = 0;
      for (const cart of carts.values()) items += itemCount(cart);
      return send(res, 200, { carts: carts.size, items, pid: process.pid });
    }
    send(res, 404, { error: 'not found' });
  } catch (err) {
    send(res, 500, { error: err.message });
  }
}
