#!/usr/bin/env node
/**
 * Investigation of missed targets: measures candidate fixes in scratch
 * copies of dist/ under bench/.work/prototypes/ (src/ is never touched).
 * Not part of run-all; see bench/README.md, "Missed targets".
 *
 * Each prototype is dist/ copied and edited as text; an edit whose anchor
 * text is missing fails loudly (the code it was written against changed).
 *
 *   task-cache  runtime/tasks.js: `currentTask()` caches the task per
 *               `executionAsyncId()`; the private ALS's `run`/`enterWith`
 *               invalidate the cache, so a handler call in a hot loop does not pay
 *               `als.getStore()` (→ executionAsyncResource →
 *               lookupPublicResource, a megamorphic keyed load) every time.
 *   nop-typeof  loader/instrument.js: the trampoline's handler-result test
 *               `__lp_r !== __lp_n` becomes
 *               `typeof __lp_r !== 'symbol' || __lp_r !== __lp_n`, which
 *               TurboFan folds for non-symbol results instead of calling the
 *               generic StrictEqual builtin.
 *   task-list   runtime/tasks.js: the strongly tracked tasks in an intrusive
 *               doubly-linked list instead of a Set (a task that gets its
 *               first live frame is added, and removed when its last one
 *               exits: per async call when nothing else is live), and no
 *               untracking attempt for the root task.
 *   args-ast    loader/instrument.js: forward `...arguments` only when the
 *               body really references the `arguments` binding (an AST walk)
 *               instead of when its text contains the word.
 *
 * Measurements:
 *   handler  transition-child 'handler' mode (see bench/transition.js) with
 *            dist, task-cache, nop-typeof and both;
 *   acorn    acorn-child side by side (see bench/acorn.js) with dist and
 *            args-ast;
 *   async    async-child (see bench/async.js), per-task and global, with
 *            dist and task-list.
 *
 *     node bench/prototypes.js [--quick] [--json] [handler] [acorn] [async]
 */
import fs from 'node:fs';
import path from 'node:path';
import {
  BENCH, DIST, NODE_MODULES, emit, ensureBuilt, envInfo, freshDir, log, main, median, mpm, parseArgs, range, ratio,
  runChild, signedRange, summarize, target, writeFiles,
} from './lib/harness.js';

