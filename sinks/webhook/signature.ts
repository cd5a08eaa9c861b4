import { createHmac, timingSafeEqual } from 'node:crypto';

/**
 * Standard Webhooks 1.0 (symmetric scheme): `webhook-signature: v1,<base64 HMAC-SHA256>` over
 * `<webhook-id>.<webhook-timestamp>.<raw body>`, keyed with the base64-decoded `whsec_…` secret. Receivers can
 * use any Standard Webhooks library, or verifyWebhookSignature below.
 */
export const ID_HEADER = 'webhook-id';
export const TIMESTAMP_HEADER = 'webhook-timestamp';
export const SIGNATURE_HEADER = 'webhook-signature';

/** The reference libraries' tolerance: five minutes either way. */
export const DEFAULT_TOLERANCE_SECONDS = 5 * 60;

const SECRET_PREFIX = 'whsec_';
const MIN_SECRET_BYTES = 24;
const MAX_SECRET_BYTES = 64;
/** Canonical padded base64: what decodes to exactly one byte string and re-encodes to itself. */
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
/** Visible ASCII without `.` (it separates the signed parts) and `,` (node joins repeated headers with it). */
const MESSAGE_ID = /^[\x21-\x2b\x2d\x2f-\x7e]{1,256}$/;
/** A plain decimal integer: no sign, no leading zero, no fraction, no exponent, no hex; up to year 33658. */
const UNIX_SECONDS = /^(?:0|[1-9][0-9]{0,11})$/;
/** `<version>,<base64>`; only v1 entries are checked, the others are skipped (e.g. v1a, ed25519). */
const SIGNATURE_ENTRY = /^(v[0-9a-z]{1,8}),([A-Za-z0-9+/=]{1,512})$/;
const MAX_SIGNATURE_ENTRIES = 16;
const SHA256_BYTES = 32;

function decodeBase64(text: string): Buffer | undefined {
  if (text === '' || !BASE64.test(text)) return undefined;
  const bytes = Buffer.from(text, 'base64');
  return bytes.toString('base64') === text ? bytes : undefined;
}

/** Why a secret is unusable, or undefined. The `whsec_` prefix is optional, as in the reference libraries. */
export function secretProblem(secret: string): string | undefined {
  const key = decodeBase64(secret.startsWith(SECRET_PREFIX) ? secret.slice(SECRET_PREFIX.length) : secret);
  if (!key) return 'must be whsec_ followed by padded base64';
  if (key.length < MIN_SECRET_BYTES || key.length > MAX_SECRET_BYTES) {
    return `must decode to ${MIN_SECRET_BYTES} to ${MAX_SECRET_BYTES} bytes, not ${key.length}`;
  }
  return undefined;
}

function secretKey(secret: unknown): Buffer | undefined {
  if (typeof secret !== 'string' || secretProblem(secret)) return undefined;
  return decodeBase64(secret.startsWith(SECRET_PREFIX) ? secret.slice(SECRET_PREFIX.length) : secret);
}

function hmac(key: Buffer, id: string, timestamp: string, body: string | Uint8Array): Buffer {
  return createHmac('sha256', key).update(`${id}.${timestamp}.`).update(body).digest();
}

/**
 * The `webhook-signature` value for one attempt. The secret is checked when the config is parsed; an
 * unusable one throws here.
 */
export function signWebhook(
  secret: string,
  id: string,
  timestamp: number,
  body: string | Uint8Array,
): string {
  const key = secretKey(secret);
  if (!key) throw new TypeError(`webhook secret ${secretProblem(secret) ?? 'is not a string'}`);
  return `v1,${hmac(key, id, String(timestamp), body).toString('base64')}`;
}

export type HeaderValue = string | readonly string[] | undefined;

export interface VerifyWebhookSignatureInput {
  /** `whsec_<base64>`, as configured on the sender. */
  secret: string;
  /**
   * The request headers, any letter case. Node: pass `req.headersDistinct`, so that a repeated header is seen
   * as such (`req.headers` joins some repeats with commas, which then fail as malformed).
   */
  headers: Readonly<Record<string, HeaderValue>>;
  /** The raw request body, exactly as received (before any JSON parsing). */
  body: string | Uint8Array;
  /** Largest accepted distance between webhook-timestamp and `now`, either way: a finite number ≥ 0. */
  toleranceSeconds?: number;
  /** Epoch milliseconds; defaults to the wall clock. */
  now?: number;
}

