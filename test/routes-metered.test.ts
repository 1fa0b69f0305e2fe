// The other metered routes: resume/steer (identity + quota state, no hold), the legacy assistants stream
// on the POST, LibreChat's OpenAI-compatible routes (agent id as model, final usage chunk), and the
// abort and stream routes' token requirement. None of them can be used without being metered.
import http from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chatBody, postChat, startHarness, upstreamSaw, type Harness } from './helpers/harness.ts';
import { librechatToken } from './helpers/jwt.ts';
import { completedAudit, parseFrames, waitSettled, waitWorkspaceAtRest } from './helpers/metering.ts';
import { quotaRow, seedWorkspace } from './helpers/seed.ts';

let h: Harness;
beforeAll(async () => { h = await startHarness(); });
afterAll(async () => { await h?.close(); });

describe('resume and steer', () => {
  it('pass with a valid identity and quota left, hold nothing and count no request', async () => {
    const ws = await seedWorkspace(h.db.sql);
    const token = await librechatToken(ws.email);
    const result = await postChat(h.gw.url, { token, path: '/api/agents/chat/steer', body: { conversationId: 'c', text: 'also this' } });
    expect(await upstreamSaw(h.upstream, result.requestId)).toBe(true);
    const seen = await h.upstream.control.waitFor((e) => e.headers['x-request-id'] === result.requestId);
    expect(seen.headers['x-tenant-id']).toBe(ws.tenantId);
    expect(await quotaRow(h.db.sql, ws.workspaceId)).toMatchObject({ tokens_used: 0, requests_used: 0 });
    const [usage] = await h.db.sql`SELECT count(*)::int AS n FROM chat_usage WHERE workspace_id = ${ws.workspaceId}`;
    expect(usage!.n).toBe(0);
  });

  it('are refused with 429 once the quota is used up, and never reach LibreChat', async () => {
    const ws = await seedWorkspace(h.db.sql, { requestsLimit: 3 });
    await h.db.sql`UPDATE workspace_quotas SET requests_used = 3 WHERE workspace_id = ${ws.workspaceId}`;
    const token = await librechatToken(ws.email);
    for (const path of ['/api/agents/chat/resume', '/api/agents/chat/steer/deliver']) {
      const result = await postChat(h.gw.url, { token, path, body: { conversationId: 'conv-denied' } });
      expect(result.status).toBe(429);
      expect(result.json.error).toMatchObject({ code: 'quota_exceeded', details: { kind: 'requests' } });
      expect(await upstreamSaw(h.upstream, result.requestId)).toBe(false);
      // The denial's audit row names the conversation the request continued.
      const [audit] = await h.db.sql<{ resource_id: string | null }[]>`
        SELECT resource_id FROM audit_logs WHERE action = 'chat_denied' AND details ->> 'request_id' = ${result.requestId}`;
      expect(audit?.resource_id).toBe('conv-denied');
    }
    const viewer = await seedWorkspace(h.db.sql, { role: 'viewer' });
    const denied = await postChat(h.gw.url, { token: await librechatToken(viewer.email), path: '/api/agents/chat/resume', body: {} });
    expect(denied.json.error?.code).toBe('role_forbidden');
  });
});

describe('legacy assistants stream on the POST', () => {
  it('passes the SSE through and settles from its final counts', async () => {
    const ws = await seedWorkspace(h.db.sql, { models: ['gpt-4o'] });
    const result = await postChat(h.gw.url, {
      token: await librechatToken(ws.email), path: '/api/assistants/v2/chat',
      body: { text: 'hello assistant', model: 'gpt-4o', assistant_id: 'asst_1', endpoint: 'assistants', __fake: { calls: [{ model: 'gpt-4o', input: 40, output: 12 }] } },
    });
    expect(result.status).toBe(200);
    expect(result.res.headers.get('content-type')).toContain('text/event-stream');
    expect(parseFrames(result.text).at(-1)).toMatchObject({ final: true });
    const row = await waitSettled(h.db.sql, result.requestId);
    expect(row).toMatchObject({ status: 'settled', prompt_tokens: 40, completion_tokens: 12, usage_source: 'token_count' });
  });
});

