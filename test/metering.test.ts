// Settlement from LibreChat's stream, path by path: usage equals the upstream's on_token_usage sum to
// the token whether or not a client listens, each fallback source is used in order, and every ending
// (final, abort, error frame, cut connection, never taken) settles exactly once with its audit row.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chatBody, postChat, startHarness, type Harness } from './helpers/harness.ts';
import { librechatToken } from './helpers/jwt.ts';
import { completedAudit, readStream, waitSettled } from './helpers/metering.ts';
import { quotaRow, seedWorkspace } from './helpers/seed.ts';
import { startGateway } from './helpers/gateway.ts';

let h: Harness;
beforeAll(async () => { h = await startHarness(); });
afterAll(async () => { await h?.close(); });

async function startChat(fake: Record<string, unknown>, extra: Record<string, unknown> = {}) {
  const ws = await seedWorkspace(h.db.sql, { tokensLimit: 1_000_000, models: ['gpt-4o', 'claude-*', 'agent_*'] });
  const token = await librechatToken(ws.email);
  const result = await postChat(h.gw.url, { token, body: chatBody({ __fake: fake, ...extra }) });
  expect(result.status, result.text).toBe(200);
  return { ws, token, result, streamId: String(result.json.streamId) };
}

describe('metering without any client', () => {
  it('settles the exact on_token_usage sum and corrects the quota by actual - hold', async () => {
    const { ws, result } = await startChat({});
    const row = await waitSettled(h.db.sql, result.requestId);
    expect(row).toMatchObject({ status: 'settled', prompt_tokens: 812, completion_tokens: 9, total_tokens: 821, usage_source: 'on_token_usage' });
    expect(row.conversation_id).toBe(result.json.conversationId);
    expect(row.stream_id).toBe(result.json.streamId);
    expect(await quotaRow(h.db.sql, ws.workspaceId)).toMatchObject({ tokens_used: 821, requests_used: 1 });
    const [audit] = await completedAudit(h.db.sql, result.requestId);
    expect(audit).toMatchObject({ status: 'success', resource_id: result.json.conversationId });
    expect(audit!.details).toMatchObject({ outcome: 'completed', prompt_tokens: 812, completion_tokens: 9, total_tokens: 821, usage_source: 'on_token_usage' });
  });

  it('sums several calls of several models, with a per-model breakdown and cache tokens', async () => {
    const calls = [
      { model: 'gpt-4o', provider: 'openAI', input: 1200, output: 300 },
      { model: 'claude-3-5-sonnet', provider: 'anthropic', input: 500, output: 40, cacheRead: 300, cacheWrite: 20 },
      { model: 'gpt-4o', provider: 'openAI', input: 90, output: 7, usageType: 'summarization' },
    ];
    const { result } = await startChat({ calls }, { addedConvo: { endpoint: 'anthropic', model: 'claude-3-5-sonnet' } });
    const row = await waitSettled(h.db.sql, result.requestId);
    expect(row).toMatchObject({ prompt_tokens: 1790, completion_tokens: 347, total_tokens: 2137 });
    const perModel = (row.details as { per_model: Record<string, Record<string, number>> }).per_model;
    expect(perModel['gpt-4o']).toMatchObject({ prompt_tokens: 1290, completion_tokens: 307, calls: 2 });
    expect(perModel['claude-3-5-sonnet']).toMatchObject({ prompt_tokens: 500, completion_tokens: 40, cache_read_tokens: 300, cache_write_tokens: 20 });
  });
});

