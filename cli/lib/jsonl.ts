import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import { type Envelope, type ParseContext, parseEnvelope, parseRecord } from '../../engine/index.ts';

export interface Line {
  file: string;
  line: number;
  text: string;
}

/** Lines of a JSONL file (`-` for stdin), numbered from 1; blank lines skipped. */
export async function* readLines(file: string): AsyncGenerator<Line> {
  const input = file === '-' ? process.stdin : createReadStream(file, { encoding: 'utf8' });
  const reader = createInterface({ input, crlfDelay: Number.POSITIVE_INFINITY });
  let line = 0;
  for await (const text of reader) {
    line++;
    if (text.trim() !== '') yield { file: file === '-' ? '<stdin>' : file, line, text };
  }
}

export type Decoded = { ok: true; envelope: Envelope } | { ok: false; problem: string };

/**
 * JSON-parses and normalizes one line under the record limits of `context` (a wire record, or an envelope as
 * the file sink writes them); a problem reads `file:line: field: message`. Never throws: a bad line is that
 * line's problem and the next one is read.
 */
export function decodeLine({ file, line, text }: Line, context: ParseContext = {}): Decoded {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (error) {
    return { ok: false, problem: `${file}:${line}: invalid JSON: ${(error as Error).message}` };
  }
  const isEnvelope = typeof raw === 'object' && raw !== null && Object.hasOwn(raw, 'schemaVersion');
  const parsed = isEnvelope ? parseEnvelope(raw, context) : parseRecord(raw, context);
  if (parsed.ok) return { ok: true, envelope: parsed.value };
  const detail = parsed.error.map((e) => `${e.field}: ${e.message}`).join('; ');
  return { ok: false, problem: `${file}:${line}: ${detail}` };
}
