import { EdrError } from '../../core/errors.ts';
import { type Candidate, malformed } from './candidate.ts';

/*
 * Framing finds where each record's JSON text lies, in one pass over the body and without parsing it (the
 * records are parsed later, one by one, between which the event loop gets its turns). Every framing stops
 * as soon as the body holds more records than a request may carry, so its cost is linear in the body and
 * bounded by the record limit, whatever the body holds.
 */

export function tooManyRecords(maxRecords: number): EdrError {
  return new EdrError('EDR_ERR_TOO_MANY_RECORDS', `more than ${maxRecords}`);
}

export type JsonRead = { ok: true; value: unknown } | { ok: false; message: string };

/**
 * JSON.parse behind a nesting limit (and optionally a limit on objects and arrays), checked first in one
 * pass: text over them is refused unread. V8 parses deep nesting and empty containers at about 100 ns a
 * byte, and deep values overflow the stack of whoever walks them later.
 */
export function readJson(text: string, maxDepth: number, maxContainers = Number.POSITIVE_INFINITY): JsonRead {
  const over = shapeExceeds(text, maxDepth, maxContainers);
  if (over === 'depth') return { ok: false, message: `nested deeper than ${maxDepth} levels` };
  if (over === 'containers') return { ok: false, message: `more than ${maxContainers} objects and arrays` };
  try {
    return { ok: true, value: JSON.parse(text) };
  } catch (error) {
    return { ok: false, message: `invalid JSON: ${(error as Error).message}` };
  }
}

/** Calls `visit` with each line and its 1-based number, without splitting the body into an array first. */
export function forEachLine(text: string, visit: (line: string, lineNumber: number) => void): void {
  let lineNumber = 0;
  for (let start = 0; start < text.length; ) {
    let end = text.indexOf('\n', start);
    if (end === -1) end = text.length;
    lineNumber++;
    visit(text.slice(start, end), lineNumber);
    start = end + 1;
  }
}

/** NDJSON: one value per non-blank line, numbered from 1; a bad line costs only itself. */
export function splitLines(text: string, maxRecords: number): Candidate[] {
  const candidates: Candidate[] = [];
  let lineNumber = 1;
  let lineStart = 0;
  for (let i = 0; i < text.length; ) {
    const code = text.charCodeAt(i);
    // Blank lines are stepped over a character at a time: a body of newlines costs one pass, no copies.
    if (code === LF) {
      lineNumber++;
      lineStart = ++i;
    } else if (isJsonWhitespace(code)) i++;
    else {
      let end = text.indexOf('\n', i);
      if (end === -1) end = text.length;
      const index = candidates.length;
      if (index === maxRecords) throw tooManyRecords(maxRecords);
      candidates.push({ index, line: lineNumber, text: text.slice(lineStart, end) });
      lineNumber++;
      lineStart = i = end + 1;
    }
  }
  return candidates;
}

/**
 * A JSON object (one record) or a JSON array of records, each element its own record (a broken one costs
 * only itself); a body that is neither but has several lines is NDJSON.
 */
export function splitDocument(text: string, maxRecords: number): Candidate[] {
  const start = skipWhitespace(text, 0);
  if (text.charCodeAt(start) === OPEN_BRACKET) {
    const elements = splitArray(text, start, maxRecords);
    if (elements) return elements;
  } else if (
    text.charCodeAt(start) === OPEN_BRACE &&
    skipWhitespace(text, valueEnd(text, start)) === text.length
  ) {
    return [{ index: 0, text }];
  }
  if (text.trim().includes('\n')) return splitLines(text, maxRecords);
  return [{ index: 0, line: 1, text }];
}

/** The elements of a top-level array; undefined when the body is not one (then it is read another way). */
function splitArray(text: string, open: number, maxRecords: number): Candidate[] | undefined {
  const candidates: Candidate[] = [];
  let at = skipWhitespace(text, open + 1);
  if (text.charCodeAt(at) === CLOSE_BRACKET)
    return skipWhitespace(text, at + 1) === text.length ? [] : undefined;
  for (;;) {
    if (at >= text.length) return undefined;
    const end = valueEnd(text, at);
    if (candidates.length === maxRecords) throw tooManyRecords(maxRecords);
    candidates.push({ index: candidates.length, text: text.slice(at, end) });
    at = skipWhitespace(text, end);
    const separator = text.charCodeAt(at);
    if (separator === CLOSE_BRACKET)
      return skipWhitespace(text, at + 1) === text.length ? candidates : undefined;
    if (separator !== COMMA) return undefined;
    at = skipWhitespace(text, at + 1);
  }
}

