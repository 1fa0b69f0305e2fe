// Signs test tokens the way LibreChat (HS256 with JWT_SECRET) or an identity provider would.
import { randomUUID } from 'node:crypto';
import { SignJWT, type JWTPayload } from 'jose';

export const TEST_JWT_SECRET = 'test-secret-that-is-long-enough-0123456789';

export async function signHs256(claims: JWTPayload, options: { secret?: string; expiresIn?: string | number; notBefore?: string | number } = {}): Promise<string> {
  let jwt = new SignJWT(claims).setProtectedHeader({ alg: 'HS256', typ: 'JWT' }).setIssuedAt();
  jwt = jwt.setExpirationTime(options.expiresIn ?? '15m');
  if (options.notBefore !== undefined) jwt = jwt.setNotBefore(options.notBefore);
  return jwt.sign(new TextEncoder().encode(options.secret ?? TEST_JWT_SECRET));
}

/** A LibreChat access token: id (a Mongo id), username, provider, email. */
export function librechatToken(email: string, extra: JWTPayload = {}): Promise<string> {
  return signHs256({ id: '65f0c0ffee0123456789abcd', username: email.split('@')[0], provider: 'local', email, ...extra });
}

/** A fresh LibreChat user id (24 hex digits, as a Mongo id), so LibreChat (the fake) tells users apart. */
export function librechatUserId(): string {
  return randomUUID().replace(/-/g, '').slice(0, 24);
}
