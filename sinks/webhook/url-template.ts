import { err, ok, type Result } from '../../core/result.ts';
import type { Alert, ResponseAction } from '../../engine/alert.ts';

/** Alert fields a URL template may use; their values are percent-encoded when substituted. */
export const ALERT_URL_FIELDS = [
  'alertId',
  'ruleId',
  'agentId',
  'sessionId',
  'severity',
  'action',
  'groupKey',
] as const;
export type AlertUrlField = (typeof ALERT_URL_FIELDS)[number];

const PLACEHOLDER = /\{([A-Za-z_][A-Za-z0-9_]*)\}/g;

export function placeholders(template: string): string[] {
  return [...template.matchAll(PLACEHOLDER)].map((match) => match[1]!);
}

export function isAlertUrlField(name: string): name is AlertUrlField {
  return (ALERT_URL_FIELDS as readonly string[]).includes(name);
}

export interface UrlLimits {
  /** The whole rendered URL, in bytes. */
  maxBytes: number;
  /** One substituted alert field once percent-encoded, in bytes. */
  maxFieldBytes: number;
}

type Piece = { text: string } | { field: AlertUrlField };

/**
 * A template with its `vars` filled in (verbatim: they are trusted config such as a base URL), cut into path
 * segments and a query/fragment tail. Alert fields may only stand in the path or the tail, never in the
 * scheme or the authority, so no alert can change where a request goes.
 */
export interface UrlTemplate {
  /** Scheme and authority: `https://control.example`. */
  origin: string;
  /** The path's segments between slashes (the first is the empty one before the leading slash). */
  segments: Piece[][];
  /** `?…#…` as written, or empty. */
  tail: Piece[];
}

