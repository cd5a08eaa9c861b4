import type { Envelope } from './envelope.ts';
import type { RecordLimits } from './limits.ts';
import type { RecordError } from './record-error.ts';

/**
 * The size and shape limits of one envelope (engine/model/limits.ts, docs/security.md "Records"), applied by
 * parseRecord and again by the processor's decoder, so both sides agree. Ids out of bounds are refused; content
 * is cut and listed in integrity.truncated:
 * - a string over maxStringBytes keeps its first bytes and ends with TRUNCATION_MARK;
 * - an object or array deeper than maxDepth (the envelope's root is level 1) becomes depthMark();
 * - keys and items of data and metadata past maxFields are dropped;
 * - when the envelope's JSON is still over maxRecordBytes, its longest strings are cut to one common length.
 * One walk, linear in the envelope, copying only what it changes (an own `__proto__` key is copied as data).
 */

/** Paths listed in integrity.truncated at most. */
const MAX_FLAGGED = 16;
/** Key characters shown per step of a flagged path. */
const SHOWN_KEY_CHARS = 64;
const TRUNCATION_MARK = '…[truncated]';
const TRUNCATION_MARK_BYTES = Buffer.byteLength(TRUNCATION_MARK);
/** JSON characters of any number, boolean or null at most (-1.2345678901234567e+308 is 24). */
const SCALAR_UNITS = 24;

function depthMark(limits: RecordLimits): string {
  return `[truncated: nested deeper than ${limits.maxDepth} levels]`;
}

type Key = string | number;

interface Walk {
  limits: RecordLimits;
  /** Keys and items of data and metadata still allowed. */
  fieldsLeft: number;
  /** UTF-16 code units written, keys, quotes and separators included: JSON takes at most 6 bytes for one. */
  units: number;
  /** Where the walk is (keys from the envelope's root), to name what it changes. */
  readonly path: Key[];
  readonly flagged: string[];
}

function pathText(path: readonly Key[]): string {
  let text = '';
  for (const key of path) {
    if (typeof key === 'number') text += `[${key}]`;
    else if (/^[A-Za-z_$][\w$-]*$/.test(key) && key.length <= SHOWN_KEY_CHARS) text += text ? `.${key}` : key;
    else text += `[${JSON.stringify(key.slice(0, SHOWN_KEY_CHARS))}]`;
  }
  return text || '(record)';
}

function flag(walk: Walk, key?: Key): void {
  flagPath(walk, key === undefined ? walk.path : [...walk.path, key]);
}

function flagPath(walk: Walk, path: readonly Key[]): void {
  if (walk.flagged.length >= MAX_FLAGGED) return;
  const text = pathText(path);
  if (!walk.flagged.includes(text)) walk.flagged.push(text);
}

/** UTF-8 bytes of `text`, computed only when its length does not already settle it against `limit`. */
function exceedsBytes(text: string, limit: number): number | undefined {
  if (text.length * 3 <= limit) return undefined;
  const bytes = Buffer.byteLength(text);
  return bytes > limit ? bytes : undefined;
}

/** The longest prefix of `text` of at most `budget` bytes measured by `cost`, never splitting a surrogate pair. */
function prefixWithin(text: string, budget: number, cost: (code: number, pair: boolean) => number): string {
  let used = 0;
  let end = 0;
  while (end < text.length) {
    const code = text.charCodeAt(end);
    const next = text.charCodeAt(end + 1);
    const pair = code >= 0xd800 && code <= 0xdbff && next >= 0xdc00 && next <= 0xdfff;
    const bytes = cost(code, pair);
    if (used + bytes > budget) break;
    used += bytes;
    end += pair ? 2 : 1;
  }
  return text.slice(0, end);
}

/** UTF-8 bytes of one character (a surrogate pair counts once, a lone surrogate as its replacement's 3). */
const utf8Cost = (code: number, pair: boolean) => (pair ? 4 : code < 0x80 ? 1 : code < 0x800 ? 2 : 3);