describe('fallback sources, in order', () => {
  it('uses final metadata.usage when LibreChat sends no on_token_usage', async () => {
    const { result } = await startChat({ emitTokenUsage: false, finalCounts: 'metadata', calls: [{ model: 'gpt-4o', input: 400, output: 50, cacheRead: 100 }] });
    expect(await waitSettled(h.db.sql, result.requestId)).toMatchObject({ usage_source: 'final_metadata', prompt_tokens: 400, completion_tokens: 50 });
  });

  it('uses tokenCount/promptTokens when there is no metadata', async () => {
    const { result } = await startChat({ emitTokenUsage: false, finalCounts: 'tokenCount', promptTokens: 321, calls: [{ model: 'gpt-4o', input: 400, output: 50 }] });
    expect(await waitSettled(h.db.sql, result.requestId)).toMatchObject({ usage_source: 'token_count', prompt_tokens: 321, completion_tokens: 50 });
  });

  it('estimates with a tokenizer when LibreChat reports no counts at all', async () => {
    const { result } = await startChat({ emitTokenUsage: false, finalCounts: 'none', deltas: ['one two three four five six seven'] });
    const row = await waitSettled(h.db.sql, result.requestId);
    expect(row.usage_source).toBe('estimate');
    expect(row.prompt_tokens).toBeGreaterThan(0);
    expect(row.completion_tokens).toBeGreaterThanOrEqual(7);
  });
});

describe('every ending settles once', () => {
  it('an abort through the gateway settles as aborted with the calls that completed', async () => {
    const calls = [
      { model: 'gpt-4o', input: 100, output: 10, deltas: ['a', 'b'] },
      { model: 'gpt-4o', input: 200, output: 20, deltas: Array.from({ length: 200 }, () => 'x') },
    ];
    const { token, result, streamId } = await startChat({ calls, frameIntervalMs: 20 });
    await h.upstream.control.waitForJob((j) => j.streamId === streamId && j.framesEmitted >= 8, 5_000);
    const abort = await fetch(`${h.gw.url}/api/agents/chat/abort`, {
      method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: JSON.stringify({ streamId }),
    });
    expect(abort.status).toBe(200);
    const row = await waitSettled(h.db.sql, result.requestId);
    expect(row).toMatchObject({ status: 'aborted', total_tokens: 110 });
    expect((await completedAudit(h.db.sql, result.requestId))[0]!.details).toMatchObject({ outcome: 'aborted' });
  });

  it('an error frame settles as failed with the error outcome', async () => {
    const { result } = await startChat({ ending: 'error', errorMessage: '{"type":"token_balance"}' });
    const row = await waitSettled(h.db.sql, result.requestId);
    expect(row.status).toBe('failed');
    const [audit] = await completedAudit(h.db.sql, result.requestId);
    expect(audit).toMatchObject({ status: 'failed' });
    expect(audit!.details).toMatchObject({ outcome: 'error' });
  });

  it('a cut connection is resumed with resume=true and the sync usage is not counted twice', async () => {
    const calls = [
      { model: 'gpt-4o', input: 100, output: 10, deltas: ['a', 'b', 'c'] },
      { model: 'gpt-4o', input: 200, output: 20, deltas: ['d', 'e', 'f'] },
    ];
    const { result, streamId } = await startChat({ calls, ending: 'cut', cutAfterFrames: 7, frameIntervalMs: 15 });
    const row = await waitSettled(h.db.sql, result.requestId);
    expect(row).toMatchObject({ status: 'settled', total_tokens: 330, usage_source: 'on_token_usage' });
    const log = await h.upstream.control.log();
    expect(log.some((e) => e.url === `/api/agents/chat/stream/${streamId}?resume=true`)).toBe(true);
  });

  it('a generation replaced on its conversation keeps its own usage: its resume names it (v0.8.8 generationCreatedAt)', async () => {
    // A's subscription ends when B replaces A in LibreChat; B's answer reaches the gateway late, so A's
    // resume goes out first. Unnamed, that resume would attach to B's job and charge A with B's usage.
    const first = [
      { model: 'gpt-4o', input: 100, output: 10, deltas: ['a', 'b'] },
      { model: 'gpt-4o', input: 100, output: 10, deltas: Array.from({ length: 30 }, () => 'x') },
    ];
    const { ws, token, result: a, streamId } = await startChat({ protocolV2: true, calls: first, frameIntervalMs: 40 });
    expect(typeof a.json.generationCreatedAt).toBe('number');
    await h.upstream.control.waitFor((e) => e.url.startsWith(`/api/agents/chat/stream/${streamId}`));
    await new Promise((resolve) => setTimeout(resolve, 250));
    const b = await postChat(h.gw.url, {
      token,
      body: chatBody({ conversationId: a.json.conversationId, __fake: { protocolV2: true, answerDelayMs: 600, calls: [{ model: 'gpt-4o', input: 5000, output: 3000 }] } }),
    });
    expect(b.status, b.text).toBe(200);
    const rowA = await waitSettled(h.db.sql, a.requestId);
    const rowB = await waitSettled(h.db.sql, b.requestId);
    expect(rowA.status).toBe('failed');
    expect(rowA.total_tokens).toBeLessThan(1_000);
    expect(rowB).toMatchObject({ status: 'settled', total_tokens: 8_000 });
    expect((await quotaRow(h.db.sql, ws.workspaceId)).tokens_used).toBe(rowA.total_tokens + 8_000);
    const log = await h.upstream.control.log();
    const resumeA = log.find((e) => e.url === `/api/agents/chat/stream/${streamId}?resume=true&generationCreatedAt=${a.json.generationCreatedAt}`);
    expect(resumeA?.status).toBe(409);
  });

  it('LibreChat refusing the POST gives back the hold and the counted request', async () => {
    const ws = await seedWorkspace(h.db.sql);
    const result = await postChat(h.gw.url, { token: await librechatToken(ws.email), body: chatBody({ __fake: { postStatus: 429, postBody: { type: 'concurrent', limit: 2 } } }) });
    expect(result.status).toBe(429);
    expect(result.json).toEqual({ type: 'concurrent', limit: 2 });
    const row = await waitSettled(h.db.sql, result.requestId);
    expect(row).toMatchObject({ status: 'failed', total_tokens: 0 });
    expect(await quotaRow(h.db.sql, ws.workspaceId)).toMatchObject({ tokens_used: 0, requests_used: 0 });
    expect((await completedAudit(h.db.sql, result.requestId))[0]!.details).toMatchObject({ outcome: 'error', total_tokens: 0 });
  });

  it('LibreChat unreachable: 502 upstream_unavailable and everything given back', async () => {
    const down = await startGateway(h.db.url, 'http://127.0.0.1:9');
    try {
      const ws = await seedWorkspace(h.db.sql);
      const result = await postChat(down.url, { token: await librechatToken(ws.email), body: chatBody() });
      expect(result.status).toBe(502);
      expect(result.json.error?.code).toBe('upstream_unavailable');
      expect(await waitSettled(h.db.sql, result.requestId)).toMatchObject({ status: 'failed', total_tokens: 0 });
      expect(await quotaRow(h.db.sql, ws.workspaceId)).toMatchObject({ tokens_used: 0, requests_used: 0 });
    } finally {
      await down.close();
    }
  });

  it('a second settlement of the same generation changes nothing', async () => {
    const { ws, result } = await startChat({});
    const row = await waitSettled(h.db.sql, result.requestId);
    const { settleUsage } = await import('../src/metering/settle.ts');
    const again = await settleUsage(h.db.sql, {
      usageId: row.usage_id, outcome: 'completed',
      usage: { promptTokens: 1, completionTokens: 1, totalTokens: 2, source: 'estimate', perModel: {} },
    });
    expect(again).toBe(false);
    expect(await quotaRow(h.db.sql, ws.workspaceId)).toMatchObject({ tokens_used: 821 });
    expect(await completedAudit(h.db.sql, result.requestId)).toHaveLength(1);
  });
});

