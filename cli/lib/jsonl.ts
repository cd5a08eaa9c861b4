import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import { type Envelope, parseRecord } from '../../engine/index.ts';

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

/** JSON-parses and normalizes one line; a problem reads `file:line: field: message`. */
export function decodeLine({ file, line, text }: Line): Decoded {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (error) {
    return { ok: false, problem: `${file}:${line}: invalid JSON: ${(error as Error).message}` };
  }
  const parsed = parseRecord(raw);
  if (parsed.ok) return { ok: true, envelope: parsed.value };
  const detail = parsed.error.map((e) => `${e.field}: ${e.message}`).join('; ');
  return { ok: false, problem: `${file}:${line}: ${detail}` };
}
