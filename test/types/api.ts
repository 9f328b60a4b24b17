// Type tests of the public API, as fastify keeps test/types: this file is
// type-checked under --strict with the patches (tsconfig.patches.json) and
// never run. Each `@ts-expect-error` line is a mistake that must not compile.
import diagnosticsChannel from 'node:diagnostics_channel';
import {
  CHANNELS, type LoadMessage, type PatchEnabledMessage, type TransitionMessage,
  currentTask, definePatch, enablePatch, getPrevState, getState, isLivepatchError, listPatches, loadPatch,
  printk, replaces, shadow, withScope,
  type CallbackObject, type Replacement, type ErrorCode, type Errno, type PatchDefinition, type PatchInfo, type StateDefinition, type TaskInfo,
} from 'livepatch';

type Equal<A, B> = (<T>() => T extends A ? 1 : 2) extends (<T>() => T extends B ? 1 : 2) ? true : false;
function expectType<T>(value: T): T {
  return value;
}
function assertType<T extends true>(): T | undefined {
  return undefined;
}

// definePatch: a definition with every field an author writes.
const full = definePatch({
  name: 'fix-all',
  replace: true,
  states: [{ id: 1, version: 2, data: { anything: true } }],
  objects: [{
    module: 'src/orders.js',
    funcs: [
      { oldName: 'total', newFunc: (self: unknown, items: number[]) => items.length },
      { oldName: 'Cart.prototype.add', oldSympos: 2, oldHash: '0123456789abcdef', newFunc: async (self: { id: string }) => self.id },
      { oldName: 'gen', newFunc: function* (self: unknown) { yield 1; } },
    ],
    callbacks: {
      prePatch(obj) {
        assertType<Equal<typeof obj, CallbackObject>>();
        expectType<'COMING' | 'LIVE' | 'GOING'>(obj.state);
        return obj.instance > 0;
      },
      postPatch(obj) { printk(`${obj.patch} ${obj.module}`); },
      preUnpatch() {},
      postUnpatch() {},
    },
  }],
});
assertType<Equal<typeof full, PatchDefinition>>();

// withScope: the scope table has the type the author declares.
definePatch({
  name: 'scoped',
  objects: [{
    module: 'src/prices.js',
    funcs: [{
      oldName: 'total',
      newFunc: withScope<{ applyDiscount(n: number): number; rate: number }>((scope) => (self: unknown, n: number) => {
        expectType<number>(scope.rate);
        // @ts-expect-error the declared scope has no such binding
        scope.discount(n);
        return scope.applyDiscount(n);
      }),
    }],
  }],
});

// Mistakes an author makes must not compile.
definePatch({
  name: 'typos',
  objects: [{
    module: 'src/orders.js',
    funcs: [],
    // @ts-expect-error callbacks are camelCase: prePatch
    callbacks: { prepatch() {} },
  }],
});
// @ts-expect-error oldName (or original) is required
definePatch({ name: 'no-old-name', objects: [{ module: 'a.js', funcs: [{ newFunc: () => 1 }] }] });

// A bundled function named by where it was written, with or without oldHash.
const bundled = definePatch({
  name: 'fix-bundled',
  objects: [{
    module: 'marked/lib/marked.esm.js',
    funcs: [
      { original: { source: 'src/Lexer.ts', line: 101 }, newFunc: (self: unknown, src: string) => [src] },
      { original: { source: 'Lexer.ts', line: 85 }, oldHash: '0123456789abcdef', newFunc: (self: unknown) => [] },
    ],
  }],
});
expectType<PatchDefinition>(bundled);
definePatch({
  name: 'both-names',
  objects: [{
    module: 'a.js',
    // @ts-expect-error a func is named by oldName or by original, not both
    funcs: [{ oldName: 'f', original: { source: 'src/a.ts', line: 1 }, newFunc: () => 1 }],
  }],
});
definePatch({
  name: 'original-sympos',
  objects: [{
    module: 'a.js',
    // @ts-expect-error original resolves the sympos itself
    funcs: [{ original: { source: 'src/a.ts', line: 1 }, oldSympos: 2, newFunc: () => 1 }],
  }],
});
// @ts-expect-error an original line is a number
definePatch({ name: 'line-text', objects: [{ module: 'a.js', funcs: [{ original: { source: 'src/a.ts', line: '1' }, newFunc: () => 1 }] }] });
// @ts-expect-error an original names its source file
definePatch({ name: 'no-source', objects: [{ module: 'a.js', funcs: [{ original: { line: 1 }, newFunc: () => 1 }] }] });
// @ts-expect-error a replacement is a function, not a value
definePatch({ name: 'not-a-function', objects: [{ module: 'a.js', funcs: [{ oldName: 'f', newFunc: 42 }] }] });
// @ts-expect-error objects is required
definePatch({ name: 'no-objects' });
// @ts-expect-error a state version is a number
definePatch({ name: 'bad-state', objects: [], states: [{ id: 1, version: '2' }] });
definePatch({
  name: 'bad-callback',
  objects: [{
    module: 'a.js',
    funcs: [],
    // @ts-expect-error pre-patch refuses with false or a non-zero number, not a string
    callbacks: { prePatch: () => 'no' },
  }],
});

