import { escapeRegexLiteral } from '../../conditions/linear-regex.ts';
import type { Condition } from '../schema.ts';
import { KEYWORD_FIELDS, mapField } from './fields.ts';

/**
 * Sigma's value modifiers (specification appendix "Sigma Modifiers" v2.1.0) lowered into our conditions:
 * the result is an ordinary condition tree with the engine's operators (RE2 regex, cidr, inList, ...), so a
 * Sigma detection runs on the one evaluator, in linear time, under the same rule limits.
 * A string value is read as pieces (literal text, `*`, `?`, and the windash class) and becomes the cheapest
 * operator that matches it exactly: equality, a case-insensitive prefix/suffix/substring test, or an anchored
 * RE2 pattern. Values are case-insensitive unless `cased`; `re` is case-sensitive unless `i`.
 */

type Piece = { literal: string } | { wildcard: 'many' | 'one' | 'dash' };
/** A value after the transformations: pieces, and whether its text is bytes (after utf16) rather than text. */
interface Pattern {
  pieces: Piece[];
  binary: boolean;
}

const KNOWN_MODIFIERS = new Set([
  'contains',
  'startswith',
  'endswith',
  'all',
  're',
  'i',
  'm',
  's',
  'cidr',
  'base64',
  'base64offset',
  'utf16le',
  'utf16be',
  'utf16',
  'wide',
  'windash',
  'exists',
  'gt',
  'gte',
  'lt',
  'lte',
  'neq',
  'fieldref',
  'cased',
  'expand',
]);
/**
 * The v2.1.0 time modifiers read a part of a date as the field writes it (the appendix: no time zone or format
 * conversion), here an RFC 3339 / ISO 8601 text `YYYY-MM-DDTHH:MM...`: each is the range of the part and
 * where its digits sit. `week` is refused by name: the week of the year is a calendar computation over the
 * whole date, which the digits alone do not give.
 */
const DATE_PARTS: Readonly<Record<string, { min: number; max: number; width: number; before: string }>> = {
  year: { min: 0, max: 9999, width: 4, before: '' },
  month: { min: 1, max: 12, width: 2, before: '\\d{4}-' },
  day: { min: 1, max: 31, width: 2, before: '\\d{4}-\\d{2}-' },
  hour: { min: 0, max: 23, width: 2, before: '\\d{4}-\\d{2}-\\d{2}[Tt ]' },
  minute: { min: 0, max: 59, width: 2, before: '\\d{4}-\\d{2}-\\d{2}[Tt ]\\d{2}:' },
};
/** Facts whose values are lowercase enumerations: a case-insensitive equality there is plain equality. */
const LOWERCASE_ENUM_FACTS = new Set(['eventType', 'decision.outcome', 'decision.severity', 'data.type']);
/** Windows command-line flag characters that windash makes interchangeable. */
const DASHES = ['-', '/', '\u2013', '\u2014', '\u2015'];

export class SigmaRefusal extends Error {}
const refuse = (message: string): never => {
  throw new SigmaRefusal(message);
};

/** Pieces of a plain Sigma string: `*` and `?` are wildcards, `\` escapes `*`, `?` and itself. */
function parsePieces(text: string): Piece[] {
  const pieces: Piece[] = [];
  let literal = '';
  for (let i = 0; i < text.length; i++) {
    const char = text[i]!;
    if (char === '\\' && (text[i + 1] === '*' || text[i + 1] === '?' || text[i + 1] === '\\')) {
      literal += text[i + 1];
      i++;
    } else if (char === '*' || char === '?') {
      if (literal) pieces.push({ literal });
      literal = '';
      pieces.push({ wildcard: char === '*' ? 'many' : 'one' });
    } else {
      literal += char;
    }
  }
  if (literal) pieces.push({ literal });
  return pieces;
}

function plainText(pattern: Pattern, modifier: string): string {
  if (pattern.pieces.some((piece) => 'wildcard' in piece)) {
    refuse(`modifier ${modifier} cannot encode a value with wildcards`);
  }
  return pattern.pieces.map((piece) => (piece as { literal: string }).literal).join('');
}

