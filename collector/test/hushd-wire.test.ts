import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { brokerAddress, collect } from '../../transport/testing/index.ts';
import { BROKERS, brokerCollectors, envelopeOf } from './brokers.ts';
import { sha256Hex, sharedDir } from './support.ts';

interface CapturedRequest {
  file: string;
  method: string;
  url: string;
  headers: Record<string, string>;
  body: Buffer;
  /** The body before Content-Encoding. */
  text: string;
}

const CRLF2 = Buffer.from('\r\n\r\n');
/** The one token the capture does not show: the gzipped SIEM HEC requests are stored body-only. */
const SIEM_HEC_TOKEN = 'siem-hec-token';

/** Request line, headers (CRLF) and the body bytes exactly as received. */
function parseHttp(file: string, raw: Buffer): CapturedRequest {
  const split = raw.indexOf(CRLF2);
  const [requestLine, ...headerLines] = raw.subarray(0, split).toString('latin1').split('\r\n');
  const [method, url] = requestLine!.split(' ');
  const headers: Record<string, string> = {};
  for (const line of headerLines) {
    const colon = line.indexOf(':');
    const name = line.slice(0, colon).trim().toLowerCase();
    // inject() computes these for the body it sends.
    if (name !== 'host' && name !== 'content-length') headers[name] = line.slice(colon + 1).trim();
  }
  const body = raw.subarray(split + CRLF2.length);
  return { file, method: method!, url: url!, headers, body, text: body.toString('utf8') };
}

/** `.body.decoded` captures hold the decoded body of a gzipped HEC request from hushd's SIEM splunk exporter. */
function rebuildGzippedHec(file: string, decoded: Buffer): CapturedRequest {
  return {
    file,
    method: 'POST',
    url: '/ingest/hushd-siem-splunk/services/collector/event',
    headers: {
      authorization: `Splunk ${SIEM_HEC_TOKEN}`,
      'content-type': 'application/json',
      'content-encoding': 'gzip',
    },
    body: gzipSync(decoded),
    text: decoded.toString('utf8'),
  };
}

function capturedRequests(): CapturedRequest[] {
  const dir = join(sharedDir(), 'fixtures/hushd-wire');
  const files = readdirSync(dir)
    .filter((name) => /^\d{4}_/.test(name))
    .sort();
  expect(files.length).toBeGreaterThan(40);
  return files.map((name) => {
    const raw = readFileSync(join(dir, name));
    return name.endsWith('.body.decoded') ? rebuildGzippedHec(name, raw) : parseHttp(name, raw);
  });
}

/** A nested field of parsed JSON, or undefined. */
const field = (value: unknown, ...path: (string | number)[]): unknown =>
  path.reduce<unknown>((node, key) => (node as Record<string | number, unknown> | undefined)?.[key], value);

/** The event ids a captured request carries, read straight from the hushd formats (not via our parsers). */
function idsIn({ url, text }: CapturedRequest): unknown[] {
  const lines = text
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line): unknown => JSON.parse(line));
  if (url.endsWith('/_bulk'))
    return lines.filter((_, i) => i % 2 === 1).map((doc) => field(doc, 'event', 'id'));
  if (url.includes('/services/collector')) {
    return lines.map((hec) => field(hec, 'event', 'id') ?? field(hec, 'event', 'event_id'));
  }
  if (url.endsWith('/v1/logs')) {
    const attributes = field(lines[0], 'resourceLogs', 0, 'scopeLogs', 0, 'logRecords', 0, 'attributes');
    const id = (attributes as { key: string; value: unknown }[]).find(
      (entry) => entry.key === 'hush.audit.id',
    );
    return [field(id, 'value', 'stringValue')];
  }
  if (url.endsWith('/ingest/hushd-certwebhook')) return []; // no id on the wire: identified by its digest
  return [field(lines[0], 'id') ?? field(lines[0], 'event_id')];
}