export function compileUrlTemplate(
  template: string,
  vars: Readonly<Record<string, string>>,
): Result<UrlTemplate, string> {
  const filled = template.replace(PLACEHOLDER, (whole, name: string) =>
    isAlertUrlField(name) ? whole : (vars[name] ?? whole),
  );
  const authority = /^[A-Za-z][A-Za-z0-9+.-]*:\/\/[^/?#]*/.exec(filled);
  if (!authority) return err('must start with a scheme and host, e.g. https://control.example/…');
  const origin = authority[0];
  if (placeholders(origin).length > 0) {
    return err('alert fields may stand in the path or the query, not in the scheme or host');
  }
  try {
    new URL(filled.replace(PLACEHOLDER, 'x'));
  } catch {
    return err('is not a valid URL once its placeholders are filled');
  }
  const rest = filled.slice(origin.length);
  const tailStart = rest.search(/[?#]/);
  const path = tailStart === -1 ? rest : rest.slice(0, tailStart);
  const tail = tailStart === -1 ? '' : rest.slice(tailStart);
  return ok({ origin, segments: path.split('/').map(pieces), tail: pieces(tail) });
}

function pieces(text: string): Piece[] {
  const out: Piece[] = [];
  let last = 0;
  for (const match of text.matchAll(PLACEHOLDER)) {
    if (match.index > last) out.push({ text: text.slice(last, match.index) });
    out.push(isAlertUrlField(match[1]!) ? { field: match[1] as AlertUrlField } : { text: match[0] });
    last = match.index + match[0].length;
  }
  if (last < text.length) out.push({ text: text.slice(last) });
  return out;
}

/**
 * Fills the alert fields in. Each value is percent-encoded (everything but RFC 3986's unreserved characters,
 * so `/`, `\`, `?`, `#`, `&`, `%` and non-ASCII travel as data) and must fit `maxFieldBytes`. A path segment
 * that holds a field is refused when a receiver that decodes and normalizes could read it as `.` or `..`
 * (see dotSegmentReading): URL parsers, WHATWG's included, fold `%2e%2e` into a climb, so no encoding can
 * carry such a segment safely. A field in the query is only encoded. The refusal names the field; the
 * alert's other actions and sinks are not affected.
 */
export function renderUrl(
  template: UrlTemplate,
  alert: Alert,
  action: ResponseAction,
  limits: UrlLimits,
): Result<string, string> {
  const values: Record<AlertUrlField, string> = {
    alertId: alert.alertId,
    ruleId: alert.ruleId,
    agentId: alert.agentId,
    sessionId: alert.sessionId,
    severity: alert.severity,
    action,
    groupKey: alert.groupKey,
  };
  const encoded = new Map<AlertUrlField, string>();
  const fill = (piece: Piece): Result<string, string> => {
    if ('text' in piece) return ok(piece.text);
    const known = encoded.get(piece.field);
    if (known !== undefined) return ok(known);
    const value = values[piece.field];
    if (LONE_SURROGATE.test(value)) {
      return err(`${piece.field} is not well-formed Unicode (a lone surrogate)`);
    }
    const text = encodeSegment(value);
    if (text.length > limits.maxFieldBytes) {
      return err(
        `${piece.field} is ${text.length} bytes once URL-encoded, over the ${limits.maxFieldBytes} a webhook URL field may use`,
      );
    }
    encoded.set(piece.field, text);
    return ok(text);
  };

  const segments: string[] = [];
  for (const segment of template.segments) {
    let text = '';
    for (const piece of segment) {
      const filled = fill(piece);
      if (!filled.ok) return filled;
      text += filled.value;
    }
    const fields = segment.flatMap((piece) => ('field' in piece ? [piece.field] : []));
    if (fields.length > 0 && segments.length > 0) {
      const reading = dotSegmentReading(text);
      if (reading !== undefined) {
        return err(
          `${fields.join(', ')} ${JSON.stringify(values[fields[0]!].slice(0, 64))} would make the URL path segment ${reading}: a receiver could climb out of the templated path`,
        );
      }
    }
    segments.push(text);
  }
  let tail = '';
  for (const piece of template.tail) {
    const filled = fill(piece);
    if (!filled.ok) return filled;
    tail += filled.value;
  }
  const url = `${template.origin}${segments.join('/')}${tail}`;
  const bytes = Buffer.byteLength(url);
  if (bytes > limits.maxBytes) {
    const longest = [...encoded].sort(([, a], [, b]) => b.length - a.length)[0];
    return err(
      `the URL would be ${bytes} bytes, over the ${limits.maxBytes} allowed${longest ? ` (${longest[0]} is ${longest[1].length})` : ''}`,
    );
  }
  return ok(url);
}

/** In `u` mode a surrogate pair is one code point, so this finds only unpaired halves (which encodeURIComponent throws on). */
const LONE_SURROGATE = /[\uD800-\uDFFF]/u;

/** encodeURIComponent plus RFC 3986's sub-delimiters it leaves alone: only [A-Za-z0-9-._~] stay literal. */
function encodeSegment(value: string): string {
  return encodeURIComponent(value).replace(
    /[!'()*]/g,
    (char) => `%${char.charCodeAt(0).toString(16).toUpperCase()}`,
  );
}

/** Full stops that Unicode normalization or IDNA mapping turn into `.`. */
const UNICODE_FULL_STOPS = /[\u2024\u3002\uFE52\uFF0E\uFF61]/g;
const MAX_DECODINGS = 4;

/**
 * How a lenient receiver might read a rendered segment: percent-decoded again and again (double encoding),
 * NFKC-normalized, Unicode full stops as `.`, and `/` or `\` as separators. Returns `"."`/`".."`/`empty`
 * when some reading is a dot segment or empty, else undefined.
 */
export function dotSegmentReading(segment: string): string | undefined {
  let text = segment;
  for (let round = 0; round <= MAX_DECODINGS; round++) {
    const normalized = text.normalize('NFKC').replace(UNICODE_FULL_STOPS, '.');
    if (normalized === '') return 'empty';
    for (const part of normalized.split(/[/\\]/)) {
      if (part === '.' || part === '..') return JSON.stringify(part);
    }
    let decoded: string;
    try {
      decoded = decodeURIComponent(normalized);
    } catch {
      return undefined;
    }
    if (decoded === normalized) return undefined;
    text = decoded;
  }
  // Still decoding after that many rounds: nothing real is encoded this deep.
  return 'encoded more than 4 times';
}
