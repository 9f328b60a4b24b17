/**
 * Reading a base patch for a cumulative build (`--base`): the patch already
 * applied, whose fixes the new patch must carry so that it can replace it
 * atomically, as a kpatch user's cumulative patch carries every earlier
 * fix. Its func entries, callbacks, states and top-level declarations are
 * carried as text; the patch's name and replace flag are the new build's.
 */
import fs from 'node:fs';
import { lpError } from '../errors.js';
import { isTypeScript, stripTypes } from '../loader/typescript.js';
import { parseSource, type Node } from '../source/parse.js';
import { lineOf, lineStarts } from '../source/symbol-table.js';
import type { BaseParts } from './emit.js';

const LIVEPATCH_IMPORT = /^import\s*\{([^}]*)\}\s*from\s*['"]livepatch['"];?[^\S\n]*\n?/;

function property(object: Node, name: string): Node | undefined {
  return object.properties.find((p: Node) => p.type === 'Property' && !p.computed && (p.key.name ?? p.key.value) === name)?.value;
}

/** Lines of `text` moved from their own indentation to `indent`, the first line's indentation setting the margin. */
function reindentBlock(text: string, indent: string): string {
  const lines = text.replace(/^\s*\n/, '').trimEnd().split('\n');
  const margin = Math.min(...lines.filter((l) => l.trim()).map((l) => /^ */.exec(l)![0].length));
  return lines.map((l) => (l.trim() ? indent + l.slice(margin) : '')).join('\n');
}

export function readBase(file: string): BaseParts {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    throw lpError('ERR_LP_BUILD_BASE', { detail: `cannot read ${file}: ${(err as Error).message}` });
  }
  const lines = lineStarts(text);
  function refuse(node: Node | null, what: string): never {
    throw lpError('ERR_LP_BUILD_BASE', { detail: `${file}${node ? `:${lineOf(lines, node.start)}` : ''}: ${what}` });
  }
  let program: Node;
  try {
    program = parseSource(isTypeScript(file) ? stripTypes(text, file) : text, 'esm');
  } catch (err) {
    refuse(null, (err as Error).message);
  }
  const exported = program.body.find((s: Node) => s.type === 'ExportDefaultDeclaration');
  let definition = exported?.declaration;
  if (definition?.type === 'CallExpression' && definition.callee.name === 'definePatch') definition = definition.arguments[0];
  if (definition?.type !== 'ObjectExpression') refuse(exported ?? null, 'its default export is not definePatch({ … }) with an object literal');
  const objects = property(definition, 'objects');
  if (objects?.type !== 'ArrayExpression') refuse(definition, 'objects is not an array literal');
  const states = property(definition, 'states');

  const imports: string[] = [];
  const removed: [number, number][] = [[exported.start, exported.end]];
  for (const s of program.body) {
    const match = s.type === 'ImportDeclaration' && s.source.value === 'livepatch' ? LIVEPATCH_IMPORT.exec(text.slice(s.start)) : null;
    if (!match) continue;
    imports.push(...match[1].split(',').map((x) => x.trim()).filter(Boolean));
    removed.push([s.start, s.start + match[0].length]);
  }
  // The file's header comment describes the base, not the patch that carries it.
  const first = program.body[0]?.start ?? text.length;
  removed.push([0, /^(?:\s*\/\/[^\n]*\n)*/.exec(text.slice(0, first))![0].length]);
  let preamble = text;
  for (const [start, end] of removed.sort((a, b) => b[0] - a[0])) preamble = preamble.slice(0, start) + preamble.slice(end);

  return {
    imports,
    preamble: preamble.trim() ? [preamble.trim()] : [],
    states: states ? text.slice(states.start, states.end) : null,
    objects: objects.elements.map((o: Node) => {
      const module = o?.type === 'ObjectExpression' ? property(o, 'module') : undefined;
      const funcs = o?.type === 'ObjectExpression' ? property(o, 'funcs') : undefined;
      if (module?.type !== 'Literal' || funcs?.type !== 'ArrayExpression') refuse(o, 'an object is not { module: \'…\', funcs: [ … ] }');
      const callbacks = property(o, 'callbacks');
      return {
        module: module.value as string,
        callbacks: callbacks ? text.slice(callbacks.start, callbacks.end) : null,
        funcs: funcs.elements.map((f: Node) => {
          const oldName = f?.type === 'ObjectExpression' ? property(f, 'oldName') : undefined;
          if (oldName?.type !== 'Literal') refuse(f, 'a func is not { oldName: \'…\', … }');
          const sympos = property(f, 'oldSympos');
          return { key: `${oldName.value},${sympos?.value || 1}`, text: reindentBlock(text.slice(f.start + 1, f.end - 1), '          ') };
        }),
      };
    }),
  };
}
