import { gzipSync } from 'node:zlib';
import { z } from 'zod';
import { err, ok, type Result, retry } from '../core/index.ts';
import { type BatchOutcome, FatalSinkError, type RecordSink } from './sink.ts';

export interface HttpSinkOptions {
  /** The collector's base URL (`http://host:port`), or its /v1/events URL. */
  target: string;
  apiKey: string;
  gzip?: boolean;
  /** Attempts per batch, the first included. */
  attempts?: number;
  initialDelayMs?: number;
  maxDelayMs?: number;
  timeoutMs?: number;
  /** Cancels the request in flight and any wait before a retry (a second Ctrl-C). */
  abort?: AbortSignal;
  onRetry?: (reason: string, delayMs: number) => void;
}

/** 429 and 503 say "come back later"; 502/504 and lost connections usually mean the same. */
const RETRIABLE_STATUSES = new Set([429, 502, 503, 504]);
const MAX_RETRY_AFTER_MS = 60_000;

class RetriableSendError extends Error {
  readonly retriable = true;
  constructor(
    message: string,
    readonly retryAfterMs?: number,
  ) {
    super(message);
  }
}

const AcceptanceSchema = z.object({
  accepted: z.number().int().nonnegative(),
  rejected: z.number().int().nonnegative(),
  errors: z
    .array(
      z.looseObject({
        index: z.number().optional(),
        line: z.number().optional(),
        field: z.string().optional(),
        message: z.string().optional(),
      }),
    )
    .optional(),
});

export function eventsUrl(target: string): URL {
  const url = new URL(target);
  if (!url.pathname.endsWith('/v1/events')) url.pathname = `${url.pathname.replace(/\/+$/, '')}/v1/events`;
  return url;
}

/**
 * POSTs NDJSON batches to `<target>/v1/events`. A batch the target pushes back on is sent again byte for byte
 * (same eventIds, so the pipeline dedupes): at-least-once.
 */
export class HttpSink implements RecordSink {
  readonly url: URL;
  private readonly options: HttpSinkOptions;

  constructor(options: HttpSinkOptions) {
    this.options = options;
    this.url = eventsUrl(options.target);
  }

  async send(lines: readonly string[]): Promise<BatchOutcome> {
    const text = `${lines.join('\n')}\n`;
    const body = this.options.gzip ? gzipSync(text) : Buffer.from(text);
    try {
      return await retry(() => this.post(body, lines.length), {
        attempts: this.options.attempts ?? 8,
        initialDelayMs: this.options.initialDelayMs ?? 500,
        maxDelayMs: this.options.maxDelayMs ?? 15_000,
        requestedDelayMs: (error) => (error instanceof RetriableSendError ? error.retryAfterMs : undefined),
        onRetry: (error, _attempt, delayMs) => this.options.onRetry?.(messageOf(error), delayMs),
        sleep: (ms) => abortableSleep(ms, this.options.abort),
      });
    } catch (error) {
      if (error instanceof FatalSinkError) throw error;
      return {
        accepted: 0,
        rejected: 0,
        failed: lines.length,
        errors: [`batch failed: ${messageOf(error)}`],
      };
    }
  }

  async close(): Promise<void> {}

  private async post(body: Buffer, count: number): Promise<BatchOutcome> {
    if (this.options.abort?.aborted) throw new Error('interrupted');
    const headers: Record<string, string> = {
      authorization: `Bearer ${this.options.apiKey}`,
      'content-type': 'application/x-ndjson',
    };
    if (this.options.gzip) headers['content-encoding'] = 'gzip';
    let response: Response;
    try {
      response = await fetch(this.url, { method: 'POST', headers, body, signal: this.requestSignal() });
    } catch (error) {
      if (this.options.abort?.aborted) throw new Error('interrupted');
      throw new RetriableSendError(`cannot reach ${this.url.origin} (${networkReason(error)})`);
    }
    const reply = await response.text();
    if (response.ok) return acceptance(reply, count);
    const status = `HTTP ${response.status}${reply ? `: ${reply.slice(0, 200)}` : ''}`;
    if (RETRIABLE_STATUSES.has(response.status)) {
      throw new RetriableSendError(status, retryAfterMs(response.headers.get('retry-after')));
    }
    if (response.status === 401 || response.status === 403) {
      throw new FatalSinkError(`${this.url.href} refused the API key (${status})`);
    }
    if (response.status === 404) {
      throw new FatalSinkError(
        `${this.url.href} does not exist (HTTP 404): is --target the collector's base URL?`,
      );
    }
    throw new Error(status);
  }

  private requestSignal(): AbortSignal {
    const timeout = AbortSignal.timeout(this.options.timeoutMs ?? 15_000);
    return this.options.abort ? AbortSignal.any([timeout, this.options.abort]) : timeout;
  }
}

/** Checks that something answers HTTP at the target before the run starts; any status will do. */
export async function probeTarget(target: string, timeoutMs = 5000): Promise<Result<void, string>> {
  const url = new URL('/healthz', eventsUrl(target));
  try {
    const response = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
    await response.body?.cancel();
    return ok(undefined);
  } catch (error) {
    return err(`cannot reach ${url.origin} (${networkReason(error)})`);
  }
}

function acceptance(reply: string, count: number): BatchOutcome {
  let parsed: z.infer<typeof AcceptanceSchema> | undefined;
  try {
    parsed = AcceptanceSchema.parse(JSON.parse(reply));
  } catch {
    // A 2xx without the collector's counts (another HEC-like target, a proxy): everything was taken.
    return { accepted: count, rejected: 0, failed: 0, errors: [] };
  }
  const errors = (parsed.errors ?? []).map((item) =>
    [item.field, item.message].filter((part) => part !== undefined).join(': '),
  );
  return { accepted: parsed.accepted, rejected: parsed.rejected, failed: 0, errors };
}

/** Retry-After in seconds or as an HTTP date; capped so a confused target cannot park the run. */
export function retryAfterMs(header: string | null, now = Date.now()): number | undefined {
  if (!header) return undefined;
  const seconds = Number(header);
  const ms = Number.isFinite(seconds) ? seconds * 1000 : Date.parse(header) - now;
  return Number.isFinite(ms) ? Math.min(Math.max(0, ms), MAX_RETRY_AFTER_MS) : undefined;
}

/** fetch hides the socket error under `cause`; that code is what tells a user what is wrong. */
function networkReason(error: unknown): string {
  const cause = error instanceof Error ? error.cause : undefined;
  if (cause instanceof Error) return (cause as NodeJS.ErrnoException).code ?? cause.message;
  if (error instanceof Error && error.name === 'TimeoutError') return 'timed out';
  return messageOf(error);
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function abortableSleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const timer = setTimeout(resolve, ms);
    signal?.addEventListener(
      'abort',
      () => {
        clearTimeout(timer);
        resolve();
      },
      { once: true },
    );
  });
}