function encodeUtf16(text: string, order: 'le' | 'be', bom: boolean): string {
  const bytes: number[] = bom ? [0xff, 0xfe] : [];
  for (let i = 0; i < text.length; i++) {
    const unit = text.charCodeAt(i);
    const low = unit & 0xff;
    const high = unit >> 8;
    if (order === 'le') bytes.push(low, high);
    else bytes.push(high, low);
  }
  return String.fromCharCode(...bytes);
}

const bytesOf = (pattern: Pattern, text: string) => Buffer.from(text, pattern.binary ? 'latin1' : 'utf8');
const literalPattern = (text: string, binary: boolean): Pattern => ({
  pieces: text ? [{ literal: text }] : [],
  binary,
});

/**
 * The three base64 forms of a value that may sit at any byte offset of an encoded string: encode it after 0, 1
 * and 2 filler bytes and keep the characters that do not depend on the neighbours (skip 0, 2 or 3 leading,
 * drop the trailing ones that the next byte would change).
 */
function base64Offsets(bytes: Buffer): string[] {
  const skipLeading = [0, 2, 3];
  const dropTrailing = [0, 3, 2];
  return [0, 1, 2].map((offset) => {
    const encoded = Buffer.concat([Buffer.alloc(offset), bytes]).toString('base64');
    const trailing = dropTrailing[(bytes.length + offset) % 3]!;
    return encoded.slice(skipLeading[offset], trailing ? encoded.length - trailing : encoded.length);
  });
}

/** Applies the transformation modifiers in order; one value may become several (base64offset, OR-linked). */
function transform(patterns: Pattern[], modifier: string): Pattern[] {
  switch (modifier) {
    case 'utf16le':
    case 'wide':
      return patterns.map((p) => literalPattern(encodeUtf16(plainText(p, modifier), 'le', false), true));
    case 'utf16be':
      return patterns.map((p) => literalPattern(encodeUtf16(plainText(p, modifier), 'be', false), true));
    case 'utf16':
      return patterns.map((p) => literalPattern(encodeUtf16(plainText(p, modifier), 'le', true), true));
    case 'base64':
      return patterns.map((p) =>
        literalPattern(bytesOf(p, plainText(p, modifier)).toString('base64'), false),
      );
    case 'base64offset':
      return patterns.flatMap((p) =>
        base64Offsets(bytesOf(p, plainText(p, modifier))).map((text) => literalPattern(text, false)),
      );
    case 'windash':
      return patterns.map((p) => ({
        binary: p.binary,
        pieces: p.pieces.flatMap((piece): Piece[] => {
          if (!('literal' in piece)) return [piece];
          return [...piece.literal].map(
            (char): Piece => (DASHES.includes(char) ? { wildcard: 'dash' } : { literal: char }),
          );
        }),
      }));
    case 'contains':
      return patterns.map((p) => ({
        ...p,
        pieces: [{ wildcard: 'many' }, ...p.pieces, { wildcard: 'many' }],
      }));
    case 'startswith':
      return patterns.map((p) => ({ ...p, pieces: [...p.pieces, { wildcard: 'many' }] }));
    case 'endswith':
      return patterns.map((p) => ({ ...p, pieces: [{ wildcard: 'many' }, ...p.pieces] }));
    default:
      return patterns;
  }
}

/** Joins adjacent literals, so `a` `b` `*` reads as one literal and one wildcard. */
function merged(pieces: Piece[]): Piece[] {
  const out: Piece[] = [];
  for (const piece of pieces) {
    const last = out[out.length - 1];
    if ('literal' in piece && last && 'literal' in last)
      out[out.length - 1] = { literal: last.literal + piece.literal };
    else out.push(piece);
  }
  return out;
}

const hasCase = (text: string) => text.toLowerCase() !== text.toUpperCase();

