/**
 * The one HTML escaping helper. Every page is built with the `html` tag: each interpolated value is escaped
 * unless it is itself the result of `html` (or `raw`, for our own constant markup). Telemetry is hostile, so
 * nothing from an event, alert or request reaches a page any other way (docs/security.md, "Console").
 */
const ESCAPES: Readonly<Record<string, string>> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&#39;',
  '`': '&#96;',
};

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"'`]/g, (char) => ESCAPES[char]!);
}

export class SafeHtml {
  constructor(readonly value: string) {}

  toString(): string {
    return this.value;
  }
}

export type HtmlValue = SafeHtml | string | number | boolean | null | undefined | readonly HtmlValue[];

function render(value: HtmlValue): string {
  if (value instanceof SafeHtml) return value.value;
  if (value === null || value === undefined || value === false) return '';
  if (Array.isArray(value)) return value.map(render).join('');
  return escapeHtml(String(value));
}

export function html(strings: TemplateStringsArray, ...values: readonly HtmlValue[]): SafeHtml {
  let out = strings[0]!;
  values.forEach((value, index) => {
    out += render(value) + strings[index + 1]!;
  });
  return new SafeHtml(out);
}

/** Our own markup held in a constant (never a value from a request or an event). */
export function raw(markup: string): SafeHtml {
  return new SafeHtml(markup);
}

export type QueryValue = string | number | readonly string[] | undefined;

/**
 * A same-origin URL: each path segment percent-encoded on its own, query values encoded too; the result still
 * goes through `html`'s escaping. Values from telemetry (agent and session ids) go in the query only: a path
 * segment `..` (or `%2E%2E`) would be resolved by the browser, a query value never is.
 */
export function href(segments: readonly string[], query: Readonly<Record<string, QueryValue>> = {}): string {
  const path = `/${segments.map((segment) => encodeURIComponent(segment)).join('/')}`;
  const search = new URLSearchParams();
  for (const [key, value] of Object.entries(query)) {
    if (value === undefined || value === '') continue;
    for (const each of Array.isArray(value) ? value : [String(value)]) search.append(key, each);
  }
  const text = search.toString();
  return text ? `${path}?${text}` : path;
}
