import { RE2JS, RE2Set } from 're2js';

/**
 * Regular expressions matched in time linear in the input, by RE2 (re2js, a pure-JavaScript port: see
 * BENCHMARKS.md for why this one). Every rule regex and glob runs here, and so may any code that matches
 * text the watched agent wrote. RE2 has no backtracking, so it cannot run backreferences or lookaround;
 * such patterns are refused with the construct named. JavaScript spellings RE2 lacks (`\uXXXX`, `\cX`,
 * `(?<name>...)`, `[^]`) are translated first, so most JavaScript patterns compile unchanged.
 */
export interface LinearMatch {
  /** Where the match starts, in UTF-16 code units (as String indices). */
  index: number;
  text: string;
}

export interface LinearRegex {
  /** The pattern as given. */
  readonly source: string;
  /** Whether the pattern matches anywhere in `input`. */
  test(input: string): boolean;
  /** The first match starting at or after `from`, or undefined. */
  exec(input: string, from?: number): LinearMatch | undefined;
  /** `input` with every non-overlapping match replaced by what `replacer` returns for it. */
  replace(input: string, replacer: (match: LinearMatch) => string): string;
}

export interface LinearRegexLimits {
  /** Longest pattern accepted, in characters. */
  maxLength: number;
  /** Largest compiled program accepted (RE2's instruction count, its measure of a pattern's cost per character). */
  maxProgramSize: number;
}

export const DEFAULT_REGEX_LIMITS: Readonly<LinearRegexLimits> = Object.freeze({
  maxLength: 1_024,
  maxProgramSize: 1_000,
});

/** `text` as a pattern matching exactly it: every character special to RE2 (or to JavaScript) escaped. */
export function escapeRegexLiteral(text: string): string {
  return text.replace(/[\\^$.|?*+()[\]{}]/g, '\\$&');
}

const FLAG_BITS: Readonly<Record<string, number>> = {
  i: RE2JS.CASE_INSENSITIVE,
  m: RE2JS.MULTILINE,
  s: RE2JS.DOTALL,
};

