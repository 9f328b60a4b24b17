// Patch signatures through the CLI: `livepatch sign`, and a process that
// trusts a key refusing unsigned, tampered and foreign-signed patches with
// nothing changed, for `load` and for `install` and start-up alike.
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import test from 'node:test';
import { APP_ROOT, cli, cliJson, cliOk, get, LIMIT, patch, runtimeDir, startApp } from './support.js';

function keyPair(dir, name) {
  const { privateKey, publicKey } = crypto.generateKeyPairSync('ed25519');
  fs.writeFileSync(path.join(dir, `${name}.pem`), privateKey.export({ type: 'pkcs8', format: 'pem' }));
  fs.writeFileSync(path.join(dir, `${name}.pub`), publicKey.export({ type: 'spki', format: 'pem' }));
  return { key: path.join(dir, `${name}.pem`), pub: path.join(dir, `${name}.pub`) };
}

/** A scratch directory with a trusted and a foreign key pair, and copies of fix-greet.js to sign or not. */
function workspace(t) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lp-sign-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const copy = (name) => {
    fs.mkdirSync(path.join(dir, name));
    const file = path.join(dir, name, 'fix-greet.js');
    fs.copyFileSync(patch('fix-greet.js'), file);
    return file;
  };
  return { dir, trusted: keyPair(dir, 'trusted'), foreign: keyPair(dir, 'foreign'), copy };
}

test('sign writes a detached signature; a process that trusts a key loads only what it signed', LIMIT, async (t) => {
  const ws = workspace(t);
  const unsigned = ws.copy('unsigned');
  const signed = ws.copy('signed');
  const tampered = ws.copy('tampered');
  const foreign = ws.copy('foreign');

  assert.equal((await cliOk(['sign', signed, '--key', ws.trusted.key])).stdout, `signed ${signed} (${signed}.sig)\n`);
  assert.match(fs.readFileSync(`${signed}.sig`, 'utf8'), /^[A-Za-z0-9+/]{86}==\n$/);
  assert.deepEqual(await cliJson(['sign', tampered, '--key', ws.trusted.key]), { file: tampered, signature: `${tampered}.sig` });
  fs.appendFileSync(tampered, '// one more line\n');
  await cliOk(['sign', foreign, '--key', ws.foreign.key]);
  const badKey = await cli(['sign', signed, '--key', ws.trusted.pub]);
  assert.equal(badKey.code, 2);
  assert.match(badKey.stderr, /^livepatch: cannot sign .*: /);

  const dir = runtimeDir(t);
  const app = await startApp(t, dir, { env: { LIVEPATCH_TRUSTED_KEY: ws.trusted.pub } });
  const assertLoadRefused = async (file, stderr) => {
    const result = await cli(['load', file], { dir });
    assert.equal(result.stdout, `loading patch module: ${file}\n`);
    assert.equal(result.stderr, `livepatch: ${stderr}\n`);
    assert.equal(result.code, 5);
    // Nothing changed: no patch, no log line, the original code runs.
    assert.deepEqual((await cliJson(['list'], { dir })).patches, []);
    assert.deepEqual((await cliJson(['log'], { dir })).records, []);
    assert.equal(await get(app.port, '/greet'), 'hello world');
  };
  await assertLoadRefused(unsigned, `patch module ${unsigned} has no signature, and this process only accepts signed patches\n  hint: sign it with \`livepatch sign <patch-file> --key <private.pem>\``);
  const badSignature = '  hint: the file changed after it was signed, or it was signed with another key; sign it again with the trusted key';
  await assertLoadRefused(tampered, `the signature of patch module ${tampered} does not verify with the trusted key\n${badSignature}`);
  await assertLoadRefused(foreign, `the signature of patch module ${foreign} does not verify with the trusted key\n${badSignature}`);
  assert.equal((await cliJson(['load', tampered], { dir }, 5)).error.code, 'ERR_LP_BAD_SIGNATURE');
  assert.deepEqual(await cliJson(['load', unsigned], { dir }, 5), {
    error: {
      code: 'ERR_LP_UNSIGNED', errno: 'ENOKEY', detail: unsigned,
      message: `patch module ${unsigned} has no signature, and this process only accepts signed patches`,
      hint: 'sign it with `livepatch sign <patch-file> --key <private.pem>`',
    },
  });

  await cliOk(['load', signed], { dir });
  assert.equal(await get(app.port, '/greet'), 'patched hello world');
});

test('with trustedKey in the configuration, install refuses unsigned patches and start-up verifies installed ones', LIMIT, async (t) => {
  const ws = workspace(t);
  const root = path.join(ws.dir, 'app');
  fs.cpSync(APP_ROOT, root, { recursive: true });
  fs.copyFileSync(ws.trusted.pub, path.join(root, 'trusted.pub'));
  const pkg = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8'));
  fs.writeFileSync(path.join(root, 'package.json'), JSON.stringify({ ...pkg, livepatch: { trustedKey: 'trusted.pub' } }));
  const unsigned = ws.copy('unsigned');
  const signed = ws.copy('signed');
  await cliOk(['sign', signed, '--key', ws.trusted.key]);

  const refused = await cli(['install', unsigned, '--root', root]);
  assert.equal(refused.code, 5);
  assert.match(refused.stderr, /^livepatch: patch module .* has no signature, and this process only accepts signed patches\n/);
  const installDir = path.join(root, '.livepatch', 'installed');
  assert.equal(fs.existsSync(installDir), false);
  assert.equal((await cliOk(['install', signed, '--root', root])).stdout, `installing patch 'fix-greet' (${installDir}/fix-greet.js, signed)\n`);
  assert.deepEqual(fs.readdirSync(installDir).sort(), ['fix-greet.js', 'fix-greet.js.sig']);

  const dir = runtimeDir(t);
  const app = await startApp(t, dir, { script: path.join(root, 'src', 'server.js') });
  assert.equal(await get(app.port, '/greet'), 'patched hello world');

  // Tampered with after installing: refused at the next start, which still starts.
  fs.appendFileSync(path.join(installDir, 'fix-greet.js'), '// changed\n');
  const next = await startApp(t, dir, { script: path.join(root, 'src', 'server.js') });
  assert.equal(await get(next.port, '/greet'), 'hello world');
  assert.ok(next.stderr.includes(`livepatch: failed to load installed patch 'fix-greet' (${installDir}/fix-greet.js): the signature of patch module ${installDir}/fix-greet.js does not verify with the trusted key\n`), next.stderr);
});
