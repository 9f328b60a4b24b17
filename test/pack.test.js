// Installing livepatch as a user does: the package packed with `npm pack`
// (which builds it), installed into a scratch application outside the
// repository, the application run under livepatch with the installed
// binary, a patch loaded into it with the same binary, and the patch
// type-checked against the installed types with no @types/node.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { before, describe, test } from 'node:test';
import { ROOT, suiteContext, waitFor } from './helpers.js';

/** npm, run by this Node: the npm that runs the tests when there is one, else the one on PATH. */
function npm(args, cwd) {
  const [command, prefix] = process.env.npm_execpath ? [process.execPath, [process.env.npm_execpath]] : ['npm', []];
  const result = spawnSync(command, [...prefix, ...args, '--no-audit', '--no-fund'], { cwd, encoding: 'utf8', timeout: 180_000 });
  assert.equal(result.status, 0, `npm ${args.join(' ')}:\n${result.stdout}\n${result.stderr}`);
  return result.stdout;
}

const APP = `import http from 'node:http';
import { price } from './prices.js';

const server = http.createServer((req, res) => res.end(String(price(10))));
server.listen(0, '127.0.0.1', () => console.log('port ' + server.address().port));
`;
const PRICES = 'export function price(amount) { return amount * 2; }\n';
const PATCH = `import { definePatch } from 'livepatch';

export default definePatch({
  name: 'fix-price',
  objects: [{ module: 'prices.js', funcs: [{ oldName: 'price', newFunc: (self: unknown, amount: number): number => amount * 3 }] }],
});
`;

describe('the packed package, installed into an application outside the repository', { timeout: 300_000 }, () => {
  const suite = suiteContext();
  let app;
  let bin;
  let runtimeDir;
  before(() => {
    const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'lp-pack-'));
    suite.after(() => fs.rmSync(scratch, { recursive: true, force: true }));
    // The build is the suite's (npm test builds first): packing must not rebuild dist/ under the other tests.
    const tarball = npm(['pack', '--ignore-scripts', '--pack-destination', scratch, '--silent'], ROOT).trim().split('\n').at(-1);
    app = path.join(scratch, 'app');
    runtimeDir = path.join(scratch, 'rt');
    fs.mkdirSync(app);
    fs.writeFileSync(path.join(app, 'package.json'), '{ "name": "scratch-app", "private": true, "type": "module" }\n');
    fs.writeFileSync(path.join(app, 'server.js'), APP);
    fs.writeFileSync(path.join(app, 'prices.js'), PRICES);
    fs.writeFileSync(path.join(app, 'fix-price.ts'), PATCH);
    fs.writeFileSync(path.join(app, 'tsconfig.json'), JSON.stringify({
      compilerOptions: {
        strict: true, noEmit: true, module: 'nodenext', moduleResolution: 'nodenext', target: 'es2022',
        allowImportingTsExtensions: true, erasableSyntaxOnly: true, types: [],
      },
      files: ['fix-price.ts'],
    }));
    npm(['install', path.join(scratch, tarball)], app);
    bin = path.join(app, 'node_modules', '.bin', 'livepatch');
  });

  test('the package holds the built code, its types and the binary, and no sources or tests', () => {
    const pkg = path.join(app, 'node_modules', 'livepatch');
    for (const file of ['dist/index.js', 'dist/index.d.ts', 'dist/startup/register.js', 'dist/cli/index.js', 'README.md']) {
      assert.ok(fs.existsSync(path.join(pkg, file)), file);
    }
    for (const dir of ['src', 'test', 'bench', 'scripts']) assert.equal(fs.existsSync(path.join(pkg, dir)), false, dir);
    assert.ok(fs.statSync(bin).isFile() || fs.lstatSync(bin).isSymbolicLink());
  });

  test('a patch written against the installed package type-checks under --strict, without @types/node', () => {
    const tsc = path.join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
    const result = spawnSync(process.execPath, [tsc, '-p', app], { cwd: app, encoding: 'utf8' });
    assert.equal(result.status, 0, result.stdout + result.stderr);
  });

  test('livepatch run starts the application, and livepatch load patches it', async (t) => {
    const env = { ...process.env, LIVEPATCH_RUNTIME_DIR: runtimeDir };
    const server = spawn(bin, ['run', 'server.js'], { cwd: app, env, stdio: ['ignore', 'pipe', 'pipe'] });
    const exited = new Promise((resolve) => server.on('exit', resolve));
    // livepatch run forwards SIGTERM to the program, which then exits.
    t.after(() => {
      server.kill('SIGTERM');
      return exited;
    });
    let out = '';
    server.stdout.on('data', (d) => (out += d));
    await waitFor(() => /port \d+/.test(out), { what: 'the application to listen' });
    const port = Number(/port (\d+)/.exec(out)[1]);
    const get = () => new Promise((resolve, reject) => http.get({ host: '127.0.0.1', port }, (res) => {
      let body = '';
      res.on('data', (d) => (body += d));
      res.on('end', () => resolve(body));
    }).on('error', reject));
    assert.equal(await get(), '20');
    await waitFor(() => fs.existsSync(runtimeDir) && fs.readdirSync(runtimeDir).some((f) => f.endsWith('.sock')), { what: 'the control socket' });
    const load = spawnSync(bin, ['load', 'fix-price.ts'], { cwd: app, env, encoding: 'utf8' });
    assert.equal(load.status, 0, load.stdout + load.stderr);
    assert.equal(await get(), '30');
  });
});
