import { randomBytes, scrypt, timingSafeEqual } from 'node:crypto';

/** `scrypt$N$r$p$salt$hash`, salt and hash base64url: the parameters travel with the hash. */
export const SCRYPT_HASH_PATTERN =
  /^scrypt\$\d{1,8}\$\d{1,2}\$\d{1,2}\$[A-Za-z0-9_-]{16,128}\$[A-Za-z0-9_-]{32,128}$/;

/** OWASP's scrypt minimum (N=2^17, r=8, p=1) costs 128 MiB per check; 2^15 keeps a login at 32 MiB. */
const DEFAULTS = { N: 2 ** 15, r: 8, p: 1 };
const KEY_BYTES = 32;
/** A hash from the config may ask for more; refused above this so a typo cannot exhaust memory. */
const MAX_MEMORY_BYTES = 256 * 1024 * 1024;
/** Longest password checked: the input of a key derivation is not free. */
export const MAX_PASSWORD_CHARS = 1_024;

function derive(password: string, salt: Buffer, cost: { N: number; r: number; p: number }, bytes: number) {
  return new Promise<Buffer>((resolve, reject) =>
    scrypt(password, salt, bytes, { ...cost, maxmem: MAX_MEMORY_BYTES }, (error, key) =>
      error ? reject(error) : resolve(key),
    ),
  );
}

export async function hashPassword(password: string): Promise<string> {
  const salt = randomBytes(16);
  const { N, r, p } = DEFAULTS;
  const key = await derive(password, salt, DEFAULTS, KEY_BYTES);
  return ['scrypt', N, r, p, salt.toString('base64url'), key.toString('base64url')].join('$');
}

/** False for a wrong password and for a hash it cannot use; compares in constant time. */
export async function verifyPassword(password: string, hash: string): Promise<boolean> {
  if (password.length > MAX_PASSWORD_CHARS || !SCRYPT_HASH_PATTERN.test(hash)) return false;
  const [, n, r, p, salt, expected] = hash.split('$') as [string, string, string, string, string, string];
  const wanted = Buffer.from(expected, 'base64url');
  try {
    const cost = { N: Number(n), r: Number(r), p: Number(p) };
    const key = await derive(password, Buffer.from(salt, 'base64url'), cost, wanted.length);
    return timingSafeEqual(key, wanted);
  } catch {
    return false;
  }
}
