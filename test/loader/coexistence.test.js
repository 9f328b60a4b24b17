// livepatch next to the other tools that hook module loading, each the real
// package, preloaded with `--import` before and after livepatch: in either
// order the application's modules are instrumented as the other tool
// produced them, a patch takes effect, and the other tool still works.
// livepatch never instruments code in Node's hooks thread (`module.register`),
// nor a module that another loader's hooks load while they run.
import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import { fixture, REGISTER, runOk } from '../helpers.js';

/** Runs `script` with `tool`'s preload before and after livepatch's, and resolves with the JSON each printed, by order. */
async function bothOrders(script, tool, args = []) {
  const run = async (preloads) => {
    const { stdout } = await runOk(script, { nodeArgs: ['--no-deprecation', ...preloads], register: false, args });
    return JSON.parse(stdout.trim().split('\n').at(-1));
  };
  const [toolFirst, livepatchFirst] = await Promise.all([
    run(['--import', tool, '--import', REGISTER]),
    run(['--import', REGISTER, '--import', tool]),
  ]);
  return { toolFirst, livepatchFirst };
}

const TS_NODE = 'data:text/javascript,import { register } from "node:module"; import { pathToFileURL } from "node:url"; register("ts-node/esm", pathToFileURL("./"));';

for (const [name, tool] of [['tsx', 'tsx'], ['ts-node/esm', TS_NODE]]) {
  describe(`TypeScript compiled by ${name}`, () => {
    let runs;
    before(async () => {
      runs = await bothOrders(fixture('loaders', 'ts', 'main.ts'), tool);
    });

    for (const order of ['toolFirst', 'livepatchFirst']) {
      test(`${order}: the compiler's output of the ES module and of the CommonJS one is instrumented, and the patch replaces a function in each`, () => {
        const out = runs[order];
        // prices.ts holds an enum, which only the compiler can run: its instrumented code is the compiler's output.
        assert.deepEqual(out.modules.map((m) => m.split(' ')[0]), ['legacy.cts', 'main.ts', 'prices.ts']);
        assert.deepEqual(out.before, [200, 'hello ts']);
        assert.deepEqual(out.after, [1, 'hi ts']);
      });
    }
  });
}

// The express instrumentation wraps each route handler (`layer.handle`)
// with shimmer: the patched function is `listOrders`, the handler itself,
// which its wrapper calls. After the patch the response is the patch's and
// the wrapper's span ("request handler") is still there, with the http
// instrumentation's server and client spans.
for (const kind of ['cjs', 'mjs']) {
  const through = kind === 'cjs' ? 'require-in-the-middle' : 'import-in-the-middle';
  describe(`OpenTelemetry's express and http instrumentations, express reached through ${through}`, () => {
    let runs;
    before(async () => {
      runs = await bothOrders(fixture('loaders', 'traced.mjs'), fixture('loaders', 'otel.mjs'), [kind]);
    });

    for (const order of ['toolFirst', 'livepatchFirst']) {
      test(`${order}: the traced handler is patched, and its spans still appear`, () => {
        const spans = ['GET', 'GET /orders', 'request handler'];
        assert.deepEqual(runs[order], {
          before: { body: { orders: 1 }, spans },
          after: { body: { orders: 2 }, spans },
          // One instance: import-in-the-middle's wrapper module is not a second one.
          instances: [`orders.${kind} 2`],
        });
      });
    }
  });
}

describe('a program\'s own hooks, on module.registerHooks (preloaded) and module.register (registered after livepatch started)', () => {
  let runs;
  before(async () => {
    runs = await bothOrders(fixture('loaders', 'own-hooks-app.mjs'), fixture('loaders', 'own-hooks.mjs'));
  });

  for (const order of ['toolFirst', 'livepatchFirst']) {
    test(`${order}: nothing in the hooks thread is instrumented, and its hooks still serve their module`, () => {
      assert.deepEqual(runs[order].hooksThread, { livepatchGlobal: 'undefined', instrumented: false });
      assert.equal(runs[order].virtual, 42);
    });

    test(`${order}: the in-thread hook's output is instrumented and patched; the module it requires while it runs is left alone`, () => {
      assert.equal(runs[order].before, 'hello you');
      assert.equal(runs[order].after, 'hi you');
      assert.ok(runs[order].modules.includes('greet.mjs'));
      assert.ok(!runs[order].modules.includes('hook-helper.cjs'));
    });
  }
});
