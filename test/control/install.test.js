// Installed patches: `livepatch install`, `installed` and `uninstall`, the
// install directory, and every process started under livepatch loading the
// installed patches before the application, so that a patch applies to its
// module whenever that module loads.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { before, describe, test } from 'node:test';
import { suiteContext, waitFor } from '../helpers.js';
import { APP_ROOT, cli, cliJson, cliOk, get, LIMIT, patch, runtimeDir, startApp } from './support.js';

/** A copy of the fixture application, so that installing never writes into the repository. */
function appCopy(t) {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'lp-app-'));
  t.after(() => fs.rmSync(root, { recursive: true, force: true }));
  fs.cpSync(APP_ROOT, root, { recursive: true });
  return root;
}

// One copy of the application: fix-lazy installed in human output and
// fix-hold in --json output, then listed, refused, and uninstalled last.
describe('install, installed and uninstall, in human and --json output', () => {
  const suite = suiteContext();
  let root;
  let dir;
  let lazy;
  let hold;
  before(async () => {
    root = appCopy(suite);
    dir = path.join(root, '.livepatch', 'installed');
    lazy = await cliOk(['install', patch('fix-lazy.js'), '--root', root]);
    hold = await cliJson(['install', patch('fix-hold.ts'), '--root', root]);
  }, LIMIT);

  test('install copies the patch into the install directory, and says where', () => {
    assert.equal(lazy.stdout, `installing patch 'fix-lazy' (${dir}/fix-lazy.js)\n`);
    assert.equal(fs.readFileSync(path.join(dir, 'fix-lazy.js'), 'utf8'), fs.readFileSync(patch('fix-lazy.js'), 'utf8'));
  });

  test('install --json: the name, the file and whether it is signed; a TypeScript patch keeps its extension', () => {
    // The loader compiles it at start.
    assert.deepEqual(hold, { name: 'fix-hold', file: `${dir}/fix-hold.ts`, signed: false });
  });

  test('installed lists the installed patches by name; with no process of the application running, no state', LIMIT, async () => {
    assert.equal((await cliOk(['installed', '--root', root])).stdout, [
      `Installed patches (${dir}):`,
      'NAME      SIGNED  STATE  FILE',
      `fix-hold  no      -      ${dir}/fix-hold.ts`,
      `fix-lazy  no      -      ${dir}/fix-lazy.js`,
      '',
    ].join('\n'));
  });

  test('installed --json, the application root being the nearest package.json above the current directory', LIMIT, async () => {
    assert.deepEqual(await cliJson(['installed'], { cwd: path.join(root, 'src') }), {
      dir,
      patches: [
        { name: 'fix-hold', file: `${dir}/fix-hold.ts`, signed: false, processes: [] },
        { name: 'fix-lazy', file: `${dir}/fix-lazy.js`, signed: false, processes: [] },
      ],
    });
  });

  test('a patch already installed is not installed again', LIMIT, async () => {
    const again = await cli(['install', patch('fix-lazy.js'), '--root', root]);
    assert.equal(again.stderr, `livepatch: patch 'fix-lazy': already installed as ${dir}/fix-lazy.js\n  hint: uninstall it first with \`livepatch uninstall fix-lazy\`\n`);
    assert.equal(again.code, 1);
    assert.equal((await cliJson(['install', patch('fix-lazy.js'), '--root', root], {}, 1)).error.code, 'ERR_LP_ALREADY_INSTALLED');
  });

  test('a patch that fails the check is not installed', LIMIT, async () => {
    const refused = await cli(['install', patch('no-new-func.js'), '--root', root]);
    assert.equal(refused.stderr, "livepatch: patch 'no-new-func', object 'src/server.js', symbol 'greet': newFunc is missing or not a function\n  hint: set newFunc to the replacement, a function taking `self` (the original `this`) as its first argument\n");
    assert.equal(refused.code, 1);
  });

  test('a patch file that cannot be loaded is not installed', LIMIT, async () => {
    const missing = await cli(['install', path.join(root, 'nope.js'), '--root', root]);
    assert.match(missing.stderr, /^livepatch: no patch file .*nope\.js\n/);
    assert.equal(missing.code, 1);
  });

  test('uninstall removes an installed patch, and names it', LIMIT, async () => {
    assert.equal((await cliOk(['uninstall', 'fix-lazy', '--root', root])).stdout, "uninstalling patch 'fix-lazy'\n");
  });

  test('uninstall --json lists the files it removed; with both uninstalled, the directory is empty', LIMIT, async () => {
    assert.deepEqual(await cliJson(['uninstall', 'fix-hold', '--root', root]), { name: 'fix-hold', removed: [`${dir}/fix-hold.ts`] });
    assert.deepEqual(fs.readdirSync(dir), []);
  });

  // After fix-lazy was uninstalled above.
  test('a patch that is not installed cannot be uninstalled', LIMIT, async () => {
    const notInstalled = await cli(['uninstall', 'fix-lazy', '--root', root]);
    assert.equal(notInstalled.stderr, "livepatch: patch 'fix-lazy': not installed\n  hint: list installed patches with `livepatch installed`\n");
    assert.equal(notInstalled.code, 1);
    assert.equal((await cliJson(['uninstall', 'fix-lazy', '--root', root], {}, 1)).error.code, 'ERR_LP_NOT_INSTALLED');
  });

  test('uninstall takes a patch name, not a path: a usage error', LIMIT, async () => {
    assert.equal((await cli(['uninstall', dir + '/fix-lazy.js'])).code, 2);
  });
});

