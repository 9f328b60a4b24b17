// Patch signatures through the CLI: `livepatch sign`, and a process that
// trusts a key refusing unsigned, tampered and foreign-signed patches with
// nothing changed, for `load` and for `install` and start-up alike.
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { before, describe, test } from 'node:test';
import { suiteContext } from '../helpers.js';
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

// fix-greet signed with the trusted key, signed then changed, signed with a
// foreign key, and unsigned; one process that trusts the trusted key.
describe('sign, and a process that trusts a key loading only what it signed', () => {
  const suite = suiteContext();
  let ws;
  let unsigned;
  let signed;
  let tampered;
  let foreign;
  let signedHuman;
  let signedJson;
  let dir;
  let app;
  before(async () => {
    ws = workspace(suite);
    unsigned = ws.copy('unsigned');
    signed = ws.copy('signed');
    tampered = ws.copy('tampered');
    foreign = ws.copy('foreign');
    signedHuman = await cliOk(['sign', signed, '--key', ws.trusted.key]);
    signedJson = await cliJson(['sign', tampered, '--key', ws.trusted.key]);
    fs.appendFileSync(tampered, '// one more line\n');
    await cliOk(['sign', foreign, '--key', ws.foreign.key]);
    dir = runtimeDir(suite);
    app = await startApp(suite, dir, { env: { LIVEPATCH_TRUSTED_KEY: ws.trusted.pub } });
  }, LIMIT);
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
  const badSignature = '  hint: the file changed after it was signed, or it was signed with another key; sign it again with the trusted key';

  test('sign writes a detached signature next to the file', () => {
    assert.equal(signedHuman.stdout, `signed ${signed} (${signed}.sig)\n`);
    assert.match(fs.readFileSync(`${signed}.sig`, 'utf8'), /^[A-Za-z0-9+/]{86}==\n$/);
  });

  test('sign --json: the file and its signature', () => {
    assert.deepEqual(signedJson, { file: tampered, signature: `${tampered}.sig` });
  });

  test('sign with a key that is not a private key is a usage error', LIMIT, async () => {
    const badKey = await cli(['sign', signed, '--key', ws.trusted.pub]);
    assert.equal(badKey.code, 2);
    assert.match(badKey.stderr, /^livepatch: cannot sign .*: /);
  });

  test('an unsigned patch is refused, and nothing changes', LIMIT, async () => {
    await assertLoadRefused(unsigned, `patch module ${unsigned} has no signature, and this process only accepts signed patches\n  hint: sign it with \`livepatch sign <patch-file> --key <private.pem>\``);
  });

  test('a patch changed after it was signed is refused, and nothing changes', LIMIT, async () => {
    await assertLoadRefused(tampered, `the signature of patch module ${tampered} does not verify with the trusted key\n${badSignature}`);
  });

  test('a patch signed with another key is refused, and nothing changes', LIMIT, async () => {
    await assertLoadRefused(foreign, `the signature of patch module ${foreign} does not verify with the trusted key\n${badSignature}`);
  });

  test('the refusals in --json output: their codes', LIMIT, async () => {
    assert.equal((await cliJson(['load', tampered], { dir }, 5)).error.code, 'ERR_LP_BAD_SIGNATURE');
    assert.deepEqual(await cliJson(['load', unsigned], { dir }, 5), {
      error: {
        code: 'ERR_LP_UNSIGNED', errno: 'ENOKEY', detail: unsigned,
        message: `patch module ${unsigned} has no signature, and this process only accepts signed patches`,
        hint: 'sign it with `livepatch sign <patch-file> --key <private.pem>`',
      },
    });
  });

  // Last: it changes the process.
  test('a patch signed with the trusted key loads', LIMIT, async () => {
    await cliOk(['load', signed], { dir });
    assert.equal(await get(app.port, '/greet'), 'patched hello world');
  });
});

