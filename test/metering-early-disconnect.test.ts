// A client that leaves an OpenAI-compatible or assistants stream early (finding M1) does not make the
// usage 0: the gateway reads LibreChat's answer on to its usage; and when LibreChat ends an answer with
// no usage after its run started, at least the prompt estimate is charged.
import http from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHarness, type Harness } from './helpers/harness.ts';
import { librechatToken } from './helpers/jwt.ts';
import { completedAudit, waitSettled } from './helpers/metering.ts';
import { quotaRow, seedWorkspace } from './helpers/seed.ts';

let h: Harness;
beforeAll(async () => { h = await startHarness(); });
afterAll(async () => { await h?.close(); });

/** POSTs through the gateway and leaves: at LibreChat's response headers, or after `leaveAfterMs`. */
function postAndLeave(path: string, token: string, requestId: string, body: unknown, leave: { atHeaders: true } | { afterMs: number }): Promise<void> {
  return new Promise((resolve) => {
    const req = http.request(`${h.gw.url}${path}`, {
      method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', 'x-request-id': requestId },
    }, (res) => {
      // No data read: the client is gone before the first chunk.
      if ('atHeaders' in leave) req.destroy();
      res.on('data', () => undefined);
    });
    req.on('error', () => undefined);
    req.on('close', () => resolve());
    req.end(JSON.stringify(body));
    if ('afterMs' in leave) setTimeout(() => req.destroy(), leave.afterMs);
  });
}

async function workspace() {
  const ws = await seedWorkspace(h.db.sql, { models: ['agent_*', 'gpt-4o'], tokensLimit: 1_000_000 });
  return { ws, token: await librechatToken(ws.email) };
}

const bigRun = { calls: [{ model: 'gpt-4o', provider: 'openAI', input: 50_000, output: 10 }], startDelayMs: 300 };

describe('a client that leaves before the first content chunk', () => {
  it('OpenAI-compatible stream: settled with the run\'s real usage (50,010 tokens)', async () => {
    const { ws, token } = await workspace();
    const requestId = `m1-stream-${Date.now()}`;
    await postAndLeave('/api/agents/v1/chat/completions', token, requestId,
      { model: 'agent_x', stream: true, messages: [{ role: 'user', content: 'a long task' }], __fake: bigRun }, { atHeaders: true });
    const row = await waitSettled(h.db.sql, requestId);
    expect(row).toMatchObject({ status: 'aborted', prompt_tokens: 50_000, completion_tokens: 10, total_tokens: 50_010, usage_source: 'openai_usage' });
    expect(await quotaRow(h.db.sql, ws.workspaceId)).toMatchObject({ tokens_used: 50_010, requests_used: 1 });
    expect((await completedAudit(h.db.sql, requestId))[0]!.details).toMatchObject({ outcome: 'aborted', total_tokens: 50_010 });
  });

  it('OpenAI-compatible JSON answer: a client gone before the answer does not cut the run; its usage is settled', async () => {
    const { ws, token } = await workspace();
    const requestId = `m1-json-${Date.now()}`;
    await postAndLeave('/api/agents/v1/chat/completions', token, requestId,
      { model: 'agent_x', messages: [{ role: 'user', content: 'a long task' }], __fake: bigRun }, { afterMs: 100 });
    expect(await waitSettled(h.db.sql, requestId)).toMatchObject({ status: 'aborted', total_tokens: 50_010, usage_source: 'openai_usage' });
    expect((await quotaRow(h.db.sql, ws.workspaceId)).tokens_used).toBe(50_010);
  });

  it('assistants stream: settled with the final counts LibreChat sends after the client left', async () => {
    const { token } = await workspace();
    const requestId = `m1-assistants-${Date.now()}`;
    await postAndLeave('/api/assistants/v2/chat', token, requestId,
      { text: 'a long task', model: 'gpt-4o', assistant_id: 'asst_1', endpoint: 'assistants', __fake: bigRun }, { atHeaders: true });
    expect(await waitSettled(h.db.sql, requestId)).toMatchObject({ status: 'aborted', prompt_tokens: 50_000, completion_tokens: 10, usage_source: 'token_count' });
  });
});

describe('LibreChat ends an answer with no usage after its run started', () => {
  it('charges at least the prompt estimate', async () => {
    const { ws, token } = await workspace();
    const requestId = `m1-cut-${Date.now()}`;
    // LibreChat sends its first (role) chunk, then the connection drops: no content, no usage chunk.
    await postAndLeave('/api/agents/v1/chat/completions', token, requestId,
      { model: 'agent_x', stream: true, messages: [{ role: 'user', content: 'one two three four five six seven eight' }], __fake: { ending: 'cut', cutAfterFrames: 1 } },
      { afterMs: 5_000 });
    const row = await waitSettled(h.db.sql, requestId);
    expect(row).toMatchObject({ status: 'aborted', usage_source: 'estimate', completion_tokens: 0 });
    expect(row.prompt_tokens).toBeGreaterThanOrEqual(8);
    expect((await quotaRow(h.db.sql, ws.workspaceId)).tokens_used).toBe(row.total_tokens);
  });
});
