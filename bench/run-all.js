#!/usr/bin/env node
/**
 * Runs every benchmark (each in its own process, `--quick` passed through)
 * and prints each one's tables, then one summary table: metric, measured,
 * target, met?. The combined report is saved to
 * bench/.work/results/all[.quick].json.
 *
 *     node bench/run-all.js [--quick] [--json] [--only trampoline,acorn,…]
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import {
  BENCH, ensureBuilt, envInfo, log, main, nowMs, parseArgs, renderReport, renderTable, workDir,
} from './lib/harness.js';

const SCRIPTS = ['trampoline', 'acorn', 'startup', 'patch-load', 'load', 'async', 'transition', 'http', 'fleet-load', 'fleet-watch'];

function runScript(name, quick) {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [path.join(BENCH, `${name}.js`), '--json', ...(quick ? ['--quick'] : [])], {
      cwd: path.dirname(BENCH),
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.on('close', (code) => {
      try {
        if (code !== 0) throw new Error(`exit ${code}`);
        resolve({ ok: true, report: JSON.parse(out.trim().split('\n').pop()) });
      } catch (err) {
        resolve({ ok: false, error: `${name}: ${err.message}` });
      }
    });
  });
}

main(async () => {
  const args = parseArgs();
  ensureBuilt();
  const onlyArg = args.rest.find((a) => a.startsWith('--only'));
  const only = onlyArg ? (onlyArg.includes('=') ? onlyArg.split('=')[1] : args.rest[args.rest.indexOf(onlyArg) + 1]).split(',') : null;
  const scripts = only ? SCRIPTS.filter((s) => only.includes(s)) : SCRIPTS;
  const started = nowMs();
  const reports = [];
  const failures = [];
  const durations = {};
  for (const name of scripts) {
    log(`run-all: ${name}${args.quick ? ' --quick' : ''}`);
    const t0 = nowMs();
    const res = await runScript(name, args.quick);
    durations[name] = (nowMs() - t0) / 1000;
    log(`run-all: ${name} took ${durations[name].toFixed(0)} s`);
    if (!res.ok) {
      failures.push(res.error);
      continue;
    }
    reports.push(res.report);
    if (!args.json) process.stdout.write(`${renderReport(res.report)}\n\n`);
  }

  const rows = [];
  for (const r of reports) {
    for (const s of r.summary) {
      rows.push([r.bench, s.metric, s.measured, s.target ?? '–', s.met === true ? 'yes' : s.met === false ? 'NO' : '–']);
    }
  }
  for (const f of failures) rows.push([f.split(':')[0], 'benchmark failed', f, '', 'NO']);
  const combined = {
    bench: 'all',
    env: envInfo(),
    quick: args.quick,
    seconds: (nowMs() - started) / 1000,
    durations,
    summary: reports.flatMap((r) => r.summary.map((s) => ({ bench: r.bench, ...s }))),
    failures,
    reports,
  };
  fs.writeFileSync(path.join(workDir('results'), `all${args.quick ? '.quick' : ''}.json`), JSON.stringify(combined, null, 2));
  if (args.json) {
    process.stdout.write(`${JSON.stringify(combined)}\n`);
  } else {
    const e = combined.env;
    process.stdout.write(`${renderTable({
      title: `== Summary: all benchmarks${args.quick ? ' (--quick)' : ''} == ${e.date}, Node ${e.node}, ${e.cpus}× ${e.cpu}, ${Math.round(combined.seconds)} s`,
      columns: ['bench', 'metric', 'measured', 'target', 'met?'],
      rows,
    })}\n`);
    const met = combined.summary.filter((s) => s.met === true).length;
    const missed = combined.summary.filter((s) => s.met === false).length;
    process.stdout.write(`targets met: ${met}, missed: ${missed}${failures.length ? `, failed benchmarks: ${failures.length}` : ''}\n`);
  }
  if (failures.length) process.exitCode = 1;
});
