import { type Candidate, malformed } from './candidate.ts';

function jsonError(error: unknown): string {
  return `invalid JSON: ${(error as Error).message}`;
}

/** NDJSON: one value per non-blank line; a bad line is reported with its number and the rest still count. */
export function splitLines(text: string): Candidate[] {
  const candidates: Candidate[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    if (line.trim() === '') continue;
    const index = candidates.length;
    try {
      candidates.push({ index, line: i + 1, record: JSON.parse(line) });
    } catch (error) {
      candidates.push(malformed(index, '(line)', jsonError(error), i + 1));
    }
  }
  return candidates;
}

/** A JSON object or array of records; a body that is not one JSON document but has several lines is NDJSON. */
export function splitDocument(text: string): Candidate[] {
  try {
    const value: unknown = JSON.parse(text);
    return Array.isArray(value)
      ? value.map((record, index) => ({ index, record }))
      : [{ index: 0, record: value }];
  } catch (error) {
    if (text.trim().includes('\n')) return splitLines(text);
    return [malformed(0, '(body)', jsonError(error), 1)];
  }
}

/**
 * JSON values written back to back, with or without whitespace between them (Splunk HEC batches). A broken
 * value costs only itself: objects and arrays end at their closing bracket (brackets inside strings do
 * not count), anything else at the next whitespace or bracket.
 */
export function splitConcatenated(text: string): Candidate[] {
  const candidates: Candidate[] = [];
  for (let start = 0; start < text.length; ) {
    if (/\s/.test(text[start]!)) {
      start++;
      continue;
    }
    const end = valueEnd(text, start);
    const index = candidates.length;
    try {
      candidates.push({ index, record: JSON.parse(text.slice(start, end)) });
    } catch (error) {
      candidates.push(malformed(index, '(record)', jsonError(error)));
    }
    start = end;
  }
  return candidates;
}

function valueEnd(text: string, start: number): number {
  if (text[start] !== '{' && text[start] !== '[') {
    const next = text.slice(start + 1).search(/[\s{[]/);
    return next === -1 ? text.length : start + 1 + next;
  }
  let depth = 0;
  let inString = false;
  let escaped = false;
  for (let i = start; i < text.length; i++) {
    const char = text[i];
    if (inString) {
      if (escaped) escaped = false;
      else if (char === '\\') escaped = true;
      else if (char === '"') inString = false;
    } else if (char === '"') inString = true;
    else if (char === '{' || char === '[') depth++;
    else if ((char === '}' || char === ']') && --depth === 0) return i + 1;
  }
  return text.length;
}