/** Text edits per prototype: [file in dist, anchor, replacement]. */
const EDITS = {
  'task-cache': [
    ['runtime/tasks.js', "import { AsyncLocalStorage } from 'node:async_hooks';",
      "import { AsyncLocalStorage, executionAsyncId } from 'node:async_hooks';\nlet cachedId = -1;\nlet cachedTask = null;"],
    // The cache is keyed by the execution async id; the only ways the store
    // of livepatch's (private) AsyncLocalStorage changes within one async
    // execution are its own run and enterWith, which invalidate it.
    ['runtime/tasks.js', 'als = new AsyncLocalStorage();', `als = new AsyncLocalStorage();
    {
        const run = als.run.bind(als);
        const enterWith = als.enterWith.bind(als);
        als.run = (store, fn, ...rest) => {
            cachedId = -1;
            try {
                return run(store, fn, ...rest);
            }
            finally {
                cachedId = -1;
            }
        };
        als.enterWith = (store) => {
            enterWith(store);
            cachedId = -1;
        };
    }`],
    ['runtime/tasks.js', 'export function currentTask() {', `export function currentTask() {
    if (als === null)
        return root;
    const id = executionAsyncId();
    if (id === cachedId)
        return cachedTask;
    cachedTask = uncachedCurrentTask();
    cachedId = id;
    return cachedTask;
}
function uncachedCurrentTask() {`],
  ],
  'task-list': [
    ['runtime/tasks.js', 'const strongTasks = new Set();', `/** An intrusive doubly-linked list of tasks: add and delete are a few field writes, no hashing. */
class TaskList {
    constructor() {
        this.head = null;
    }
    add(t) {
        if (t.lpIn === true)
            return this;
        t.lpIn = true;
        t.lpPrev = null;
        t.lpNext = this.head;
        if (this.head !== null)
            this.head.lpPrev = t;
        this.head = t;
        return this;
    }
    delete(t) {
        if (t.lpIn !== true)
            return false;
        t.lpIn = false;
        if (t.lpPrev !== null)
            t.lpPrev.lpNext = t.lpNext;
        else
            this.head = t.lpNext;
        if (t.lpNext !== null)
            t.lpNext.lpPrev = t.lpPrev;
        t.lpPrev = t.lpNext = null;
        return true;
    }
    clear() {
        for (let t = this.head; t !== null;) {
            const next = t.lpNext;
            t.lpIn = false;
            t.lpPrev = t.lpNext = null;
            t = next;
        }
        this.head = null;
    }
    *[Symbol.iterator]() {
        for (let t = this.head; t !== null;) {
            const next = t.lpNext;
            yield t;
            t = next;
        }
    }
}
const strongTasks = new TaskList();`],
    // Root is always visited by forEachTask; it needs no tracking.
    ['runtime/tasks.js', `    if (--task.liveFrames === 0)
        untrackIdle(task);`, `    if (--task.liveFrames === 0 && task !== root)
        untrackIdle(task);`],
  ],
  'nop-typeof': [
    ['loader/instrument.js', 'if (__lp_r !== __lp_n) return ${', "if (typeof __lp_r !== 'symbol' || __lp_r !== __lp_n) return ${"],
  ],
  'args-ast': [
    ['loader/instrument.js', "if (!isArrow && bodyText.includes('arguments')) {",
      "if (!isArrow && bodyText.includes('arguments') && usesArguments(fn.body)) {"],
    ['loader/instrument.js', 'function emitTrampoline(', `/** Whether \`node\` references the \`arguments\` binding of its function (not nested functions', property names or keys). */
function usesArguments(node, parent = null, key = null) {
    if (node === null || typeof node !== 'object') return false;
    if (Array.isArray(node)) return node.some((n) => usesArguments(n, parent, key));
    if (node.type === 'FunctionDeclaration' || node.type === 'FunctionExpression') return false;
    if (node.type === 'Identifier') {
        if (node.name !== 'arguments') return false;
        if (parent && !parent.computed && ((parent.type === 'MemberExpression' && key === 'property') ||
            ((parent.type === 'Property' || parent.type === 'MethodDefinition' || parent.type === 'PropertyDefinition') && key === 'key'))) return false;
        return true;
    }
    for (const k of Object.keys(node)) {
        if (k === 'type' || k === 'start' || k === 'end') continue;
        const v = node[k];
        if (v !== null && typeof v === 'object' && usesArguments(v, node, k)) return true;
    }
    return false;
}
function emitTrampoline(`],
  ],
};

function makeDist(name, editSets) {
  const dir = freshDir('prototypes', name);
  const dist = path.join(dir, 'dist');
  fs.cpSync(DIST, dist, { recursive: true });
  for (const set of editSets) {
    for (const [file, anchor, replacement] of EDITS[set]) {
      const f = path.join(dist, file);
      const text = fs.readFileSync(f, 'utf8');
      if (!text.includes(anchor)) throw new Error(`prototype ${set}: anchor not found in dist/${file}: ${anchor.slice(0, 60)}`);
      fs.writeFileSync(f, text.split(anchor).join(replacement));
    }
  }
  return dist;
}