/** Bytes of one character inside a JSON string as JSON.stringify writes it, in UTF-8. */
const jsonCost = (code: number, pair: boolean): number => {
  if (pair) return 4;
  if (code < 0x20) return code === 8 || code === 9 || code === 10 || code === 12 || code === 13 ? 2 : 6;
  if (code === 0x22 || code === 0x5c) return 2;
  if (code < 0x80) return 1;
  if (code < 0x800) return 2;
  return code >= 0xd800 && code <= 0xdfff ? 6 : 3;
};

function cutString(text: string, limit: number, walk: Walk): string {
  const cut = prefixWithin(text, limit - TRUNCATION_MARK_BYTES, utf8Cost) + TRUNCATION_MARK;
  flag(walk);
  walk.units += cut.length + 2;
  return cut;
}

function boundString(text: string, walk: Walk): string {
  if (exceedsBytes(text, walk.limits.maxStringBytes) === undefined) {
    walk.units += text.length + 2;
    return text;
  }
  return cutString(text, walk.limits.maxStringBytes, walk);
}

/** boundString for a field at `path` from the envelope's root (no walk path kept on the way). */
function boundTextAt(text: string, path: readonly Key[], walk: Walk): string {
  if (text.length * 3 <= walk.limits.maxStringBytes) {
    walk.units += text.length + 2;
    return text;
  }
  walk.path.push(...path);
  const bounded = boundString(text, walk);
  walk.path.length -= path.length;
  return bounded;
}

const TARGET: readonly Key[] = ['target'];
const ORIGINAL_TYPE: readonly Key[] = ['originalType'];
const POLICY_HASH: readonly Key[] = ['policyHash'];
const DECISION_GUARD: readonly Key[] = ['decision', 'guard'];
const DECISION_MESSAGE: readonly Key[] = ['decision', 'message'];
const DECISION_REASON: readonly Key[] = ['decision', 'reason'];
const SOURCE_KIND: readonly Key[] = ['source', 'kind'];
const SOURCE_EMITTER: readonly Key[] = ['source', 'emitter'];

/** Sets `key` as an own data property, `__proto__` included (an assignment would change the prototype). */
export function setOwn(target: Record<string, unknown>, key: string, value: unknown): void {
  if (key === '__proto__') {
    Object.defineProperty(target, key, { value, writable: true, enumerable: true, configurable: true });
  } else target[key] = value;
}

/** `value` within the limits: the same value when nothing had to change, else a bounded copy. */
function boundValue(value: unknown, level: number, walk: Walk): unknown {
  switch (typeof value) {
    case 'string':
      return boundString(value, walk);
    case 'number':
    case 'boolean':
      walk.units += SCALAR_UNITS;
      return value;
    case 'undefined':
      return value;
    case 'object':
      if (value === null) {
        walk.units += SCALAR_UNITS;
        return value;
      }
      if (level > walk.limits.maxDepth) {
        flag(walk);
        const mark = depthMark(walk.limits);
        walk.units += mark.length + 2;
        return mark;
      }
      return Array.isArray(value) ? boundArray(value, level, walk) : boundObject(value, level, walk);
    case 'bigint':
      // Not JSON (JSON.stringify throws on it): kept as its digits.
      flag(walk);
      return boundString(value.toString(), walk);
    default:
      // Functions and symbols: not JSON, dropped as JSON.stringify drops them.
      flag(walk);
      return undefined;
  }
}

function boundArray(items: readonly unknown[], level: number, walk: Walk): unknown[] {
  let out: unknown[] | undefined;
  walk.units += 2;
  for (let i = 0; i < items.length; i++) {
    if (--walk.fieldsLeft < 0) {
      flag(walk);
      out ??= items.slice(0, i);
      break;
    }
    walk.path.push(i);
    const item = items[i];
    const bounded = boundValue(item, level + 1, walk);
    walk.path.pop();
    walk.units += 1;
    if (bounded !== item && !out) out = items.slice(0, i);
    out?.push(bounded);
  }
  return out ?? (items as unknown[]);
}

