import {
  createHmac,
  createPrivateKey,
  createPublicKey,
  type KeyObject,
  sign as signEd25519,
  timingSafeEqual,
  verify as verifyEd25519,
} from 'node:crypto';

/**
 * Standard Webhooks 1.0 over `<webhook-id>.<webhook-timestamp>.<raw body>`:
 * - symmetric: `v1,<base64 HMAC-SHA256>`, keyed with the base64-decoded `whsec_…` secret;
 * - asymmetric: `v1a,<base64 ed25519 signature>`, signed with a `whsk_…` key, verified with its `whpk_…` key.
 * Several keys (rotation) give a space-separated list, one entry per key. Receivers can use any Standard
 * Webhooks library, or verifyWebhookSignature below.
 */
export const ID_HEADER = 'webhook-id';
export const TIMESTAMP_HEADER = 'webhook-timestamp';
export const SIGNATURE_HEADER = 'webhook-signature';

/** The reference libraries' tolerance: five minutes either way. */
export const DEFAULT_TOLERANCE_SECONDS = 5 * 60;

const SECRET_PREFIX = 'whsec_';
const ED25519_SECRET_PREFIX = 'whsk_';
const ED25519_PUBLIC_PREFIX = 'whpk_';
const MIN_SECRET_BYTES = 24;
const MAX_SECRET_BYTES = 64;
/** RFC 8032: a 32-byte private key (the seed) and a 32-byte public key; signatures are 64 bytes. */
const ED25519_KEY_BYTES = 32;
const ED25519_SIGNATURE_BYTES = 64;
/** DER headers that wrap a raw ed25519 key as PKCS#8 / SPKI (RFC 8410), the forms node:crypto imports. */
const PKCS8_ED25519_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex');
const SPKI_ED25519_PREFIX = Buffer.from('302a300506032b6570032100', 'hex');
/** Keys a sink signs with at once (rotation); each adds a signing operation to every attempt. */
export const MAX_SIGNING_KEYS = 8;
/** Canonical padded base64: what decodes to exactly one byte string and re-encodes to itself. */
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
/** Visible ASCII without `.` (it separates the signed parts) and `,` (node joins repeated headers with it). */
const MESSAGE_ID = /^[\x21-\x2b\x2d\x2f-\x7e]{1,256}$/;
/** A plain decimal integer: no sign, no leading zero, no fraction, no exponent, no hex; up to year 33658. */
const UNIX_SECONDS = /^(?:0|[1-9][0-9]{0,11})$/;
/** `<version>,<base64>`; v1 and v1a entries are checked, the others are skipped. */
const SIGNATURE_ENTRY = /^(v[0-9a-z]{1,8}),([A-Za-z0-9+/=]{1,512})$/;
const MAX_SIGNATURE_ENTRIES = 16;
const SHA256_BYTES = 32;

function decodeBase64(text: string): Buffer | undefined {
  if (text === '' || !BASE64.test(text)) return undefined;
  const bytes = Buffer.from(text, 'base64');
  return bytes.toString('base64') === text ? bytes : undefined;
}

type SigningKey = { version: 'v1'; hmacKey: Buffer } | { version: 'v1a'; privateKey: KeyObject };
type VerifyingKey = { version: 'v1'; hmacKey: Buffer } | { version: 'v1a'; publicKey: KeyObject };
type Parsed<T> = { ok: true; key: T } | { ok: false; problem: string };

function hmacKeyOf(base64: string): Parsed<Buffer> {
  const key = decodeBase64(base64);
  if (!key) return { ok: false, problem: 'must be whsec_ followed by padded base64' };
  if (key.length < MIN_SECRET_BYTES || key.length > MAX_SECRET_BYTES) {
    return {
      ok: false,
      problem: `must decode to ${MIN_SECRET_BYTES} to ${MAX_SECRET_BYTES} bytes, not ${key.length}`,
    };
  }
  return { ok: true, key };
}