/** The condition that one string pattern on `fact` is. */
function stringCondition(fact: string, pattern: Pattern, cased: boolean): Condition {
  const pieces = merged(pattern.pieces);
  const many = (piece: Piece | undefined) =>
    piece !== undefined && 'wildcard' in piece && piece.wildcard === 'many';
  const leading = many(pieces[0]);
  const trailing = pieces.length > 1 && many(pieces[pieces.length - 1]);
  const middle = pieces.slice(leading ? 1 : 0, trailing ? -1 : undefined);
  const onlyLiteral = middle.length <= 1 && middle.every((piece) => 'literal' in piece);
  const text = middle.length === 1 ? (middle[0] as { literal: string }).literal : '';
  if (onlyLiteral && !leading && !trailing) {
    if (LOWERCASE_ENUM_FACTS.has(fact) && !cased)
      return { fact, operator: 'equal', value: text.toLowerCase() };
    if (cased || !hasCase(text)) return { fact, operator: 'equal', value: text };
  }
  if (onlyLiteral && !cased && (leading || trailing)) {
    if (middle.length === 0) return { fact, operator: 'regex', value: '^' }; // `*`: any string
    const operator = leading && trailing ? 'containsI' : leading ? 'endsWithI' : 'startsWithI';
    return { fact, operator, value: text };
  }
  const body = pieces
    .map((piece) => {
      if ('literal' in piece) return escapeRegexLiteral(piece.literal);
      if (piece.wildcard === 'many') return '.*';
      if (piece.wildcard === 'one') return '.';
      return `[${DASHES.map(escapeRegexLiteral).join('')}]`;
    })
    .join('');
  return { fact, operator: 'regex', value: `(?s${cased ? '' : 'i'})^${body}$` };
}

type Scalar = string | number | boolean | null;

function asScalars(value: unknown, key: string): Scalar[] {
  const values = Array.isArray(value) ? value : [value];
  for (const item of values) {
    if (item !== null && !['string', 'number', 'boolean'].includes(typeof item)) {
      refuse(
        `${key}: values are strings, numbers, booleans or null, got ${JSON.stringify(item)?.slice(0, 80)}`,
      );
    }
  }
  return values as Scalar[];
}

const anyOf = (children: Condition[]): Condition =>
  children.length === 1 ? children[0]! : { any: children };
const allOf = (children: Condition[]): Condition =>
  children.length === 1 ? children[0]! : { all: children };

export interface FieldEnvironment {
  fieldMapping: Readonly<Record<string, string>>;
}

const NUMERIC_OPERATORS: Readonly<Record<string, string>> = {
  gt: 'greaterThan',
  gte: 'greaterThanInclusive',
  lt: 'lessThan',
  lte: 'lessThanInclusive',
};

/** Validates the modifier names of `key` (`field|mod|mod`); refuses an unknown one by name. */
function parseKey(key: string): { field: string; modifiers: string[] } {
  const [field = '', ...modifiers] = key.split('|');
  for (const modifier of modifiers) {
    if (modifier === 'week') {
      refuse(
        `${key}: the time modifier "week" is not supported: the week of the year needs a calendar computation over the date`,
      );
    }
    if (!KNOWN_MODIFIERS.has(modifier) && !(modifier in DATE_PARTS))
      refuse(`${key}: unknown modifier "${modifier}"`);
  }
  return { field, modifiers };
}

function only(key: string, modifiers: string[], main: string, allowed: readonly string[]): void {
  const other = modifiers.find((modifier) => modifier !== main && !allowed.includes(modifier));
  if (other) refuse(`${key}: modifier ${main} cannot be combined with ${other}`);
}