/** A copy of the application whose package.json sets livepatch.installDir to ops/patches. */
function appWithInstallDir(t) {
  const root = appCopy(t);
  const pkg = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8'));
  fs.writeFileSync(path.join(root, 'package.json'), JSON.stringify({ ...pkg, livepatch: { installDir: 'ops/patches' } }));
  return root;
}

test('installDir in the configuration chooses the install directory', LIMIT, async (t) => {
  const root = appWithInstallDir(t);
  await cliOk(['install', patch('fix-lazy.js'), '--root', root]);
  assert.deepEqual(fs.readdirSync(path.join(root, 'ops', 'patches')), ['fix-lazy.js']);
});

test('LIVEPATCH_INSTALL_DIR takes precedence over installDir in the configuration', LIMIT, async (t) => {
  const root = appWithInstallDir(t);
  const elsewhere = path.join(root, 'elsewhere');
  const { dir } = await cliJson(['installed', '--root', root], { env: { LIVEPATCH_INSTALL_DIR: elsewhere } });
  assert.equal(dir, elsewhere);
});

test('an install directory that cannot be read is ERR_LP_IO, naming the path', LIMIT, async (t) => {
  const root = appCopy(t);
  const notADir = path.join(root, 'package.json');
  const result = await cliJson(['installed', '--root', root], { env: { LIVEPATCH_INSTALL_DIR: notADir } }, 1);
  assert.equal(result.error.code, 'ERR_LP_IO');
  assert.match(result.error.message, new RegExp(`^cannot use the install directory ${notADir}: ENOTDIR`));
});

