/**
 * The parameter list of a function object, read from its source text
 * (`Function.prototype.toString`) without a parser: replacements are
 * checked against the original's call form when a patch is enabled
 * (`engine/core.ts`), where loading the parser for a few characters would
 * cost more than the check.
 */

export interface ParameterList {
  /** Each declared parameter before a rest parameter: its name, or null for a destructuring pattern. */
  names: (string | null)[];
  /** The list ends with a rest parameter. */
  rest: boolean;
}

const IDENTIFIER = /^[\p{ID_Start}$_][\p{ID_Continue}$\u200c\u200d]*/u;

/**
 * Walks `text` from `from`, passing over string literals and comments, and
 * returns the index of the first character `stop` accepts, with the
 * bracket depth counted up to and including that character; -1 when none
 * is.
 */
function scan(text: string, from: number, stop: (c: string, depth: number) => boolean): number {
  let depth = 0;
  let quote: string | null = null;
  for (let i = from; i < text.length; i++) {
    const c = text[i];
    if (quote !== null) {
      if (c === '\\') i++;
      else if (c === quote) quote = null;
      continue;
    }
    if (c === '/' && (text[i + 1] === '*' || text[i + 1] === '/')) {
      const end = text[i + 1] === '*' ? text.indexOf('*/', i + 2) + 1 : text.indexOf('\n', i + 2);
      if (end <= 0) return -1;
      i = end;
      continue;
    }
    if (c === '"' || c === "'" || c === '`') quote = c;
    else if (c === '(' || c === '[' || c === '{') depth++;
    else if (c === ')' || c === ']' || c === '}') depth--;
    if (stop(c, depth)) return i;
  }
  return -1;
}

const CLOSING = new Set([')', ']', '}']);

/**
 * The text between a function's parentheses, or the lone parameter of an
 * arrow (`x => …`); null for text this does not recognize (a class, a
 * native function), which the caller then does not check.
 */
function parameterText(source: string): string | null {
  const head = source.replace(/^async(?=[\s(])\s*/, '');
  const single = /^([\p{ID_Start}$_][\p{ID_Continue}$\u200c\u200d]*)\s*=>/u.exec(head);
  if (single) return single[1];
  const open = head.indexOf('(');
  if (open < 0 || head.startsWith('class') || /\{\s*\[native code\]\s*\}$/.test(head)) return null;
  const close = scan(head, open, (c, depth) => depth === 0 && CLOSING.has(c));
  return close < 0 ? null : head.slice(open + 1, close);
}

/** Splits parameter text at its top-level commas. */
function splitTopLevel(text: string): string[] {
  const parts: string[] = [];
  const topLevelComma = (c: string, depth: number) => c === ',' && depth === 0;
  let start = 0;
  for (let comma = scan(text, 0, topLevelComma); comma >= 0; comma = scan(text, start, topLevelComma)) {
    parts.push(text.slice(start, comma));
    start = comma + 1;
  }
  parts.push(text.slice(start));
  return parts.map((p) => p.replace(/\/\*[\s\S]*?\*\/|\/\/[^\n]*/g, '').trim()).filter((p) => p !== '');
}

/** A function's declared parameters, or null when its source text is not a function this reads. */
export function parameterList(fn: Function): ParameterList | null {
  const text = parameterText(Function.prototype.toString.call(fn));
  if (text === null) return null;
  const parts = splitTopLevel(text);
  const rest = parts.length > 0 && parts[parts.length - 1].startsWith('...');
  const declared = rest ? parts.slice(0, -1) : parts;
  return { names: declared.map((p) => IDENTIFIER.exec(p)?.[0] ?? null), rest };
}
