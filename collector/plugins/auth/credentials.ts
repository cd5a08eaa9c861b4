import type { IncomingHttpHeaders } from 'node:http';

/** Authorization schemes that carry a key: ours, Splunk HEC's, and Elasticsearch's API keys. */
const SCHEMES = new Set(['bearer', 'splunk', 'apikey']);

export type Presented = { kind: 'token'; token: string } | { kind: 'malformed' } | { kind: 'none' };

/** The credential a request presents: an Authorization scheme above, or one of the configured static headers. */
export function presentedCredential(
  headers: IncomingHttpHeaders,
  staticHeaders: readonly string[],
): Presented {
  const authorization = headers.authorization;
  if (authorization !== undefined) {
    const space = authorization.indexOf(' ');
    const scheme = space > 0 ? authorization.slice(0, space).toLowerCase() : '';
    const token = space > 0 ? authorization.slice(space + 1).trim() : '';
    return SCHEMES.has(scheme) && token !== '' ? { kind: 'token', token } : { kind: 'malformed' };
  }
  for (const name of staticHeaders) {
    const value = headers[name];
    if (typeof value === 'string' && value !== '') return { kind: 'token', token: value };
  }
  return { kind: 'none' };
}