export type WebhookRejection =
  /** The secret is not whsec_ + base64 of 24–64 bytes. */
  | 'bad-secret'
  /** toleranceSeconds or now is not a finite number (tolerance ≥ 0). */
  | 'bad-options'
  /** The body is neither a string nor bytes. */
  | 'bad-body'
  | 'missing-header'
  /** A header given more than once (an array of several values, or two keys differing in case). */
  | 'duplicate-header'
  /** An id with `.`/`,`/spaces, a timestamp that is not a plain decimal integer, a bad signature list. */
  | 'malformed-header'
  | 'stale-timestamp'
  | 'mismatch';

export type WebhookVerification =
  | { valid: true; id: string; timestamp: number }
  | { valid: false; reason: WebhookRejection; header?: string };

const reject = (reason: WebhookRejection, header?: string): WebhookVerification =>
  header === undefined ? { valid: false, reason } : { valid: false, reason, header };

/**
 * Checks a Standard Webhooks request: the headers' form, the timestamp's age, then the v1 signatures (any
 * one that matches, compared in constant time). Fails closed: every input it cannot read is a rejection,
 * never an exception and never a pass.
 */
export function verifyWebhookSignature(input: VerifyWebhookSignatureInput): WebhookVerification {
  const { toleranceSeconds = DEFAULT_TOLERANCE_SECONDS, now = Date.now() } = input;
  const key = secretKey(input.secret);
  if (!key) return reject('bad-secret');
  if (!Number.isFinite(toleranceSeconds) || toleranceSeconds < 0 || !Number.isFinite(now)) {
    return reject('bad-options');
  }
  if (typeof input.body !== 'string' && !(input.body instanceof Uint8Array)) return reject('bad-body');

  const headers = readHeaders(input.headers);
  if (!headers.ok) return headers.rejection;
  const { id, timestamp, signature } = headers;
  if (!MESSAGE_ID.test(id)) return reject('malformed-header', ID_HEADER);
  if (!UNIX_SECONDS.test(timestamp)) return reject('malformed-header', TIMESTAMP_HEADER);
  const entries = signature.split(' ');
  if (entries.length > MAX_SIGNATURE_ENTRIES) return reject('malformed-header', SIGNATURE_HEADER);
  const candidates: Buffer[] = [];
  for (const entry of entries) {
    const match = SIGNATURE_ENTRY.exec(entry);
    if (!match) return reject('malformed-header', SIGNATURE_HEADER);
    if (match[1] !== 'v1') continue;
    const bytes = decodeBase64(match[2]!);
    if (bytes?.length !== SHA256_BYTES) return reject('malformed-header', SIGNATURE_HEADER);
    candidates.push(bytes);
  }

  const seconds = Number(timestamp);
  if (Math.abs(now / 1000 - seconds) > toleranceSeconds) return reject('stale-timestamp', TIMESTAMP_HEADER);
  const expected = hmac(key, id, timestamp, input.body);
  // Every candidate is compared, in constant time: response timing tells nothing about a guess.
  let matched = false;
  for (const candidate of candidates) matched = timingSafeEqual(expected, candidate) || matched;
  return matched ? { valid: true, id, timestamp: seconds } : reject('mismatch', SIGNATURE_HEADER);
}

type ReadHeaders =
  | { ok: true; id: string; timestamp: string; signature: string }
  | { ok: false; rejection: WebhookVerification };

function readHeaders(headers: Readonly<Record<string, HeaderValue>>): ReadHeaders {
  if (typeof headers !== 'object' || headers === null)
    return { ok: false, rejection: reject('missing-header') };
  const found = new Map<string, string>();
  for (const [name, value] of Object.entries(headers)) {
    const lower = name.toLowerCase();
    if (lower !== ID_HEADER && lower !== TIMESTAMP_HEADER && lower !== SIGNATURE_HEADER) continue;
    if (value === undefined) continue;
    const values = typeof value === 'string' ? [value] : value;
    if (found.has(lower) || !Array.isArray(values) || values.length > 1) {
      return { ok: false, rejection: reject('duplicate-header', lower) };
    }
    if (values.length === 0) continue;
    if (typeof values[0] !== 'string') return { ok: false, rejection: reject('malformed-header', lower) };
    found.set(lower, values[0]);
  }
  for (const name of [ID_HEADER, TIMESTAMP_HEADER, SIGNATURE_HEADER]) {
    if (!found.get(name)) return { ok: false, rejection: reject('missing-header', name) };
  }
  return {
    ok: true,
    id: found.get(ID_HEADER)!,
    timestamp: found.get(TIMESTAMP_HEADER)!,
    signature: found.get(SIGNATURE_HEADER)!,
  };
}