/** One `field|modifiers: value(s)` entry of a selection map, as a condition. */
export function fieldCondition(key: string, value: unknown, env: FieldEnvironment): Condition {
  const { field, modifiers } = parseKey(key);
  if (field === '') return keywordCondition(modifiers, value, key);
  const fact = mapField(field, env.fieldMapping);
  const has = (modifier: string) => modifiers.includes(modifier);
  const values = asScalars(value, key);
  if (values.length === 0) refuse(`${key}: an empty list matches nothing`);
  const joinAll = has('all');
  if (joinAll && values.length < 2) refuse(`${key}: modifier all needs a list of two or more values`);
  const join = joinAll ? allOf : anyOf;

  if (has('exists')) {
    only(key, modifiers, 'exists', []);
    if (values.length !== 1 || typeof values[0] !== 'boolean') refuse(`${key}: exists takes true or false`);
    const present: Condition = { not: { fact, operator: 'in', value: [undefined] } };
    return values[0] ? present : { not: present };
  }
  const part = modifiers.find((modifier) => modifier in DATE_PARTS);
  if (part) return datePartCondition(key, fact, part, modifiers, values, join);
  const numeric = modifiers.find((modifier) => modifier in NUMERIC_OPERATORS);
  if (numeric) {
    only(key, modifiers, numeric, ['all']);
    return join(
      values.map((item) => {
        const number = typeof item === 'string' && item.trim() !== '' ? Number(item) : item;
        if (typeof number !== 'number' || !Number.isFinite(number))
          refuse(`${key}: ${numeric} takes a number`);
        return { fact, operator: NUMERIC_OPERATORS[numeric]!, value: number };
      }),
    );
  }
  // neq negates whatever the other modifiers build: the field differs from every value.
  const negate = has('neq');
  const rest = modifiers.filter((modifier) => modifier !== 'neq');
  const conditions = values.map((item) => valueCondition(key, fact, rest, item, env));
  if (negate) return allOf(conditions.map((condition) => ({ not: condition })));
  return join(conditions);
}

/**
 * `field|hour: 3`, `field|hour|gte: 22`, `field|month|neq: 12`: the part's digits, read where the date text
 * puts them, within the values the modifiers allow, as an anchored RE2 pattern over fixed-width digits. A
 * field that is no such text (absent, a number) does not match.
 */
function datePartCondition(
  key: string,
  fact: string,
  part: string,
  modifiers: string[],
  values: Scalar[],
  join: (conditions: Condition[]) => Condition,
): Condition {
  const { min, max, width, before } = DATE_PARTS[part]!;
  const comparison = modifiers.find((modifier) => modifier !== part && modifier !== 'all');
  if (comparison && !(comparison in NUMERIC_OPERATORS) && comparison !== 'neq') {
    refuse(`${key}: modifier ${part} cannot be combined with ${comparison}`);
  }
  if (modifiers.filter((modifier) => modifier !== part && modifier !== 'all').length > 1) {
    refuse(`${key}: modifier ${part} takes one comparison at most`);
  }
  const ranges = values.map((item): Array<[number, number]> => {
    const number = typeof item === 'string' && item.trim() !== '' ? Number(item) : item;
    if (typeof number !== 'number' || !Number.isInteger(number) || number < min || number > max) {
      refuse(`${key}: ${part} takes a whole number from ${min} to ${max}`);
    }
    const n = number as number;
    switch (comparison) {
      case 'gt':
        return n < max ? [[n + 1, max]] : [];
      case 'gte':
        return [[n, max]];
      case 'lt':
        return n > min ? [[min, n - 1]] : [];
      case 'lte':
        return [[min, n]];
      case 'neq':
        return [
          ...(n > min ? [[min, n - 1] as [number, number]] : []),
          ...(n < max ? [[n + 1, max] as [number, number]] : []),
        ];
      default:
        return [[n, n]];
    }
  });
  const conditions = ranges.map((intervals): Condition => {
    if (intervals.length === 0) refuse(`${key}: no ${part} from ${min} to ${max} passes`);
    const digits = intervals.map(([lo, hi]) => digitRange(lo, hi, width)).join('|');
    return { fact, operator: 'regex', value: `^${before}(?:${digits})` };
  });
  // neq on a list: the part differs from every value.
  return comparison === 'neq' ? allOf(conditions) : join(conditions);
}