function boundObject(object: object, level: number, walk: Walk): Record<string, unknown> {
  const source = object as Record<string, unknown>;
  const prototype = Object.getPrototypeOf(object);
  // Only plain data is kept as it is; anything else (a class instance, a Map) is copied as its own keys.
  let out: Record<string, unknown> | undefined =
    prototype === Object.prototype || prototype === null ? undefined : {};
  walk.units += 2;
  // for...in with an own-property test, not Object.keys: no array of keys per object on the hot path.
  let index = 0;
  for (const key in source) {
    if (!Object.hasOwn(source, key)) continue;
    if (--walk.fieldsLeft < 0 || exceedsBytes(key, walk.limits.maxStringBytes) !== undefined) {
      flag(walk, walk.fieldsLeft < 0 ? undefined : key);
      out ??= copyKeys(source, index);
      if (walk.fieldsLeft < 0) break;
      index++;
      continue;
    }
    walk.path.push(key);
    const item = source[key];
    const bounded = boundValue(item, level + 1, walk);
    walk.path.pop();
    walk.units += key.length + 4;
    if (bounded !== item) out ??= copyKeys(source, index);
    if (out) setOwn(out, key, bounded);
    index++;
  }
  return out ?? source;
}

/** A new object with the first `count` own keys of `source` (already within the limits). */
function copyKeys(source: Record<string, unknown>, count: number): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  let copied = 0;
  for (const key in source) {
    if (copied >= count) break;
    if (!Object.hasOwn(source, key)) continue;
    setOwn(out, key, source[key]);
    copied++;
  }
  return out;
}

/**
 * Why an id cannot be used, or undefined: over maxIdBytes, or holding a control character, a quote, a
 * backslash or a lone surrogate. Ids go where text is quoted or escaped (JSON, Elasticsearch _id, headers,
 * URLs, state keys): plain printable text keeps each one the size it says.
 */
function idProblem(id: string, maxBytes: number): string | undefined {
  // Most ids are short printable text: settled by a loop over a short one (cheaper than a regex call) or one
  // native test of a longer one.
  if (id.length * 3 <= maxBytes && (id.length <= 24 ? isPlainShortId(id) : PLAIN_ID.test(id)))
    return undefined;
  let bytes = 0;
  for (let i = 0; i < id.length; i++) {
    const code = id.charCodeAt(i);
    if (code < 0x20 || code === 0x7f) return 'holds a control character';
    if (code === 0x22 || code === 0x5c) return 'holds a quote or a backslash';
    if (code < 0x80) bytes++;
    else if (code < 0x800) bytes += 2;
    else if (code >= 0xd800 && code <= 0xdbff) {
      const next = id.charCodeAt(i + 1);
      if (!(next >= 0xdc00 && next <= 0xdfff)) return 'holds a lone surrogate';
      bytes += 4;
      i++;
    } else if (code >= 0xdc00 && code <= 0xdfff) return 'holds a lone surrogate';
    else bytes += 3;
    if (bytes > maxBytes) return `is longer than limits.record.maxIdBytes (${maxBytes} UTF-8 bytes)`;
  }
  return undefined;
}

/** PLAIN_ID for a short id, as a loop. */
function isPlainShortId(id: string): boolean {
  for (let i = 0; i < id.length; i++) {
    const code = id.charCodeAt(i);
    if (
      code < 0x20 ||
      code === 0x22 ||
      code === 0x5c ||
      code === 0x7f ||
      (code >= 0xd800 && code <= 0xdfff)
    ) {
      return false;
    }
  }
  return true;
}

