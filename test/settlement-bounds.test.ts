// What LibreChat reports is not trusted to fit the columns: token counts beyond PostgreSQL's `integer` and
// conversation or stream ids longer than 255 characters must not make a settlement fail (it would be retried
// for ever, its hold never settled, and with settlements sharing a statement it would hold back others).
// Counts are clamped to 2^31-1, ids that cannot be stored are left out; the chat is settled once.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chatBody, postChat, startHarness, type Harness } from './helpers/harness.ts';
import { librechatToken } from './helpers/jwt.ts';
import { completedAudit, waitSettled } from './helpers/metering.ts';
import { quotaRow, seedWorkspace } from './helpers/seed.ts';

const MAX_INT = 2_147_483_647;

let h: Harness;
beforeAll(async () => { h = await startHarness(); });
afterAll(async () => { await h?.close(); });

describe('a settlement of values that do not fit', () => {
  it('clamps token counts beyond a PostgreSQL integer, in the row and in the quota', async () => {
    const ws = await seedWorkspace(h.db.sql, { tokensLimit: 1_000_000 });
    const started = await postChat(h.gw.url, {
      token: await librechatToken(ws.email),
      body: chatBody({ __fake: { calls: [{ model: 'gpt-4o', provider: 'openAI', input: 3_000_000_000, output: 5 }] } }),
    });
    expect(started.status, started.text).toBe(200);
    const usage = await waitSettled(h.db.sql, started.requestId, 15_000);
    expect(usage).toMatchObject({ status: 'settled', prompt_tokens: MAX_INT, completion_tokens: 5, total_tokens: MAX_INT });
    expect(await quotaRow(h.db.sql, ws.workspaceId)).toMatchObject({ tokens_used: MAX_INT, requests_used: 1 });
    expect(await completedAudit(h.db.sql, started.requestId)).toHaveLength(1);
  });

  it('leaves out a conversation and stream id longer than 255 characters, and still settles', async () => {
    const ws = await seedWorkspace(h.db.sql);
    const longId = `c${'x'.repeat(299)}`;
    const started = await postChat(h.gw.url, { token: await librechatToken(ws.email), body: chatBody({ conversationId: longId }) });
    expect(started.status, started.text).toBe(200);
    expect(started.json.streamId).toBe(longId);
    const usage = await waitSettled(h.db.sql, started.requestId, 15_000);
    expect(usage).toMatchObject({ status: 'settled', conversation_id: null, stream_id: null });
    expect(usage.total_tokens).toBeGreaterThan(0);
    const [audit] = await completedAudit(h.db.sql, started.requestId);
    expect(audit).toMatchObject({ status: 'success', resource_id: null });
  });

  it('settles a chat whose model name LibreChat reports with a NUL or past 255 characters (the per-model details)', async () => {
    const ws = await seedWorkspace(h.db.sql, { models: ['gpt-4o', 'claude-*'] });
    const long = `claude-${'y'.repeat(400)}`;
    const started = await postChat(h.gw.url, {
      token: await librechatToken(ws.email),
      body: chatBody({ __fake: { calls: [
        { model: 'claude-\u0000x', provider: 'anthropic', input: 10, output: 2 },
        { model: long, provider: 'anthropic', input: 5, output: 1 },
      ] } }),
    });
    expect(started.status, started.text).toBe(200);
    const usage = await waitSettled(h.db.sql, started.requestId, 15_000);
    // A name with a NUL is enabled by no entry, so the stream policy may end the chat (aborted): either way it is closed, once.
    expect(['settled', 'aborted']).toContain(usage.status);
    expect(usage.total_tokens).toBe(18);
    const [audit] = await completedAudit(h.db.sql, started.requestId);
    const perModel = (audit!.details as { per_model: Record<string, { total_tokens: number }> }).per_model;
    expect(perModel['claude-x']).toMatchObject({ total_tokens: 12 });
    expect(perModel[long.slice(0, 255)]).toMatchObject({ total_tokens: 6 });
  });
});
