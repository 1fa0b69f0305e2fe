// Tests of the fake LibreChat upstream itself, over real sockets: the resumable stream semantics the
// gateway relies on (first-subscriber replay, resume sync, abort, error, cut) and the OpenAI usage chunk.
import { SignJWT } from 'jose';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createFakeControl, createFakeLibreChat, type FakeControl, type FakeLibreChat } from './helpers/fake-librechat/index.ts';
import { frameJson, SseReader, type SseFrame } from './helpers/fake-librechat/sse-reader.ts';
import { rawExchange, rawRequest } from './helpers/raw-request.ts';
import { startUpstreamProcess } from './helpers/upstream-process.ts';

const SECRET = 'fake-librechat-test-secret';
let fake: FakeLibreChat;
let control: FakeControl;
let token: string;

async function tokenFor(id: string, secret = SECRET): Promise<string> {
  return new SignJWT({ id, username: id, provider: 'local', email: `${id}@example.com` })
    .setProtectedHeader({ alg: 'HS256' })
    .setIssuedAt()
    .setExpirationTime('15m')
    .sign(new TextEncoder().encode(secret));
}

async function startChat(body: Record<string, unknown>, bearer = token): Promise<{ streamId: string; conversationId: string }> {
  const res = await fetch(`${fake.url}/api/agents/chat/openAI`, {
    method: 'POST',
    headers: { authorization: `Bearer ${bearer}`, 'content-type': 'application/json' },
    body: JSON.stringify({ text: 'Hi', model: 'gpt-4o', conversationId: null, ...body }),
  });
  expect(res.status).toBe(200);
  return (await res.json()) as { streamId: string; conversationId: string };
}

function get(path: string, bearer = token): Promise<Response> {
  return fetch(`${fake.url}${path}`, { headers: { authorization: `Bearer ${bearer}` } });
}

async function subscribe(streamId: string, query = '', signal?: AbortSignal): Promise<SseReader> {
  const res = await fetch(`${fake.url}/api/agents/chat/stream/${streamId}${query}`, {
    headers: { authorization: `Bearer ${token}` },
    ...(signal ? { signal } : {}),
  });
  expect(res.status).toBe(200);
  return new SseReader(res);
}

const kind = (frame: SseFrame): string => {
  if (frame.event !== 'message') return `error:${frame.event}`;
  const data = frameJson(frame);
  if (typeof data.event === 'string') return data.event;
  return ['created', 'sync', 'final'].find((key) => data[key] === true) ?? 'unknown';
};

beforeAll(async () => {
  fake = await createFakeLibreChat({ jwtSecret: SECRET });
  control = createFakeControl(fake.url);
  token = await tokenFor('user-1');
});
afterAll(() => fake.close());
beforeEach(() => control.reset());