test('installed patches load at start, in name order, and apply to a module that loads later', LIMIT, async (t) => {
  const root = appCopy(t);
  const dir = runtimeDir(t);
  await cliOk(['install', patch('fix-lazy.js'), '--root', root]);
  await cliOk(['install', patch('fix-greet.js'), '--root', root]);
  const app = await startApp(t, dir, { script: path.join(root, 'src', 'server.js') });
  assert.equal(await get(app.port, '/greet'), 'patched hello world');
  assert.equal(await get(app.port, '/lazy'), 'lazy patched');
  assert.deepEqual((await cliJson(['log'], { dir })).records.filter((r) => r.level !== 'debug').map((r) => r.text), [
    "livepatch: enabling patch 'fix-greet'",
    "livepatch: 'fix-greet': starting patching transition",
    "livepatch: 'fix-greet': patching complete",
    "livepatch: enabling patch 'fix-lazy'",
    "livepatch: 'fix-lazy': starting patching transition",
    "livepatch: 'fix-lazy': patching complete",
    "livepatch: applying patch 'fix-greet' to loading module 'src/server.js'",
    "livepatch: applying patch 'fix-lazy' to loading module 'src/lazy.js'",
  ]);
  const list = (await cliOk(['list'], { dir })).stdout;
  assert.equal(list, [
    'Loaded patches:',
    'fix-greet [enabled]',
    'fix-lazy [enabled]',
    '',
    'Currently patched functions:',
    'MODULE         FUNCTION  PATCHES',
    'src/server.js  greet,1   fix-greet',
    'src/lazy.js    answer,1  fix-lazy',
    '',
    'Installed patches:',
    'fix-greet [applied]',
    'fix-lazy [applied]',
    '',
  ].join('\n'));
});

// The kpatch.service promise: an installed patch that does not apply to a
// module loading after start never stops the program; the module loads
// without it, the patch is disabled, and installed, ps and list say why.
for (const [kind, file, code] of [
  ['a misspelt symbol', 'fix-lazy-typo.js', 'ERR_LP_SYMBOL_NOT_FOUND'],
  ['a target module that changed since it was built (hash mismatch)', 'fix-lazy-stale.js', 'ERR_LP_HASH_MISMATCH'],
]) {
  describe(`an installed patch with ${kind}`, () => {
    const suite = suiteContext();
    const name = file.replace('.js', '');
    let root;
    let dir;
    let app;
    before(async () => {
      root = appCopy(suite);
      dir = runtimeDir(suite);
      // Installed by hand: the install check would refuse it only once the module is loaded.
      fs.mkdirSync(path.join(root, '.livepatch', 'installed'), { recursive: true });
      fs.copyFileSync(patch(file), path.join(root, '.livepatch', 'installed', file));
      app = await startApp(suite, dir, { script: path.join(root, 'src', 'server.js') });
    }, LIMIT);

    test('the module it targets loads, unpatched, and the program serves', LIMIT, async () => {
      assert.equal(await get(app.port, '/lazy'), 'lazy original');
      assert.equal(await get(app.port, '/greet'), 'hello world');
    });

    test('the log says the module loads without it, and the patch is disabled', LIMIT, async () => {
      await waitFor(async () => (await cliJson(['list'], { dir })).patches.length === 0, { what: `the disable of ${name}` });
      const lines = (await cliJson(['log'], { dir })).records.map((r) => r.text).filter((l) => l.includes("'src/lazy.js'") || l.includes('unpatching'));
      assert.equal(lines.find((l) => l.startsWith(`livepatch: installed patch '${name}'`)),
        `livepatch: installed patch '${name}' does not apply to loading module 'src/lazy.js': ${(await failure()).message.replace(/^patch '[^']+', object 'src\/lazy.js': the installed patch does not apply: /, '')}; the module loads without it, and the patch is disabled`);
      assert.ok(lines.includes(`livepatch: '${name}': unpatching complete`), lines.join('\n'));
    });

    async function failure() {
      const [installed] = (await cliJson(['list'], { dir })).installed;
      return installed.error;
    }

    test('list shows it failed, with the code of the failure, the reason and the way out', LIMIT, async () => {
      const error = await failure();
      assert.equal(error.code, 'ERR_LP_INSTALLED_FAILED');
      assert.match(error.message, new RegExp(`^patch '${name}', object 'src/lazy.js': the installed patch does not apply: `));
      assert.equal(error.hint, `the program runs without it; rebuild it against the code installed now, or remove it with \`livepatch uninstall ${name}\``);
      const human = (await cliOk(['list'], { dir })).stdout.split('\n');
      assert.deepEqual(human.slice(human.indexOf('Installed patches:') + 1, -1), [`${name} [failed] ERR_LP_INSTALLED_FAILED: ${error.message}`, `  hint: ${error.hint}`]);
    });

    test(`the cause is the engine's own error, ${code}`, LIMIT, async () => {
      const { processes } = await cliJson(['ps'], { dir });
      assert.equal(processes[0].installed[0].state, 'failed');
      assert.match((await failure()).message, code === 'ERR_LP_SYMBOL_NOT_FOUND' ? /symbol 'answr': symbol not found in symbol table$/ : /the running function is not the one the patch was built for: built for 0123456789abcdef, running [0-9a-f]{16}/);
    });

    test('ps marks it failed next to the process', LIMIT, async () => {
      const row = (await cliOk(['ps'], { dir })).stdout.split('\n').find((l) => l.startsWith(String(app.pid)));
      assert.match(row, new RegExp(`  ${name} \\(failed\\)  `));
    });

    test('installed shows it failed in the running process, with the way out', LIMIT, async () => {
      const { stdout } = await cliOk(['installed', '--root', root], { dir });
      assert.match(stdout, new RegExp(`^${name}  no      failed in ${app.pid}  `, 'm'));
      assert.match(stdout, new RegExp(`^${name} failed in ${app.pid}: patch '${name}', object 'src/lazy.js': the installed patch does not apply: .*\n  hint: .*livepatch uninstall ${name}`, 'm'));
    });
  });
}

