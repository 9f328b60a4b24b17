// Module ids do not depend on how Node was launched: under mocha (whose
// bin re-spawns Node with its own lib/cli/cli.js as the entry script) and
// in `node --test` children, a spec and the module it tests get the ids
// `livepatch symbols <file>` prints offline, and the application's
// configuration (its package.json `livepatch` field) is the one in force.
import assert from 'node:assert/strict';
import path from 'node:path';
import { before, describe, test } from 'node:test';
import { CLI, collect, fixture, REGISTER, ROOT } from '../helpers.js';

const APP = fixture('runners');

/** The `IDS {…}` line the spec prints: the entry script of its process and the fixture's instrumented module ids. */
function idsOf({ code, stdout, stderr }) {
  assert.equal(code, 0, `stdout:\n${stdout}\nstderr:\n${stderr}`);
  // node --test's reporter may prefix a child's output line (`# IDS …`).
  const line = stdout.split('\n').find((l) => /^(# )?IDS /.test(l));
  assert.ok(line, stdout);
  return JSON.parse(line.slice(line.indexOf('IDS ') + 4));
}

// Without NODE_TEST_CONTEXT, which this file's own runner sets: the inner `node --test` then reports as it would from a shell.
const env = { ...process.env, LIVEPATCH_CACHE: '0', LIVEPATCH_DEBUG: '0' };
delete env.NODE_TEST_CONTEXT;

describe('module ids under test runners', () => {
  let mocha;
  let nodeTest;
  let offline;
  before(async () => {
    const symbols = (cwd, file) => collect(process.execPath, [CLI, 'symbols', file, '--json'], { cwd, env });
    [mocha, nodeTest, ...offline] = await Promise.all([
      collect(process.execPath, [path.join(ROOT, 'node_modules', 'mocha', 'bin', 'mocha.js'), '--node-option', `import=${REGISTER}`, 'spec/calc.spec.js'], { cwd: APP, env }),
      collect(process.execPath, ['--import', REGISTER, '--test', 'spec/calc.spec.js'], { cwd: APP, env }),
      symbols(APP, 'lib/calc.js'),
      symbols(APP, 'spec/calc.spec.js'),
      // From elsewhere, by absolute path: the id is the file's, not the working directory's.
      symbols(ROOT, path.join(APP, 'lib', 'calc.js')),
    ]);
  });

  test('offline, livepatch symbols names each file by its application root, from any directory', () => {
    assert.deepEqual(offline.map((r) => JSON.parse(r.stdout).module), ['lib/calc.js', 'spec/calc.spec.js', 'lib/calc.js']);
  });

  test('under mocha, which re-spawns Node with its own entry script, the ids are the offline ones and the exclude is in force', () => {
    assert.deepEqual(idsOf(mocha), { entry: 'mocha/lib/cli/cli.js', ids: ['lib/calc.js', 'spec/calc.spec.js'] });
  });

  test('in a node --test child, the ids are the offline ones and the exclude is in force', () => {
    assert.deepEqual(idsOf(nodeTest), { entry: path.join(APP, 'spec', 'calc.spec.js'), ids: ['lib/calc.js', 'spec/calc.spec.js'] });
  });
});
