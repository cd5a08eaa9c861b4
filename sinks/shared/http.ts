import { Agent as HttpAgent, request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { EdrError } from '../../core/errors.ts';
import type { TlsOptions } from './config.ts';

export interface HttpRequest {
  url: string;
  method: string;
  headers: Record<string, string>;
  body?: string | Buffer;
  /** Overrides the client's timeout for this request. */
  timeoutMs?: number;
}

export interface HttpResponse {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
}

export interface HttpClientOptions {
  timeoutMs: number;
  tls?: TlsOptions;
  maxSockets?: number;
}

/** Enough of a response body for classification and error messages; the rest is discarded. */
const MAX_RESPONSE_BYTES = 1024 * 1024;

/**
 * node:http with keep-alive agents and a whole-request deadline. Connection failures and timeouts reject
 * with a retriable EdrError; any HTTP status resolves, for the sink's classifier to judge.
 */
export class HttpClient {
  private readonly http: HttpAgent;
  private readonly https: HttpsAgent;

  constructor(private readonly options: HttpClientOptions) {
    const maxSockets = options.maxSockets ?? 16;
    this.http = new HttpAgent({ keepAlive: true, maxSockets });
    this.https = new HttpsAgent({ keepAlive: true, maxSockets, ...options.tls });
  }

  send(request: HttpRequest): Promise<HttpResponse> {
    const url = new URL(request.url);
    const secure = url.protocol === 'https:';
    const send = secure ? httpsRequest : httpRequest;
    const headers: Record<string, string> = { ...request.headers };
    if (request.body !== undefined) headers['content-length'] = String(Buffer.byteLength(request.body));
    return new Promise((resolve, reject) => {
      const req = send(
        url,
        {
          method: request.method,
          headers,
          agent: secure ? this.https : this.http,
          signal: AbortSignal.timeout(request.timeoutMs ?? this.options.timeoutMs),
        },
        (res) => {
          const chunks: Buffer[] = [];
          let size = 0;
          res.on('data', (chunk: Buffer) => {
            size += chunk.length;
            if (size <= MAX_RESPONSE_BYTES) chunks.push(chunk);
          });
          res.on('end', () =>
            resolve({
              status: res.statusCode ?? 0,
              headers: res.headers,
              body: Buffer.concat(chunks).toString('utf8'),
            }),
          );
          res.on('error', (error) => reject(transportError(request, error)));
        },
      );
      req.on('error', (error) => reject(transportError(request, error)));
      req.end(request.body);
    });
  }

  close(): void {
    this.http.destroy();
    this.https.destroy();
  }
}

function transportError(request: HttpRequest, error: Error): EdrError {
  const code = (error as { code?: string }).code;
  const what =
    error.name === 'TimeoutError' || error.name === 'AbortError' ? 'timed out' : (code ?? error.message);
  return new EdrError('EDR_ERR_SINK_RETRYABLE', `${request.method} ${originOf(request.url)} ${what}`, {
    cause: error,
  });
}

/** Scheme, host and port: what a circuit breaker keys on and what error messages show (never the path). */
export function originOf(url: string): string {
  return new URL(url).origin;
}