/** The reply each hushd exporter treats as delivered. */
function expectDelivered(
  request: CapturedRequest,
  status: number,
  reply: Record<string, unknown>,
  ids: string[],
): void {
  const label = `${request.file}: ${status} ${JSON.stringify(reply)}`;
  const { url } = request;
  if (url.includes('/services/collector')) expect(reply, label).toEqual({ text: 'Success', code: 0 });
  else if (url.endsWith('/v1/logs')) expect(reply, label).toEqual({});
  else if (url.endsWith('/_bulk'))
    expect(reply, label).toMatchObject({ errors: false, items: ids.map(() => ({ index: { status: 201 } })) });
  else if (url.endsWith('/_doc')) expect([status, reply._id], label).toEqual([201, ids[0]]);
  else expect([status, reply], label).toEqual([202, { accepted: 1, rejected: 0, errors: [] }]);
}

const CAPTURED_AT = Date.parse('2026-11-25T17:43:03Z');

const tokens = [
  'audit-webhook-token',
  'siem-webhook-token',
  'audit-hec-token',
  'audit-es-apikey',
  'siem-es-apikey',
  SIEM_HEC_TOKEN,
];

describe.each(BROKERS)('captured hushd requests → %s', (kind) => {
  brokerAddress(kind);
  const open = brokerCollectors();

  it('accepts every captured request, verifies the signed one, and publishes their events', async () => {
    const { app, transport } = await open(
      kind,
      {
        auth: { keys: tokens.map((token) => ({ id: token, sha256: sha256Hex(token), scopes: ['ingest'] })) },
        sources: {
          // The certificate webhook is authenticated by its signature alone; the OTLP sink sends no credentials.
          'hushd-certwebhook': { hmacSecret: 'whsec-test-secret' },
          'hushd-audit-otlp': { anonymous: true },
        },
      },
      // The signed webhook must arrive within its replay window: as it did when it was captured.
      { clock: () => CAPTURED_AT },
    );
    const expected = new Set<string>();
    for (const request of capturedRequests()) {
      const response = await app.inject({
        method: request.method as 'POST',
        url: request.url,
        headers: request.headers,
        payload: request.body,
      });
      const ids = idsIn(request).map(String);
      for (const id of ids) expected.add(id);
      expectDelivered(request, response.statusCode, response.json(), ids);
    }

    // The signature really is checked: one changed byte and the same request is refused.
    const signed = capturedRequests().find((request) => request.url === '/ingest/hushd-certwebhook')!;
    const tampered = Buffer.from(signed.body);
    tampered[tampered.length - 3]! ^= 0x01; // a digit of the timestamp: still valid JSON
    const refused = await app.inject({
      method: 'POST',
      url: signed.url,
      headers: signed.headers,
      payload: tampered,
    });
    expect(refused.statusCode).toBe(401);

    const messages = await collect(transport, 'events', {
      // NATS drops the copies hushd sends through several sinks (same id); Kafka keeps them.
      until: (received) => {
        const ids = new Set(received.map((message) => envelopeOf(message).eventId));
        return (
          [...expected].every((id) => ids.has(id)) &&
          received.some((message) => envelopeOf(message).source.format === 'hushd_webhook')
        );
      },
    });
    const envelopes = messages.map(envelopeOf);
    expect(new Set(envelopes.map((envelope) => envelope.eventId))).toEqual(
      new Set([
        ...expected,
        ...envelopes
          .filter((envelope) => envelope.source.format === 'hushd_webhook')
          .map((envelope) => envelope.eventId),
      ]),
    );
    const webhook = envelopes.find((envelope) => envelope.source.format === 'hushd_webhook');
    expect(webhook).toMatchObject({
      agentId: 'agent-drive',
      target: '/home/alice/.ssh/id_rsa',
      decision: { outcome: 'deny' },
    });
    if (kind === 'nats') expect(envelopes).toHaveLength(expected.size + 1);
  });
});
