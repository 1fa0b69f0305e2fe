// One request target, decided once (issue 12, issue 17 C1/C2/L2): every spelling of a request line that
// LibreChat's Express 5 routes to a chat, stream or abort handler gets that route's checks at the gateway.
// Each finding is reproduced on a raw socket, against the fake LibreChat, which routes these forms as
// LibreChat does (absolute-form by its path, fragments dropped, POST chat/stream|active|status to
// `/:endpoint`, HEAD as GET). test/express-oracle.test.ts holds the same against Express itself.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chatBody, startHarness, upstreamSaw, type Harness } from './helpers/harness.ts';
import { librechatToken } from './helpers/jwt.ts';
import { rawExchange, rawRequest, requestBytes, type RawAnswer } from './helpers/raw-request.ts';
import { quotaRow, seedWorkspace, type SeededWorkspace } from './helpers/seed.ts';

let h: Harness;
let port: number;
let ws: SeededWorkspace;
let token: string;
let counter = 0;

beforeAll(async () => {
  h = await startHarness();
  port = Number(new URL(h.gw.url).port);
  ws = await seedWorkspace(h.db.sql, { models: ['gpt-4o'], tokensLimit: 10_000_000, requestsLimit: 100_000 });
  token = await librechatToken(ws.email);
});
afterAll(async () => { await h?.close(); });

interface Sent extends RawAnswer { requestId: string }

/** Sends one request line with a fresh X-Request-Id; `auth: false` sends no token. */
async function send(line: string, opts: { body?: unknown; auth?: boolean; headers?: Record<string, string | string[]>; version?: '1.0' | '1.1' } = {}): Promise<Sent> {
  const requestId = `rt-${++counter}-${Date.now()}`;
  const headers: Record<string, string | string[]> = { Host: 'gateway.test', 'X-Request-Id': requestId, ...opts.headers };
  if (opts.auth !== false) headers.Authorization = `Bearer ${token}`;
  let body: string | undefined;
  if (opts.body !== undefined) {
    headers['Content-Type'] = 'application/json';
    body = JSON.stringify(opts.body);
  }
  const answer = await rawRequest(port, { line, headers, body, version: opts.version });
  return { ...answer, requestId };
}

async function usageRow(requestId: string) {
  const rows = await h.db.sql<{ status: string; model: string }[]>`SELECT status, model FROM chat_usage WHERE request_id = ${requestId}`;
  return rows[0];
}

async function upstreamUrl(requestId: string): Promise<string | undefined> {
  const log = await h.upstream.control.log();
  return log.find((entry) => entry.headers['x-request-id'] === requestId)?.url;
}

const DISABLED = chatBody({ model: 'gpt-4.1' });

describe('absolute-form request targets (the absolute-form bypass)', () => {
  const chatTargets = [
    'http://evil.example/api/agents/chat/openAI',
    'HTTP://EVIL.EXAMPLE:8080/API/Agents/Chat/openAI',
    'https://gateway.test/api/agents/chat',
    'foo://x/api/agents/chat/agents',
    'http://evil.example/api/agents/v1/chat/completions',
    'hTtP://h/api/agents/v1/responses',
    'http://h/api/assistants/v2/chat',
    'http://h/API/Assistants/V1/Chat/',
  ];

  it.each(chatTargets)('POST %s with a model the workspace does not enable is refused, never forwarded', async (target) => {
    const result = await send(`POST ${target}`, { body: DISABLED });
    expect(result.status).toBe(403);
    expect(result.json?.error?.code).toBe('model_not_enabled');
    expect(await upstreamSaw(h.upstream, result.requestId)).toBe(false);
  });

  it('an admitted absolute-form chat is metered and reaches LibreChat as the origin-form path it was classified as', async () => {
    const before = await quotaRow(h.db.sql, ws.workspaceId);
    const result = await send('POST HTTP://Evil.Example:8080/api/agents/chat/openAI?x=1#frag', { body: chatBody() });
    expect(result.status).toBe(200);
    expect(await usageRow(result.requestId)).toMatchObject({ model: 'gpt-4o' });
    expect((await quotaRow(h.db.sql, ws.workspaceId)).requests_used).toBe(before.requests_used + 1);
    expect(await upstreamUrl(result.requestId)).toBe('/api/agents/chat/openAI?x=1');
    // RFC 9112 §3.2.2: the target's authority is the request's host, for the gateway and for LibreChat alike.
    const log = await h.upstream.control.log();
    expect(log.find((entry) => entry.headers['x-request-id'] === result.requestId)?.headers.host).toBe('Evil.Example:8080');
  });

  it('stream and abort without a token are 401 and never forwarded', async () => {
    const stream = await send('GET http://h/api/agents/chat/stream/some-stream', { auth: false });
    expect(stream.status).toBe(401);
    expect(stream.json?.error?.code).toBe('unauthenticated');
    const abort = await send('POST http://h/api/agents/chat/abort', { auth: false, body: { streamId: 'some-stream' } });
    expect(abort.status).toBe(401);
    const assistantsAbort = await send('POST HTTP://H/api/assistants/v2/chat/abort', { auth: false, body: {} });
    expect(assistantsAbort.status).toBe(401);
    for (const result of [stream, abort, assistantsAbort]) expect(await upstreamSaw(h.upstream, result.requestId)).toBe(false);
  });

  it('an absolute-form target to the gateway\'s own routes is served by the gateway', async () => {
    const result = await send('GET http://h/_gateway/healthz', { auth: false });
    expect(result.status).toBe(200);
    expect(await upstreamSaw(h.upstream, result.requestId)).toBe(false);
  });

  it('a target that is neither a path nor an absolute URL is 400 invalid_request, never forwarded', async () => {
    for (const line of ['OPTIONS *', 'POST *', 'GET http://bad%20host/api/config']) {
      const result = await send(line, { auth: false });
      expect(result.status, line).toBe(400);
      expect(result.json?.error?.code, line).toBe('invalid_request');
      expect(result.json?.error?.request_id, line).toBe(result.requestId);
      expect(await upstreamSaw(h.upstream, result.requestId), line).toBe(false);
    }
  });
});