describe('fake LibreChat: resumable agents chat', () => {
  it('answers the POST with JSON at once and streams the frames in order on the GET', async () => {
    const started = Date.now();
    const { streamId, conversationId } = await startChat({ conversationId: 'convo-1', __fake: { startDelayMs: 200 } });
    expect(Date.now() - started).toBeLessThan(150);
    expect({ streamId, conversationId }).toEqual({ streamId: 'convo-1', conversationId: 'convo-1' });
    const res = await get(`/api/agents/chat/stream/${streamId}`);
    expect(res.headers.get('content-type')).toBe('text/event-stream');
    expect(res.headers.get('cache-control')).toBe('no-cache, no-transform');
    expect(res.headers.get('x-accel-buffering')).toBe('no');
    expect(res.headers.get('content-encoding')).toBe('identity');
    const frames = await new SseReader(res).all();
    expect(frames.map(kind)).toEqual(['created', 'on_run_step', ...Array(5).fill('on_message_delta'), 'on_token_usage', 'final']);
    expect(frames.every((f) => /^event: message\ndata: [^\n]+$/.test(f.raw))).toBe(true);
    const usage = frameJson(frames[7]!).data;
    expect(usage).toMatchObject({ input_tokens: 812, output_tokens: 9, total_tokens: 821, model: 'gpt-4o', seq: 1 });
    const final = frameJson(frames[8]!) as { responseMessage: Record<string, unknown> };
    const usageRollup = { input: 812, output: 9, cacheWrite: 0, cacheRead: 0 };
    expect(final.responseMessage).toMatchObject({ tokenCount: 9, metadata: { usage: usageRollup } });
  });

  it('rejects a missing or wrongly signed token and another user\'s stream', async () => {
    const bad = await get('/api/agents/chat/active', await tokenFor('x', 'wrong'));
    expect(bad.status).toBe(401);
    expect(await bad.json()).toEqual({ message: 'Unauthorized' });
    const { streamId } = await startChat({ __fake: { ending: 'hang' } });
    const other = await get(`/api/agents/chat/stream/${streamId}`, await tokenFor('user-2'));
    expect(other.status).toBe(403);
    const missing = await get('/api/agents/chat/stream/nope');
    expect(missing.status).toBe(404);
    expect(await missing.json()).toMatchObject({ error: 'Stream not found' });
  });

  it('replays early frames to the first subscriber only; a late one gets live frames, then only the final', async () => {
    const scenario = { startDelayMs: 0, frameIntervalMs: 40, deltas: ['a', 'b', 'c', 'd', 'e', 'f'], keepCompletedMs: 300 };
    const { streamId } = await startChat({ __fake: scenario });
    await control.waitForJob((job) => job.streamId === streamId && job.framesEmitted >= 3);
    const first = await subscribe(streamId);
    await control.waitForJob((job) => job.streamId === streamId && job.framesEmitted >= 5);
    const second = await subscribe(streamId);
    const [a, b] = await Promise.all([first.all(), second.all()]);
    expect(a.map(kind).slice(0, 3)).toEqual(['created', 'on_run_step', 'on_message_delta']);
    expect(b.map(kind)).not.toContain('created');
    expect(b.length).toBeLessThan(a.length - 2);
    expect(b.map((f) => f.raw)).toEqual(a.slice(a.length - b.length).map((f) => f.raw));
    const late = await (await subscribe(streamId)).all();
    expect(late.map(kind)).toEqual(['final']);
    await new Promise((resolve) => setTimeout(resolve, 400));
    const gone = await get(`/api/agents/chat/stream/${streamId}`);
    expect(gone.status).toBe(404);
  });

  it('sends a resume subscriber a sync frame whose collectedUsage is cumulative', async () => {
    const call = (model: string, input: number) => ({ model, provider: 'openAI', input, output: 5, deltas: ['x'] });
    const calls = [call('gpt-4o', 100), call('gpt-4o-mini', 200), call('gpt-4o', 300)];
    const { streamId } = await startChat({ __fake: { calls, ending: 'hang', startDelayMs: 0, frameIntervalMs: 1 } });
    // created + 2 completed calls (step, delta, usage) + the hanging call's step and delta.
    await control.waitForJob((job) => job.streamId === streamId && job.framesEmitted === 9);
    const resumed = await subscribe(streamId, '?resume=true');
    type Sync = { sync: boolean; pendingEvents: unknown[]; resumeState: Record<string, unknown> };
    const sync = frameJson((await resumed.next())!) as Sync;
    expect(sync.sync).toBe(true);
    expect(sync.pendingEvents).toEqual([]);
    const collected = sync.resumeState.collectedUsage as Array<Record<string, unknown>>;
    expect(collected.map((u) => [u.model, u.input_tokens, u.seq])).toEqual([['gpt-4o', 100, 1], ['gpt-4o-mini', 200, 2]]);
    expect(sync.resumeState).toMatchObject({ conversationId: streamId, userMessage: { text: 'Hi' } });
    await resumed.cancel();
  });

  it('aborts: subscribers get the aborted final and no usage for the unfinished call', async () => {
    const { streamId } = await startChat({ __fake: { ending: 'hang', startDelayMs: 0 } });
    const reader = await subscribe(streamId);
    await reader.until((f) => kind(f) === 'on_message_delta');
    const abort = await fetch(`${fake.url}/api/agents/chat/abort`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ streamId }),
    });
    expect(await abort.json()).toEqual({ success: true, aborted: streamId });
    const rest = await reader.all();
    expect(rest.map(kind)).not.toContain('on_token_usage');
    const final = frameJson(rest.at(-1)!);
    const responseMessage = { unfinished: true, error: false };
    expect(final).toMatchObject({ final: true, aborted: true, earlyAbort: false, responseMessage });
    expect((await control.jobs()).find((j) => j.streamId === streamId)?.status).toBe('aborted');
  });

  it('streams calls on several models and tool calls in LibreChat\'s order, and counts aborts and billed tokens', async () => {
    await control.setAgent('agent_a', { model: 'o1-pro', provider: 'openAI' });
    const calls = [
      { input: 10, output: 1, toolCalls: [{ name: 'search_mcp_github', args: '{"q":"x"}' }] },
      { model: 'claude-3-haiku', provider: 'anthropic', usageType: 'subagent', input: 20, output: 2 },
      { model: 'gpt-4.1-nano', usageType: 'summarization', input: 30, output: 3 },
    ];
    const res = await fetch(`${fake.url}/api/agents/chat/agents`, {
      method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ text: 'Hi', endpoint: 'agents', agent_id: 'agent_a', __fake: { calls, startDelayMs: 0 } }),
    });
    const { streamId } = (await res.json()) as { streamId: string };
    const frames = await (await subscribe(streamId)).all();
    expect(frames.map(kind)).toEqual([
      'created', 'on_run_step', 'on_run_step_delta', 'on_token_usage', 'on_run_step_completed',
      'on_run_step', 'on_message_delta', 'on_message_delta', 'on_message_delta', 'on_message_delta', 'on_message_delta', 'on_token_usage',
      'on_run_step', 'on_summarize_start', 'on_token_usage', 'on_summarize_delta', 'on_summarize_complete',
      'final',
    ]);
    const data = frames.map((f) => frameJson(f).data as Record<string, unknown> | undefined);
    expect(data[1]).toMatchObject({ type: 'tool_calls', stepDetails: { type: 'tool_calls', tool_calls: [{ name: 'search_mcp_github', args: '', type: 'tool_call' }] } });
    expect(data[4]).toMatchObject({ result: { type: 'tool_call', tool_call: { name: 'search_mcp_github', args: '{"q":"x"}' } } });
    // A call naming no model runs the saved agent's model as it is now.
    expect(data[3]).toMatchObject({ model: 'o1-pro', provider: 'openAI', input_tokens: 10 });
    expect(data[3]).not.toHaveProperty('usage_type');
    expect(data[11]).toMatchObject({ model: 'claude-3-haiku', provider: 'anthropic', usage_type: 'subagent' });
    expect(data[13]).toMatchObject({ agentId: 'agent_a', model: 'gpt-4.1-nano', provider: 'openAI' });
    expect(data[14]).toMatchObject({ model: 'gpt-4.1-nano', usage_type: 'summarization' });
    expect(data[16]).toMatchObject({ agentId: 'agent_a', summary: { type: 'summary', model: 'gpt-4.1-nano' } });
    const abort = await fetch(`${fake.url}/api/agents/chat/abort`, {
      method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: JSON.stringify({ streamId }),
    });
    expect(abort.status).toBe(200);
    expect((await control.jobs()).find((j) => j.streamId === streamId)).toMatchObject({ status: 'done', aborts: 1, tokensEmitted: 66 });
  });

  it('ends with an error frame and no final for the error ending', async () => {
    const { streamId } = await startChat({ __fake: { ending: 'error', errorMessage: '{"type":"token_balance"}', calls: [] } });
    const frames = await (await subscribe(streamId)).all();
    expect(frames.map(kind)).toEqual(['created', 'error:error']);
    expect(frames[1]!.raw).toBe('event: error\ndata: {"error":"{\\"type\\":\\"token_balance\\"}"}');
  });

  it('cut: drops the subscriber but the generation goes on, and a resume subscriber gets the rest', async () => {
    const { streamId } = await startChat({ __fake: { ending: 'cut', cutAfterFrames: 3, startDelayMs: 0, frameIntervalMs: 30 } });
    const reader = await subscribe(streamId);
    const got: SseFrame[] = [];
    let cutError: unknown;
    try {
      for (let frame = await reader.next(); frame; frame = await reader.next()) got.push(frame);
    } catch (error) {
      cutError = error;
    }
    expect(cutError).toBeInstanceOf(Error);
    expect(got.map(kind)).toEqual(['created', 'on_run_step', 'on_message_delta']);
    const resumed = await (await subscribe(streamId, '?resume=true')).all();
    expect(kind(resumed[0]!)).toBe('sync');
    expect(resumed.map(kind).slice(-2)).toEqual(['on_token_usage', 'final']);
    const log = await control.log();
    const cut = log.find((e) => e.url === `/api/agents/chat/stream/${streamId}`);
    expect(cut).toMatchObject({ serverClosed: true, closedEarly: false });
  });

  it('records a client that disconnected early in the request log', async () => {
    const { streamId } = await startChat({ __fake: { ending: 'hang', startDelayMs: 0 } });
    const controller = new AbortController();
    const reader = await subscribe(streamId, '', controller.signal);
    await reader.next();
    controller.abort();
    const entry = await control.waitFor((e) => e.url.endsWith(streamId) && e.closedEarly);
    expect(entry.finishedAt).not.toBeNull();
    expect(entry.user).toBe('user-1');
  });
});