// fix-greet installed, and a broken patch that sorts before it.
describe('an installed patch that fails, and LIVEPATCH_INSTALLED=0', () => {
  const suite = suiteContext();
  let root;
  let dir;
  let broken;
  before(async () => {
    root = appCopy(suite);
    dir = runtimeDir(suite);
    await cliOk(['install', patch('fix-greet.js'), '--root', root]);
    // Installed by hand, so never checked: it sorts first and fails at enable.
    broken = path.join(root, '.livepatch', 'installed', 'a-broken.js');
    fs.copyFileSync(patch('no-new-func.js'), broken);
  }, LIMIT);

  test('an installed patch that fails is logged and skipped: the program starts with the others', LIMIT, async (t) => {
    const app = await startApp(t, dir, { script: path.join(root, 'src', 'server.js') });
    assert.ok(app.stderr.split('\n').includes(
      `livepatch: failed to load installed patch 'a-broken' (${broken}): patch 'no-new-func', object 'src/server.js', symbol 'greet': newFunc is missing or not a function`,
    ), app.stderr);
    assert.equal(await get(app.port, '/greet'), 'patched hello world');
  });

  test('LIVEPATCH_INSTALLED=0 skips every installed patch', LIMIT, async (t) => {
    const plain = await startApp(t, dir, { script: path.join(root, 'src', 'server.js'), env: { LIVEPATCH_INSTALLED: '0' } });
    assert.equal(await get(plain.port, '/greet'), 'hello world');
    assert.deepEqual((await cliJson(['list', '-p', String(plain.pid)], { dir })).patches, []);
  });
});

test('install of a file whose top level leaves the checking process busy answers at once', LIMIT, async (t) => {
  const root = appCopy(t);
  const started = Date.now();
  // The service itself: its top level starts a server that would keep the checking process alive.
  const { error } = await cliJson(['install', path.join(root, 'src', 'server.js'), '--root', root], {}, 1);
  assert.equal(error.detail, `${path.join(root, 'src', 'server.js')}: it has no default export (it exports handleHold, greet)`);
  assert.ok(Date.now() - started < 10_000, `install took ${Date.now() - started} ms`);
});

test('install into an application root that does not exist is ERR_LP_IO, naming it', LIMIT, async () => {
  const { error } = await cliJson(['install', patch('fix-greet.js'), '--root', '/nonexistent'], {}, 1);
  assert.equal(error.code, 'ERR_LP_IO');
  assert.match(error.message, /^cannot use \/nonexistent: /);
});