describe('malformed percent-encoding', () => {
  it.each([
    'POST /api/agents/chat/%E0%A4%A',
    'POST /api/agents/chat/%E0%A4',
    'POST /api/agents/chat/%',
    'POST /api/agents/chat/%zz',
    'GET /api/agents/chat/stream/%C3',
    'POST http://h/api/assistants/v2/chat/%FF',
  ])('%s is answered 400 invalid_request in the error shape, nothing forwarded', async (line) => {
    const result = await send(line, { body: chatBody() });
    expect(result.status).toBe(400);
    expect(result.json?.error).toMatchObject({ code: 'invalid_request', request_id: result.requestId });
    expect(await upstreamSaw(h.upstream, result.requestId)).toBe(false);
  });

  it('a well-formed escape of a chat route is still a chat', async () => {
    const result = await send('POST /api/agents/chat/%6FpenAI', { body: DISABLED });
    expect(result.status).toBe(403);
    expect(result.json?.error?.code).toBe('model_not_enabled');
  });
});

describe('POST chat/stream|active|status falls through to /:endpoint (C1)', () => {
  const paths = ['/api/agents/chat/stream', '/api/agents/chat/active', '/api/agents/chat/Stream', '/api/agents/chat/status/', '/api/agents/chat/ACTIVE/'];

  it.each(paths)('POST %s is admitted like any chat start', async (path) => {
    const noToken = await send(`POST ${path}`, { auth: false, body: chatBody() });
    expect(noToken.status).toBe(401);
    const disabled = await send(`POST ${path}`, { body: DISABLED });
    expect(disabled.status).toBe(403);
    expect(disabled.json?.error?.code).toBe('model_not_enabled');
    for (const refused of [noToken, disabled]) expect(await upstreamSaw(h.upstream, refused.requestId)).toBe(false);
    const admitted = await send(`POST ${path}`, { body: chatBody() });
    expect(admitted.status).toBe(200);
    expect(admitted.json).toMatchObject({ status: 'started' });
    expect(await usageRow(admitted.requestId)).toBeDefined();
  });

  it('their GETs stay LibreChat\'s (pass-through)', async () => {
    const active = await send('GET /api/agents/chat/active');
    expect(active.status).toBe(200);
    expect(active.json).toMatchObject({ activeJobIds: expect.any(Array) });
    expect(await usageRow(active.requestId)).toBeUndefined();
  });
});

describe('a #fragment in an origin-form request line (C2)', () => {
  it.each([
    'POST /api/agents/chat#',
    'POST /api/agents/chat/openAI#/x',
    'POST /api/agents/chat/openAI#',
    'POST /api/agents/v1/chat/completions#/x',
    'POST /api/assistants/v2/chat#abort',
    'POST /api/agents/chat/openAI?a=1#/../x',
  ])('%s is classified without its fragment: a disabled model is refused', async (line) => {
    const result = await send(line, { body: DISABLED });
    expect(result.status).toBe(403);
    expect(result.json?.error?.code).toBe('model_not_enabled');
    expect(await upstreamSaw(h.upstream, result.requestId)).toBe(false);
  });

  it('is forwarded without the fragment when admitted', async () => {
    const result = await send('POST /api/agents/chat/openAI#/x', { body: chatBody() });
    expect(result.status).toBe(200);
    expect(await upstreamUrl(result.requestId)).toBe('/api/agents/chat/openAI');
    expect(await usageRow(result.requestId)).toBeDefined();
  });

  it('a tokenless abort hidden behind a fragment is 401', async () => {
    const result = await send('POST /api/agents/chat/abort#x', { auth: false, body: {} });
    expect(result.status).toBe(401);
    expect(await upstreamSaw(h.upstream, result.requestId)).toBe(false);
  });
});