async function handler(args) {
  const q = args.quick;
  const variants = {
    dist: makeDist('base', []),
    'task-cache': makeDist('task-cache', ['task-cache']),
    'nop-typeof': makeDist('nop-typeof', ['nop-typeof']),
    both: makeDist('both', ['task-cache', 'nop-typeof']),
  };
  const dir = freshDir('prototypes', 'handler-app');
  // The same generated app as bench/transition.js.
  const MODULE = `export function add(a, b) { return a + b; }
export async function hold(p) { await p; globalThis.__benchExitAt = performance.now(); return 1; }
`;
  const files = {
    'package.json': '{ "name": "bench-proto-handler", "private": true, "type": "module" }\n',
    'livepatch.config.json': JSON.stringify({ include: ['m*.js'], cache: false }) + '\n',
    'r.js': ['A', 'B', 'T'].map((s) => `export function add${s}(self, a, b) { return a + b; }
export async function hold${s}(self, p) { await p; return 2; }
`).join(''),
  };
  for (const m of ['ma', 'mb', 'mc', 'mt']) files[`${m}.js`] = MODULE;
  for (const [v, m] of Object.entries({ unpatched: 'mc', steady: 'ma', new: 'mb', old: 'mb' })) {
    files[`d_${v}.js`] = `import { add } from './${m}.js';
export function run_${v}(n) { let s = 0; for (let i = 0; i < n; i++) s = add(s, i) & 0xfffff; return s; }
`;
  }
  writeFiles(dir, files);
  const procs = q ? 1 : 3;
  const opts = q ? { rounds: 5, targetMs: 10, warmupMs: 200 } : { rounds: 9, targetMs: 20, warmupMs: 400 };
  const modes = [['optimized', []], ['not-inlined', ['--no-turbo-inlining']]];
  const res = {};
  for (let p = 0; p < procs; p++) {
    for (const [mode, flags] of modes) {
      for (const [name, dist] of Object.entries(variants)) {
        log(`prototypes: handler ${name} ${mode} process ${p + 1}/${procs}`);
        const r = await runChild(path.join(BENCH, 'lib', 'transition-child.js'), {
          args: [JSON.stringify({ mode: 'handler', dir, dist, ...opts })],
          nodeArgs: [...flags, '--import', path.join(dist, 'loader', 'register.js')],
          env: { LIVEPATCH_ROOT: dir, LIVEPATCH_CACHE: '0', LIVEPATCH_CONSISTENCY: 'per-task', LIVEPATCH_CONTROL: '0' },
          cwd: dir,
        });
        ((res[mode] ??= {})[name] ??= []).push(r);
      }
    }
  }
  const rows = [];
  const data = {};
  for (const [mode] of modes) {
    for (const name of Object.keys(variants)) {
      const rs = res[mode][name];
      const d = {};
      for (const v of ['steady', 'new', 'old']) d[v] = mpm(rs.map((r) => r.samples[v]));
      d.newDelta = summarize(rs.map((r) => median(r.rounds.map((x) => x.new - x.steady))));
      data[`${mode}.${name}`] = d;
      rows.push([mode, name, range(d.steady), range(d.new), signedRange(d.newDelta), range(d.old)]);
    }
  }
  return {
    table: {
      title: `Per-task handler during a transition, prototypes: add(a, b) ns/call, ${procs} processes × ${opts.rounds} rounds [min–max]`,
      columns: ['flags', 'dist', 'steady state', 'in transition, switched task', 'Δ vs steady', 'in transition, old-state task'],
      rows,
    },
    summary: [
      target('handler (switched task), inlined: dist → task-cache → both', ['dist', 'task-cache', 'both'].map((n) => `${n} ${range(data[`optimized.${n}`].new)}`).join('; '), '≤ 5 ns', data['optimized.both'].new.median <= 5),
      target('handler (switched task), not inlined: dist → both', ['dist', 'both'].map((n) => `${n} ${range(data[`not-inlined.${n}`].new)}`).join('; '), '≤ 25 ns', data['not-inlined.both'].new.median <= 25),
    ],
    data,
  };
}