/** A `whsk_` (private) or `whpk_` (public) key: the prefix, then the base64 of the raw 32-byte key. */
function ed25519KeyOf(kind: 'private' | 'public', text: string): Parsed<KeyObject> {
  const prefix = kind === 'private' ? ED25519_SECRET_PREFIX : ED25519_PUBLIC_PREFIX;
  const raw = decodeBase64(text.slice(prefix.length));
  if (raw?.length !== ED25519_KEY_BYTES) {
    return { ok: false, problem: `must be ${prefix} followed by the base64 of a 32-byte ed25519 key` };
  }
  const key =
    kind === 'private'
      ? createPrivateKey({ key: Buffer.concat([PKCS8_ED25519_PREFIX, raw]), format: 'der', type: 'pkcs8' })
      : createPublicKey({ key: Buffer.concat([SPKI_ED25519_PREFIX, raw]), format: 'der', type: 'spki' });
  return { ok: true, key };
}

/** A sender's key: `whsec_<base64>` (or bare base64, as in the reference libraries) or `whsk_<base64 seed>`. */
function parseSigningKey(secret: string): Parsed<SigningKey> {
  if (secret.startsWith(ED25519_SECRET_PREFIX)) {
    const privateKey = ed25519KeyOf('private', secret);
    return privateKey.ok ? { ok: true, key: { version: 'v1a', privateKey: privateKey.key } } : privateKey;
  }
  const hmacKey = hmacKeyOf(secret.startsWith(SECRET_PREFIX) ? secret.slice(SECRET_PREFIX.length) : secret);
  return hmacKey.ok ? { ok: true, key: { version: 'v1', hmacKey: hmacKey.key } } : hmacKey;
}

/** A receiver's key: the shared `whsec_` secret (prefix optional) or the sender's `whpk_` public key. */
function parseVerifyingKey(key: string): Parsed<VerifyingKey> {
  if (key.startsWith(ED25519_PUBLIC_PREFIX)) {
    const publicKey = ed25519KeyOf('public', key);
    return publicKey.ok ? { ok: true, key: { version: 'v1a', publicKey: publicKey.key } } : publicKey;
  }
  const parsed = parseSigningKey(key);
  if (!parsed.ok) return parsed;
  if (parsed.key.version === 'v1a') {
    return { ok: false, problem: 'is a whsk_ signing key: receivers hold its whpk_ public key' };
  }
  return { ok: true, key: parsed.key };
}

/** Why a signing secret is unusable, or undefined. */
export function secretProblem(secret: string): string | undefined {
  const parsed = parseSigningKey(secret);
  return parsed.ok ? undefined : parsed.problem;
}

/** The `whpk_` public key that receivers verify a `whsk_` key's `v1a` signatures with. */
export function webhookPublicKey(secret: string): string {
  const parsed = parseSigningKey(secret);
  if (!parsed.ok || parsed.key.version !== 'v1a') throw new TypeError('not a whsk_ ed25519 signing key');
  const spki = createPublicKey(parsed.key.privateKey).export({ format: 'der', type: 'spki' });
  return `${ED25519_PUBLIC_PREFIX}${spki.subarray(SPKI_ED25519_PREFIX.length).toString('base64')}`;
}

function signedContent(id: string, timestamp: string, body: string | Uint8Array): Buffer {
  return Buffer.concat([
    Buffer.from(`${id}.${timestamp}.`),
    typeof body === 'string' ? Buffer.from(body) : body,
  ]);
}

function hmac(key: Buffer, content: Buffer): Buffer {
  return createHmac('sha256', key).update(content).digest();
}

/**
 * The `webhook-signature` value for one attempt: one entry per key, in the order given (rotation: the new
 * key and the old one until every receiver has the new one). The keys are checked when the config is
 * parsed; an unusable one throws here.
 */
