// Fail closed: with PostgreSQL stopped, metered requests answer 503 database_unavailable at once and
// nothing reaches LibreChat; when it comes back the gateway recovers by itself (no restart), and the
// holds taken before the outage settle exactly once.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chatBody, postChat, upstreamSaw } from './helpers/harness.ts';
import { librechatToken } from './helpers/jwt.ts';
import { waitSettled } from './helpers/metering.ts';
import { startOutageHarness, type OutageHarness } from './helpers/outage.ts';
import { quotaRow, seedWorkspace } from './helpers/seed.ts';

let h: OutageHarness;

beforeAll(async () => {
  h = await startOutageHarness('geko-down-');
});

afterAll(async () => {
  await h?.close();
});

describe('database outage', () => {
  it('answers 503 database_unavailable while PostgreSQL is down and recovers by itself', async () => {
    const ws = await seedWorkspace(h.sql, { tokensLimit: 100_000 });
    const token = await librechatToken(ws.email);
    const before = await postChat(h.gw.url, { token, body: chatBody({ __fake: { deltas: Array.from({ length: 20 }, () => 'w '), frameIntervalMs: 100 } }) });
    expect(before.status).toBe(200);

    await h.stopPostgres();
    const started = Date.now();
    const during = await postChat(h.gw.url, { token, body: chatBody() });
    expect(during.status).toBe(503);
    expect(during.json.error?.code).toBe('database_unavailable');
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(await upstreamSaw(h.upstream, during.requestId)).toBe(false);
    const ready = await fetch(`${h.gw.url}/_gateway/readyz`);
    expect(ready.status).toBe(503);

    await h.startPostgres();
    let after: Awaited<ReturnType<typeof postChat>> | undefined;
    for (let i = 0; i < 50 && after?.status !== 200; i += 1) {
      after = await postChat(h.gw.url, { token, body: chatBody() });
      if (after.status !== 200) await new Promise((resolve) => setTimeout(resolve, 100));
    }
    expect(after?.status).toBe(200);

    // The chat admitted before the outage settles once its stream ends, its settlement retried past the outage.
    const row = await waitSettled(h.sql, before.requestId, 15_000);
    expect(row).toMatchObject({ status: 'settled', total_tokens: 821 });
    await waitSettled(h.sql, after!.requestId, 15_000);
    const quota = await quotaRow(h.sql, ws.workspaceId);
    expect(quota).toMatchObject({ tokens_used: 2 * 821, requests_used: 2 });
  });
});
