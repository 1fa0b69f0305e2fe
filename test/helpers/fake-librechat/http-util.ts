// Small node:http helpers shared by the fake's routes: JSON answers, bounded body reading,
// LibreChat's SSE framing and headers, and Bearer-JWT authentication the way LibreChat checks it.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { decodeJwt, jwtVerify, type JWTPayload } from 'jose';

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

/** LibreChat's `express.json({ limit: '3mb' })`. */
export const CHAT_BODY_LIMIT = 3 * 1024 * 1024;
/** Bodies up to this size are kept (parsed) in the request log. */
export const LOG_BODY_LIMIT = 64 * 1024;

export function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  if (res.headersSent || res.destroyed) return;
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'Content-Type': 'application/json; charset=utf-8',
    'Content-Length': Buffer.byteLength(text),
    ...headers,
  });
  res.end(text);
}

export type BodyResult = { ok: true; buffer: Buffer } | { ok: false; reason: 'too-large' | 'aborted' };

/** Reads the whole body, giving up (and draining the rest) once it exceeds `limit`. */
export function readBody(req: IncomingMessage, limit: number): Promise<BodyResult> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let done = false;
    const finish = (result: BodyResult) => {
      if (done) return;
      done = true;
      resolve(result);
    };
    req.on('data', (chunk: Buffer) => {
      if (done) return;
      size += chunk.length;
      if (size > limit) {
        chunks.length = 0;
        finish({ ok: false, reason: 'too-large' });
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => finish({ ok: true, buffer: Buffer.concat(chunks) }));
    req.on('error', () => finish({ ok: false, reason: 'aborted' }));
    req.on('close', () => finish({ ok: false, reason: 'aborted' }));
  });
}

export function isJsonRequest(req: IncomingMessage): boolean {
  return (req.headers['content-type'] ?? '').toLowerCase().includes('json');
}

/** JSON.parse that answers undefined instead of throwing. */
export function tryParseJson(buffer: Buffer): Json | undefined {
  try {
    return JSON.parse(buffer.toString('utf8')) as Json;
  } catch {
    return undefined;
  }
}

export function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export function str(value: unknown): string | undefined {
  return typeof value === 'string' && value.length > 0 ? value : undefined;
}

/** The headers LibreChat sets on `GET /api/agents/chat/stream/:id` before `flushHeaders()`. */
export function writeStreamHeaders(res: ServerResponse): void {
  res.writeHead(200, {
    'Content-Type': 'text/event-stream',
    'Cache-Control': 'no-cache, no-transform',
    Connection: 'keep-alive',
    'X-Accel-Buffering': 'no',
    'Content-Encoding': 'identity',
  });
  res.flushHeaders();
}

/** LibreChat's `sendEvent`: every frame is `event: message` with one line of JSON. */
export function messageFrame(data: unknown): string {
  return `event: message\ndata: ${JSON.stringify(data)}\n\n`;
}

export function errorFrame(message: string): string {
  return `event: error\ndata: ${JSON.stringify({ error: message })}\n\n`;
}

function bearer(req: IncomingMessage): string | undefined {
  const header = req.headers.authorization ?? '';
  const match = /^Bearer\s+(\S+)$/i.exec(header);
  return match?.[1];
}

/** The user a LibreChat token names: `id` (LibreChat's own tokens) or `sub` (identity-provider tokens). */
function userOf(payload: JWTPayload): string | undefined {
  const id = (payload as Record<string, unknown>).id;
  return str(id) ?? str(payload.sub);
}

/** HS256-verified when a secret is configured (like passport-jwt), else only decoded. */
export async function authenticate(req: IncomingMessage, jwtSecret: string | undefined): Promise<string | undefined> {
  const token = bearer(req);
  if (!token) return undefined;
  try {
    if (jwtSecret) {
      const key = new TextEncoder().encode(jwtSecret);
      const { payload } = await jwtVerify(token, key, { algorithms: ['HS256'] });
      return userOf(payload);
    }
    return userOf(decodeJwt(token));
  } catch {
    return undefined;
  }
}

/**
 * The remote-agents API (`/api/agents/v1/*`) takes `sk-` API keys or identity-provider JWTs that LibreChat
 * verifies against a JWKS the fake does not have; so: API keys name a key user, JWTs are only decoded.
 */
export function authenticateApiKey(req: IncomingMessage): { user?: string; error?: 'missing_api_key' | 'invalid_api_key' } {
  const token = bearer(req);
  if (!token) return { error: 'missing_api_key' };
  if (token.startsWith('sk-')) return { user: `apikey:${token.slice(0, 11)}` };
  try {
    const user = userOf(decodeJwt(token));
    return user ? { user } : { error: 'invalid_api_key' };
  } catch {
    return { error: 'invalid_api_key' };
  }
}
