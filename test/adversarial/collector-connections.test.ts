import { createConnection, type Socket } from 'node:net';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { goodRecord, type Harness, startHarness } from './collector-support.ts';

/**
 * Slow senders over real sockets: headers and bodies each have a deadline, a sender without credentials is
 * refused before its body is read and its connection closed, and the in-flight gauge counts every request
 * out again however it ended.
 */
const HEADERS_TIMEOUT_MS = 500;
const REQUEST_TIMEOUT_MS = 1_000;
/** node checks those deadlines this often (the collector uses min(1 s, headersTimeoutMs)). */
const CHECK_INTERVAL_MS = 500;

let harness: Harness;
let port: number;
beforeAll(async () => {
  harness = await startHarness({
    server: { headersTimeoutMs: HEADERS_TIMEOUT_MS, requestTimeoutMs: REQUEST_TIMEOUT_MS },
    sources: { signed: { hmacSecret: 'whsec-slow' } },
  });
  await harness.app.listen({ host: '127.0.0.1', port: 0 });
  port = (harness.app.server.address() as { port: number }).port;
});
afterAll(async () => {
  await harness.close();
});

interface Ending {
  /** What the server wrote before the connection closed. */
  response: string;
  /** From connecting to the close. */
  closedAfterMs: number;
}

/** Writes `head`, then one byte of `trickle` every 50 ms, until the server closes the connection. */
function slowSender(head: string, trickle = 'x'.repeat(1_000)): Promise<Ending> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const socket: Socket = createConnection({ host: '127.0.0.1', port });
    let response = '';
    let sent = 0;
    const timer = setInterval(() => {
      if (sent < trickle.length && socket.writable) socket.write(trickle[sent++]!);
    }, 50);
    const giveUp = setTimeout(() => {
      socket.destroy();
      reject(new Error(`still open after 10 s; got ${JSON.stringify(response)}`));
    }, 10_000);
    socket.on('data', (chunk) => {
      response += chunk.toString('latin1');
    });
    socket.on('error', () => {}); // a reset after the server gave up is one way of closing
    socket.on('close', () => {
      clearInterval(timer);
      clearTimeout(giveUp);
      resolve({ response, closedAfterMs: performance.now() - started });
    });
    socket.write(head);
  });
}

const postHead = (path: string, headers: Record<string, string>) =>
  `POST ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 1000000\r\n${Object.entries(
    headers,
  )
    .map(([name, value]) => `${name}: ${value}\r\n`)
    .join('')}\r\n`;

const inFlight = async (app: FastifyInstance) => {
  const text = (await app.inject({ method: 'GET', url: '/metrics' })).body;
  return Number(/^edr_collector_requests_in_flight (\d+)$/m.exec(text)![1]);
};

describe('slow uploads', () => {
  it('a slow upload without credentials is answered 401 and closed at once, its body never read', async () => {
    const ending = await slowSender(postHead('/v1/events', {}));
    expect(ending.response).toMatch(/^HTTP\/1\.1 401 /);
    expect(ending.closedAfterMs).toBeLessThan(300);
  });

  it('control: a slow upload with a key is cut off at the request timeout (408)', async () => {
    const ending = await slowSender(postHead('/v1/events', { authorization: 'Bearer key-ingest' }));
    expect(ending.response).toMatch(/^HTTP\/1\.1 408 /);
    expect(ending.closedAfterMs).toBeGreaterThan(REQUEST_TIMEOUT_MS - 100);
    expect(ending.closedAfterMs).toBeLessThan(REQUEST_TIMEOUT_MS + CHECK_INTERVAL_MS + 300);
  });

  it('a slow upload to a signed source (authenticated only by its body) is cut off at the request timeout', async () => {
    const ending = await slowSender(postHead('/ingest/signed', {}));
    expect(ending.response).toMatch(/^HTTP\/1\.1 408 /);
    expect(ending.closedAfterMs).toBeLessThan(REQUEST_TIMEOUT_MS + CHECK_INTERVAL_MS + 300);
  });

  it('headers sent one byte at a time are cut off at the headers timeout', async () => {
    const ending = await slowSender('POST /v1/events HTTP/1.1\r\n', `X-Slow: ${'y'.repeat(1_000)}`);
    expect(ending.response).toMatch(/^HTTP\/1\.1 408 /);
    expect(ending.closedAfterMs).toBeLessThan(HEADERS_TIMEOUT_MS + CHECK_INTERVAL_MS + 300);
  });
});

describe('the in-flight gauge', () => {
  it('is back to 0 after aborted, timed-out and refused requests (the scrape itself is not counted)', async () => {
    const record = goodRecord('in-flight-1');
    const head = (length: number) =>
      `POST /v1/events HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer key-ingest\r\nContent-Type: application/json\r\nContent-Length: ${length}\r\n\r\n`;
    // Aborted mid-body: the client goes away after half of it.
    await Promise.all(
      Array.from(
        { length: 20 },
        () =>
          new Promise<void>((resolve) => {
            const socket = createConnection({ host: '127.0.0.1', port }, () => {
              socket.write(head(record.length) + record.slice(0, record.length / 2));
              setTimeout(() => socket.destroy(), 50);
            });
            socket.on('error', () => {});
            socket.on('close', () => resolve());
          }),
      ),
    );
    // Timed out, and refused without credentials.
    await Promise.all([
      slowSender(postHead('/v1/events', { authorization: 'Bearer key-ingest' })),
      slowSender(postHead('/v1/events', {})),
    ]);
    // And one that went through.
    const ok = await fetch(`http://127.0.0.1:${port}/v1/events`, {
      method: 'POST',
      headers: { authorization: 'Bearer key-ingest', 'content-type': 'application/json' },
      body: record,
    });
    expect(ok.status).toBe(202);
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(await inFlight(harness.app)).toBe(0);
  });
});
