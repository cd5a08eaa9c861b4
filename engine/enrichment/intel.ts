import { z } from 'zod';
import { SeveritySchema } from '../../core/severity.ts';
import { CidrSet, parseCidr, parseIp } from '../ip.ts';
import type { Envelope } from '../model/index.ts';
import { csvRecords } from './csv.ts';

/**
 * Threat intel: indicators parsed from text, CSV, JSON or STIX 2.1 (pure functions over file contents; the
 * loader in ./load.ts reads the files) and an index that matches an event's host, url, contentHash and
 * patchHash.
 * Matching: a domain matches itself; `*.example.com` matches its subdomains (not the apex), as the glob
 * allowlists do; an IP or CIDR matches a host that is an IP literal inside it; URLs match after lowercasing
 * the scheme and host; sha256 values match with or without the `sha256:` prefix, in any case.
 */
export const INDICATOR_TYPES = ['domain', 'ip', 'cidr', 'sha256', 'url'] as const;
export type IndicatorType = (typeof INDICATOR_TYPES)[number];

export const IndicatorInputSchema = z.looseObject({
  type: z.enum(INDICATOR_TYPES).optional(),
  value: z.string().min(1),
  source: z.string().optional(),
  description: z.string().optional(),
  severity: SeveritySchema.optional(),
});

export interface Indicator {
  type: IndicatorType;
  value: string;
  source: string;
  description?: string;
  severity?: z.infer<typeof SeveritySchema>;
}

/** The data fields matched against indicators. */
export type IntelField = 'host' | 'url' | 'contentHash' | 'patchHash';

export interface IntelMatch {
  field: IntelField;
  value: string;
  indicator: string;
  type: IndicatorType;
  source: string;
  description?: string;
}

/** The `intel.*` facts. */
export interface IntelFacts {
  matched: boolean;
  fields: IntelField[];
  types: IndicatorType[];
  indicators: string[];
  sources: string[];
  matches: IntelMatch[];
}

export const NO_INTEL: IntelFacts = Object.freeze({
  matched: false,
  fields: [],
  types: [],
  indicators: [],
  sources: [],
  matches: [],
}) as IntelFacts;

const SHA256 = /^(?:sha256:)?([0-9a-fA-F]{64})$/;
const SCHEME = /^[a-zA-Z][a-zA-Z0-9+.-]*$/;
const LINE_TERMINATOR = /[\n\r\u2028\u2029]/;
const DOMAIN = /^(\*\.)?([a-zA-Z0-9_-]+\.)*[a-zA-Z0-9_-]+\.?$/;

/** The indicator type a bare value has, or undefined when it is none of them. */
export function inferIndicatorType(value: string): IndicatorType | undefined {
  if (SHA256.test(value)) return 'sha256';
  if (splitUrl(value)) return 'url';
  if (value.includes('/')) return parseCidr(value) ? 'cidr' : undefined;
  if (parseIp(value)) return 'ip';
  if (DOMAIN.test(value) && /[a-zA-Z]/.test(value)) return 'domain';
  return undefined;
}

function normalizeDomain(host: string): string {
  const lower = host.toLowerCase();
  return lower.endsWith('.') ? lower.slice(0, -1) : lower;
}

/**
 * `scheme://host` and the rest of a URL (which must lie on one line), or undefined when `text` is none. Read
 * by position: the backtracking expression this replaces took time quadratic in a long host followed by a
 * line break, and event URLs are the agent's to write.
 */
