/**
 * One catalog of stable error codes. Each code has an HTTP status (for the collector's replies) and says
 * whether retrying the same operation can succeed; `retry()` alone acts on that flag.
 */
export const ERROR_CATALOG = {
  EDR_ERR_CONFIG: { status: 500, retriable: false, message: 'invalid configuration' },
  EDR_ERR_UNAUTHORIZED: { status: 401, retriable: false, message: 'missing or invalid credentials' },
  EDR_ERR_FORBIDDEN: { status: 403, retriable: false, message: 'credentials lack the required scope' },
  EDR_ERR_BAD_SIGNATURE: { status: 401, retriable: false, message: 'signature does not verify' },
  EDR_ERR_REPLAYED: { status: 409, retriable: false, message: 'signed request already received' },
  EDR_ERR_BODY_TOO_LARGE: { status: 413, retriable: false, message: 'request body too large' },
  EDR_ERR_TOO_MANY_RECORDS: { status: 413, retriable: false, message: 'too many records in one request' },
  EDR_ERR_UNSUPPORTED_MEDIA: { status: 415, retriable: false, message: 'unsupported content type' },
  EDR_ERR_BAD_ENCODING: { status: 400, retriable: false, message: 'body could not be decoded' },
  EDR_ERR_BAD_REQUEST: { status: 400, retriable: false, message: 'malformed request' },
  EDR_ERR_RATE_LIMITED: { status: 429, retriable: true, message: 'rate limit exceeded' },
  EDR_ERR_BROKER_UNAVAILABLE: { status: 503, retriable: true, message: 'message broker unavailable' },
  EDR_ERR_BROKER_TIMEOUT: {
    status: 503,
    retriable: true,
    message: 'message broker did not acknowledge in time',
  },
  EDR_ERR_BROKER_REJECTED: { status: 500, retriable: false, message: 'message broker refused the records' },
  EDR_ERR_NOT_FOUND: { status: 404, retriable: false, message: 'no such route' },
  EDR_ERR_NO_RECORDS: { status: 400, retriable: false, message: 'request carries no records' },
  EDR_ERR_INTERNAL: { status: 500, retriable: false, message: 'internal error' },
  EDR_ERR_SINK_RETRYABLE: { status: 503, retriable: true, message: 'sink temporarily failed' },
  EDR_ERR_SINK_PERMANENT: { status: 500, retriable: false, message: 'sink rejected the item' },
  EDR_ERR_RULE_INVALID: { status: 400, retriable: false, message: 'rule is invalid' },
  EDR_ERR_CIRCUIT_OPEN: { status: 503, retriable: true, message: 'circuit open for endpoint' },
  EDR_ERR_CSRF: { status: 403, retriable: false, message: 'missing or invalid CSRF token' },
  EDR_ERR_ACTION_UNAVAILABLE: {
    status: 409,
    retriable: false,
    message: 'no webhook target is configured for that response action',
  },
} as const satisfies Record<string, { status: number; retriable: boolean; message: string }>;

export type ErrorCode = keyof typeof ERROR_CATALOG;

export class EdrError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  readonly retriable: boolean;
  /** Seconds a client should wait before retrying, when the failure says so. */
  readonly retryAfterSeconds: number | undefined;

  constructor(code: ErrorCode, detail?: string, options?: { cause?: unknown; retryAfterSeconds?: number }) {
    const entry = ERROR_CATALOG[code];
    super(detail ? `${entry.message}: ${detail}` : entry.message, { cause: options?.cause });
    this.name = 'EdrError';
    this.code = code;
    this.status = entry.status;
    this.retriable = entry.retriable;
    this.retryAfterSeconds = options?.retryAfterSeconds;
  }
}

export function isRetriable(error: unknown): boolean {
  return error instanceof EdrError ? error.retriable : false;
}
