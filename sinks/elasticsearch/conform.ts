import { isIP } from 'node:net';
import type { EcsDocument } from './documents.ts';
import type { FieldMapping } from './mappings.ts';

/**
 * Makes a document fit its index whatever the event carried, so Elasticsearch never refuses it for its
 * shape: each mapped field gets a value of its type or none, and a subtree too deep (flattened fields stop
 * at 20 levels) or with a key too long for a term becomes its JSON text, a plain string leaf. Every path
 * changed this way is listed in `clawdstrike.adjusted_fields`; nothing is lost from `_source` but structure.
 */

export interface ConformLimits {
  /** Levels of objects and arrays kept inside a flattened (or unmapped) value; deeper ones become JSON text. */
  maxDepth: number;
  /** Longest key (UTF-8 bytes) kept inside a flattened value; an object with a longer one becomes JSON text. */
  maxKeyBytes: number;
}

const ISO_DATE = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?(?:Z|[+-]\d{2}:?\d{2})$/;

export function conformDocument(
  document: EcsDocument,
  properties: Record<string, FieldMapping>,
  limits: ConformLimits,
): EcsDocument {
  const adjusted: string[] = [];
  const conformed = conformObject(document, properties, limits, '', adjusted);
  if (adjusted.length === 0) return conformed;
  const clawdstrike = (conformed.clawdstrike ?? {}) as EcsDocument;
  return { ...conformed, clawdstrike: { ...clawdstrike, adjusted_fields: adjusted } };
}

function conformObject(
  value: EcsDocument,
  properties: Record<string, FieldMapping>,
  limits: ConformLimits,
  prefix: string,
  adjusted: string[],
): EcsDocument {
  const out: EcsDocument = {};
  for (const [key, child] of Object.entries(value)) {
    if (child === undefined || child === null) continue;
    const path = `${prefix}${key}`;
    const mapping = Object.hasOwn(properties, key) ? properties[key] : undefined;
    const result = mapping ? conformField(child, mapping, limits, path, adjusted) : unmapped(child, limits);
    if (result === undefined) {
      adjusted.push(path);
      continue;
    }
    if (result.changed) adjusted.push(path);
    setOwn(out, key, result.value);
  }
  return out;
}

interface Conformed {
  value: unknown;
  /** The value was changed on the way (not just copied). */
  changed: boolean;
}

/** The value as its mapping accepts it, or undefined when it has to go (a mistyped scalar, an alias). */
function conformField(
  value: unknown,
  mapping: FieldMapping,
  limits: ConformLimits,
  path: string,
  adjusted: string[],
): Conformed | undefined {
  if ('properties' in mapping) {
    if (!isPlainObject(value)) return undefined;
    return { value: conformObject(value, mapping.properties, limits, `${path}.`, adjusted), changed: false };
  }
  switch (mapping.type) {
    case 'keyword':
    case 'wildcard':
    case 'text':
    case 'match_only_text':
      return strings(value);
    case 'flattened':
      return isPlainObject(value) ? flattenedValue(value, limits) : undefined;
    case 'long':
      return Number.isSafeInteger(value) ? kept(value) : undefined;
    case 'float':
      return typeof value === 'number' && Number.isFinite(value) ? kept(value) : undefined;
    case 'date':
      return typeof value === 'string' && ISO_DATE.test(value) && !Number.isNaN(Date.parse(value))
        ? kept(value)
        : undefined;
    case 'ip':
      return typeof value === 'string' && isIP(value) !== 0 ? kept(value) : undefined;
    case 'alias':
      return undefined;
  }
}

const kept = (value: unknown): Conformed => ({ value, changed: false });

/** Keyword and text take strings (numbers and booleans too); anything else becomes its JSON text. */
function strings(value: unknown): Conformed {
  if (Array.isArray(value)) {
    let changed = false;
    const out = value.flat(Number.POSITIVE_INFINITY).flatMap((each: unknown) => {
      if (each === null || each === undefined) return [];
      const result = scalarString(each);
      changed ||= result.changed;
      return [result.value];
    });
    return { value: out, changed: changed || out.length !== value.length };
  }
  return scalarString(value);
}

function scalarString(value: unknown): Conformed {
  if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') {
    return kept(value);
  }
  return { value: jsonText(value), changed: true };
}

/** A flattened field's value: objects and arrays kept up to maxDepth, short keys only. */
function flattenedValue(value: EcsDocument, limits: ConformLimits): Conformed {
  let changed = false;
  const walk = (node: unknown, depth: number): unknown => {
    if (Array.isArray(node)) {
      if (depth > limits.maxDepth) {
        changed = true;
        return jsonText(node);
      }
      return node.map((each) => walk(each, depth + 1));
    }
    if (!isPlainObject(node)) return node;
    const keys = Object.keys(node);
    if (depth > limits.maxDepth || keys.some((key) => Buffer.byteLength(key) > limits.maxKeyBytes)) {
      changed = true;
      return jsonText(node);
    }
    const out: EcsDocument = {};
    for (const key of keys) setOwn(out, key, walk(node[key], depth + 1));
    return out;
  };
  return { value: walk(value, 1), changed };
}

/** A field outside the mapping is stored but never parsed into the index: only its depth is bounded. */
function unmapped(value: unknown, limits: ConformLimits): Conformed {
  let changed = false;
  const walk = (node: unknown, depth: number): unknown => {
    if (!Array.isArray(node) && !isPlainObject(node)) return node;
    if (depth > limits.maxDepth) {
      changed = true;
      return jsonText(node);
    }
    if (Array.isArray(node)) return node.map((each) => walk(each, depth + 1));
    const out: EcsDocument = {};
    for (const [key, child] of Object.entries(node)) setOwn(out, key, walk(child, depth + 1));
    return out;
  };
  return { value: walk(value, 1), changed };
}

/** A subtree as one string leaf: indexed when short (ignore_above), kept whole in _source either way. */
function jsonText(value: unknown): string {
  return JSON.stringify(value) ?? String(value);
}

function isPlainObject(value: unknown): value is EcsDocument {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Keys such as `__proto__` stay plain data keys (an assignment would set the prototype instead). */
function setOwn(target: EcsDocument, key: string, value: unknown): void {
  Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
}
