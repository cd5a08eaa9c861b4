import { gunzipSync } from 'node:zlib';
import { HEC_CODES, type HecCode } from '../../sinks/splunk-hec/codes.ts';
import { type RecordedRequest, ScriptedHttpServer, type ScriptedResponse } from './http-server.ts';

/**
 * A Splunk HTTP Event Collector stand-in that answers as Splunk documents it: token auth (codes 1-4),
 * gzip bodies, concatenated JSON event objects (5, 6, 12, 13), per-token index allow lists (7), busy mode
 * (9), request channels (10, 11) and indexer acknowledgement (ackId, /services/collector/ack, 14).
 * A request with any bad event is rejected whole, with `invalid-event-number` naming the first one.
 */

export interface HecTokenOptions {
  /** Indexes the token may write to; the first is its default index. */
  indexes?: string[];
  ack?: boolean;
  disabled?: boolean;
}

export interface ReceivedHecEvent {
  token: string;
  index: string;
  time?: number;
  host?: string;
  source?: string;
  sourcetype?: string;
  event: unknown;
}

export interface HecRequestLog {
  path: string;
  gzip: boolean;
  code: number;
  events: number;
}

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export class HecReceiver {
  readonly events: ReceivedHecEvent[] = [];
  readonly log: HecRequestLog[] = [];
  private busyRequests = 0;
  private nextAckId = new Map<string, number>();
  /** Per channel, ackId → polls answered so far. */
  private pendingAcks = new Map<string, Map<number, number>>();

  private constructor(
    private readonly server: ScriptedHttpServer,
    private readonly tokens: Record<string, HecTokenOptions>,
    private readonly ackAfterPolls: number,
  ) {}

  static async start(
    tokens: Record<string, HecTokenOptions>,
    options: { ackAfterPolls?: number } = {},
  ): Promise<HecReceiver> {
    let receiver: HecReceiver | undefined;
    const server = await ScriptedHttpServer.start((request) => receiver!.handle(request));
    receiver = new HecReceiver(server, tokens, options.ackAfterPolls ?? 2);
    return receiver;
  }

  get url(): string {
    return this.server.url;
  }

  /** The next `requests` event requests are answered 503, code 9 "Server is busy". */
  busy(requests: number): void {
    this.busyRequests = requests;
  }

  close(): Promise<void> {
    return this.server.close();
  }

  private handle(request: RecordedRequest): ScriptedResponse {
    const url = new URL(request.path, 'http://hec');
    const gzip = request.headers['content-encoding'] === 'gzip';
    const answer = (code: HecCode, extra: Record<string, unknown> = {}, events = 0): ScriptedResponse => {
      this.log.push({ path: url.pathname, gzip, code, events });
      const { http, text } = HEC_CODES[code];
      return { status: http, body: JSON.stringify({ text, code, ...extra }) };
    };
    if (url.pathname === '/services/collector/health') return answer(17);

    const authorization = request.headers.authorization;
    if (!authorization) return answer(2);
    if (!authorization.startsWith('Splunk ')) return answer(3);
    const token = authorization.slice('Splunk '.length);
    const options = this.tokens[token];
    if (!options) return answer(4);
    if (options.disabled) return answer(1);

    const channel =
      (request.headers['x-splunk-request-channel'] as string | undefined) ?? url.searchParams.get('channel');
    if (url.pathname === '/services/collector/ack') return this.ack(options, channel, request.body, answer);
    if (url.pathname !== '/services/collector/event' && url.pathname !== '/services/collector') {
      return {
        status: 404,
        body: JSON.stringify({ text: 'The requested URL was not found on this server.', code: 404 }),
      };
    }
    if (this.busyRequests > 0) {
      this.busyRequests--;
      return answer(9);
    }
    if (options.ack) {
      if (!channel) return answer(10);
      if (!GUID.test(channel)) return answer(11);
    }

    let text: string;
    try {
      text = (gzip ? gunzipSync(request.body) : request.body).toString('utf8');
    } catch {
      return answer(6, { 'invalid-event-number': 0 });
    }
    if (text.trim() === '') return answer(5);
    const parsed = splitConcatenatedJson(text);
    const allowed = options.indexes ?? ['main'];
    const accepted: ReceivedHecEvent[] = [];
    for (const [number, value] of parsed.values.entries()) {
      if (typeof value !== 'object' || value === null || Array.isArray(value)) {
        return answer(6, { 'invalid-event-number': number });
      }
      const object = value as Record<string, unknown>;
      if (!('event' in object)) return answer(12, { 'invalid-event-number': number });
      if (object.event === '' || object.event === null) return answer(13, { 'invalid-event-number': number });
      const index = typeof object.index === 'string' ? object.index : allowed[0]!;
      if (!allowed.includes(index)) return answer(7, { 'invalid-event-number': number });
      accepted.push({
        token,
        index,
        time: typeof object.time === 'number' ? object.time : undefined,
        host: object.host as string | undefined,
        source: object.source as string | undefined,
        sourcetype: object.sourcetype as string | undefined,
        event: object.event,
      });
    }
    if (parsed.invalidAt !== undefined) return answer(6, { 'invalid-event-number': parsed.invalidAt });
    this.events.push(...accepted);
    if (!options.ack || !channel) return answer(0, {}, accepted.length);
    const ackId = this.nextAckId.get(channel) ?? 0;
    this.nextAckId.set(channel, ackId + 1);
    const pending = this.pendingAcks.get(channel) ?? new Map<number, number>();
    pending.set(ackId, 0);
    this.pendingAcks.set(channel, pending);
    return answer(0, { ackId }, accepted.length);
  }

  private ack(
    options: HecTokenOptions,
    channel: string | null,
    body: Buffer,
    answer: (code: HecCode) => ScriptedResponse,
  ): ScriptedResponse {
    if (!options.ack) return answer(14);
    if (!channel) return answer(10);
    let ids: unknown;
    try {
      ids = (JSON.parse(body.toString('utf8')) as { acks?: unknown }).acks;
    } catch {
      return answer(6);
    }
    if (!Array.isArray(ids)) return answer(6);
    const pending = this.pendingAcks.get(channel) ?? new Map<number, number>();
    const acks: Record<string, boolean> = {};
    for (const id of ids) {
      const polls = pending.get(Number(id));
      if (polls === undefined) {
        acks[String(id)] = false;
        continue;
      }
      pending.set(Number(id), polls + 1);
      acks[String(id)] = polls + 1 >= this.ackAfterPolls;
    }
    this.log.push({ path: '/services/collector/ack', gzip: false, code: 0, events: 0 });
    return { status: 200, body: JSON.stringify({ acks }) };
  }
}

/**
 * Splits HEC's concatenated JSON ("{...}{...}" or newline-separated) into values; stops at the first
 * object that does not parse and reports its position.
 */
export function splitConcatenatedJson(text: string): { values: unknown[]; invalidAt?: number } {
  const values: unknown[] = [];
  let depth = 0;
  let start = -1;
  let inString = false;
  let escaped = false;
  for (let i = 0; i < text.length; i++) {
    const char = text[i]!;
    if (inString) {
      if (escaped) escaped = false;
      else if (char === '\\') escaped = true;
      else if (char === '"') inString = false;
      continue;
    }
    if (char === '"') inString = true;
    else if (char === '{') {
      if (depth === 0) start = i;
      depth++;
    } else if (char === '}') {
      depth--;
      if (depth === 0) {
        try {
          values.push(JSON.parse(text.slice(start, i + 1)));
        } catch {
          return { values, invalidAt: values.length };
        }
      }
      if (depth < 0) return { values, invalidAt: values.length };
    } else if (depth === 0 && !/\s/.test(char)) {
      return { values, invalidAt: values.length };
    }
  }
  return depth === 0 ? { values } : { values, invalidAt: values.length };
}
