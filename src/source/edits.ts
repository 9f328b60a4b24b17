/**
 * Source rewriting: text edits on the original source, applied in one
 * pass. The loader inserts trampolines with it (`loader/instrument.ts`);
 * edits never move original text, so a rewrite that inserts no newline
 * keeps every original line where it was. `apply` also tells where each
 * original offset went (`Moves`), which is how a source map follows the
 * rewrite.
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
    return this.applyMoving(source).code;
  }

  /** The rewritten source, and where its original offsets went. */
  applyMoving(source: string): { code: string; moves: Moves } {
    this.list.sort((a, b) => a.start - b.start || a.seq - b.seq);
    const parts: string[] = [];
    let length = 0;
    let pos = 0;
    const moves: Moves = [];
    for (const edit of this.list) {
      const kept = source.slice(pos, edit.start);
      const at = length + kept.length;
      length = at + edit.text.length;
      parts.push(kept, edit.text);
      moves.push(edit.start, Math.max(edit.end, pos), at, length);
      pos = Math.max(pos, edit.end);
    }
    parts.push(source.slice(pos));
    return { code: parts.join(''), moves };
  }
}

/**
 * Where the edits of a rewrite went, four numbers per edit in source order:
 * the original range it replaced (`start`, `end`, equal for an insertion)
 * and the range its text took in the rewritten code.
 */
export type Moves = number[];

/**
 * The offset in the rewritten code of the original character at `offset`:
 * after text inserted at that offset, and at the start of the text that
 * replaced it when an edit replaced it.
 */
export function movedOffset(moves: Moves, offset: number): number {
  let lo = 0;
  let hi = moves.length / 4 - 1;
  if (hi < 0 || moves[0] > offset) return offset;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (moves[mid * 4] <= offset) lo = mid;
    else hi = mid - 1;
  }
  const at = lo * 4;
  const end = moves[at + 1];
  if (offset < end && end > moves[at]) return moves[at + 2];
  return moves[at + 3] + (offset - end);
}