/** What RE2 reports for the constructs it lacks, named the way a rule author knows them. */
function unsupportedConstruct(message: string): string | undefined {
  if (/`\(\?[=!]/.test(message)) return 'lookahead (?= or (?!';
  if (/`\(\?<[=!]/.test(message)) return 'lookbehind (?<= or (?<!';
  if (/invalid escape sequence: `\\[1-9]/.test(message)) return 'backreference \\1-\\9';
  if (/invalid escape sequence: `\\k/.test(message)) return 'named backreference \\k<name>';
  return undefined;
}

/**
 * Compiles `pattern` (flags among `i`, `m`, `s`), or returns why it cannot be matched in linear time: the
 * reason names the construct (`uses a lookahead (?= or (?!, which ...`) or the limit.
 */
export function linearRegex(
  pattern: string,
  flags = '',
  limits: LinearRegexLimits = DEFAULT_REGEX_LIMITS,
): LinearRegex | string {
  let bits = 0;
  for (const flag of flags) {
    const bit = FLAG_BITS[flag];
    if (bit === undefined) return `unsupported flag ${JSON.stringify(flag)} (i, m and s are)`;
    bits |= bit;
  }
  const compiled = compileRe2(pattern, bits, limits);
  return typeof compiled === 'string' ? compiled : wrap(pattern, compiled.bounded);
}

/**
 * One matcher for "any of `patterns` matches": a single RE2 alternation, so an input is scanned once however
 * many patterns there are (each keeps its own inline flags, such as a leading `(?i)`, inside its group).
 * Refuses with the index of the first pattern refused and why.
 */
export function linearRegexAny(
  patterns: readonly string[],
  limits: LinearRegexLimits = DEFAULT_REGEX_LIMITS,
): LinearRegex | { index: number; reason: string } {
  const sources: string[] = [];
  let size = 0;
  for (const [index, pattern] of patterns.entries()) {
    const compiled = compileRe2(pattern, 0, limits);
    if (typeof compiled === 'string') return { index, reason: compiled };
    sources.push(`(?:${compiled.source})`);
    // The alternation costs about the sum of its parts: stop compiling a list that cannot fit.
    size += compiled.bounded.regex.programSize();
    if (size > limits.maxProgramSize) return { index, reason: tooLargeTogether(limits) };
  }
  const combined = compileBounded(sources.join('|'), 0, limits);
  if (typeof combined === 'string') return { index: 0, reason: `the patterns together: ${combined}` };
  return wrap(patterns.join(' | '), combined);
}

export function tooLargeTogether(limits: LinearRegexLimits): string {
  return `with the patterns before it, compiles to more than ${limits.maxProgramSize} RE2 instructions`;
}

/** A compiled RE2 program and its search, within the bounds on program size and DFA memory. */
export interface BoundedRegex {
  regex: RE2JS;
  /** Whether it matches anywhere in `input`. */
  test(input: string): boolean;
}

/**
 * Inputs up to this many characters are searched by re2js's own test (fastest on the short texts most events
 * carry). Longer ones go to an RE2Set of the same pattern whose lazy DFA may use LONG_INPUT_DFA_BYTES: when a
 * pattern's DFA cannot be cached (a counted repetition of a broad class, `a[ab]{100}c`), each character of a
 * hostile input builds a new DFA state until the budget is spent and RE2 falls back to its NFA; re2js's own
 * 8 MB budget made that phase cost up to ~10x the NFA's (see BENCHMARKS.md, bench:regex).
 */
const SHORT_INPUT = 4_096;
const LONG_INPUT_DFA_BYTES = 256 * 1024;

/**
 * RE2 source compiled within the program-size bound, or why not (several patterns each within it can still
 * be too large together).
 */
export function compileBounded(
  source: string,
  bits: number,
  limits: LinearRegexLimits,
): BoundedRegex | string {
  let regex: RE2JS;
  try {
    regex = RE2JS.compile(source, bits);
  } catch (error) {
    return `invalid: ${(error as Error).message}`;
  }
  const size = regex.programSize();
  if (size > limits.maxProgramSize)
    return `compiles to ${size} RE2 instructions, more than ${limits.maxProgramSize}`;
  let long: RE2Set | undefined;
  return {
    regex,
    test(input) {
      if (input.length <= SHORT_INPUT) return regex.test(input);
      if (!long) {
        long = new RE2Set(RE2Set.UNANCHORED, bits, LONG_INPUT_DFA_BYTES);
        long.add(source);
        long.compile();
      }
      return long.match(input).length > 0;
    },
  };
}

function compileRe2(
  pattern: string,
  bits: number,
  limits: LinearRegexLimits,
): { source: string; bounded: BoundedRegex } | string {
  if (pattern.length > limits.maxLength) return `pattern longer than ${limits.maxLength} characters`;
  const source = RE2JS.translateRegExp(pattern);
  const bounded = compileBounded(source, bits, limits);
  if (typeof bounded !== 'string') return { source, bounded };
  const construct = unsupportedConstruct(bounded);
  return construct
    ? `uses a ${construct}, which a linear-time regex engine (RE2) cannot run`
    : bounded.startsWith('invalid: ')
      ? `invalid regular expression: ${bounded.slice(9)}`
      : `${bounded} (large counted repetitions such as {1000} cost the most)`;
}

function wrap(source: string, { regex: compiled, test }: BoundedRegex): LinearRegex {
  return {
    source,
    test,
    exec(input, from = 0) {
      const matcher = compiled.matcher(input);
      return matcher.find(from) ? { index: matcher.start(), text: matcher.group() ?? '' } : undefined;
    },
    replace(input, replacer) {
      // One matcher for the whole input: each find() goes on where the last match ended (an empty match
      // moves on by one character), so the whole replacement is one linear pass.
      const matcher = compiled.matcher(input);
      let out = '';
      let last = 0;
      while (matcher.find()) {
        const index = matcher.start();
        out += input.slice(last, index) + replacer({ index, text: matcher.group() ?? '' });
        last = matcher.end();
      }
      return out + input.slice(last);
    },
  };
}
