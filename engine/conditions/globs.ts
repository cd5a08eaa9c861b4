import { RE2JS } from 're2js';
import {
  type BoundedRegex,
  compileBounded,
  DEFAULT_REGEX_LIMITS,
  escapeRegexLiteral,
  type LinearRegexLimits,
  tooLargeTogether,
} from './linear-regex.ts';

/**
 * Globs, compiled to RE2 (linear time, as every rule regex is: see linear-regex.ts). The syntax is
 * picomatch's with `dot: true`, minus what RE2 cannot express without lookaround:
 * - `*` any characters but `/` (at least one as the whole last segment), `?` one character but `/`;
 * - `**` as a whole segment: any number of segments, none included (`a/**` matches `a`, `**\/x` matches `x`);
 * - `[abc]`, `[a-z]`, `[!a]` / `[^a]` (never `/` when negated), `[[:alpha:]]`;
 * - `{a,b}` alternatives, nested; extglobs `@(a|b)`, `?(a)`, `*(a)`, `+(a)`; `\` escapes one character;
 * - a leading `!` negates the pattern; a leading `./` (of the pattern or the input) and a trailing `/` of the
 *   input are ignored, and an input that is empty then matches nothing.
 * Differences from picomatch, on purpose: `.` and `..` segments are names like any other (picomatch's `**`
 * and `*` skip them, so `/home/u/./.ssh/id_rsa` escaped `**\/.ssh/**`); a newline is a character like any
 * other; `x/**` matches `x` wherever it is (picomatch: not after a wildcard, so `/etc/cron*\/**` missed
 * `/etc/crontab`). Refused with a reason: negated extglobs `!(a)` (lookahead) and brace ranges `{1..9}`.
 */
export interface GlobOptions {
  /** Case-insensitive matching (lists with `caseInsensitive: true`). */
  nocase?: boolean;
}

class GlobError extends Error {}

/** Characters that mean something to RE2 outside a class. */
const REGEX_SPECIAL = /[\\^$.|?*+()[\]{}]/;
/** Characters that mean something to RE2 inside a class. */
const CLASS_SPECIAL = /[\\^\][-]/;

function literal(ch: string, special = REGEX_SPECIAL): string {
  return special.test(ch) ? `\\${ch}` : ch;
}

/** The index of the bracket closing the one at `open`, skipping escapes and nested pairs; -1 if none. */
function closing(pattern: string, open: number, left: string, right: string): number {
  let depth = 0;
  for (let i = open; i < pattern.length; i++) {
    const ch = pattern[i];
    if (ch === '\\') i++;
    else if (ch === left) depth++;
    else if (ch === right && --depth === 0) return i;
  }
  return -1;
}

/** Splits `text` at top-level `separator`s (not inside brackets, braces or parentheses, not escaped). */
function splitTop(text: string, separator: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let start = 0;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (ch === '\\') i++;
    else if (ch === '{' || ch === '(' || ch === '[') depth++;
    else if (ch === '}' || ch === ')' || ch === ']') depth--;
    else if (ch === separator && depth === 0) {
      parts.push(text.slice(start, i));
      start = i + 1;
    }
  }
  parts.push(text.slice(start));
  return parts;
}

const BRACE_RANGE = /^(?:-?\d+|[A-Za-z])\.\.(?:-?\d+|[A-Za-z])(?:\.\.-?\d+)?$/;

