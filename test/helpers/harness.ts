// One test file's world: its own database, a LibreChat-compatible upstream running as a real process,
// and the gateway listening on a real socket, plus small request helpers.
import { randomUUID } from 'node:crypto';
import http from 'node:http';
import { createTestDatabase, type TestDatabase } from './database.ts';
import { startGateway, type InProcessGateway } from './gateway.ts';
import { TEST_JWT_SECRET } from './jwt.ts';
import { startUpstreamProcess, type UpstreamProcess } from './upstream-process.ts';

export interface Harness {
  db: TestDatabase;
  upstream: UpstreamProcess;
  gw: InProcessGateway;
  close(): Promise<void>;
}

export async function startHarness(gatewayEnv: Record<string, string> = {}): Promise<Harness> {
  const [db, upstream] = await Promise.all([createTestDatabase(), startUpstreamProcess({ jwtSecret: TEST_JWT_SECRET })]);
  const gw = await startGateway(db.url, upstream.url, gatewayEnv);
  return {
    db,
    upstream,
    gw,
    close: async () => {
      await gw.close();
      await upstream.stop();
      await db.drop();
    },
  };
}

export interface ChatOptions {
  token?: string;
  body?: unknown;
  rawBody?: string;
  headers?: Record<string, string>;
  path?: string;
}

export interface ErrorBody {
  error: { code: string; message: string; request_id: string; details?: Record<string, unknown> };
}

/** POSTs a chat start through the gateway (node:http, so Host can be set) with a fresh X-Request-Id. */
export async function postChat(baseUrl: string, opts: ChatOptions) {
  const requestId = `t-${randomUUID()}`;
  const headers: Record<string, string> = { 'content-type': 'application/json', 'x-request-id': requestId, ...opts.headers };
  if (opts.token) headers.authorization = `Bearer ${opts.token}`;
  const payload = opts.rawBody ?? JSON.stringify(opts.body ?? chatBody());
  const { status, headers: resHeaders, text } = await new Promise<{ status: number; headers: http.IncomingHttpHeaders; text: string }>((resolve, reject) => {
    const base = new URL(baseUrl);
    // The path goes out exactly as written (a URL string would have its dot segments resolved first).
    const req = http.request({ host: base.hostname, port: base.port, path: opts.path ?? '/api/agents/chat/openAI', method: 'POST', headers: { ...headers, 'content-length': String(Buffer.byteLength(payload)) } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, text: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(payload);
  });
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  const res = { headers: { get: (name: string) => { const v = resHeaders[name.toLowerCase()]; return v === undefined ? null : String(v); } } };
  return { res, status, json: (json ?? {}) as Record<string, unknown> & Partial<ErrorBody>, text, requestId };
}

/** True when the upstream received a request carrying this X-Request-Id. */
export async function upstreamSaw(upstream: UpstreamProcess, requestId: string): Promise<boolean> {
  const log = await upstream.control.log();
  return log.some((entry) => entry.headers['x-request-id'] === requestId);
}

export function chatBody(extra: Record<string, unknown> = {}) {
  return { text: 'Hello there', model: 'gpt-4o', endpoint: 'openAI', conversationId: null, parentMessageId: '00000000-0000-0000-0000-000000000000', ...extra };
}
