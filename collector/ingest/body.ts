import type { IncomingHttpHeaders } from 'node:http';
import { promisify } from 'node:util';
import { gunzip, inflate } from 'node:zlib';
import { EdrError } from '../../core/errors.ts';

const gunzipAsync = promisify(gunzip);
const inflateAsync = promisify(inflate);

/** The media type without parameters, lowercased; undefined when the header is absent. */
export function mediaType(headers: IncomingHttpHeaders): string | undefined {
  const value = headers['content-type'];
  return value === undefined ? undefined : value.split(';', 1)[0]!.trim().toLowerCase();
}

/**
 * Undoes Content-Encoding (gzip, deflate) with the size limit applied to the decoded bytes too. A request
 * without a body is refused, unless `allowEmpty` (then it is empty bytes).
 */
export async function decodeBody(
  body: unknown,
  headers: IncomingHttpHeaders,
  maxBytes: number,
  { allowEmpty = false } = {},
): Promise<Buffer> {
  if (!Buffer.isBuffer(body) || body.length === 0) {
    if (allowEmpty) return Buffer.alloc(0);
    throw new EdrError('EDR_ERR_NO_RECORDS', 'empty body');
  }
  const encoding = (headers['content-encoding'] ?? 'identity').trim().toLowerCase();
  if (encoding === 'identity' || encoding === '') return body;
  const decode =
    encoding === 'gzip' || encoding === 'x-gzip'
      ? gunzipAsync
      : encoding === 'deflate'
        ? inflateAsync
        : undefined;
  if (!decode)
    throw new EdrError('EDR_ERR_UNSUPPORTED_MEDIA', `content-encoding ${encoding} (use gzip or deflate)`);
  try {
    return await decode(body, { maxOutputLength: maxBytes });
  } catch (error) {
    if ((error as { code?: unknown }).code === 'ERR_BUFFER_TOO_LARGE') {
      throw new EdrError('EDR_ERR_BODY_TOO_LARGE', `more than ${maxBytes} bytes once decoded`);
    }
    throw new EdrError('EDR_ERR_BAD_ENCODING', `${encoding}: ${(error as Error).message}`, { cause: error });
  }
}