describe('OpenAI-compatible routes', () => {
  it('meters a streamed chat completion from its final usage chunk', async () => {
    const ws = await seedWorkspace(h.db.sql, { models: ['agent_remote'] });
    const result = await postChat(h.gw.url, {
      token: await librechatToken(ws.email), path: '/api/agents/v1/chat/completions',
      body: { model: 'agent_remote', stream: true, messages: [{ role: 'user', content: 'hi there' }], __fake: { calls: [{ model: 'gpt-4o', input: 33, output: 4 }] } },
    });
    expect(result.status).toBe(200);
    expect(result.text).toContain('data: [DONE]');
    expect(await waitSettled(h.db.sql, result.requestId)).toMatchObject({ status: 'settled', total_tokens: 37, usage_source: 'openai_usage' });
  });

  it('meters a JSON chat completion and a streamed responses call', async () => {
    const ws = await seedWorkspace(h.db.sql, { models: ['agent_*'] });
    const token = await librechatToken(ws.email);
    const json = await postChat(h.gw.url, { token, path: '/api/agents/v1/chat/completions', body: { model: 'agent_x', messages: [{ role: 'user', content: 'q' }], __fake: { calls: [{ model: 'm', input: 8, output: 2 }] } } });
    expect(json.status).toBe(200);
    expect(await waitSettled(h.db.sql, json.requestId)).toMatchObject({ total_tokens: 10, usage_source: 'openai_usage' });
    const responses = await postChat(h.gw.url, { token, path: '/api/agents/v1/responses', body: { model: 'agent_y', stream: true, input: 'question', __fake: { calls: [{ model: 'm', input: 21, output: 5 }] } } });
    expect(responses.status).toBe(200);
    expect(await waitSettled(h.db.sql, responses.requestId)).toMatchObject({ total_tokens: 26 });
  });

  it('a client leaving a streamed completion is settled as aborted with what streamed, never given back', async () => {
    const ws = await seedWorkspace(h.db.sql, { models: ['agent_*'] });
    const token = await librechatToken(ws.email);
    const requestId = `t-leave-${Date.now()}`;
    await new Promise<void>((resolve, reject) => {
      const req = http.request(`${h.gw.url}/api/agents/v1/chat/completions`, {
        method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', 'x-request-id': requestId },
      }, (res) => {
        res.once('data', () => { req.destroy(); resolve(); });
      });
      req.on('error', () => resolve());
      req.on('timeout', () => reject(new Error('no data')));
      req.end(JSON.stringify({ model: 'agent_x', stream: true, messages: [{ role: 'user', content: 'tell me a long story' }],
        __fake: { deltas: Array.from({ length: 100 }, () => 'word '), frameIntervalMs: 20 } }));
    });
    const row = await waitSettled(h.db.sql, requestId);
    expect(row.status).toBe('aborted');
    expect(row.usage_source).not.toBe('not_taken');
    expect((await quotaRow(h.db.sql, ws.workspaceId)).requests_used).toBe(1);
  });

  it('LibreChat cutting a streamed completion mid-way is settled with what streamed, not given back', async () => {
    const ws = await seedWorkspace(h.db.sql, { models: ['agent_*'] });
    // The cut reaches the client as a failed read; what matters is how the gateway settles it.
    await postChat(h.gw.url, {
      token: await librechatToken(ws.email), path: '/api/agents/v1/chat/completions',
      body: { model: 'agent_x', stream: true, messages: [{ role: 'user', content: 'go on' }], __fake: { deltas: Array.from({ length: 30 }, () => 'word '), ending: 'cut', cutAfterFrames: 6 } },
    }).catch(() => undefined);
    const [row] = await (async () => {
      for (let i = 0; i < 100; i += 1) {
        const rows = await h.db.sql<{ status: string; usage_source: string; total_tokens: number }[]>`
          SELECT status, usage_source, total_tokens FROM chat_usage WHERE workspace_id = ${ws.workspaceId} AND status <> 'reserved'`;
        if (rows.length > 0) return rows;
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      return [];
    })();
    expect(row).toBeDefined();
    expect(row!.usage_source).not.toBe('not_taken');
    expect(row!.status).toBe('aborted');
    expect(row!.total_tokens).toBeGreaterThan(0);
    expect((await quotaRow(h.db.sql, ws.workspaceId)).requests_used).toBe(1);
  });

  it('refuses an sk- API key: the gateway cannot tell whose it is', async () => {
    const result = await postChat(h.gw.url, { token: 'sk-live-0123456789', path: '/api/agents/v1/chat/completions', body: { model: 'agent_x', messages: [] } });
    expect(result.status).toBe(401);
    expect(await upstreamSaw(h.upstream, result.requestId)).toBe(false);
  });

  it('an upstream error answer gives everything back', async () => {
    const ws = await seedWorkspace(h.db.sql, { models: ['agent_*'] });
    const result = await postChat(h.gw.url, { token: await librechatToken(ws.email), path: '/api/agents/v1/chat/completions', body: { model: 'agent_x', messages: [], __fake: { postStatus: 500 } } });
    expect(result.status).toBe(500);
    expect(await waitSettled(h.db.sql, result.requestId)).toMatchObject({ status: 'failed', total_tokens: 0 });
    expect(await quotaRow(h.db.sql, ws.workspaceId)).toMatchObject({ tokens_used: 0, requests_used: 0 });
    expect((await completedAudit(h.db.sql, result.requestId))[0]!.details).toMatchObject({ outcome: 'error' });
  });
});

describe('stream and abort routes need a token', () => {
  it('answers 401 without one and never forwards', async () => {
    const abort = await postChat(h.gw.url, { path: '/api/agents/chat/abort', body: { streamId: 'x' } });
    expect(abort.status).toBe(401);
    expect(await upstreamSaw(h.upstream, abort.requestId)).toBe(false);
    const assistantsAbort = await postChat(h.gw.url, { path: '/api/assistants/v2/chat/abort', body: {} });
    expect(assistantsAbort.status).toBe(401);
  });

  it('does not let path spellings skip metering', async () => {
    const ws = await seedWorkspace(h.db.sql);
    const token = await librechatToken(ws.email);
    for (const path of ['/API/Agents/Chat/openAI', '/api/agents/chat/openAI/']) {
      const result = await postChat(h.gw.url, { token, path, body: chatBody() });
      expect(result.status, path).toBe(200);
      expect(await waitSettled(h.db.sql, result.requestId)).toMatchObject({ status: 'settled' });
    }
    for (const path of ['/api/agents/chat/../chat/openAI', '/api/agents//chat/openAI', '/api/agents/chat%2FopenAI', '/api/agents/chat/%2e%2e/abort']) {
      const result = await postChat(h.gw.url, { token, path, body: chatBody() });
      expect(result.status, path).toBe(400);
      expect(result.json.error?.code).toBe('invalid_request');
      expect(await upstreamSaw(h.upstream, result.requestId)).toBe(false);
    }
  });
});

describe('clients that leave while the gateway decides', () => {
  it('leave no hold behind on the routes that stream on the POST', async () => {
    const ws = await seedWorkspace(h.db.sql, { models: ['agent_*'], requestsLimit: 10_000 });
    const token = await librechatToken(ws.email);
    await Promise.all(Array.from({ length: 40 }, (_, i) => new Promise<void>((resolve) => {
      const req = http.request(`${h.gw.url}/api/agents/v1/chat/completions`, {
        method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', 'x-request-id': `leave-early-${i}` },
      });
      req.on('error', () => resolve());
      req.on('close', () => resolve());
      // Half leave while admission runs, half while LibreChat is slow to answer (postDelayMs).
      req.end(JSON.stringify({ model: 'agent_x', stream: true, messages: [{ role: 'user', content: 'hi' }], __fake: { postDelayMs: 300 } }));
      setTimeout(() => req.destroy(), i % 2 === 0 ? i % 5 : 100);
    })));
    // The clients are gone before the gateway has decided: wait until its last statement has landed.
    await waitWorkspaceAtRest(h.db.sql, ws.workspaceId);
    const rows = await h.db.sql<{ status: string; n: number }[]>`SELECT status, count(*)::int AS n FROM chat_usage WHERE workspace_id = ${ws.workspaceId} GROUP BY status`;
    expect(rows.find((r) => r.status === 'reserved')).toBeUndefined();
    const [sum] = await h.db.sql<{ tokens: number; counted: number }[]>`
      SELECT COALESCE(sum(total_tokens), 0)::int AS tokens, count(*) FILTER (WHERE usage_source IS DISTINCT FROM 'not_taken')::int AS counted
      FROM chat_usage WHERE workspace_id = ${ws.workspaceId}`;
    expect(await quotaRow(h.db.sql, ws.workspaceId)).toMatchObject({ tokens_used: sum!.tokens, requests_used: sum!.counted });
  });
});