// An application whose configuration trusts a key, fix-greet signed with
// it, and an unsigned copy; installing the signed one starts a process.
describe('with trustedKey in the configuration: install and start-up', () => {
  const suite = suiteContext();
  let ws;
  let root;
  let unsigned;
  let signed;
  let installDir;
  let dir;
  before(async () => {
    ws = workspace(suite);
    root = path.join(ws.dir, 'app');
    fs.cpSync(APP_ROOT, root, { recursive: true });
    fs.copyFileSync(ws.trusted.pub, path.join(root, 'trusted.pub'));
    const pkg = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8'));
    fs.writeFileSync(path.join(root, 'package.json'), JSON.stringify({ ...pkg, livepatch: { trustedKey: 'trusted.pub' } }));
    unsigned = ws.copy('unsigned');
    signed = ws.copy('signed');
    await cliOk(['sign', signed, '--key', ws.trusted.key]);
    installDir = path.join(root, '.livepatch', 'installed');
    dir = runtimeDir(suite);
  }, LIMIT);

  test('install refuses an unsigned patch, and creates nothing', LIMIT, async () => {
    const refused = await cli(['install', unsigned, '--root', root]);
    assert.equal(refused.code, 5);
    assert.match(refused.stderr, /^livepatch: patch module .* has no signature, and this process only accepts signed patches\n/);
    assert.equal(fs.existsSync(installDir), false);
  });

  test('install takes a signed patch, with its signature', LIMIT, async () => {
    assert.equal((await cliOk(['install', signed, '--root', root])).stdout, `installing patch 'fix-greet' (${installDir}/fix-greet.js, signed)\n`);
    assert.deepEqual(fs.readdirSync(installDir).sort(), ['fix-greet.js', 'fix-greet.js.sig']);
  });

  // After the install above.
  test('start-up verifies an installed signed patch, and loads it', LIMIT, async (t) => {
    const app = await startApp(t, dir, { script: path.join(root, 'src', 'server.js') });
    assert.equal(await get(app.port, '/greet'), 'patched hello world');
  });

  test('an installed patch changed after installing is refused at the next start, which still starts', LIMIT, async (t) => {
    fs.appendFileSync(path.join(installDir, 'fix-greet.js'), '// changed\n');
    const next = await startApp(t, dir, { script: path.join(root, 'src', 'server.js') });
    assert.equal(await get(next.port, '/greet'), 'hello world');
    assert.ok(next.stderr.includes(`livepatch: failed to load installed patch 'fix-greet' (${installDir}/fix-greet.js): the signature of patch module ${installDir}/fix-greet.js does not verify with the trusted key\n`), next.stderr);
  });
});

// fix-greet signed where it really is, and reached through a symlinked
// file, a symlinked directory, and a symlink in the install directory.
describe('symlinks: the real file is the one verified and loaded', () => {
  const suite = suiteContext();
  let ws;
  let real;
  let dir;
  let app;
  before(async () => {
    ws = workspace(suite);
    real = ws.copy('real');
    await cliOk(['sign', real, '--key', ws.trusted.key]);
    fs.mkdirSync(path.join(ws.dir, 'links'));
    fs.symlinkSync(real, path.join(ws.dir, 'links', 'fix-greet.js'));
    fs.symlinkSync(path.dirname(real), path.join(ws.dir, 'dirlink'));
    dir = runtimeDir(suite);
    app = await startApp(suite, dir, { env: { LIVEPATCH_TRUSTED_KEY: ws.trusted.pub } });
  }, LIMIT);
  const assertLoadsAt = async (file) => {
    const { info } = await cliJson(['load', file], { dir });
    assert.equal(info.source, real);
    assert.equal(await get(app.port, '/greet'), 'patched hello world');
    await cliOk(['unload', 'fix-greet'], { dir });
  };

  test('a symlinked patch file is verified and loaded at its real path', LIMIT, async () => {
    await assertLoadsAt(path.join(ws.dir, 'links', 'fix-greet.js'));
  });

  test('a symlinked directory on the path', LIMIT, async () => {
    await assertLoadsAt(path.join(ws.dir, 'dirlink', 'fix-greet.js'));
  });

  test('a symlinked installed patch is verified and loaded at start-up', LIMIT, async (t) => {
    const root = path.join(ws.dir, 'app');
    fs.cpSync(APP_ROOT, root, { recursive: true });
    const installDir = path.join(root, '.livepatch', 'installed');
    fs.mkdirSync(installDir, { recursive: true });
    fs.symlinkSync(real, path.join(installDir, 'fix-greet.js'));
    const started = await startApp(t, dir, { script: path.join(root, 'src', 'server.js'), env: { LIVEPATCH_TRUSTED_KEY: ws.trusted.pub } });
    assert.equal(await get(started.port, '/greet'), 'patched hello world', started.stderr);
  });
});

