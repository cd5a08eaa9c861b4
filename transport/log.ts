import type { TransportLogger } from './types.ts';

/** The default when the caller passes no logger: warnings and errors as JSON lines on stderr. */
export const stderrLogger: TransportLogger = {
  error: (fields, message) => writeLine('error', fields, message),
  warn: (fields, message) => writeLine('warn', fields, message),
  info: () => {},
  debug: () => {},
};

function writeLine(level: string, fields: Record<string, unknown>, message: string): void {
  const err =
    fields.err instanceof Error ? { name: fields.err.name, message: fields.err.message } : fields.err;
  process.stderr.write(`${JSON.stringify({ level, time: Date.now(), ...fields, err, msg: message })}\n`);
}
