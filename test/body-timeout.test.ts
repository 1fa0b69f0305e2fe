// A metered chat body has an idle and a total read bound (CHAT_BODY_IDLE_TIMEOUT, CHAT_BODY_TIMEOUT): a client
// that stalls while sending it is answered 408 request_timeout and its connection is closed; nothing reaches
// LibreChat, no hold is taken, no request is counted. Raw sockets, so the body can stop mid-way.
import { randomUUID } from 'node:crypto';
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../src/config.ts';
import { startGateway, type InProcessGateway } from './helpers/gateway.ts';
import { chatBody, postChat, startHarness, upstreamSaw, type Harness } from './helpers/harness.ts';
import { librechatToken } from './helpers/jwt.ts';
import { quotaRow, seedWorkspace } from './helpers/seed.ts';

let h: Harness;
let bounded: InProcessGateway;
beforeAll(async () => {
  h = await startHarness();
  bounded = await startGateway(h.db.url, h.upstream.url, { CHAT_BODY_IDLE_TIMEOUT: '400ms', CHAT_BODY_TIMEOUT: '1500ms' });
});
afterAll(async () => {
  await bounded?.close();
  await h?.close();
});

interface RawExchange {
  /** Everything the gateway sent back. */
  response: Promise<string>;
  /** Resolves when the gateway closed the connection (or after `giveUpMs`, with false). */
  closedByGateway: Promise<boolean>;
  socket: net.Socket;
}

/**
 * Opens a connection, sends a chat POST's head declaring `declared` bytes and then `firstPart` of its body;
 * `trickle` then writes one more byte every `trickleMs` (never completing the body).
 */
function stalledChat(base: string, opts: { token: string; requestId: string; declared: number; firstPart: string; trickleMs?: number; giveUpMs?: number }): RawExchange {
  const { hostname, port } = new URL(base);
  const socket = net.connect(Number(port), hostname);
  const head = [
    'POST /api/agents/chat/openAI HTTP/1.1', `Host: ${hostname}:${port}`, `Authorization: Bearer ${opts.token}`,
    'Content-Type: application/json', `Content-Length: ${opts.declared}`, `X-Request-Id: ${opts.requestId}`, '', '',
  ].join('\r\n');
  socket.write(head + opts.firstPart);
  const trickle = opts.trickleMs ? setInterval(() => { if (!socket.destroyed) socket.write(' '); }, opts.trickleMs) : undefined;
  const chunks: Buffer[] = [];
  socket.on('data', (c: Buffer) => chunks.push(c));
  socket.on('error', () => undefined);
  const closedByGateway = new Promise<boolean>((resolve) => {
    // A bound on the test itself, not on the gateway: without one, the old code would hang the suite.
    const giveUp = setTimeout(() => { clearInterval(trickle); socket.destroy(); resolve(false); }, opts.giveUpMs ?? 15_000);
    socket.once('end', () => { clearTimeout(giveUp); clearInterval(trickle); resolve(true); });
    socket.once('close', () => { clearTimeout(giveUp); clearInterval(trickle); resolve(true); });
  });
  const response = closedByGateway.then(() => Buffer.concat(chunks).toString('utf8'));
  return { response, closedByGateway, socket };
}

function parseResponse(raw: string): { status: number; headers: string; body: Record<string, any> } {
  const [head = '', body = ''] = raw.split('\r\n\r\n');
  const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(head)?.[1] ?? 0);
  let json: Record<string, any> = {};
  try { json = JSON.parse(body); } catch { /* not JSON: the assertions say so */ }
  return { status, headers: head.toLowerCase(), body: json };
}

async function nothingTaken(workspaceId: string, requestId: string): Promise<void> {
  expect(await upstreamSaw(h.upstream, requestId)).toBe(false);
  const rows = await h.db.sql`SELECT 1 FROM chat_usage WHERE request_id = ${requestId}`;
  expect(rows).toHaveLength(0);
  expect(await quotaRow(h.db.sql, workspaceId)).toMatchObject({ tokens_used: 0, requests_used: 0 });
}

describe('metered chat body read bounds', () => {
  it('answers 408 request_timeout and closes the connection when the body stops mid-way (idle bound)', async () => {
    const ws = await seedWorkspace(h.db.sql, { models: ['gpt-4o'] });
    const token = await librechatToken(ws.email);
    const requestId = `stall-${randomUUID()}`;
    const body = JSON.stringify(chatBody({ text: 'x'.repeat(5_000) }));
    const exchange = stalledChat(bounded.url, { token, requestId, declared: Buffer.byteLength(body), firstPart: body.slice(0, 2_000) });
    expect(await exchange.closedByGateway).toBe(true);
    const reply = parseResponse(await exchange.response);
    expect(reply.status).toBe(408);
    expect(reply.headers).toMatch(/\r\nconnection: close/);
    expect(reply.body.error).toMatchObject({ code: 'request_timeout', request_id: requestId });
    await nothingTaken(ws.workspaceId, requestId);
  });

  it('cuts a body that keeps trickling but never completes (total bound)', async () => {
    const ws = await seedWorkspace(h.db.sql, { models: ['gpt-4o'] });
    const token = await librechatToken(ws.email);
    const requestId = `trickle-${randomUUID()}`;
    const body = JSON.stringify(chatBody());
    // One byte every 100 ms keeps the idle bound (400 ms) from firing; only the total bound can end it.
    const exchange = stalledChat(bounded.url, { token, requestId, declared: Buffer.byteLength(body) + 100_000, firstPart: body.slice(0, 20), trickleMs: 100 });
    expect(await exchange.closedByGateway).toBe(true);
    const reply = parseResponse(await exchange.response);
    expect(reply.status).toBe(408);
    expect(reply.body.error?.code).toBe('request_timeout');
    await nothingTaken(ws.workspaceId, requestId);
  });

  it('still admits a body that arrives whole within the bounds', async () => {
    const ws = await seedWorkspace(h.db.sql, { models: ['gpt-4o'] });
    const chat = await postChat(bounded.url, { token: await librechatToken(ws.email), body: chatBody() });
    expect(chat.status, chat.text).toBe(200);
  });

  it('reads CHAT_BODY_IDLE_TIMEOUT and CHAT_BODY_TIMEOUT, with defaults, and refuses an idle bound above the total', () => {
    const base = { LIBRECHAT_URL: 'http://lc', JWT_SECRET: 'x'.repeat(32) };
    expect(loadConfig(base)).toMatchObject({ chatBodyIdleTimeoutMs: 15_000, chatBodyTimeoutMs: 60_000 });
    expect(loadConfig({ ...base, CHAT_BODY_IDLE_TIMEOUT: '2s', CHAT_BODY_TIMEOUT: '10s' })).toMatchObject({ chatBodyIdleTimeoutMs: 2_000, chatBodyTimeoutMs: 10_000 });
    expect(() => loadConfig({ ...base, CHAT_BODY_IDLE_TIMEOUT: '2m', CHAT_BODY_TIMEOUT: '1m' })).toThrow(/CHAT_BODY_IDLE_TIMEOUT must not be longer/);
    expect(() => loadConfig({ ...base, CHAT_BODY_TIMEOUT: 'soon' })).toThrow(ConfigError);
  });
});