/** A class `[...]` starting at `open`: its RE2 form and where it ends, or undefined when unterminated. */
function bracket(pattern: string, open: number): { source: string; end: number } | undefined {
  let i = open + 1;
  const negated = pattern[i] === '!' || pattern[i] === '^';
  if (negated) i++;
  let body = '';
  // A `]` first in the class is a member, not its end.
  if (pattern[i] === ']') {
    body += '\\]';
    i++;
  }
  for (; i < pattern.length; i++) {
    const ch = pattern[i]!;
    if (ch === ']') return { source: `[${negated ? '^/' : ''}${body}]`, end: i };
    if (ch === '[' && pattern[i + 1] === ':') {
      const end = pattern.indexOf(':]', i + 2);
      if (end > 0) {
        body += pattern.slice(i, end + 2);
        i = end + 1;
        continue;
      }
    }
    if (ch === '\\' && i + 1 < pattern.length) {
      body += literal(pattern[++i]!, CLASS_SPECIAL);
      continue;
    }
    const isRange = ch === '-' && body !== '' && pattern[i + 1] !== ']';
    body += isRange ? '-' : literal(ch, CLASS_SPECIAL);
  }
  return undefined;
}

/** RE2 source for a part of a glob (the whole of it, one brace alternative or one extglob alternative). */
function translatePart(pattern: string): string {
  let out = '';
  for (let i = 0; i < pattern.length; i++) {
    const ch = pattern[i]!;
    const next = pattern[i + 1];
    if ('@?*+!'.includes(ch) && next === '(') {
      const end = closing(pattern, i + 1, '(', ')');
      if (end > 0) {
        if (ch === '!')
          throw new GlobError('negated extglobs !(...) need lookahead, which linear-time matching lacks');
        const alternatives = splitTop(pattern.slice(i + 2, end), '|').map(translatePart);
        out += `(?:${alternatives.join('|')})${ch === '@' ? '' : ch}`;
        i = end;
        continue;
      }
    }
    switch (ch) {
      case '\\':
        out += literal(next ?? '\\');
        i++;
        break;
      case '?':
        out += '[^/]';
        break;
      case '*': {
        let stars = 1;
        while (pattern[i + stars] === '*') stars++;
        const wholeSegment =
          (i === 0 || pattern[i - 1] === '/') && (i + stars === pattern.length || pattern[i + stars] === '/');
        if (wholeSegment && stars > 1) {
          // `**` alone, or `**/` at the start: any segments, the slash after them included.
          const slash = pattern[i + stars] === '/';
          out += slash ? '(?:.*/)?' : '.*';
          i += stars - 1 + (slash ? 1 : 0);
        } else {
          // A last segment that is only `*` needs a character (`a/*` does not match `a/`), as in picomatch.
          out += wholeSegment && i + stars === pattern.length ? '[^/]+' : '[^/]*';
          i += stars - 1;
        }
        break;
      }
      case '/': {
        // `/**` at the end and `/**/` inside: the slash is part of the (possibly empty) run of segments.
        let stars = 0;
        while (pattern[i + 1 + stars] === '*') stars++;
        const after = pattern[i + 1 + stars];
        if (stars > 1 && after === undefined) {
          out += '(?:/.*)?';
          i += stars;
        } else if (stars > 1 && after === '/') {
          out += '/(?:.*/)?';
          i += stars + 1;
        } else {
          out += '/';
        }
        break;
      }
      case '[': {
        const parsed = bracket(pattern, i);
        if (parsed) {
          out += parsed.source;
          i = parsed.end;
        } else {
          out += '\\[';
        }
        break;
      }
      case '{': {
        const end = closing(pattern, i, '{', '}');
        const inner = end > 0 ? pattern.slice(i + 1, end) : '';
        const alternatives = end > 0 ? splitTop(inner, ',') : [];
        if (alternatives.length > 1) {
          out += `(?:${alternatives.map(translatePart).join('|')})`;
          i = end;
        } else if (BRACE_RANGE.test(inner)) {
          throw new GlobError(`brace ranges such as {${inner}} are not supported; list the values: {a,b,c}`);
        } else {
          out += '\\{';
        }
        break;
      }
      default:
        out += literal(ch);
    }
  }
  return out;
}

interface TranslatedGlob {
  source: string;
  negated: boolean;
}

function translate(glob: string): TranslatedGlob {
  let pattern = glob;
  let negated = false;
  while (pattern.startsWith('!') && pattern[1] !== '(') {
    negated = !negated;
    pattern = pattern.slice(1);
  }
  if (pattern.startsWith('./')) pattern = pattern.slice(2);
  return { source: translatePart(pattern), negated };
}