describe('HEAD on a stream is a GET (L2)', () => {
  it('needs a token, and is forwarded once verified', async () => {
    const anonymous = await send('HEAD /api/agents/chat/stream/not-held-here', { auth: false });
    expect(anonymous.status).toBe(401);
    expect(await upstreamSaw(h.upstream, anonymous.requestId)).toBe(false);
    const absolute = await send('HEAD http://h/API/agents/chat/stream/not-held-here/', { auth: false });
    expect(absolute.status).toBe(401);
    expect(await upstreamSaw(h.upstream, absolute.requestId)).toBe(false);
    const signed = await send('HEAD /api/agents/chat/stream/not-held-here');
    expect(signed.status).toBe(404);
    expect(await upstreamUrl(signed.requestId)).toBe('/api/agents/chat/stream/not-held-here?resume=true');
  });
});

describe('the rest of the class: where the gateway and LibreChat could read one request differently', () => {
  it('duplicate Authorization headers: the first one counts, for the gateway and for LibreChat', async () => {
    const junkFirst = await send('POST /api/agents/chat/abort', { auth: false, body: {}, headers: { Authorization: ['Bearer junk', `Bearer ${token}`] } });
    expect(junkFirst.status).toBe(401);
    expect(await upstreamSaw(h.upstream, junkFirst.requestId)).toBe(false);
    const validFirst = await send('POST /api/agents/chat/abort', { auth: false, body: {}, headers: { Authorization: [`Bearer ${token}`, 'Bearer junk'] } });
    // Forwarded (the fake answers the abort itself), with the one header the gateway verified.
    expect(validFirst.status).not.toBe(401);
    const log = await h.upstream.control.log();
    expect(log.find((entry) => entry.headers['x-request-id'] === validFirst.requestId)?.headers.authorization).toBe(`Bearer ${token}`);
  });

  it('duplicate Host headers: the first one is the host, for tenant resolution and for LibreChat', async () => {
    const result = await send('GET /api/config', { auth: false, headers: { Host: ['first.example', 'second.example'] } });
    expect(result.status).toBe(200);
    const log = await h.upstream.control.log();
    expect(log.find((entry) => entry.headers['x-request-id'] === result.requestId)?.headers.host).toBe('first.example');
  });

  it('Expect: 100-continue: the chat is admitted once and forwarded without the expectation', async () => {
    const result = await send('POST /api/agents/chat/openAI', { body: chatBody(), headers: { Expect: '100-continue' } });
    expect(result.statuses).toEqual([100, 200]);
    const log = (await h.upstream.control.log()).filter((entry) => entry.method === 'POST' && entry.headers['x-request-id'] === result.requestId);
    expect(log).toHaveLength(1);
    expect(log[0]!.headers.expect).toBeUndefined();
    expect(await usageRow(result.requestId)).toBeDefined();
  });

  it('HTTP/1.0 with an absolute-form target is classified by its path', async () => {
    const result = await send('POST http://h/api/agents/chat/openAI', { body: DISABLED, version: '1.0' });
    expect(result.status).toBe(403);
    expect(await upstreamSaw(h.upstream, result.requestId)).toBe(false);
  });

  it('pipelined keep-alive requests are each classified on their own target', async () => {
    const id = `rt-pipe-${Date.now()}`;
    const first = requestBytes({ line: 'GET /api/config', headers: { Host: 'h', 'X-Request-Id': `${id}-1` } });
    const second = requestBytes({
      line: 'POST http://h/api/agents/chat/openAI#', body: JSON.stringify(DISABLED),
      headers: { Host: 'h', 'X-Request-Id': `${id}-2`, Authorization: `Bearer ${token}`, 'Content-Type': 'application/json', Connection: 'close' },
    });
    const answer = await rawExchange(port, first + second);
    expect(answer.statuses).toEqual([200, 403]);
    expect(await upstreamSaw(h.upstream, `${id}-1`)).toBe(true);
    expect(await upstreamSaw(h.upstream, `${id}-2`)).toBe(false);
  });

  it('CONNECT (authority-form) is answered 400 invalid_request: the gateway tunnels nothing', async () => {
    const result = await send('CONNECT evil.example:443', { auth: false });
    expect(result.status).toBe(400);
    expect(result.json?.error).toMatchObject({ code: 'invalid_request', request_id: result.requestId });
    expect(await upstreamSaw(h.upstream, result.requestId)).toBe(false);
  });

  it('a lower-case method is refused by the HTTP parser, never forwarded', async () => {
    const result = await send('post /api/agents/chat/openAI', { body: chatBody() });
    expect(result.status).toBe(400);
    expect(await upstreamSaw(h.upstream, result.requestId)).toBe(false);
  });

  it('a request line past the header size limit is 431, never forwarded', async () => {
    const result = await send(`POST /api/agents/chat/${'a'.repeat(20_000)}`, { body: chatBody() });
    expect(result.status).toBe(431);
    expect(await upstreamSaw(h.upstream, result.requestId)).toBe(false);
  });
});
