import type { SetupSettings } from './config.ts';
import { errorText, SetupError } from './errors.ts';
import type { SavedObjectBundle } from './saved-objects.ts';
import { type WaitOptions, waitFor } from './wait.ts';

export type KibanaAuth = NonNullable<SetupSettings['kibanaAuth']>;

export interface KibanaOptions {
  /** Base URL; a base path (`http://host/kibana`) is kept. */
  url: string;
  auth?: KibanaAuth;
  fetch?: typeof fetch;
}

const STATUS_TIMEOUT_MS = 10_000;
const IMPORT_TIMEOUT_MS = 120_000;

function endpoint(options: KibanaOptions, path: string): URL {
  return new URL(path, options.url.endsWith('/') ? options.url : `${options.url}/`);
}

/** Kibana rejects writes without `kbn-xsrf` (its CSRF guard); credentials as Elasticsearch takes them. */
function headers(auth: KibanaAuth | undefined): Record<string, string> {
  const result: Record<string, string> = { 'kbn-xsrf': 'true' };
  if (auth && 'apiKey' in auth) result.authorization = `ApiKey ${auth.apiKey}`;
  else if (auth)
    result.authorization = `Basic ${Buffer.from(`${auth.username}:${auth.password}`).toString('base64')}`;
  return result;
}

/** Kibana's overall status level; 7.x spoke of a `state` (green) instead. */
interface StatusBody {
  version?: { number?: string };
  status?: { overall?: { level?: string; state?: string } };
}

export interface KibanaStatus {
  version: string;
  /** `available`, or `degraded`: some plugin is unwell but the saved objects API serves. */
  level: 'available' | 'degraded';
}

/** One look at /api/status: Kibana's version when it serves requests, else an error saying why not. */
export async function kibanaStatus(options: KibanaOptions): Promise<KibanaStatus> {
  const doFetch = options.fetch ?? fetch;
  const response = await doFetch(endpoint(options, 'api/status'), {
    headers: headers(options.auth),
    signal: AbortSignal.timeout(STATUS_TIMEOUT_MS),
  });
  if (response.status === 401 || response.status === 403)
    throw new SetupError(
      'kibana',
      `Kibana at ${options.url} refused the credentials (HTTP ${response.status}): set setup.kibanaAuth, or the elasticsearch sink's auth`,
    );
  const text = await response.text();
  let body: StatusBody = {};
  try {
    body = JSON.parse(text) as StatusBody;
  } catch {
    // A proxy's error page or Kibana still starting ("Kibana server is not ready yet").
  }
  const overall = body.status?.overall;
  const level = overall?.level ?? (overall?.state === 'green' ? 'available' : overall?.state);
  if (response.ok && (level === 'available' || level === 'degraded'))
    return { version: body.version?.number ?? 'unknown', level };
  throw new Error(
    `/api/status answered HTTP ${response.status}${level ? `, level ${level}` : `: ${text.trim().slice(0, 120)}`}`,
  );
}

export function waitForKibana(options: KibanaOptions, wait: WaitOptions): Promise<KibanaStatus> {
  return waitFor('kibana', `Kibana at ${options.url}`, () => kibanaStatus(options), wait);
}

interface ImportError {
  type?: string;
  id?: string;
  title?: string;
  meta?: { title?: string };
  error?: { type?: string; message?: string; references?: Array<{ type?: string; id?: string }> };
}
interface ImportResponse {
  success?: boolean;
  successCount?: number;
  errors?: ImportError[];
  successResults?: Array<{ type?: string; id?: string }>;
  message?: string;
}

export interface ImportSummary {
  successCount: number;
  /** Imported objects per saved-object type. */
  byType: Record<string, number>;
}

/**
 * `POST /api/saved_objects/_import?overwrite=true` with the NDJSON as the multipart `file`: the objects keep
 * their ids, so running setup again replaces them instead of adding copies.
 */
export async function importSavedObjects(
  options: KibanaOptions,
  bundle: SavedObjectBundle,
): Promise<ImportSummary> {
  const doFetch = options.fetch ?? fetch;
  const form = new FormData();
  form.append('file', new Blob([bundle.ndjson], { type: 'application/ndjson' }), 'clawdstrike-edr.ndjson');
  let response: Response;
  try {
    response = await doFetch(endpoint(options, 'api/saved_objects/_import?overwrite=true'), {
      method: 'POST',
      headers: headers(options.auth),
      body: form,
      signal: AbortSignal.timeout(IMPORT_TIMEOUT_MS),
    });
  } catch (error) {
    throw new SetupError('kibana', `saved objects import to ${options.url} failed: ${errorText(error)}`, {
      cause: error,
    });
  }
  const text = await response.text();
  let body: ImportResponse = {};
  try {
    body = JSON.parse(text) as ImportResponse;
  } catch {
    // Reported below with the raw text.
  }
  if (!response.ok)
    throw new SetupError(
      'kibana',
      `Kibana refused the saved objects import (HTTP ${response.status}): ${body.message ?? text.trim().slice(0, 300)}`,
    );
  if (body.success !== true) {
    const errors = (body.errors ?? []).map(describeImportError);
    throw new SetupError(
      'kibana',
      `Kibana imported ${body.successCount ?? 0} of ${bundle.count} saved objects; failed: ${errors.join('; ') || text.slice(0, 300)}`,
    );
  }
  const byType: Record<string, number> = {};
  for (const result of body.successResults ?? []) {
    const type = result.type ?? 'unknown';
    byType[type] = (byType[type] ?? 0) + 1;
  }
  return { successCount: body.successCount ?? 0, byType };
}

function describeImportError(item: ImportError): string {
  const title = item.title ?? item.meta?.title;
  const missing = (item.error?.references ?? []).map((ref) => `${ref.type}/${ref.id}`);
  return (
    `${item.type}/${item.id}${title ? ` "${title}"` : ''}: ${item.error?.type ?? 'error'}` +
    (missing.length > 0 ? ` (missing ${missing.join(', ')})` : '') +
    (item.error?.message ? ` (${item.error.message})` : '')
  );
}
