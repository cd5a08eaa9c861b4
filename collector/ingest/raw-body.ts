import { exposed } from '../plugins/expose.ts';

/** Ingest bodies stay raw bytes: the HMAC covers the exact bytes, and gzip and framing are ours to decode. */
export const rawBodyPlugin = exposed<{ maxBodyBytes: number }>(
  'edr-raw-body',
  async (app, { maxBodyBytes }) => {
    app.removeAllContentTypeParsers();
    app.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit: maxBodyBytes }, (_request, body, done) => {
      done(null, body);
    });
  },
);
