/**
 * Source rewriting: text edits on the original source, applied in one
 * pass. The loader inserts trampolines with it (`loader/instrument.ts`);
 * edits never move original text, so a rewrite that inserts no newline
 * keeps every original line where it was.
 */
import type { Node } from './parse.js';

/** Text edits applied in one pass. Insertions at the same offset keep their order. */
export class Edits {
  private list: { start: number; end: number; text: string; seq: number }[] = [];

  insert(offset: number, text: string): void {
    this.list.push({ start: offset, end: offset, text, seq: this.list.length });
  }

  /**
   * Inserts after the directive prologue (`"use strict"`) of `statements`,
   * or at `offset` when there is none: code before a directive would turn it
   * into a plain string. The `;` keeps a directive that relies on ASI one.
   */
  insertAfterDirectives(offset: number, statements: Node[], text: string): void {
    let last: Node | null = null;
    for (const statement of statements) {
      if (statement.type !== 'ExpressionStatement' || statement.directive === undefined) break;
      last = statement;
    }
    if (last) this.insert(last.end, `;${text}`);
    else this.insert(offset, text);
  }

  replace(start: number, end: number, text: string): void {
    this.list.push({ start, end, text, seq: this.list.length });
  }

  apply(source: string): string {
    this.list.sort((a, b) => a.start - b.start || a.seq - b.seq);
    let out = '';
    let pos = 0;
    for (const edit of this.list) {
      out += source.slice(pos, edit.start) + edit.text;
      pos = Math.max(pos, edit.end);
    }
    return out + source.slice(pos);
  }
}
