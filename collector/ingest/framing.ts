import { EdrError } from '../../core/errors.ts';
import { type Candidate, malformed } from './candidate.ts';

/*
 * Every framing here reads the body once, left to right (no slice-and-search per value), and stops as soon
 * as the body holds more records than a request may carry: its cost is linear in the body and bounded by
 * the record limit, whatever the body holds.
 */

function jsonError(error: unknown): string {
  return `invalid JSON: ${(error as Error).message}`;
}

export function tooManyRecords(maxRecords: number): EdrError {
  return new EdrError('EDR_ERR_TOO_MANY_RECORDS', `more than ${maxRecords}`);
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

/** NDJSON: one value per non-blank line; a bad line is reported with its number and the rest still count. */
export function splitLines(text: string, maxRecords: number): Candidate[] {
  const candidates: Candidate[] = [];
  forEachLine(text, (line, lineNumber) => {
    if (line.trim() === '') return;
    const index = candidates.length;
    if (index === maxRecords) throw tooManyRecords(maxRecords);
    try {
      candidates.push({ index, line: lineNumber, record: JSON.parse(line) });
    } catch (error) {
      candidates.push(malformed(index, '(line)', jsonError(error), lineNumber));
    }
  });
  return candidates;
}

/** A JSON object or array of records; a body that is not one JSON document but has several lines is NDJSON. */
export function splitDocument(text: string, maxRecords: number): Candidate[] {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    if (text.trim().includes('\n')) return splitLines(text, maxRecords);
    return [malformed(0, '(body)', jsonError(error), 1)];
  }
  if (!Array.isArray(value)) return [{ index: 0, record: value }];
  if (value.length > maxRecords) throw tooManyRecords(maxRecords);
  return value.map((record, index) => ({ index, record }));
}

/**
 * JSON values written back to back, with or without whitespace between them (Splunk HEC batches). A broken
 * value costs only itself: objects and arrays end at their closing bracket, strings at their closing quote
 * (brackets inside strings do not count), anything else at the next whitespace, bracket or quote.
 */
export function splitConcatenated(text: string, maxRecords: number): Candidate[] {
  const candidates: Candidate[] = [];
  for (let start = 0; start < text.length; ) {
    if (isJsonWhitespace(text.charCodeAt(start))) {
      start++;
      continue;
    }
    const index = candidates.length;
    if (index === maxRecords) throw tooManyRecords(maxRecords);
    const end = valueEnd(text, start);
    try {
      candidates.push({ index, record: JSON.parse(text.slice(start, end)) });
    } catch (error) {
      candidates.push(malformed(index, '(record)', jsonError(error)));
    }
    start = end;
  }
  return candidates;
}

const SPACE = 0x20;
const TAB = 0x09;
const LF = 0x0a;
const CR = 0x0d;
const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const OPEN_BRACE = 0x7b;
const CLOSE_BRACE = 0x7d;
const OPEN_BRACKET = 0x5b;
const CLOSE_BRACKET = 0x5d;

function isJsonWhitespace(code: number): boolean {
  return code === SPACE || code === LF || code === CR || code === TAB;
}

/** Where the value starting at `start` ends (exclusive), in one pass over it. */
function valueEnd(text: string, start: number): number {
  const first = text.charCodeAt(start);
  if (first === QUOTE) return stringEnd(text, start + 1);
  if (first !== OPEN_BRACE && first !== OPEN_BRACKET) {
    let i = start + 1;
    while (i < text.length) {
      const code = text.charCodeAt(i);
      if (isJsonWhitespace(code) || code === OPEN_BRACE || code === OPEN_BRACKET || code === QUOTE) break;
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
