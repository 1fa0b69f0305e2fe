// The gateway process's life and death: SIGTERM drains open streams and loses nothing, a deadline
// settles what is left with what was used, a SIGKILLed process's holds are closed by the next process's
// sweeper, and a generation that outlives RESERVATION_TTL is left to the live process that holds it.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from './helpers/database.ts';
import { baseEnv, startGatewayProcess } from './helpers/gateway.ts';
import { chatBody, postChat } from './helpers/harness.ts';
import { librechatToken, TEST_JWT_SECRET } from './helpers/jwt.ts';
import { completedAudit, waitSettled } from './helpers/metering.ts';
import { quotaRow, seedWorkspace } from './helpers/seed.ts';
import { startUpstreamProcess, type UpstreamProcess } from './helpers/upstream-process.ts';

let db: TestDatabase;
let upstream: UpstreamProcess;

beforeAll(async () => {
  [db, upstream] = await Promise.all([createTestDatabase(), startUpstreamProcess({ jwtSecret: TEST_JWT_SECRET })]);
});
afterAll(async () => {
  await upstream?.stop();
  await db?.drop();
});

const env = (extra: Record<string, string> = {}) => baseEnv(db.url, upstream.url, { MIGRATE_ON_START: 'false', ...extra });

describe('graceful shutdown', () => {
  it('SIGTERM in the middle of 50 streams: new requests are refused, every stream finishes and settles', async () => {
    const gateway = await startGatewayProcess(env({ SHUTDOWN_DEADLINE: '20s' }));
    const ws = await seedWorkspace(db.sql, { tokensLimit: 10_000_000, requestsLimit: 10_000 });
    const token = await librechatToken(ws.email);
    const deltas = Array.from({ length: 25 }, (_, i) => `d${i} `);
    const chats = await Promise.all(Array.from({ length: 50 }, () =>
      postChat(gateway.url, { token, body: chatBody({ __fake: { deltas, frameIntervalMs: 40 } }) })));
    expect(chats.every((c) => c.status === 200)).toBe(true);
    const exited = gateway.stop('SIGTERM');
    await new Promise((resolve) => setTimeout(resolve, 100));
    // A draining gateway either refuses the connection (listener closed) or answers 503 shutting_down.
    const late = await postChat(gateway.url, { token, body: chatBody() }).catch(() => 'connection refused' as const);
    const lateOutcome = late === 'connection refused' ? late : `${late.status} ${late.json.error?.code}`;
    expect(['connection refused', '503 shutting_down']).toContain(lateOutcome);
    expect(await exited).toBe(0);
    const rows = await db.sql<{ status: string; total_tokens: number }[]>`
      SELECT status, total_tokens FROM chat_usage WHERE workspace_id = ${ws.workspaceId}`;
    expect(rows).toHaveLength(50);
    expect(rows.every((r) => r.status === 'settled' && r.total_tokens === 821)).toBe(true);
    expect((await quotaRow(db.sql, ws.workspaceId)).tokens_used).toBe(50 * 821);
  });

  it('past the deadline, what is still open is settled with what was used; nothing stays reserved', async () => {
    const gateway = await startGatewayProcess(env({ SHUTDOWN_DEADLINE: '500ms' }));
    const ws = await seedWorkspace(db.sql);
    const token = await librechatToken(ws.email);
    const calls = [{ model: 'gpt-4o', input: 70, output: 7 }, { model: 'gpt-4o', input: 30, output: 3 }];
    const chat = await postChat(gateway.url, { token, body: chatBody({ __fake: { calls, ending: 'hang' } }) });
    expect(chat.status).toBe(200);
    await upstream.control.waitForJob((j) => j.streamId === chat.json.streamId && j.framesEmitted >= 4, 5_000);
    expect(await gateway.stop('SIGTERM')).toBe(0);
    const [row] = await db.sql<{ status: string; total_tokens: number }[]>`SELECT status, total_tokens FROM chat_usage WHERE request_id = ${chat.requestId}`;
    // The hang scenario sends the first call's usage and never the last one's.
    expect(row).toMatchObject({ status: 'failed', total_tokens: 77 });
    expect((await completedAudit(db.sql, chat.requestId))[0]!.details).toMatchObject({ outcome: 'error' });
  });
});

describe('holds nobody will settle', () => {
  it('a SIGKILLed process\'s holds are closed as expired by the next process, charging the text part', async () => {
    const victim = await startGatewayProcess(env());
    const ws = await seedWorkspace(db.sql, { customSettings: { maxTokens: 500 } });
    const token = await librechatToken(ws.email);
    const chats = await Promise.all(Array.from({ length: 3 }, () =>
      postChat(victim.url, { token, body: chatBody({ text: 'x'.repeat(400), __fake: { ending: 'hang' } }) })));
    expect(chats.every((c) => c.status === 200)).toBe(true);
    expect((await quotaRow(db.sql, ws.workspaceId)).tokens_used).toBe(3 * 600);
    await victim.stop('SIGKILL');
    const heir = await startGatewayProcess(env({ INSTANCE_STALE_AFTER: '1s', SWEEP_INTERVAL: '200ms' }));
    try {
      for (const chat of chats) {
        const row = await waitSettled(db.sql, chat.requestId, 10_000);
        expect(row).toMatchObject({ status: 'expired', total_tokens: 100, usage_source: 'hold' });
        expect((await completedAudit(db.sql, chat.requestId))[0]).toMatchObject({ status: 'failed' });
      }
      expect((await quotaRow(db.sql, ws.workspaceId)).tokens_used).toBe(3 * 100);
    } finally {
      await heir.stop('SIGTERM');
    }
  });

  it('a generation that outlives RESERVATION_TTL is not expired while its process holds it, and settles with what it used', async () => {
    // The reproduction (finding H4): RESERVATION_TTL=5s, a 5,500-token generation ended `expired` with 3 tokens.
    const gateway = await startGatewayProcess(env({ RESERVATION_TTL: '1s', SWEEP_INTERVAL: '200ms' }));
    try {
      const ws = await seedWorkspace(db.sql, { customSettings: { maxTokens: 1000 } });
      const deltas = Array.from({ length: 30 }, (_, i) => `w${i} `);
      const calls = [{ model: 'gpt-4o', provider: 'openAI', input: 5000, output: 500, deltas }];
      const chat = await postChat(gateway.url, { token: await librechatToken(ws.email), body: chatBody({ text: 'abcdefghijkl', __fake: { calls, frameIntervalMs: 100 } }) });
      expect(chat.status).toBe(200);
      const row = await waitSettled(db.sql, chat.requestId, 15_000);
      expect(row).toMatchObject({ status: 'settled', total_tokens: 5500, usage_source: 'on_token_usage' });
      expect((await quotaRow(db.sql, ws.workspaceId)).tokens_used).toBe(5500);
      const audits = await completedAudit(db.sql, chat.requestId);
      expect(audits.map((a) => a.details.outcome)).toEqual(['completed']);
    } finally {
      await gateway.stop('SIGTERM');
    }
  });
});
