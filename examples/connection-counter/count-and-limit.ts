// Version 2, cumulative: keeps counting, and closes a connection after
// LIMIT requests so that long-lived clients reconnect. It replaces
// count-requests (replace: true) and keeps its system state at a higher
// version; the counters count-requests attached are found as they are, so
// no connection's count starts over.
import { definePatch, getPrevState, printk, shadow } from 'livepatch';
import type { IncomingMessage, ServerResponse } from 'node:http';

const CONNECTION_REQUESTS = 1;
const LIMIT = 5;

export default definePatch({
  name: 'count-and-limit',
  replace: true,
  states: [{ id: 1, version: 2 }],
  objects: [{
    module: 'src/handler.js',
    funcs: [{
      oldName: 'handleRequest',
      newFunc: (self: unknown, req: IncomingMessage, res: ServerResponse) => {
        const counter = shadow.getOrAlloc(req.socket, CONNECTION_REQUESTS, { init: () => ({ requests: 0 }) })!;
        counter.requests++;
        res.setHeader('x-connection-requests', String(counter.requests));
        if (counter.requests >= LIMIT) res.setHeader('connection', 'close');
        res.setHeader('content-type', 'text/plain');
        res.end(`hello ${req.url}\n`);
      },
    }],
    callbacks: {
      prePatch() {
        const prev = getPrevState(1);
        printk(prev ? `count-and-limit: taking over the connection counters of version ${prev.version}`
          : 'count-and-limit: counting requests per connection');
      },
      postUnpatch() {
        printk('count-and-limit: freeing the connection counters');
        shadow.freeAll(CONNECTION_REQUESTS);
      },
    },
  }],
});
