// Version 1 of a data-structure change: count the requests of each
// connection. Connections were created before the patch, so the counter
// cannot be a new field set by their constructor: it is a shadow variable
// attached to the socket, created lazily on its first request. The change
// is declared as system state 1, version 1, so that a later cumulative
// patch knows the counters exist and takes them over.
import { definePatch, printk, shadow } from 'livepatch';
import type { IncomingMessage, ServerResponse } from 'node:http';

export const CONNECTION_REQUESTS = 1;
const COUNTER_STATE = { id: 1, version: 1 };

export default definePatch({
  name: 'count-requests',
  states: [COUNTER_STATE],
  objects: [{
    module: 'src/handler.js',
    funcs: [{
      oldName: 'handleRequest',
      newFunc: (self: unknown, req: IncomingMessage, res: ServerResponse) => {
        const counter = shadow.getOrAlloc(req.socket, CONNECTION_REQUESTS, { init: () => ({ requests: 0 }) })!;
        counter.requests++;
        res.setHeader('x-connection-requests', String(counter.requests));
        res.setHeader('content-type', 'text/plain');
        res.end(`hello ${req.url}\n`);
      },
    }],
    callbacks: {
      // Free the counters only on a real disable: a cumulative patch that
      // replaces this one takes them over (and this callback does not run).
      postUnpatch() {
        printk('count-requests: freeing the connection counters');
        shadow.freeAll(CONNECTION_REQUESTS);
      },
    },
  }],
});