function splitUrl(text: string): { origin: string; rest: string } | undefined {
  const colon = text.indexOf(':');
  if (colon < 1 || !text.startsWith('//', colon + 1) || !SCHEME.test(text.slice(0, colon))) return undefined;
  const hostStart = colon + 3;
  const hostLength = text.slice(hostStart).search(/[/?#]/);
  const hostEnd = hostLength < 0 ? text.length : hostStart + hostLength;
  const rest = text.slice(hostEnd);
  return LINE_TERMINATOR.test(rest) ? undefined : { origin: text.slice(0, hostEnd), rest };
}

/** The scheme and host lowercased, a lone `/` path dropped. */
function normalizeUrl(url: string): string {
  const text = url.trim();
  const parts = splitUrl(text);
  if (!parts) return text;
  return `${parts.origin.toLowerCase()}${parts.rest === '/' ? '' : parts.rest}`;
}

function normalizeHash(hash: string): string | undefined {
  return SHA256.exec(hash)?.[1]?.toLowerCase();
}

export interface ParsedIndicators {
  indicators: Indicator[];
  /** One line per refused entry: where and why. */
  problems: string[];
}

function build(
  value: string,
  declared: IndicatorType | undefined,
  fields: Omit<Indicator, 'type' | 'value'>,
  where: string,
  out: ParsedIndicators,
): void {
  const trimmed = value.trim();
  const inferred = inferIndicatorType(trimmed);
  const type = declared === 'ip' && inferred === 'cidr' ? 'cidr' : (declared ?? inferred);
  if (!type || (inferred !== type && !(type === 'cidr' && inferred === 'ip'))) {
    out.problems.push(
      `${where}: ${JSON.stringify(trimmed)} is not a ${declared ?? 'domain, IP, CIDR, sha256 or URL'}`,
    );
    return;
  }
  out.indicators.push({ type, value: trimmed, ...fields });
}

/** One indicator per line; `#` starts a comment. */
export function parseIndicatorText(text: string, source: string): ParsedIndicators {
  const out: ParsedIndicators = { indicators: [], problems: [] };
  text.split(/\r?\n/).forEach((line, index) => {
    const value = line.replace(/#.*/, '').trim();
    if (value) build(value, undefined, { source }, `${source}:${index + 1}`, out);
  });
  return out;
}

/** CSV with a header naming `value` (or `indicator`) and optionally type, source, description, severity. */
export function parseIndicatorCsv(text: string, source: string): ParsedIndicators {
  const out: ParsedIndicators = { indicators: [], problems: [] };
  csvRecords(text).forEach((record, index) => {
    const candidate = { ...record, value: record.value ?? record.indicator, source: record.source ?? source };
    addRecord(candidate, `${source}:${index + 2}`, out);
  });
  return out;
}

function addRecord(record: unknown, where: string, out: ParsedIndicators): void {
  const parsed = IndicatorInputSchema.safeParse(record);
  if (!parsed.success) {
    out.problems.push(
      `${where}: ${parsed.error.issues.map((i) => `${i.path.join('.') || 'value'}: ${i.message}`).join('; ')}`,
    );
    return;
  }
  const { type, value, source, description, severity } = parsed.data;
  const fields: Omit<Indicator, 'type' | 'value'> = { source: source ?? where.replace(/:.*/, '') };
  if (description) fields.description = description;
  if (severity) fields.severity = severity;
  build(value, type, fields, where, out);
}

/** STIX 2.1 comparison targets we read, and the indicator type each gives. */
const STIX_OBJECT_PATHS: ReadonlyArray<[RegExp, IndicatorType | undefined]> = [
  [/^domain-name:value$/, 'domain'],
  [/^ipv[46]-addr:value$/, undefined],
  [/^url:value$/, 'url'],
  [/^file:hashes\.(?:'SHA-256'|"SHA-256"|SHA256|'SHA256')$/, 'sha256'],
];
const STIX_COMPARISON = /([a-z0-9-]+:[\w.'"-]+)\s*=\s*'((?:[^'\\]|\\.)*)'/g;

function parseStixBundle(bundle: { objects?: unknown }, source: string, out: ParsedIndicators): void {
  const objects = Array.isArray(bundle.objects) ? bundle.objects : [];
  objects.forEach((object, index) => {
    if (typeof object !== 'object' || object === null) return;
    const indicator = object as Record<string, unknown>;
    if (indicator.type !== 'indicator' || indicator.revoked === true) return;
    const where = `${source}: objects[${index}]`;
    const pattern = indicator.pattern;
    if (typeof pattern !== 'string' || (indicator.pattern_type ?? 'stix') !== 'stix') {
      out.problems.push(`${where}: only STIX patterns are read`);
      return;
    }
    // Only disjunctions of equality tests map to plain indicators; AND/FOLLOWEDBY need a pattern engine.
    if (/\b(AND|FOLLOWEDBY|WITHIN|REPEATS)\b/.test(pattern)) {
      out.problems.push(
        `${where}: pattern ${JSON.stringify(pattern)} is not a plain disjunction of equalities`,
      );
      return;
    }
    const name = typeof indicator.name === 'string' ? indicator.name : undefined;
    for (const match of pattern.matchAll(STIX_COMPARISON)) {
      const entry = STIX_OBJECT_PATHS.find(([path]) => path.test(match[1]!));
      if (!entry) {
        out.problems.push(`${where}: ${match[1]} is not a supported object path`);
        continue;
      }
      const fields: Omit<Indicator, 'type' | 'value'> = { source };
      if (name) fields.description = name;
      build(match[2]!.replace(/\\(.)/g, '$1'), entry[1], fields, where, out);
    }
  });
}

/** JSON: an array of values or indicator objects, `{indicators: [...]}`, or a STIX 2.1 bundle. */
export function parseIndicatorJson(content: unknown, source: string): ParsedIndicators {
  const out: ParsedIndicators = { indicators: [], problems: [] };
  if (typeof content === 'object' && content !== null && (content as { type?: unknown }).type === 'bundle') {
    parseStixBundle(content as { objects?: unknown }, source, out);
    return out;
  }
  const list = Array.isArray(content) ? content : (content as { indicators?: unknown } | null)?.indicators;
  if (!Array.isArray(list)) {
    out.problems.push(`${source}: expected an array of indicators, {indicators: [...]}, or a STIX bundle`);
    return out;
  }
  list.forEach((item, index) => {
    addRecord(typeof item === 'string' ? { value: item } : item, `${source}: [${index}]`, out);
  });
  return out;
}

/** Each field read by a property access of its own: one `data[field]` read saw every field and data shape. */
const FIELD_READERS: ReadonlyArray<readonly [IntelField, (data: Record<string, unknown>) => unknown]> = [
  ['host', (data) => data.host],
  ['url', (data) => data.url],
  ['contentHash', (data) => data.contentHash],
  ['patchHash', (data) => data.patchHash],
];

/** Indicators indexed for constant-time lookups per event field. */
export class IntelIndex {
  private readonly domains = new Map<string, Indicator>();
  private readonly wildcardDomains = new Map<string, Indicator>();
  private readonly addresses = new CidrSet<Indicator>();
  private readonly hashes = new Map<string, Indicator>();
  private readonly urls = new Map<string, Indicator>();
  /** Labels of the longest wildcard domain: a host's suffix of more labels cannot be one. */
  private wildcardLabels = 0;
  readonly size: number;

  constructor(indicators: readonly Indicator[]) {
    for (const indicator of indicators) {
      switch (indicator.type) {
        case 'domain': {
          const domain = normalizeDomain(indicator.value);
          if (domain.startsWith('*.')) {
            const suffix = domain.slice(2);
            this.wildcardDomains.set(suffix, indicator);
            this.wildcardLabels = Math.max(this.wildcardLabels, suffix.split('.').length);
          } else this.domains.set(domain, indicator);
          break;
        }
        case 'ip':
        case 'cidr':
          this.addresses.add(parseCidr(indicator.value)!, indicator);
          break;
        case 'sha256':
          this.hashes.set(normalizeHash(indicator.value)!, indicator);
          break;
        case 'url':
          this.urls.set(normalizeUrl(indicator.value), indicator);
          break;
      }
    }
    this.size = indicators.length;
  }

  private lookupHost(host: string): Indicator | undefined {
    if (this.addresses.size > 0) {
      const address = parseIp(host);
      if (address) return this.addresses.lookupAddress(address);
    }
    const domain = normalizeDomain(host);
    const exact = this.domains.get(domain);
    if (exact || this.wildcardDomains.size === 0) return exact;
    // Only the suffixes short enough to be a wildcard's are looked up (longest first): a lookup per dot made a
    // host of thousands of labels cost time quadratic in its length.
    let labels = 1;
    for (let dot = domain.indexOf('.'); dot >= 0; dot = domain.indexOf('.', dot + 1)) labels++;
    for (let dot = domain.indexOf('.'); dot >= 0; dot = domain.indexOf('.', dot + 1)) {
      if (--labels > this.wildcardLabels) continue;
      const hit = this.wildcardDomains.get(domain.slice(dot + 1));
      if (hit) return hit;
    }
    return undefined;
  }

  private lookup(field: IntelField, value: string): Indicator | undefined {
    switch (field) {
      case 'host':
        return this.lookupHost(value);
      case 'url':
        return this.urls.size > 0 ? this.urls.get(normalizeUrl(value)) : undefined;
      case 'contentHash':
      case 'patchHash': {
        if (this.hashes.size === 0) return undefined;
        const hash = normalizeHash(value);
        return hash ? this.hashes.get(hash) : undefined;
      }
    }
  }

  /** The `intel.*` facts of one event. */
  match(event: Envelope): IntelFacts {
    if (this.size === 0) return NO_INTEL;
    let matches: IntelMatch[] | undefined;
    for (let i = 0; i < FIELD_READERS.length; i++) {
      const [field, read] = FIELD_READERS[i]!;
      const value = read(event.data);
      if (typeof value !== 'string' || value === '') continue;
      const indicator = this.lookup(field, value);
      if (!indicator) continue;
      const match: IntelMatch = {
        field,
        value,
        indicator: indicator.value,
        type: indicator.type,
        source: indicator.source,
      };
      if (indicator.description) match.description = indicator.description;
      matches ??= [];
      matches.push(match);
    }
    if (!matches) return NO_INTEL;
    return {
      matched: true,
      fields: matches.map((m) => m.field),
      types: [...new Set(matches.map((m) => m.type))],
      indicators: matches.map((m) => m.indicator),
      sources: [...new Set(matches.map((m) => m.source))],
      matches,
    };
  }
}

export const EMPTY_INTEL = new IntelIndex([]);
