// Limits hold under concurrency across processes: two real gateway processes on one database, 3N
// concurrent chat starts against a request limit of N admit exactly N; token holds never pass the
// token limit. Also: the lazy monthly reset, and exactly one SQL statement per admission and denial.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, statementCalls, type TestDatabase } from './helpers/database.ts';
import { baseEnv, startGatewayProcess, type GatewayProcess } from './helpers/gateway.ts';
import { chatBody, postChat } from './helpers/harness.ts';
import { librechatToken } from './helpers/jwt.ts';
import { quotaRow, seedWorkspace } from './helpers/seed.ts';
import { startUpstreamProcess, type UpstreamProcess } from './helpers/upstream-process.ts';
import { TEST_JWT_SECRET } from './helpers/jwt.ts';

let db: TestDatabase;
let upstream: UpstreamProcess;
let gateways: GatewayProcess[];

beforeAll(async () => {
  [db, upstream] = await Promise.all([createTestDatabase(), startUpstreamProcess({ jwtSecret: TEST_JWT_SECRET })]);
  // Generations that never end keep every hold in place while we count.
  await upstream.control.setDefaults({ ending: 'hang' });
  const env = baseEnv(db.url, upstream.url, { MIGRATE_ON_START: 'false', DB_POOL_MAX: '8' });
  gateways = await Promise.all([startGatewayProcess(env), startGatewayProcess(env)]);
});

afterAll(async () => {
  await Promise.all((gateways ?? []).map((g) => g.stop('SIGKILL')));
  await upstream?.stop();
  await db?.drop();
});

describe('admission under concurrency', () => {
  it('admits exactly requests_limit of 3N concurrent chats sent through two gateway processes', async () => {
    const N = 12;
    const ws = await seedWorkspace(db.sql, { requestsLimit: N, tokensLimit: 1_000_000 });
    const token = await librechatToken(ws.email);
    const results = await Promise.all(Array.from({ length: 3 * N }, (_, i) =>
      postChat(gateways[i % 2]!.url, { token, body: chatBody() })));
    const statuses = results.map((r) => r.status);
    expect(statuses.filter((s) => s === 200)).toHaveLength(N);
    expect(statuses.filter((s) => s === 429)).toHaveLength(2 * N);
    expect(await quotaRow(db.sql, ws.workspaceId)).toMatchObject({ requests_used: N });
    const [counts] = await db.sql<{ reserved: number; sent: number; denied: number }[]>`
      SELECT (SELECT count(*)::int FROM chat_usage WHERE workspace_id = ${ws.workspaceId}) AS reserved,
             (SELECT count(*)::int FROM audit_logs WHERE workspace_id = ${ws.workspaceId} AND action = 'chat_sent') AS sent,
             (SELECT count(*)::int FROM audit_logs WHERE workspace_id = ${ws.workspaceId} AND action = 'chat_denied') AS denied`;
    expect(counts).toEqual({ reserved: N, sent: N, denied: 2 * N });
  });

  it('never lets holds pass the token limit', async () => {
    const ws = await seedWorkspace(db.sql, { tokensLimit: 1_000, requestsLimit: 1_000, customSettings: { maxTokens: 90 } });
    const token = await librechatToken(ws.email);
    // Each hold: ceil(40 bytes / 4) = 10 prompt + 90 output cap = 100 tokens; 10 fit in 1,000.
    const results = await Promise.all(Array.from({ length: 30 }, (_, i) =>
      postChat(gateways[i % 2]!.url, { token, body: chatBody({ text: 'z'.repeat(40) }) })));
    expect(results.filter((r) => r.status === 200)).toHaveLength(10);
    expect(results.filter((r) => r.status === 429).every((r) => r.json.error?.details?.kind === 'tokens')).toBe(true);
    const quota = await quotaRow(db.sql, ws.workspaceId);
    expect(quota.tokens_used).toBe(1_000);
    expect(quota.tokens_used).toBeLessThanOrEqual(quota.tokens_limit);
  });
});

describe('the lazy monthly reset', () => {
  it('moves reset_at by whole months from its anchor (31st and February included)', async () => {
    const cases: [string, string, string][] = [
      ['2026-01-31 00:00:00', '2026-02-10 12:00:00', '2026-02-28 00:00:00'],
      ['2026-01-31 00:00:00', '2026-03-01 00:00:00', '2026-03-31 00:00:00'],
      ['2024-01-31 00:00:00', '2024-02-15 00:00:00', '2024-02-29 00:00:00'],
      ['2026-01-15 08:00:00', '2026-01-15 08:00:00', '2026-02-15 08:00:00'],
      ['2025-12-31 23:59:59', '2026-11-24 10:00:00', '2026-11-30 23:59:59'],
      ['2026-03-31 00:00:00', '2026-04-30 00:00:01', '2026-05-31 00:00:00'],
    ];
    for (const [anchor, now, expected] of cases) {
      const [row] = await db.sql<{ next: Date }[]>`SELECT geko_next_reset(${anchor}::timestamp, ${now}::timestamp) AS next`;
      expect(row!.next.toISOString(), `${anchor} at ${now}`).toBe(`${expected.replace(' ', 'T')}.000Z`);
    }
  });

  it('zeroes the counters when reset_at has passed and admits again', async () => {
    const ws = await seedWorkspace(db.sql, { requestsLimit: 1, tokensLimit: 1_000, resetAt: '2026-01-31 00:00:00' });
    await db.sql`UPDATE workspace_quotas SET requests_used = 1, tokens_used = 1000 WHERE workspace_id = ${ws.workspaceId}`;
    const result = await postChat(gateways[0]!.url, { token: await librechatToken(ws.email), body: chatBody({ text: 'abcd' }) });
    expect(result.status, result.text).toBe(200);
    const quota = await quotaRow(db.sql, ws.workspaceId);
    expect(quota).toMatchObject({ requests_used: 1, tokens_used: 1 });
    const [expected] = await db.sql<{ next: Date }[]>`SELECT geko_next_reset('2026-01-31 00:00:00', timezone('UTC', now())) AS next`;
    expect(quota.reset_at!.toISOString()).toBe(expected!.next.toISOString());
    expect(result.res.headers.get('x-quota-reset')).toBe(expected!.next.toISOString());
  });
});

describe('one round-trip', () => {
  it('runs exactly one SQL statement per admitted chat and per denial', async () => {
    const ws = await seedWorkspace(db.sql, { requestsLimit: 2 });
    const token = await librechatToken(ws.email);
    // Warm both connections' type lookups out of the count.
    await postChat(gateways[0]!.url, { token, body: chatBody() });
    await db.sql`SELECT pg_stat_statements_reset()`;
    const admitted = await postChat(gateways[0]!.url, { token, body: chatBody() });
    expect(admitted.status).toBe(200);
    expect(await statementCalls(db.sql)).toBe(1);
    await db.sql`SELECT pg_stat_statements_reset()`;
    const denied = await postChat(gateways[0]!.url, { token, body: chatBody() });
    expect(denied.status).toBe(429);
    expect(await statementCalls(db.sql)).toBe(1);
  });
});