/**
 * JSON values written back to back, with or without whitespace between them (Splunk HEC batches). A broken
 * value costs only itself: objects and arrays end at their closing bracket, strings at their closing quote
 * (brackets inside strings do not count), anything else at the next whitespace, bracket or quote.
 */
export function splitConcatenated(text: string, maxRecords: number): Candidate[] {
  const candidates: Candidate[] = [];
  for (let start = skipWhitespace(text, 0); start < text.length; start = skipWhitespace(text, start)) {
    const index = candidates.length;
    if (index === maxRecords) throw tooManyRecords(maxRecords);
    const end = valueEnd(text, start);
    candidates.push({ index, text: text.slice(start, end) });
    start = end;
  }
  return candidates;
}

/** Parses each candidate's text (see readJson); a candidate that fails keeps its place with its error. */
export function parsed(candidate: Candidate, maxDepth: number): Candidate {
  if (candidate.text === undefined) return candidate;
  const read = readJson(candidate.text, maxDepth);
  const field = candidate.line === undefined ? '(record)' : '(line)';
  if (!read.ok) return malformed(candidate.index, field, read.message, candidate.line);
  const next: Candidate = { index: candidate.index, record: read.value };
  if (candidate.line !== undefined) next.line = candidate.line;
  return next;
}

const SPACE = 0x20;
const TAB = 0x09;
const LF = 0x0a;
const CR = 0x0d;
const QUOTE = 0x22;
const COMMA = 0x2c;
const BACKSLASH = 0x5c;
const OPEN_BRACE = 0x7b;
const CLOSE_BRACE = 0x7d;
const OPEN_BRACKET = 0x5b;
const CLOSE_BRACKET = 0x5d;

function isJsonWhitespace(code: number): boolean {
  return code === SPACE || code === LF || code === CR || code === TAB;
}

function skipWhitespace(text: string, from: number): number {
  let at = from;
  while (at < text.length && isJsonWhitespace(text.charCodeAt(at))) at++;
  return at;
}

/** Where the value starting at `start` ends (exclusive), in one pass over it. */
function valueEnd(text: string, start: number): number {
  const first = text.charCodeAt(start);
  if (first === QUOTE) return stringEnd(text, start + 1);
  if (first !== OPEN_BRACE && first !== OPEN_BRACKET) {
    let i = start + 1;
    while (i < text.length) {
      const code = text.charCodeAt(i);
      if (isJsonWhitespace(code) || code === COMMA || code === OPEN_BRACE || code === OPEN_BRACKET) break;
      if (code === QUOTE || code === CLOSE_BRACE || code === CLOSE_BRACKET) break;
      i++;
    }
    return i;
  }
  let depth = 0;
  for (let i = start; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code === QUOTE) i = stringEnd(text, i + 1) - 1;
    else if (code === OPEN_BRACE || code === OPEN_BRACKET) depth++;
    else if ((code === CLOSE_BRACE || code === CLOSE_BRACKET) && --depth === 0) return i + 1;
  }
  return text.length;
}

/** Just past the quote closing a string whose contents start at `from`; the body's end if none does. */
function stringEnd(text: string, from: number): number {
  for (let i = from; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code === BACKSLASH) i++;
    else if (code === QUOTE) return i + 1;
  }
  return text.length;
}

/** Which limit the brackets outside strings break first, if any: nesting depth or how many there are. */
function shapeExceeds(
  text: string,
  maxDepth: number,
  maxContainers: number,
): 'depth' | 'containers' | undefined {
  let depth = 0;
  let containers = 0;
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code === QUOTE) i = stringEnd(text, i + 1) - 1;
    else if (code === OPEN_BRACE || code === OPEN_BRACKET) {
      if (++depth > maxDepth) return 'depth';
      if (++containers > maxContainers) return 'containers';
    } else if (code === CLOSE_BRACE || code === CLOSE_BRACKET) depth--;
  }
  return undefined;
}