/** No C0 control, DEL, quote, backslash or surrogate (a surrogate pair is judged by the full loop). */
// biome-ignore lint/suspicious/noControlCharactersInRegex: finding control characters is what it is for.
const PLAIN_ID = /^[^\x00-\x1f\x7f"\\\ud800-\udfff]*$/;

/** What the fast readers counted of a record (model/inputs/fast-reader.ts, readStats). */
export interface Counted {
  chars: number;
  longest: number;
  fields: number;
  nested: boolean;
}

/** Levels data and metadata reach when the fast readers saw no nested value copied as it is. */
const COUNTED_DEPTH = 4;

/**
 * Applies the limits to a freshly built envelope in the one shape parseRecord writes (every field present; its
 * objects are the caller's to replace): refuses ids out of bounds, cuts content, and lists every cut in
 * integrity.truncated. Returns the errors, or undefined. With `counted`, what the fast readers saw of data and
 * metadata: within the limits, they are not walked again.
 */
export function boundEnvelope(
  envelope: Envelope,
  limits: RecordLimits,
  counted?: Counted,
): RecordError[] | undefined {
  const { maxIdBytes } = limits;
  if (maxIdBytes !== checkedLimit) {
    checkedIds.fill(undefined);
    checkedLimit = maxIdBytes;
  }
  let problem = idProblem(envelope.eventId, maxIdBytes);
  if (problem) return [{ field: 'eventId', message: problem }];
  // Agents and sessions come back record after record: a small cache of ids already found good.
  if (!knownGood(envelope.agentId)) {
    problem = idProblem(envelope.agentId, maxIdBytes);
    if (problem) return [{ field: 'agentId', message: problem }];
    remember(envelope.agentId);
  }
  if (!knownGood(envelope.sessionId)) {
    problem = idProblem(envelope.sessionId, maxIdBytes);
    if (problem) return [{ field: 'sessionId', message: problem }];
    remember(envelope.sessionId);
  }
  if (envelope.runId !== undefined) {
    problem = idProblem(envelope.runId, maxIdBytes);
    if (problem) return [{ field: 'runId', message: problem }];
  }
  const walk = WALK;
  walk.limits = limits;
  walk.fieldsLeft = limits.maxFields;
  walk.units =
    2 *
    (envelope.eventId.length +
      envelope.agentId.length +
      envelope.sessionId.length +
      (envelope.runId?.length ?? 0));
  // Left over only if an earlier call threw half way (a hostile getter): parseRecord caught it.
  if (walk.path.length > 0) walk.path.length = 0;
  if (walk.flagged.length > 0) walk.flagged.length = 0;
  // target may be longer than anything read (a command line is the command and its arguments joined).
  envelope.target = boundTextAt(envelope.target, TARGET, walk);
  if (
    counted &&
    !counted.nested &&
    counted.longest * 3 <= limits.maxStringBytes &&
    counted.fields <= limits.maxFields &&
    limits.maxDepth >= COUNTED_DEPTH
  ) {
    // Everything else came through the fast readers, none longer than `longest`. Keys the readers declared
    // are short names: 40 units cover one with its quotes and separators.
    walk.units += counted.chars + 40 * counted.fields;
  } else {
    if (envelope.originalType !== undefined) {
      envelope.originalType = boundTextAt(envelope.originalType, ORIGINAL_TYPE, walk);
    }
    if (envelope.policyHash !== undefined) {
      envelope.policyHash = boundTextAt(envelope.policyHash, POLICY_HASH, walk);
    }
    walk.path.push('data');
    envelope.data = bounded(envelope.data, walk) as Record<string, unknown>;
    walk.path[0] = 'metadata';
    envelope.metadata = bounded(envelope.metadata, walk) as Record<string, unknown>;
    walk.path.pop();
    // decision and source hold the sender's words, no structure; both are the envelope's own objects.
    const { decision, source } = envelope;
    if (decision.guard !== undefined) decision.guard = boundTextAt(decision.guard, DECISION_GUARD, walk);
    if (decision.message !== undefined) {
      decision.message = boundTextAt(decision.message, DECISION_MESSAGE, walk);
    }
    if (decision.reason !== undefined) decision.reason = boundTextAt(decision.reason, DECISION_REASON, walk);
    if (source.kind !== undefined) source.kind = boundTextAt(source.kind, SOURCE_KIND, walk);
    if (source.emitter !== undefined) source.emitter = boundTextAt(source.emitter, SOURCE_EMITTER, walk);
  }
  if (walk.flagged.length > 0) {
    envelope.integrity = {
      ...envelope.integrity,
      truncated: merged(envelope.integrity?.truncated, walk.flagged),
    };
  }
  // Timestamps, schema version, event type, the claimed time and the envelope's own keys, then the list of
  // what was cut.
  walk.units += 500;
  const truncated = envelope.integrity?.truncated;
  if (truncated) for (const path of truncated) walk.units += path.length + 3;
  if (6 * walk.units <= limits.maxRecordBytes) return undefined;
  const tooLarge = fitRecordBytes(envelope, limits);
  return tooLarge ? [tooLarge] : undefined;
}

/**
 * Ids found good under the current maxIdBytes, in a two-way cache indexed by a cheap digest of the length and
 * the last six characters (where ids of a fleet differ: agent-17, sess-17-0, UUIDs). A miss only means a
 * second check.
 */
const CHECKED_SETS = 4096;
const checkedIds: Array<string | undefined> = new Array(2 * CHECKED_SETS).fill(undefined);
let checkedLimit = 0;

function setOf(id: string): number {
  let hash = id.length;
  const stop = Math.max(0, id.length - 6);
  for (let i = id.length - 1; i >= stop; i--) hash = Math.imul(hash ^ id.charCodeAt(i), 0x01000193);
  return 2 * ((hash ^ (hash >>> 13)) & (CHECKED_SETS - 1));
}

function knownGood(id: string): boolean {
  const at = setOf(id);
  return checkedIds[at] === id || checkedIds[at + 1] === id;
}

/** Keeps `id` as the newest of its set; the older one moves to the second way. */
function remember(id: string): void {
  const at = setOf(id);
  checkedIds[at + 1] = checkedIds[at];
  checkedIds[at] = id;
}

/**
 * `value` (data or metadata, at level 2) within the limits. Most are already: a first pass only checks and
 * counts (no path kept, nothing copied, one tight loop); only a value that fails it is walked again, to cut.
 */
function bounded(value: unknown, walk: Walk): unknown {
  const { fieldsLeft, units } = walk;
  if (fits(value, 2, walk)) return value;
  walk.fieldsLeft = fieldsLeft;
  walk.units = units;
  return boundValue(value, 2, walk);
}

/** Whether boundValue would return `value` itself; counts its fields and units as boundValue does. */
function fits(value: unknown, level: number, walk: Walk): boolean {
  if (typeof value !== 'object' || value === null) return fitsScalar(value, walk);
  if (level > walk.limits.maxDepth) return false;
  const maxBytes = walk.limits.maxStringBytes;
  let units = 2;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const item: unknown = value[i];
      if (--walk.fieldsLeft < 0) return false;
      if (typeof item === 'string' && item.length * 3 <= maxBytes) units += item.length + 3;
      else if (!fits(item, level + 1, walk)) return false;
      else units += 1;
    }
  } else {
    const prototype = Object.getPrototypeOf(value);
    if (prototype !== Object.prototype && prototype !== null) return false;
    const object = value as Record<string, unknown>;
    for (const key in object) {
      if (!Object.hasOwn(object, key)) continue;
      if (--walk.fieldsLeft < 0 || key.length * 3 > maxBytes) return false;
      const item = object[key];
      if (typeof item === 'string' && item.length * 3 <= maxBytes) units += key.length + item.length + 6;
      else if (!fits(item, level + 1, walk)) return false;
      else units += key.length + 4;
    }
  }
  walk.units += units;
  return true;
}