export function signWebhook(
  secrets: string | readonly string[],
  id: string,
  timestamp: number,
  body: string | Uint8Array,
): string {
  const list = typeof secrets === 'string' ? [secrets] : secrets;
  if (list.length === 0 || list.length > MAX_SIGNING_KEYS) {
    throw new TypeError(`webhook secrets: 1 to ${MAX_SIGNING_KEYS}, not ${list.length}`);
  }
  const content = signedContent(id, String(timestamp), body);
  return list
    .map((secret) => {
      const parsed = parseSigningKey(secret);
      if (!parsed.ok) throw new TypeError(`webhook secret ${parsed.problem}`);
      const { key } = parsed;
      const signature =
        key.version === 'v1' ? hmac(key.hmacKey, content) : signEd25519(null, content, key.privateKey);
      return `${key.version},${signature.toString('base64')}`;
    })
    .join(' ');
}

export type HeaderValue = string | readonly string[] | undefined;

export interface VerifyWebhookSignatureInput {
  /**
   * The keys to accept: `whsec_<base64>` secrets (prefix optional) for `v1` entries and `whpk_<base64>` public
   * keys for `v1a` entries; several during a rotation. Up to MAX_SIGNING_KEYS.
   */
  secret: string | readonly string[];
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
  /** A key is neither whsec_ + base64 of 24–64 bytes nor whpk_ + base64 of 32 bytes; or none, or too many. */
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

function verifyingKeys(secret: unknown): VerifyingKey[] | undefined {
  const list: unknown[] = typeof secret === 'string' ? [secret] : Array.isArray(secret) ? secret : [];
  if (list.length === 0 || list.length > MAX_SIGNING_KEYS) return undefined;
  const keys: VerifyingKey[] = [];
  for (const item of list) {
    const parsed = typeof item === 'string' ? parseVerifyingKey(item) : undefined;
    if (!parsed?.ok) return undefined;
    keys.push(parsed.key);
  }
  return keys;
}

const SIGNATURE_BYTES = { v1: SHA256_BYTES, v1a: ED25519_SIGNATURE_BYTES } as const;
type KnownVersion = keyof typeof SIGNATURE_BYTES;
const isKnownVersion = (version: string): version is KnownVersion => Object.hasOwn(SIGNATURE_BYTES, version);

/**
 * Checks a Standard Webhooks request: the headers' form, the timestamp's age, then the `v1` and `v1a`
 * signatures against every key (any one that matches; entries of other versions are skipped). HMACs are
 * compared in constant time and every pair is tried, so timing tells nothing about a guess. Fails closed:
 * every input it cannot read is a rejection, never an exception and never a pass.
 */
export function verifyWebhookSignature(input: VerifyWebhookSignatureInput): WebhookVerification {
  const { toleranceSeconds = DEFAULT_TOLERANCE_SECONDS, now = Date.now() } = input;
  const keys = verifyingKeys(input.secret);
  if (!keys) return reject('bad-secret');
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
  const candidates: Array<{ version: KnownVersion; bytes: Buffer }> = [];
  for (const entry of entries) {
    const match = SIGNATURE_ENTRY.exec(entry);
    if (!match) return reject('malformed-header', SIGNATURE_HEADER);
    const version = match[1]!;
    if (!isKnownVersion(version)) continue;
    const bytes = decodeBase64(match[2]!);
    if (bytes?.length !== SIGNATURE_BYTES[version]) return reject('malformed-header', SIGNATURE_HEADER);
    candidates.push({ version, bytes });
  }

  const seconds = Number(timestamp);
  if (Math.abs(now / 1000 - seconds) > toleranceSeconds) return reject('stale-timestamp', TIMESTAMP_HEADER);
  const content = signedContent(id, timestamp, input.body);
  let matched = false;
  for (const key of keys) {
    const expected = key.version === 'v1' ? hmac(key.hmacKey, content) : undefined;
    for (const candidate of candidates) {
      if (candidate.version !== key.version) continue;
      const valid =
        key.version === 'v1'
          ? timingSafeEqual(expected!, candidate.bytes)
          : verifyEd25519(null, content, key.publicKey, candidate.bytes);
      matched = valid || matched;
    }
  }
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
