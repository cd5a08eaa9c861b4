import { randomBytes } from 'node:crypto';
import { existsSync, linkSync, mkdirSync, readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { EdrError } from '../../core/errors.ts';
import type { RedactionConfig } from './config.ts';

export type RedactionKeyOrigin = 'config' | 'saved' | 'generated';

/**
 * The digests' HMAC key: `redaction.key` when set; else the key saved in `redaction.keyFile`; else a new
 * random one saved there (mode 0600), so digests stay comparable across restarts.
 */
export function loadRedactionKey(config: RedactionConfig): {
  key: Buffer;
  origin: RedactionKeyOrigin;
  file: string;
} {
  const file = config.keyFile;
  if (config.key) return { key: Buffer.from(config.key, 'utf8'), origin: 'config', file };
  if (!existsSync(file)) {
    const value = randomBytes(32).toString('base64url');
    mkdirSync(dirname(file), { recursive: true });
    // Written aside, then linked into place: a process starting at the same moment either wins the link or
    // reads the winner's complete file, never a half-written one.
    const aside = `${file}.${process.pid}.${randomBytes(4).toString('hex')}`;
    writeFileSync(aside, `${value}\n`, { mode: 0o600 });
    try {
      linkSync(aside, file);
      return { key: Buffer.from(value, 'utf8'), origin: 'generated', file };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    } finally {
      unlinkSync(aside);
    }
  }
  const saved = readFileSync(file, 'utf8').trim();
  if (saved.length < 16) {
    throw new EdrError('EDR_ERR_CONFIG', `redaction.keyFile ${file}: holds fewer than 16 characters`);
  }
  return { key: Buffer.from(saved, 'utf8'), origin: 'saved', file };
}
