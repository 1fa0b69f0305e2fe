// Password hashes in the seed's `scrypt:<salt>:<key>` format (users.password_hash): hashing for the
// operator CLI (scripts/hash-password.ts) and the timing-safe check behind the dashboard's sign-in.
import { randomBytes, scrypt, timingSafeEqual, type ScryptOptions } from 'node:crypto';

/**
 * The format has no room for parameters, so they are fixed: Node's scrypt defaults (N=2^14, r=8, p=1,
 * 16 MiB of memory per hash), a 16-byte random salt and a 64-byte key, both written as lower-case hex.
 * The salt's *bytes* (the hex decoded) are what scrypt is given.
 */
export const SCRYPT_PARAMS = { N: 16_384, r: 8, p: 1 } as const;
export const SALT_BYTES = 16;
export const KEY_BYTES = 64;
const SCRYPT_OPTIONS: ScryptOptions = { ...SCRYPT_PARAMS, maxmem: 64 * 1024 * 1024 };

// Salt 8–64 bytes, key 16–128 bytes: lenient enough for hashes made elsewhere with these parameters,
// strict enough that a stored value cannot make the server derive a huge key.
const HASH_FORMAT = /^scrypt:((?:[0-9a-f]{2}){8,64}):((?:[0-9a-f]{2}){16,128})$/;

/** A hash no password matches: verified against when the user is unknown, so timing tells nothing. */
const DECOY_HASH = `scrypt:${'00'.repeat(SALT_BYTES)}:${'00'.repeat(KEY_BYTES)}`;

function deriveKey(password: string, salt: Buffer, keyBytes: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    scrypt(password.normalize('NFC'), salt, keyBytes, SCRYPT_OPTIONS, (error, key) => (error ? reject(error) : resolve(key)));
  });
}

/** `scrypt:<32 hex salt>:<128 hex key>` for a password (NFC-normalised, so the same text always matches). */
export async function hashPassword(password: string): Promise<string> {
  if (password.length === 0) throw new Error('the password is empty');
  const salt = randomBytes(SALT_BYTES);
  const key = await deriveKey(password, salt, KEY_BYTES);
  return `scrypt:${salt.toString('hex')}:${key.toString('hex')}`;
}

/** True when the hash has the format verifyPassword accepts. */
export function isPasswordHash(value: string): boolean {
  return HASH_FORMAT.test(value);
}

/**
 * Checks a password against a stored hash with a constant-time comparison. A missing or malformed hash
 * still costs one scrypt run (against a decoy) and answers false, so an unknown account or a user
 * without a password takes as long as a wrong password.
 */
export async function verifyPassword(password: string, stored: string | null | undefined): Promise<boolean> {
  const match = HASH_FORMAT.exec(stored ?? '') ?? HASH_FORMAT.exec(DECOY_HASH)!;
  const usable = stored !== null && stored !== undefined && HASH_FORMAT.test(stored);
  const salt = Buffer.from(match[1]!, 'hex');
  const expected = Buffer.from(match[2]!, 'hex');
  const actual = await deriveKey(password, salt, expected.length);
  return timingSafeEqual(actual, expected) && usable;
}