describe('clients read the gateway\'s own subscription', () => {
  it('a client that connects late still gets every frame, created first and final last', async () => {
    const { token, result, streamId } = await startChat({ deltas: ['x', 'y', 'z'] });
    await waitSettled(h.db.sql, result.requestId);
    const read = await readStream(`${h.gw.url}/api/agents/chat/stream/${streamId}`, token);
    expect(read.status).toBe(200);
    expect(read.headers['content-type']).toContain('text/event-stream');
    expect(read.frames[0]).toMatchObject({ created: true });
    expect(read.frames.at(-1)).toMatchObject({ final: true });
    const deltas = read.frames.filter((f) => (f as { event?: string }).event === 'on_message_delta');
    expect(deltas).toHaveLength(3);
  });

  it('two clients, one slow, both get the same bytes and neither holds up metering', async () => {
    const deltas = Array.from({ length: 40 }, (_, i) => `w${i} `);
    const { token, result, streamId } = await startChat({ deltas, frameIntervalMs: 5 });
    const url = `${h.gw.url}/api/agents/chat/stream/${streamId}`;
    const slow = readStream(url, token, { pauseMs: 1_500 });
    const fast = await readStream(url, token);
    const settled = await waitSettled(h.db.sql, result.requestId);
    expect(settled.status).toBe('settled');
    const slowRead = await slow;
    expect(slowRead.body).toBe(fast.body);
    expect(fast.frames.filter((f) => (f as { event?: string }).event === 'on_message_delta')).toHaveLength(40);
  });

  it('a client that disconnects early changes nothing about the usage', async () => {
    const { token, result, streamId } = await startChat({ deltas: Array.from({ length: 30 }, () => 'tok '), frameIntervalMs: 10 });
    await readStream(`${h.gw.url}/api/agents/chat/stream/${streamId}`, token, { stopAfterBytes: 200 });
    expect(await waitSettled(h.db.sql, result.requestId)).toMatchObject({ status: 'settled', total_tokens: 821 });
  });

  it('a stream this process does not hold is forwarded with resume=true', async () => {
    const { token } = await startChat({});
    const res = await fetch(`${h.gw.url}/api/agents/chat/stream/not-held-here`, { headers: { authorization: `Bearer ${token}` } });
    expect(res.status).toBe(404);
    const log = await h.upstream.control.log();
    expect(log.some((e) => e.url === '/api/agents/chat/stream/not-held-here?resume=true')).toBe(true);
    const anonymous = await fetch(`${h.gw.url}/api/agents/chat/stream/not-held-here`);
    expect(anonymous.status).toBe(401);
  });
});