/** Characters a glob reads as themselves, apart from the separators and wildcards `/`, `*` and `?`. */
const PLAIN_GLOB = /^[A-Za-z0-9_.~/*?-]+$/;

/**
 * Text every match of `pattern` contains: its longest run of plain characters between separators and
 * wildcards. Undefined when the pattern uses any other syntax (classes, braces, extglobs, negation, escapes)
 * or has no such run.
 */
function requiredText(pattern: string): string | undefined {
  if (!PLAIN_GLOB.test(pattern)) return undefined;
  let longest = '';
  for (const run of pattern.split(/[/*?]/)) if (run.length > longest.length) longest = run;
  return longest || undefined;
}

export type GlobMatcher = (input: string) => boolean;

/**
 * One matcher for a set of globs: an input matches when it is not empty and equals a pattern (as picomatch
 * has it), or, with a leading `./` removed, matches a pattern, or fails to match a negated one. The positive
 * patterns are one anchored RE2 alternation. When every pattern has a required text (see requiredText), an
 * input containing none of them is refused first by a JavaScript expression that is only an alternation of
 * escaped literals: without quantifiers it cannot backtrack, so it runs in time linear in the input times the
 * texts' total length, and it costs less than entering RE2 for the most common answer, no match.
 * Refuses with the index of the first unusable pattern and why.
 */
export function compileGlobs(
  patterns: readonly string[],
  options: GlobOptions = {},
  limits: LinearRegexLimits = DEFAULT_REGEX_LIMITS,
): GlobMatcher | { index: number; reason: string } {
  const flags = options.nocase ? RE2JS.CASE_INSENSITIVE | RE2JS.DOTALL : RE2JS.DOTALL;
  const positive: string[] = [];
  const negatives: BoundedRegex[] = [];
  let size = 0;
  for (const [index, pattern] of patterns.entries()) {
    if (pattern.length > limits.maxLength) {
      return { index, reason: `pattern longer than ${limits.maxLength} characters` };
    }
    let translated: TranslatedGlob;
    try {
      translated = translate(pattern);
    } catch (error) {
      if (error instanceof GlobError) return { index, reason: error.message };
      throw error;
    }
    // A trailing `/` of the input is ignored: a folder is the same path with or without it.
    const source = `${translated.source}/?`;
    const regex = compileBounded(`^(?:${source})$`, flags, limits);
    if (typeof regex === 'string') return { index, reason: regex.replace(/^invalid: /, 'invalid glob: ') };
    if (translated.negated) negatives.push(regex);
    else positive.push(source);
    // The alternation costs about the sum of its parts: stop compiling a list that cannot fit.
    size += regex.regex.programSize();
    if (size > limits.maxProgramSize) return { index, reason: tooLargeTogether(limits) };
  }
  const combined =
    positive.length > 0 ? compileBounded(`^(?:${positive.join('|')})$`, flags, limits) : undefined;
  if (typeof combined === 'string') return { index: 0, reason: `the globs together: ${combined}` };
  const literals = new Set(patterns);
  const required = patterns.map(requiredText);
  // Case-insensitive with Unicode simple case folding, as RE2's (?i) folds (so K matches the Kelvin sign).
  const prefilter = required.some((text) => text === undefined)
    ? undefined
    : new RegExp(
        [...new Set(required as string[])].map(escapeRegexLiteral).join('|'),
        options.nocase ? 'iu' : '',
      );
  return (input) => {
    if (input === '') return false;
    if (literals.has(input)) return true;
    const path = input.startsWith('./') ? input.slice(2) : input;
    if (path === '') return false;
    if (path !== input && literals.has(path)) return true;
    for (const negative of negatives) if (!negative.test(path)) return true;
    if (!combined || (prefilter && !prefilter.test(path))) return false;
    return combined.test(path);
  };
}