// Shadow variables: typed data, integer ids.
class Conn { open = true; }
const counters = shadow.alloc(new Conn(), 0x1234, { init: () => ({ requests: 0 }) });
expectType<{ requests: number } | undefined>(counters);
expectType<{ requests: number } | undefined>(shadow.getOrAlloc(new Conn(), 1, { init: () => ({ requests: 0 }) }));
shadow.free<{ requests: number }>(new Conn(), 0x1234, (obj, data) => {
  expectType<object>(obj);
  expectType<number>(data.requests);
});
shadow.freeAll(0x1234);
// @ts-expect-error a shadow id is a number
shadow.get(new Conn(), 'id');

// System states.
expectType<StateDefinition | undefined>(getState('fix-all', 1));
expectType<StateDefinition | undefined>(getPrevState(1));

// The host API.
expectType<Promise<PatchInfo>>(enablePatch(full));
expectType<Promise<PatchInfo>>(loadPatch('fix.ts'));
expectType<PatchInfo[]>(listPatches());
expectType<TaskInfo>(currentTask());

// Errors narrow by code, and a misspelt code does not compile.
function handle(err: unknown): ErrorCode | undefined {
  if (isLivepatchError(err, 'ERR_LP_BUSY')) {
    assertType<Equal<typeof err.code, 'ERR_LP_BUSY'>>();
    return err.code;
  }
  // @ts-expect-error no such code
  if (isLivepatchError(err, 'ERR_LP_BUZY')) return undefined;
  if (isLivepatchError(err)) {
    assertType<Equal<typeof err.errno, Errno>>();
    // @ts-expect-error an errno is one of the catalog's names
    if (err.errno === 'EINVALID') return undefined;
    return err.code;
  }
  return undefined;
}
handle(new Error('x'));

// replaces: a replacement typed against the original's type catches the
// three authoring mistakes the engine can only guess at from the outside.
declare function total(items: number[], discount: number): number;
declare function handler(req: { url: string }, res: { json(body: unknown): void }): void;
declare class Cart {
  items: string[];
  add(sku: string): number;
}
expectType<Replacement<typeof total>>(replaces<typeof total>((self, items, discount) => items.length - discount));
assertType<Equal<Parameters<Replacement<typeof handler>>, [self: unknown, req: { url: string }, res: { json(body: unknown): void }]>>();
replaces<typeof handler>((self, req, res) => res.json({ url: req.url }));
// @ts-expect-error self left out: `res` is the request, which has no json()
replaces<typeof handler>((req, res) => res.json({}));
// @ts-expect-error another arity: the original takes two arguments
replaces<typeof total>((self, items: number[], discount: number, tax: number) => tax);
// @ts-expect-error another parameter type
replaces<typeof total>((self, items: string[]) => items.length);
// @ts-expect-error another return type
replaces<typeof total>((self, items) => `${items.length}`);
replaces<Cart['add'], Cart>((self, sku) => self.items.push(sku));
definePatch({
  name: 'typed',
  objects: [{
    module: 'src/orders.js',
    funcs: [
      { oldName: 'total', newFunc: replaces<typeof total>((self, items, discount) => items.length * discount) },
      { oldName: 'handler', newFunc: withScope<{ log(s: string): void }>((scope) => replaces<typeof handler>((self, req) => scope.log(req.url))) },
    ],
  }],
});

// The diagnostics channels: their names, and the messages a subscriber receives.
diagnosticsChannel.subscribe(CHANNELS.patchEnabled, (message) => {
  const enabled = message as PatchEnabledMessage;
  expectType<'loaded' | 'installed' | 'watched'>(enabled.origin);
  expectType<boolean>(enabled.replace);
});
diagnosticsChannel.tracingChannel<unknown, TransitionMessage>(CHANNELS.transition).subscribe({
  start: (message) => expectType<'patched' | 'unpatched'>(message.target),
  end: () => {},
  asyncStart: (message) => expectType<'complete' | 'reversed' | undefined>(message.outcome),
  asyncEnd: () => {},
  error: () => {},
});
assertType<Equal<LoadMessage['result'], string | undefined>>();
// @ts-expect-error CHANNELS is read-only
CHANNELS.load = 'other';