async function acorn(args) {
  const q = args.quick;
  const variants = { dist: makeDist('acorn-base', []), 'args-ast': makeDist('args-ast', ['args-ast']) };
  const dir = freshDir('prototypes', 'acorn-app');
  const acornMjs = path.join(NODE_MODULES, 'acorn', 'dist', 'acorn.mjs');
  writeFiles(dir, {
    'package.json': '{ "name": "bench-proto-acorn", "private": true, "type": "module" }\n',
    'livepatch.config.json': JSON.stringify({ exclude: ['plain/**', '../**'], cache: false }) + '\n',
    'plain/acorn.mjs': fs.readFileSync(acornMjs, 'utf8'),
  });
  const { instrument } = await import(path.join(variants['args-ast'], 'loader', 'instrument.js'));
  const forwarded = instrument(fs.readFileSync(acornMjs, 'utf8'), { id: 'acorn/dist/acorn.mjs', format: 'esm' }).meta.symbols.filter((s) => s.slot >= 0 && s.rest).map((s) => s.name);
  const procs = q ? 1 : 3;
  const cfg = {
    mode: 'ab', input: path.join(NODE_MODULES, 'typescript', 'lib', 'typescript.js'), plainCopy: path.join(dir, 'plain', 'acorn.mjs'),
    warmup: 1, runs: q ? 2 : 4, smallReps: q ? 10 : 20,
  };
  const res = {};
  for (let p = 0; p < procs; p++) {
    for (const [name, dist] of Object.entries(variants)) {
      log(`prototypes: acorn ${name} process ${p + 1}/${procs}`);
      (res[name] ??= []).push(await runChild(path.join(BENCH, 'lib', 'acorn-child.js'), {
        args: [JSON.stringify(cfg)],
        nodeArgs: ['--import', path.join(dist, 'loader', 'register.js')],
        env: { LIVEPATCH_ROOT: dir, LIVEPATCH_CACHE: '0', LIVEPATCH_CONTROL: '0' },
        cwd: dir,
        timeout: 900_000,
      }));
    }
  }
  const rows = [];
  const data = {};
  for (const name of Object.keys(variants)) {
    const rs = res[name];
    const paired = (key) => summarize(rs.map((r) => median(r[key].node_modules.map((x, i) => x / r[key].plainCopy[i]))));
    const d = { big: paired('bigMs'), bigCpu: paired('bigCpu'), small: paired('smallMs'), smallCpu: paired('smallCpu'), forwardArguments: rs[0].instrumented.forwardArguments };
    data[name] = d;
    rows.push([name, String(d.forwardArguments), ratio(d.big), ratio(d.bigCpu), ratio(d.small), ratio(d.smallCpu)]);
  }
  return {
    table: {
      title: `acorn side by side (instrumented/plain copy, paired), prototypes; ${procs} processes × ${cfg.runs} rounds`,
      columns: ['dist', 'fns forwarding ...arguments', 'typescript.js wall', 'typescript.js thread CPU', `acorn.mjs ×${cfg.smallReps} wall`, 'thread CPU'],
      rows,
      notes: [`args-ast still forwards ...arguments in: ${forwarded.join(', ') || 'none'}`],
    },
    summary: [target('acorn on typescript.js, args-ast prototype', ratio(data['args-ast'].big), '≤ 1.10×', data['args-ast'].big.median <= 1.10)],
    data,
  };
}

