import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parsed, splitConcatenated } from '../../collector/ingest/index.ts';
import { bearer } from '../../collector/test/support.ts';
import { goodRecord, type Harness, startHarness } from './collector-support.ts';

/**
 * CPU DoS in a parser (issue 13): 10 MB of "1 " sent to the HEC route blocked the event loop for 29 s. Each
 * framing's worst bodies, measured with a 1 ms timer probe: the loop may block about 100 ms per MB of body
 * at most, and here blocks far less (records are parsed and normalized in 10 ms slices).
 */
const MB = 1024 * 1024;
const BUDGET_MS_PER_MB = 100;

let harness: Harness;
beforeAll(async () => {
  harness = await startHarness({ ingest: { maxBodyBytes: 11 * MB } });
});
afterAll(async () => {
  await harness.close();
});

/** The longest the event loop went without running a 1 ms timer while `work` ran. */
async function maxBlockMs<T>(work: () => Promise<T>): Promise<{ result: T; blockMs: number }> {
  let last = performance.now();
  let blockMs = 0;
  const probe = setInterval(() => {
    const now = performance.now();
    blockMs = Math.max(blockMs, now - last);
    last = now;
  }, 1);
  try {
    const result = await work();
    blockMs = Math.max(blockMs, performance.now() - last);
    return { result, blockMs };
  } finally {
    clearInterval(probe);
  }
}

const repeatTo = (unit: string, bytes: number) => unit.repeat(Math.floor(bytes / unit.length));
const filler = (count: number, size: number) =>
  Array.from({ length: count }, (_, i) =>
    goodRecord(`bulk-${size}-${i}`).replace('README.md', `${'r'.repeat(size)}.md`),
  );

interface Case {
  name: string;
  url: string;
  headers?: Record<string, string>;
  body: () => string | Buffer;
  status: number;
}

const HEC = { url: '/services/collector/event', headers: { authorization: 'Splunk key-ingest' } };
const NDJSON = { 'content-type': 'application/x-ndjson' };