describe('many generations at once', () => {
  it('200 concurrent generations settle with SUM(total_tokens) equal to tokens_used and none reserved', async () => {
    const ws = await seedWorkspace(h.db.sql, { tokensLimit: 10_000_000, requestsLimit: 10_000 });
    const token = await librechatToken(ws.email);
    const results = await Promise.all(Array.from({ length: 200 }, (_, i) =>
      postChat(h.gw.url, { token, body: chatBody({ text: `message ${i}`, __fake: { calls: [{ model: 'gpt-4o', input: 100 + i, output: i % 17 }] } }) })));
    expect(results.every((r) => r.status === 200)).toBe(true);
    await Promise.all(results.map((r) => waitSettled(h.db.sql, r.requestId, 20_000)));
    const [sum] = await h.db.sql<{ total: number; reserved: number }[]>`
      SELECT COALESCE(sum(total_tokens), 0)::int AS total, count(*) FILTER (WHERE status = 'reserved')::int AS reserved
      FROM chat_usage WHERE workspace_id = ${ws.workspaceId}`;
    const expected = Array.from({ length: 200 }, (_, i) => 100 + i + (i % 17)).reduce((a, b) => a + b, 0);
    expect(sum).toEqual({ total: expected, reserved: 0 });
    expect((await quotaRow(h.db.sql, ws.workspaceId)).tokens_used).toBe(expected);
  });
});

describe('answers that start nothing new', () => {
  it('a duplicate request LibreChat answers "settled" gives everything back', async () => {
    const ws = await seedWorkspace(h.db.sql);
    const token = await librechatToken(ws.email);
    const result = await postChat(h.gw.url, { token, body: chatBody({ __fake: { postStatus: 200, postBody: { streamId: 'c-dup', conversationId: 'c-dup', status: 'settled' } } }) });
    expect(result.json).toMatchObject({ status: 'settled' });
    expect(await waitSettled(h.db.sql, result.requestId)).toMatchObject({ status: 'failed', total_tokens: 0, usage_source: 'not_taken' });
    expect(await quotaRow(h.db.sql, ws.workspaceId)).toMatchObject({ tokens_used: 0, requests_used: 0 });
  });

  it('an error before any text or usage charges nothing', async () => {
    const { result } = await startChat({ ending: 'error', calls: [], errorMessage: '{"type":"token_balance"}' });
    expect(await waitSettled(h.db.sql, result.requestId)).toMatchObject({ status: 'failed', total_tokens: 0 });
  });
});
