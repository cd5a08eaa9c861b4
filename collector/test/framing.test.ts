import { describe, expect, it } from 'vitest';
import type { Candidate } from '../ingest/index.ts';
import { parsed, splitConcatenated, splitDocument, splitLines } from '../ingest/index.ts';

const MAX = 100;
/** Framing finds the texts; each is parsed on its own afterwards. */
const read = (candidates: Candidate[]) => candidates.map((candidate) => parsed(candidate, 64));

describe('framing', () => {
  it('splits NDJSON, skipping blank lines and keeping 1-based line numbers', () => {
    const candidates = read(splitLines('{"a":1}\r\n\n{oops\n{"a":3}\n', MAX));
    expect(candidates).toMatchObject([
      { index: 0, line: 1, record: { a: 1 } },
      { index: 1, line: 3, error: { field: '(line)', reason: 'malformed' } },
      { index: 2, line: 4, record: { a: 3 } },
    ]);
  });

  it('reads a JSON object or array, and falls back to NDJSON for several lines', () => {
    expect(read(splitDocument('{"a":1}', MAX))).toEqual([{ index: 0, record: { a: 1 } }]);
    expect(read(splitDocument('[{"a":1},2]', MAX))).toEqual([
      { index: 0, record: { a: 1 } },
      { index: 1, record: 2 },
    ]);
    expect(read(splitDocument('{"a":1}\n{"a":2}', MAX))).toMatchObject([{ line: 1 }, { line: 2 }]);
    expect(read(splitDocument('{"a":', MAX))).toMatchObject([{ index: 0, error: { reason: 'malformed' } }]);
  });

  it('splits concatenated JSON values (Splunk HEC batches) and isolates a broken one', () => {
    const text = '{"event":{"x":"}{"}}{"event":2}\n {"event":3} nonsense {"event":"\\"q"}';
    const candidates = read(splitConcatenated(text, MAX));
    expect(candidates.map((candidate) => candidate.record ?? 'error')).toEqual([
      { event: { x: '}{' } },
      { event: 2 },
      { event: 3 },
      'error',
      { event: '"q' },
    ]);
    expect(
      read(splitConcatenated('{"a":1} } "s" {"b":2', MAX)).map((candidate) => candidate.record ?? 'error'),
    ).toEqual([{ a: 1 }, 'error', 's', 'error']);
  });

  it('reads each array element on its own: a broken one costs only itself; too deep is refused unparsed', () => {
    expect(read(splitDocument('[{"a":1}, {"a": nope}, 3]', MAX))).toMatchObject([
      { index: 0, record: { a: 1 } },
      { index: 1, error: { field: '(record)', message: expect.stringMatching(/^invalid JSON/) } },
      { index: 2, record: 3 },
    ]);
    const deep = `${'['.repeat(65)}${']'.repeat(65)}`;
    expect(read(splitDocument(`[${deep}, 1]`, MAX))).toMatchObject([
      { index: 0, error: { message: 'nested deeper than 64 levels' } },
      { index: 1, record: 1 },
    ]);
  });

  it('stops at the first record over the limit, in every framing', () => {
    const tooMany = { code: 'EDR_ERR_TOO_MANY_RECORDS' };
    expect(() => splitLines('1\n2\n3', 2)).toThrow(expect.objectContaining(tooMany));
    expect(() => splitDocument('[1,2,3]', 2)).toThrow(expect.objectContaining(tooMany));
    expect(() => splitConcatenated('1 2 3', 2)).toThrow(expect.objectContaining(tooMany));
    expect(splitConcatenated('1 2', 2)).toHaveLength(2);
  });
});
