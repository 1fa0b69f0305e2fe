// The gateway's own subscription to a generation it admitted: one LibreChat never answers (no response
// headers) is cut after UPSTREAM_HEADERS_TIMEOUT and resumed, so the generation is still metered and its
// hold settled. Without the bound the generation, and its hold, would stay open for the life of the process
// (the sweeper leaves a hold a live process still meters alone).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chatBody, postChat, startHarness, type Harness } from './helpers/harness.ts';
import { librechatToken } from './helpers/jwt.ts';
import { waitSettled } from './helpers/metering.ts';
import { quotaRow, seedWorkspace } from './helpers/seed.ts';

let h: Harness;
beforeAll(async () => { h = await startHarness({ UPSTREAM_HEADERS_TIMEOUT: '500ms' }); });
afterAll(async () => { await h?.close(); });

describe('a subscription LibreChat never answers', () => {
  it('is cut after UPSTREAM_HEADERS_TIMEOUT and resumed: the generation is settled with its real usage', async () => {
    const ws = await seedWorkspace(h.db.sql, { tokensLimit: 1_000_000 });
    const started = await postChat(h.gw.url, {
      token: await librechatToken(ws.email),
      body: chatBody({ __fake: { silentFirstSubscription: true, calls: [{ model: 'gpt-4o', provider: 'openAI', input: 700, output: 42 }] } }),
    });
    expect(started.status, started.text).toBe(200);
    const usage = await waitSettled(h.db.sql, started.requestId, 15_000);
    expect(usage).toMatchObject({ status: 'settled', prompt_tokens: 700, completion_tokens: 42, total_tokens: 742 });
    expect(await quotaRow(h.db.sql, ws.workspaceId)).toMatchObject({ tokens_used: 742, requests_used: 1 });
    // The first subscription went unanswered; the gateway came back with resume=true.
    const streamGets = (await h.upstream.control.log()).filter((e) => e.method === 'GET' && e.url.startsWith('/api/agents/chat/stream/'));
    expect(streamGets.map((e) => new URL(e.url, 'http://fake').searchParams.get('resume'))).toEqual([null, 'true']);
  });
});
