// The documentation's examples are real: every fenced block that quotes a
// file (```ts file=path) matches that file, every quoted output
// (```text output=script stream=stdout|stderr) is what running the script
// under livepatch prints, and every quoted `$ livepatch …` command prints
// what the block shows.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import test from 'node:test';
import { CLI, REGISTER, ROOT } from './helpers.js';

const DOCS = ['README.md', ...fs.readdirSync(path.join(ROOT, 'docs')).filter((f) => f.endsWith('.md')).map((f) => `docs/${f}`)];

function blocks(doc) {
  const text = fs.readFileSync(path.join(ROOT, doc), 'utf8');
  return [...text.matchAll(/^```(\w*)([^\n]*)\n([\s\S]*?)^```$/gm)].map((m) => ({
    lang: m[1],
    attrs: Object.fromEntries([...m[2].matchAll(/(\w+)=(\S+)/g)].map((a) => [a[1], a[2]])),
    body: m[3],
  }));
}

const runs = new Map();
function run(script) {
  if (!runs.has(script)) {
    const result = spawnSync(process.execPath, ['--import', REGISTER, path.join(ROOT, script)], {
      cwd: path.dirname(path.join(ROOT, script)), encoding: 'utf8', timeout: 60_000,
      env: { ...process.env, LIVEPATCH_CACHE: '0', LIVEPATCH_DEBUG: '0' },
    });
    assert.equal(result.status, 0, `${script} failed:\n${result.stdout}\n${result.stderr}`);
    runs.set(script, result);
  }
  return runs.get(script);
}

const lines = (s) => s.trimEnd().split('\n').map((l) => l.trimEnd());

for (const doc of DOCS) {
  const found = blocks(doc);
  test(`${doc}: quoted files match the repository`, () => {
    for (const b of found.filter((x) => x.attrs.file)) {
      assert.equal(b.body, fs.readFileSync(path.join(ROOT, b.attrs.file), 'utf8'), `${doc} quotes ${b.attrs.file}`);
    }
  });
  const outputs = found.filter((x) => x.attrs.output);
  if (outputs.length) {
    test(`${doc}: quoted outputs are what the examples print`, () => {
      for (const b of outputs) {
        const result = run(b.attrs.output);
        assert.deepEqual(lines(result[b.attrs.stream ?? 'stdout']), lines(b.body), `${doc}: ${b.attrs.output} ${b.attrs.stream ?? 'stdout'}`);
      }
    });
  }
  const commands = found.filter((x) => x.body.startsWith('$ livepatch symbols '));
  if (commands.length) {
    test(`${doc}: quoted commands print what the document shows`, () => {
      for (const b of commands) {
        const [command, ...expected] = lines(b.body);
        const args = command.slice('$ livepatch '.length).split(' ');
        const result = spawnSync(process.execPath, [CLI, ...args], { cwd: ROOT, encoding: 'utf8' });
        assert.deepEqual(lines(result.stdout), expected, `${doc}: ${command}`);
      }
    });
  }
}