// A signed patch that brings in an unsigned file each way a module can:
// the file must never run, and the load is refused with ERR_LP_UNSIGNED.
describe('signed mode covers every file a patch brings in, however it is named', () => {
  const suite = suiteContext();
  let ws;
  let dir;
  let app;
  let ran;
  before(async () => {
    ws = workspace(suite);
    ran = path.join(ws.dir, 'ran');
    const unsigned = path.join(ws.dir, 'unsigned');
    fs.mkdirSync(unsigned);
    fs.writeFileSync(path.join(unsigned, 'helper.js'), `import fs from 'node:fs';\nfs.writeFileSync(${JSON.stringify(ran)}, 'esm');\nexport const greeting = 'unsigned';\n`);
    fs.writeFileSync(path.join(unsigned, 'helper.cjs'), `require('node:fs').writeFileSync(${JSON.stringify(ran)}, 'cjs');\nexports.greeting = 'unsigned';\n`);
    fs.mkdirSync(path.join(unsigned, 'node_modules', 'unsigned-dep'), { recursive: true });
    fs.writeFileSync(path.join(unsigned, 'node_modules', 'unsigned-dep', 'index.js'), `require('node:fs').writeFileSync(${JSON.stringify(ran)}, 'package');\nexports.greeting = 'unsigned';\n`);
    dir = runtimeDir(suite);
    app = await startApp(suite, dir, { env: { LIVEPATCH_TRUSTED_KEY: ws.trusted.pub } });
  }, LIMIT);

  /** A patch in the unsigned directory, signed itself, whose greeting comes from `header`'s imports. */
  const signedPatch = async (name, header) => {
    const file = path.join(ws.dir, 'unsigned', `${name}.js`);
    fs.writeFileSync(file, `import { definePatch } from 'livepatch';\n${header}\nexport default definePatch({ name: '${name}', objects: [{ module: 'src/server.js', funcs: [{ oldName: 'greet', newFunc: () => greeting }] }] });\n`);
    await cliOk(['sign', file, '--key', ws.trusted.key]);
    return file;
  };
  const assertUnsigned = async (name, header, unsignedFile) => {
    const { error } = await cliJson(['load', await signedPatch(name, header)], { dir }, 5);
    assert.deepEqual({ code: error.code, detail: error.detail }, { code: 'ERR_LP_UNSIGNED', detail: unsignedFile });
    assert.equal(fs.existsSync(ran), false, 'the unsigned file ran');
    assert.equal(await get(app.port, '/greet'), 'hello world');
  };
  const helper = () => path.join(ws.dir, 'unsigned', 'helper.js');

  test('a relative import', LIMIT, async () => {
    await assertUnsigned('relative', "import { greeting } from './helper.js';", helper());
  });

  test('an import by absolute path', LIMIT, async () => {
    await assertUnsigned('absolute', `import { greeting } from ${JSON.stringify(helper())};`, helper());
  });

  test('an import by file: URL', LIMIT, async () => {
    await assertUnsigned('url', `import { greeting } from ${JSON.stringify(`file://${helper()}`)};`, helper());
  });

  test('a dynamic import', LIMIT, async () => {
    await assertUnsigned('dynamic', "const { greeting } = await import('./helper' + '.js');", helper());
  });

  test('require() through createRequire', LIMIT, async () => {
    await assertUnsigned('required', "import { createRequire } from 'node:module';\nconst { greeting } = createRequire(import.meta.url)('./helper.cjs');",
      path.join(ws.dir, 'unsigned', 'helper.cjs'));
  });

  test('a package', LIMIT, async () => {
    await assertUnsigned('packaged', "import { greeting } from 'unsigned-dep';", "'unsigned-dep', a package of " + path.join(ws.dir, 'unsigned', 'packaged.js'));
  });

  test('a signed file imported by absolute path loads', LIMIT, async () => {
    await cliOk(['sign', helper(), '--key', ws.trusted.key]);
    fs.rmSync(ran, { force: true });
    await cliOk(['load', await signedPatch('signed-helper', `import { greeting } from ${JSON.stringify(helper())};`)], { dir });
    assert.equal(await get(app.port, '/greet'), 'unsigned');
  });
});