/** A pattern matching exactly the integers lo..hi written with `width` digits (leading zeros). */
export function digitRange(lo: number, hi: number, width: number): string {
  if (width === 0) return '';
  const unit = 10 ** (width - 1);
  const [loHead, hiHead] = [Math.floor(lo / unit), Math.floor(hi / unit)];
  const [loRest, hiRest] = [lo % unit, hi % unit];
  if (loHead === hiHead)
    return width === 1 ? `${loHead}` : `${loHead}(?:${digitRange(loRest, hiRest, width - 1)})`;
  const rest = width > 1 ? `\\d{${width - 1}}` : '';
  const parts: string[] = [];
  let from = loHead;
  let to = hiHead;
  if (loRest !== 0) {
    parts.push(`${loHead}(?:${digitRange(loRest, unit - 1, width - 1)})`);
    from++;
  }
  const tail = hiRest !== unit - 1 ? `${hiHead}(?:${digitRange(0, hiRest, width - 1)})` : undefined;
  if (tail) to--;
  if (from <= to) parts.push(`${from === to ? from : `[${from}-${to}]`}${rest}`);
  if (tail) parts.push(tail);
  return parts.join('|');
}

function valueCondition(
  key: string,
  fact: string,
  modifiers: string[],
  value: Scalar,
  env: FieldEnvironment,
): Condition {
  const has = (modifier: string) => modifiers.includes(modifier);
  if (has('fieldref')) {
    only(key, modifiers, 'fieldref', ['all']);
    if (typeof value !== 'string') refuse(`${key}: fieldref takes a field name`);
    return { fact, operator: 'equal', value: { fact: mapField(value as string, env.fieldMapping) } };
  }
  if (value === null) {
    if (modifiers.some((modifier) => modifier !== 'all')) refuse(`${key}: null takes no modifiers`);
    return { fact, operator: 'in', value: [null, undefined] };
  }
  if (typeof value !== 'string') {
    if (modifiers.some((modifier) => modifier !== 'all' && modifier !== 'cased')) {
      refuse(`${key}: modifiers ${modifiers.join('|')} need a string value, got ${String(value)}`);
    }
    // YAML reads `443` as a number and `'443'` as text; an event may carry either.
    return { fact, operator: 'in', value: [value, String(value)] };
  }
  if (has('re')) {
    only(key, modifiers, 're', ['i', 'm', 's', 'all']);
    const flags = ['i', 'm', 's'].filter(has).join('');
    return { fact, operator: 'regex', value: flags ? `(?${flags})${value}` : value };
  }
  for (const flag of ['i', 'm', 's']) if (has(flag)) refuse(`${key}: modifier ${flag} only follows re`);
  if (has('cidr')) {
    only(key, modifiers, 'cidr', ['all']);
    return { fact, operator: 'cidr', value };
  }
  if (has('expand')) {
    only(key, modifiers, 'expand', ['all']);
    const placeholder = /^%([A-Za-z][\w.-]*)%$/.exec(value);
    if (!placeholder) {
      refuse(`${key}: expand takes one placeholder naming a list of ours, like "%credential_paths%"`);
    }
    return { fact, operator: 'inList', value: placeholder![1] };
  }
  let patterns: Pattern[] = [{ pieces: parsePieces(value), binary: false }];
  for (const modifier of modifiers) patterns = transform(patterns, modifier);
  const cased = has('cased') || patterns.some((pattern) => pattern.binary);
  return anyOf(patterns.map((pattern) => stringCondition(fact, pattern, cased)));
}

/** Keywords (a list of strings, or a `'|modifiers'` key): searched in the event's text fields. */
export function keywordCondition(modifiers: string[], value: unknown, key = 'keywords'): Condition {
  for (const modifier of modifiers) {
    if (modifier !== 'all' && modifier !== 'cased')
      refuse(`${key}: keywords take only the all and cased modifiers`);
  }
  const values = asScalars(value, key);
  if (values.length === 0) refuse(`${key}: an empty keyword list matches nothing`);
  const cased = modifiers.includes('cased');
  const keyword = (item: Scalar): Condition => {
    if (item === null) refuse(`${key}: a keyword cannot be null`);
    const pieces: Piece[] = [{ wildcard: 'many' }, ...parsePieces(String(item)), { wildcard: 'many' }];
    return anyOf(KEYWORD_FIELDS.map((fact) => stringCondition(fact, { pieces, binary: false }, cased)));
  };
  return (modifiers.includes('all') ? allOf : anyOf)(values.map(keyword));
}
