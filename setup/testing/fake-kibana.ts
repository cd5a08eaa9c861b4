import {
  type RecordedRequest,
  ScriptedHttpServer,
  type ScriptedResponse,
} from '../../test/support/http-server.ts';

/**
 * A stand-in for the two Kibana endpoints setup uses (Kibana itself cannot run here). It checks a request the
 * way Kibana does: `kbn-xsrf` on writes, a multipart body whose `file` part is named *.ndjson, one saved
 * object per line, references that resolve within the import or the store; and answers in Kibana's shapes.
 */

export interface StoredObject {
  type: string;
  id: string;
  attributes: Record<string, unknown>;
  references: Array<{ type: string; id: string; name: string }>;
}

export interface FakeKibanaOptions {
  /** /api/status answers in this order, then keeps answering the last one. */
  statuses?: ScriptedResponse[];
  /** When set, requests must carry exactly this Authorization header. */
  authorization?: string;
  importableTypes?: readonly string[];
}

export const AVAILABLE: ScriptedResponse = status('available');
export const NOT_READY: ScriptedResponse = {
  status: 503,
  headers: { 'content-type': 'text/plain' },
  body: 'Kibana server is not ready yet',
};

/** Kibana answers 503 while its overall level is unavailable or critical, 200 otherwise. */
export function status(
  level: string,
  httpStatus = level === 'unavailable' || level === 'critical' ? 503 : 200,
): ScriptedResponse {
  const body = {
    name: 'kibana',
    version: { number: '9.2.4' },
    status: { overall: { level, summary: level } },
  };
  return { status: httpStatus, body: JSON.stringify(body) };
}

export class FakeKibana {
  readonly store = new Map<string, StoredObject>();
  /** Each import's parsed objects, in order. */
  readonly imports: StoredObject[][] = [];

  private constructor(
    readonly server: ScriptedHttpServer,
    private readonly options: FakeKibanaOptions,
  ) {}

  static async start(options: FakeKibanaOptions = {}): Promise<FakeKibana> {
    const server = await ScriptedHttpServer.start();
    const fake = new FakeKibana(server, options);
    let statusCalls = 0;
    server.respondWith((request) => {
      if (options.authorization && request.headers.authorization !== options.authorization)
        return reply(401, { statusCode: 401, error: 'Unauthorized', message: 'Unauthorized' });
      const path = new URL(request.path, 'http://kibana');
      if (request.method === 'GET' && path.pathname === '/api/status') {
        const statuses = options.statuses ?? [AVAILABLE];
        return statuses[Math.min(statusCalls++, statuses.length - 1)] ?? AVAILABLE;
      }
      if (request.method === 'POST' && path.pathname === '/api/saved_objects/_import')
        return fake.import(request, path);
      return reply(404, { statusCode: 404, error: 'Not Found', message: 'Not Found' });
    });
    return fake;
  }

  get url(): string {
    return this.server.url;
  }

  get requests(): readonly RecordedRequest[] {
    return this.server.requests;
  }

  close(): Promise<void> {
    return this.server.close();
  }

  private import(request: RecordedRequest, path: URL): ScriptedResponse {
    if (request.headers['kbn-xsrf'] === undefined)
      return reply(400, {
        statusCode: 400,
        error: 'Bad Request',
        message: 'Request must contain a kbn-xsrf header.',
      });
    const boundary = /^multipart\/form-data;\s*boundary=(?:"([^"]+)"|([^;]+))/i.exec(
      request.headers['content-type'] ?? '',
    );
    if (!boundary)
      return reply(415, {
        statusCode: 415,
        error: 'Unsupported Media Type',
        message: 'Unsupported Media Type',
      });
    const file = multipartFile(request.body.toString('utf8'), boundary[1] ?? boundary[2] ?? '');
    if (!file)
      return reply(400, {
        statusCode: 400,
        error: 'Bad Request',
        message: '[request body.file]: expected value of type [Stream]',
      });
    if (!file.filename.endsWith('.ndjson'))
      return reply(400, {
        statusCode: 400,
        error: 'Bad Request',
        message: `Invalid file extension ${file.filename}`,
      });
    const objects: StoredObject[] = [];
    for (const line of file.content.split('\n')) {
      if (line.trim() === '') continue;
      try {
        objects.push(JSON.parse(line) as StoredObject);
      } catch {
        return reply(400, {
          statusCode: 400,
          error: 'Bad Request',
          message: `Unexpected token in JSON: ${line.slice(0, 40)}`,
        });
      }
    }
    this.imports.push(objects);
    return reply(200, this.apply(objects, path.searchParams.get('overwrite') === 'true'));
  }

  /** Kibana's import semantics for what this fake models: per-object errors, the rest imported. */
  private apply(objects: StoredObject[], overwrite: boolean): Record<string, unknown> {
    const types = new Set(
      this.options.importableTypes ?? ['index-pattern', 'lens', 'search', 'dashboard', 'visualization'],
    );
    const incoming = new Set(objects.map((object) => `${object.type}/${object.id}`));
    const errors: Array<Record<string, unknown>> = [];
    const successResults: Array<Record<string, unknown>> = [];
    for (const object of objects) {
      const key = `${object.type}/${object.id}`;
      const meta = { title: object.attributes?.title };
      const fail = (error: Record<string, unknown>) =>
        errors.push({ type: object.type, id: object.id, title: meta.title, meta, error });
      if (
        typeof object.type !== 'string' ||
        typeof object.id !== 'string' ||
        typeof object.attributes !== 'object'
      ) {
        fail({ type: 'unknown', message: 'saved object needs type, id and attributes' });
      } else if (!types.has(object.type)) {
        fail({ type: 'unsupported_type' });
      } else {
        const missing = (object.references ?? []).filter(
          (ref) => !incoming.has(`${ref.type}/${ref.id}`) && !this.store.has(`${ref.type}/${ref.id}`),
        );
        if (missing.length > 0)
          fail({ type: 'missing_references', references: missing.map(({ type, id }) => ({ type, id })) });
        else if (this.store.has(key) && !overwrite) fail({ type: 'conflict' });
        else {
          successResults.push({
            type: object.type,
            id: object.id,
            meta,
            ...(this.store.has(key) ? { overwrite: true } : {}),
          });
          this.store.set(key, object);
        }
      }
    }
    return {
      success: errors.length === 0,
      successCount: successResults.length,
      successResults,
      ...(errors.length > 0 ? { errors } : {}),
    };
  }
}

function reply(statusCode: number, body: unknown): ScriptedResponse {
  return { status: statusCode, body: JSON.stringify(body) };
}

/** The `file` part of a multipart/form-data body (RFC 7578), text content only. */
function multipartFile(body: string, boundary: string): { filename: string; content: string } | undefined {
  for (const part of body.split(`--${boundary}`)) {
    const split = part.indexOf('\r\n\r\n');
    if (split < 0) continue;
    const head = part.slice(0, split);
    const disposition = /content-disposition:\s*form-data;([^\r\n]*)/i.exec(head)?.[1] ?? '';
    if (!/\bname="file"/.test(disposition)) continue;
    const filename = /\bfilename="([^"]*)"/.exec(disposition)?.[1];
    if (filename === undefined) return undefined;
    // The part ends with the CRLF that precedes the next delimiter.
    return { filename, content: part.slice(split + 4).replace(/\r\n$/, '') };
  }
  return undefined;
}