function fitsScalar(value: unknown, walk: Walk): boolean {
  switch (typeof value) {
    case 'string':
      walk.units += value.length + 2;
      return (
        value.length * 3 <= walk.limits.maxStringBytes ||
        Buffer.byteLength(value) <= walk.limits.maxStringBytes
      );
    case 'number':
    case 'boolean':
    case 'undefined':
      walk.units += SCALAR_UNITS;
      return true;
    case 'object':
      walk.units += SCALAR_UNITS;
      return true;
    default:
      return false;
  }
}

/** One walk, reused: boundEnvelope runs once per record and never inside itself. */
const WALK: Walk = {
  limits: undefined as unknown as RecordLimits,
  fieldsLeft: 0,
  units: 0,
  path: [],
  flagged: [],
};

/** `listed` with the paths of `flagged` added (the first MAX_FLAGGED in all). */
function merged(listed: readonly string[] | undefined, flagged: readonly string[]): string[] {
  const truncated = [...(listed ?? [])];
  for (const path of flagged) {
    if (truncated.length < MAX_FLAGGED && !truncated.includes(path)) truncated.push(path);
  }
  return truncated;
}

/** The content fields the record-size fit may cut. */
const FIT_FIELDS = ['target', 'data', 'metadata'] as const;

/**
 * Cuts the longest strings of target, data and metadata to one common JSON size, the largest that brings the
 * envelope's JSON within maxRecordBytes (the record is kept: its short fields, the ones rules mostly test,
 * stay whole). Exact: measured on the JSON text. Refused only when the structure alone is too large.
 */