describe('fake LibreChat: other routes', () => {
  it('OpenAI-compatible streaming ends with a usage chunk, then [DONE]', async () => {
    await control.setAgent('agent_abc', { model: 'claude-sonnet-4-5', provider: 'anthropic' });
    const calls = [{ model: 'm', provider: 'p', input: 10, output: 3 }, { model: 'm', provider: 'p', input: 20, output: 4 }];
    const res = await fetch(`${fake.url}/api/agents/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: 'Bearer sk-test-key-123', 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'agent_abc', stream: true, messages: [{ role: 'user', content: 'Hi' }], __fake: { calls } }),
    });
    const frames = await new SseReader(res).all();
    expect(frames.every((f) => !f.raw.startsWith('event:'))).toBe(true);
    expect(frames.at(-1)!.data).toBe('[DONE]');
    const last = JSON.parse(frames.at(-2)!.data) as Record<string, unknown>;
    expect(last).toMatchObject({ object: 'chat.completion.chunk', model: 'agent_abc' });
    const usage = { prompt_tokens: 30, completion_tokens: 7, total_tokens: 37, completion_tokens_details: { reasoning_tokens: 0 } };
    expect(last.usage).toEqual(usage);
    const agent = await get('/api/agents/agent_abc');
    expect(await agent.json()).toMatchObject({ id: 'agent_abc', model: 'claude-sonnet-4-5', provider: 'anthropic' });
  });

  it('runs as a child process with the same control API', async () => {
    const upstream = await startUpstreamProcess({ jwtSecret: SECRET });
    try {
      const health = await fetch(`${upstream.url}/health`);
      expect(await health.text()).toBe('OK');
      const entry = await upstream.control.waitFor((e) => e.url === '/health');
      expect(entry.status).toBe(200);
    } finally {
      await upstream.stop();
    }
  }, 30_000);
});

describe('fake LibreChat: routes request lines as LibreChat\'s Express 5 does', () => {
  const port = () => Number(new URL(fake.url).port);
  const chatLine = (line: string) => rawRequest(port(), {
    line, body: JSON.stringify({ text: 'Hi', model: 'gpt-4o', endpoint: 'openAI', conversationId: null }),
    headers: { Host: 'fake', Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' },
  });

  it.each([
    'POST /api/agents/chat/stream', 'POST /api/agents/chat/Active/', 'POST /api/agents/chat/status',
    'POST http://any.host/api/agents/chat/openAI', 'POST /api/agents/chat/openAI#/x', 'POST /api/agents/chat#',
  ])('%s starts a chat (GET-only names fall through to /:endpoint; absolute-form by path; fragment dropped)', async (line) => {
    const answer = await chatLine(line);
    expect(answer.status).toBe(200);
    expect(answer.json).toMatchObject({ status: 'started' });
  });

  it('routes a HEAD to the GET stream route, and answers an undecodable :param 400', async () => {
    const { streamId } = await startChat({ __fake: { frameIntervalMs: 200 } });
    const head = await rawExchange(port(), `HEAD /api/agents/chat/stream/${streamId} HTTP/1.1\r\nHost: fake\r\nAuthorization: Bearer ${token}\r\n\r\n`, 1_000);
    expect(head.status).toBe(200);
    expect(head.text).toMatch(/content-type: text\/event-stream/i);
    const bad = await rawRequest(port(), { line: 'GET /api/agents/chat/stream/%E0%A4%A', headers: { Host: 'fake', Authorization: `Bearer ${token}` } });
    expect(bad.status).toBe(400);
  });
});