async function asyncCalls(args) {
  const q = args.quick;
  const variants = { dist: makeDist('async-base', []), 'task-list': makeDist('task-list', ['task-list']) };
  const dir = freshDir('prototypes', 'async-app');
  const src = 'const resolved = Promise.resolve(1);\nexport async function af(x) { const v = await resolved; return v + x; }\n';
  const loop = 'let s = 0; for (let i = 0; i < n; i++) s = (s + await af(i)) & 0xfffff; return s;';
  const files = {
    'package.json': '{ "name": "bench-proto-async", "private": true, "type": "module" }\n',
    'livepatch.config.json': JSON.stringify({ include: ['k_instr_*.js', 'd_instr_asyncInFrame.js'], cache: false }) + '\n',
  };
  const kernels = [{ name: 'async', fn: 'af' }, { name: 'asyncInFrame', fn: 'af' }];
  for (const k of kernels) {
    for (const v of ['plain', 'instr']) {
      files[`k_${v}_${k.name}.js`] = src;
      files[`d_${v}_${k.name}.js`] = `import { af } from './k_${v}_${k.name}.js';\nexport async function run_${v}_${k.name}(n) { ${loop} }\n`;
    }
  }
  writeFiles(dir, files);
  const procs = q ? 1 : 3;
  const opts = q ? { rounds: 5, targetMs: 15, warmupMs: 300 } : { rounds: 9, targetMs: 30, warmupMs: 600 };
  const res = {};
  for (let p = 0; p < procs; p++) {
    for (const mode of ['per-task', 'global']) {
      for (const [name, dist] of Object.entries(variants)) {
        log(`prototypes: async ${name} ${mode} process ${p + 1}/${procs}`);
        ((res[mode] ??= {})[name] ??= []).push(await runChild(path.join(BENCH, 'lib', 'async-child.js'), {
          args: [JSON.stringify({ dir, dist, kernels, inTask: mode === 'per-task', ...opts })],
          nodeArgs: ['--import', path.join(dist, 'loader', 'register.js')],
          env: { LIVEPATCH_ROOT: dir, LIVEPATCH_CACHE: '0', LIVEPATCH_CONSISTENCY: mode, LIVEPATCH_CONTROL: '0' },
          cwd: dir,
        }));
      }
    }
  }
  const rows = [];
  const data = {};
  for (const mode of ['per-task', 'global']) {
    for (const name of Object.keys(variants)) {
      for (const k of kernels) {
        const rs = res[mode][name];
        const d = {
          plain: mpm(rs.map((r) => r.samples[`plain_${k.name}`])),
          instr: mpm(rs.map((r) => r.samples[`instr_${k.name}`])),
          delta: summarize(rs.map((r) => median(r.paired[k.name].map(([a, b]) => b - a)))),
        };
        data[`${mode}.${name}.${k.name}`] = d;
        rows.push([mode, name, k.name === 'async' ? 'await af(i)' : 'await af(i), caller holds a frame', range(d.plain), range(d.instr), signedRange(d.delta, 1)]);
      }
    }
  }
  return {
    table: {
      title: `Instrumented async call, prototypes: ns per awaited call, ${procs} processes × ${opts.rounds} rounds [min–max]`,
      columns: ['mode', 'dist', 'kernel', 'plain', 'instrumented', 'Δ'],
      rows,
    },
    summary: [
      target('async call on top of ALS (per-task): dist → task-list', `${signedRange(data['per-task.dist.async'].delta, 1)} → ${signedRange(data['per-task.task-list.async'].delta, 1)} ns`, '≤ +40 ns', data['per-task.task-list.async'].delta.median <= 40),
      target('async call, global: dist → task-list', `${signedRange(data['global.dist.async'].delta, 1)} → ${signedRange(data['global.task-list.async'].delta, 1)} ns`, '≤ +15 ns', data['global.task-list.async'].delta.median <= 15),
    ],
    data,
  };
}

main(async () => {
  const args = parseArgs();
  ensureBuilt();
  const which = args.rest.length ? args.rest : ['handler', 'async', 'acorn'];
  const parts = [];
  const names = [];
  if (which.includes('handler')) parts.push(await handler(args)) && names.push('handler');
  if (which.includes('async')) parts.push(await asyncCalls(args)) && names.push('async');
  if (which.includes('acorn')) parts.push(await acorn(args)) && names.push('acorn');
  emit({
    bench: 'prototypes',
    title: 'Prototypes of fixes for missed targets (scratch dist copies under bench/.work/prototypes)',
    env: envInfo(),
    config: { which, quick: args.quick },
    tables: parts.map((p) => p.table),
    summary: parts.flatMap((p) => p.summary),
    data: Object.fromEntries(parts.map((p, i) => [names[i], p.data])),
  }, args);
});
