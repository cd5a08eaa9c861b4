import type { Prng } from './prng.ts';

/** A UUIDv7 (RFC 9562) whose time field is `ms` and whose random bits come from the run's generator. */
export function uuidV7(rng: Prng, ms: number): string {
  const time = Math.max(0, Math.floor(ms)).toString(16).padStart(12, '0').slice(-12);
  const variant = (8 + rng.int(0, 3)).toString(16);
  return `${time.slice(0, 8)}-${time.slice(8)}-7${rng.hex(3)}-${variant}${rng.hex(3)}-${rng.hex(12)}`;
}

/**
 * The PolicyEvent spelling of an intent's id, in one of the styles SDKs use. Derived from the UUID, so a
 * resend carries the same id.
 */
export function policyEventId(uuid: string, style: 'uuid' | 'millis'): string {
  if (style === 'uuid') return `evt_${uuid}`;
  const hex = uuid.replace(/-/g, '');
  return `evt-${Number.parseInt(hex.slice(0, 12), 16)}-${hex.slice(-8)}`;
}