const CASES: Case[] = [
  { name: 'HEC: 10 MB of "1 "', ...HEC, body: () => repeatTo('1 ', 10 * MB), status: 413 },
  {
    name: 'HEC: 10 MB of "1 " gzipped',
    ...HEC,
    headers: { ...HEC.headers, 'content-encoding': 'gzip' },
    body: () => gzipSync(repeatTo('1 ', 10 * MB)),
    status: 413,
  },
  { name: 'HEC: 10 MB of "{" (never closed)', ...HEC, body: () => repeatTo('{', 10 * MB), status: 400 },
  { name: 'HEC: 10 MB of "[]"', ...HEC, body: () => repeatTo('[]', 10 * MB), status: 413 },
  {
    name: 'HEC: 9,000 events of 1 KB',
    ...HEC,
    body: () =>
      filler(9_000, 900)
        .map((record) => `{"event":${record}}`)
        .join(''),
    status: 200,
  },
  {
    name: 'HEC: 10 MB of one string value',
    ...HEC,
    body: () => `"${'s'.repeat(10 * MB)}"`,
    status: 400,
  },
  {
    name: 'NDJSON: 10 MB of blank lines',
    url: '/v1/events',
    headers: NDJSON,
    body: () => '\n'.repeat(10 * MB),
    status: 400,
  },
  {
    name: 'NDJSON: 10 MB of "1\\n"',
    url: '/v1/events',
    headers: NDJSON,
    body: () => repeatTo('1\n', 10 * MB),
    status: 413,
  },
  {
    name: 'NDJSON: 10 MB nested 5 M deep on one line',
    url: '/v1/events',
    headers: NDJSON,
    body: () => `${'['.repeat(5 * MB)}${']'.repeat(5 * MB)}`,
    status: 202,
  },
  {
    name: 'NDJSON: 9,000 records of 1 KB',
    url: '/v1/events',
    headers: NDJSON,
    body: () => filler(9_000, 900).join('\n'),
    status: 202,
  },
  {
    name: 'JSON array: 10 MB of {}',
    url: '/v1/events',
    body: () => `[${repeatTo('{},', 10 * MB)}{}]`,
    status: 413,
  },
  {
    name: 'JSON array: 10 MB of records nested 60 deep',
    url: '/v1/events',
    body: () => `[${repeatTo(`${'['.repeat(60)}${']'.repeat(60)},`, 10 * MB)}1]`,
    status: 413,
  },
  {
    name: 'JSON: one document nested 1 M deep',
    url: '/v1/events',
    body: () => `${'{"a":'.repeat(MB)}1${'}'.repeat(MB)}`,
    status: 202,
  },
  {
    name: '_bulk: 10 MB of action lines',
    url: '/_bulk',
    headers: NDJSON,
    body: () => repeatTo('{"index":{}}\n', 10 * MB),
    status: 413,
  },
  {
    name: '_bulk: 9,000 documents of 1 KB',
    url: '/_bulk',
    headers: NDJSON,
    body: () =>
      `${filler(9_000, 900)
        .map((record) => `{"create":{}}\n${record}`)
        .join('\n')}\n`,
    status: 200,
  },
  {
    name: 'OTLP: 10 MB of empty scopeLogs',
    url: '/v1/logs',
    body: () => `{"resourceLogs":[{"scopeLogs":[${repeatTo('{},', 10 * MB)}{}]}]}`,
    status: 400,
  },
  {
    name: 'OTLP: 10 MB of empty log records',
    url: '/v1/logs',
    body: () => `{"resourceLogs":[{"scopeLogs":[{"logRecords":[${repeatTo('{},', 10 * MB)}{}]}]}]}`,
    status: 400,
  },
  {
    name: 'OTLP: 10 MB nested in one attribute value',
    url: '/v1/logs',
    body: () =>
      `{"resourceLogs":[{"scopeLogs":[{"logRecords":[{"attributes":[{"key":"k","value":${'{"kvlistValue":'.repeat(
        MB / 2,
      )}1${'}'.repeat(MB / 2)}}]}]}]}]}`,
    status: 400,
  },
];

describe('worst bodies per framing', () => {
  it.each(CASES)('$name: answered $status, the event loop blocked ≤ 100 ms per MB', async (test) => {
    const body = test.body();
    const megabytes = Buffer.byteLength(body) / MB;
    const { result, blockMs } = await maxBlockMs(() =>
      harness.app.inject({
        method: 'POST',
        url: test.url,
        headers: { ...bearer(), 'content-type': 'application/json', ...test.headers },
        payload: body,
      }),
    );
    console.info(
      `${test.name}: ${result.statusCode} in one block of at most ${blockMs.toFixed(0)} ms (${megabytes.toFixed(1)} MB)`,
    );
    expect(result.statusCode, result.body.slice(0, 200)).toBe(test.status);
    expect(blockMs).toBeLessThanOrEqual(BUDGET_MS_PER_MB * Math.max(1, megabytes));
  });
});

describe('framing cost is linear in the body', () => {
  it('splitting "1 " bodies: 4x the body costs about 4x the time, not 16x', () => {
    const timeOf = (bytes: number) => {
      const text = repeatTo('1 ', bytes);
      const started = performance.now();
      const candidates = splitConcatenated(text, Number.POSITIVE_INFINITY);
      for (const candidate of candidates) parsed(candidate, 64);
      return performance.now() - started;
    };
    timeOf(MB); // warm up
    const small = Math.min(timeOf(MB), timeOf(MB));
    const large = Math.min(timeOf(4 * MB), timeOf(4 * MB));
    console.info(`"1 " framing: 1 MB in ${small.toFixed(0)} ms, 4 MB in ${large.toFixed(0)} ms`);
    expect(large / small).toBeLessThan(8);
  });
});