function fitRecordBytes(envelope: Envelope, limits: RecordLimits): RecordError | undefined {
  const { maxRecordBytes } = limits;
  const jsonBytes = (value: unknown) => Buffer.byteLength(JSON.stringify(value) ?? '');
  const total = jsonBytes(envelope);
  if (total <= maxRecordBytes) return undefined;
  // The paths the cuts will add to integrity.truncated are part of the record too.
  const listed = envelope.integrity?.truncated?.length ?? 0;
  const reserve = (MAX_FLAGGED - listed) * (SHOWN_KEY_CHARS * 6 + 40) + (listed === 0 ? 40 : 0);
  const excess = total + reserve - maxRecordBytes;
  const sizes: number[] = [];
  for (const field of FIT_FIELDS) {
    mapStrings(envelope[field], (text) => {
      sizes.push(jsonBytes(text));
      return text;
    });
  }
  sizes.sort((a, b) => b - a);
  let cap = -1;
  let prefix = 0;
  for (let k = 1; k <= sizes.length; k++) {
    prefix += sizes[k - 1]!;
    const candidate = Math.floor((prefix - excess) / k);
    if (candidate >= (sizes[k] ?? 0)) {
      cap = candidate;
      break;
    }
  }
  const tooLarge = (bytes: number): RecordError => ({
    field: '(record)',
    message: `${bytes} bytes as JSON, over limits.record.maxRecordBytes (${maxRecordBytes}) even with its strings cut`,
  });
  if (cap < TRUNCATION_MARK_BYTES + 2) return tooLarge(total);
  const flagged: string[] = [];
  const cutWalk: Walk = { limits, fieldsLeft: 0, units: 0, path: [], flagged };
  for (const field of FIT_FIELDS) {
    const cut = mapStrings(envelope[field], (text, path) => {
      if (jsonBytes(text) <= cap) return text;
      flagPath(cutWalk, [field, ...path]);
      return prefixWithin(text, cap - 2 - TRUNCATION_MARK_BYTES, jsonCost) + TRUNCATION_MARK;
    });
    (envelope as unknown as Record<string, unknown>)[field] = cut;
  }
  envelope.integrity = { ...envelope.integrity, truncated: merged(envelope.integrity?.truncated, flagged) };
  const after = jsonBytes(envelope);
  return after <= maxRecordBytes ? undefined : tooLarge(after);
}

/** `value` with every string replaced by `map` (copying only what changes); already within maxDepth. */
function mapStrings(
  value: unknown,
  map: (text: string, path: readonly Key[]) => string,
  path: Key[] = [],
): unknown {
  if (typeof value === 'string') return map(value, path);
  if (typeof value !== 'object' || value === null) return value;
  if (Array.isArray(value)) {
    let out: unknown[] | undefined;
    for (let i = 0; i < value.length; i++) {
      path.push(i);
      const item = mapStrings(value[i], map, path);
      path.pop();
      if (item !== value[i] && !out) out = value.slice(0, i);
      out?.push(item);
    }
    return out ?? value;
  }
  const source = value as Record<string, unknown>;
  const keys = Object.keys(source);
  let out: Record<string, unknown> | undefined;
  for (let i = 0; i < keys.length; i++) {
    const key = keys[i]!;
    path.push(key);
    const item = mapStrings(source[key], map, path);
    path.pop();
    if (item !== source[key] && !out) out = copyKeys(source, i);
    if (out) setOwn(out, key, item);
  }
  return out ?? source;
}
