// Support for the builder's tests: `livepatch build` run on fixture pairs,
// its patch modules written to a scratch directory that resolves
// `livepatch` to this checkout, and type-checked there with the real tsc.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { CLI, collect, fixture, ROOT } from '../helpers.js';

export const CHANGES = fixture('build', 'changes');
export const CVE = fixture('build', 'cve');

/**
 * A scratch directory for patch modules: an ES module package whose
 * `livepatch` is this checkout, as in a program that depends on it.
 * Removed when the test (or suite) ends.
 */
export function patchDir(t) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lp-build-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  fs.writeFileSync(path.join(dir, 'package.json'), '{ "type": "module" }\n');
  fs.mkdirSync(path.join(dir, 'node_modules'));
  fs.symlinkSync(ROOT, path.join(dir, 'node_modules', 'livepatch'));
  return dir;
}

/** Runs `livepatch build` with `args` from `cwd`; resolves with its exit code and output. */
export function build(args, { cwd = ROOT, env = {} } = {}) {
  return collect(process.execPath, [CLI, 'build', ...args], { cwd, env: { ...process.env, ...env }, timeout: 60_000 });
}

/** Builds `<case>/old` → `<case>/new` of the application fixtures into `dir`, and resolves with the result and the patch's path. */
export async function buildChange(dir, name, extra = []) {
  const out = path.join(dir, `${name}.ts`);
  const result = await build(['--old', path.join(CHANGES, name, 'old'), '--new', path.join(CHANGES, name, 'new'), '-o', out, ...extra]);
  return { ...result, out };
}

/** Like build, but fails unless it exits 0; resolves with the patch module's text. */
export async function buildOk(args, out, options) {
  const result = await build([...args, '-o', out], options);
  assert.equal(result.code, 0, `livepatch build ${args.join(' ')} exited ${result.code}\n${result.stdout}${result.stderr}`);
  return { ...result, text: fs.readFileSync(out, 'utf8') };
}

/**
 * Type-checks every patch module in `dir` with the real tsc under the
 * options patches are checked with (tsconfig.patches.json): --strict,
 * erasable syntax only, verbatim module syntax, NodeNext.
 */
export function assertTypeChecks(dir) {
  const config = {
    compilerOptions: {
      target: 'ES2022', module: 'NodeNext', moduleResolution: 'NodeNext', lib: ['ES2022'], types: ['node'],
      typeRoots: [path.join(ROOT, 'node_modules', '@types')], strict: true, noEmit: true, skipLibCheck: true,
      allowImportingTsExtensions: true, verbatimModuleSyntax: true, erasableSyntaxOnly: true,
    },
    include: ['*.ts'],
  };
  fs.writeFileSync(path.join(dir, 'tsconfig.json'), JSON.stringify(config));
  return collect(process.execPath, [path.join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', dir], { cwd: dir }).then((r) => {
    assert.equal(r.code, 0, `tsc --strict found errors in ${dir}:\n${r.stdout}${r.stderr}`);
  });
}

/** The lines of a refusal's list: each unsupported change, as the builder names it. */
export function refusals(stderr) {
  return stderr.split('\n').filter((l) => /^ {2}\S+:\d+: /.test(l)).map((l) => l.trim());
}
