// Many replicas: three gateway processes on one database, directly and behind PgBouncer in transaction
// mode (DB_PREPARE=false), hold every limit exactly under concurrent load, and every token they settle
// adds up to the quota. The PgBouncer half is skipped, and named at the end of the run, where PgBouncer is
// not installed (test/helpers/system-tools.ts); it fails under CI.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from './helpers/database.ts';
import { baseEnv, startGatewayProcess, type GatewayProcess } from './helpers/gateway.ts';
import { chatBody, postChat } from './helpers/harness.ts';
import { librechatToken, TEST_JWT_SECRET } from './helpers/jwt.ts';
import { waitSettled } from './helpers/metering.ts';
import { startPgBouncer, type PgBouncer } from './helpers/pgbouncer.ts';
import { describeWith, pgbouncer } from './helpers/system-tools.ts';
import { quotaRow, seedWorkspace } from './helpers/seed.ts';
import { startUpstreamProcess, type UpstreamProcess } from './helpers/upstream-process.ts';

let db: TestDatabase;
let upstream: UpstreamProcess;
let bouncer: PgBouncer;
const fleets: Record<'direct' | 'pgbouncer', GatewayProcess[]> = { direct: [], pgbouncer: [] };

beforeAll(async () => {
  [db, upstream] = await Promise.all([createTestDatabase(), startUpstreamProcess({ jwtSecret: TEST_JWT_SECRET })]);
  const direct = baseEnv(db.url, upstream.url, { MIGRATE_ON_START: 'false', DB_POOL_MAX: '4', SHUTDOWN_DEADLINE: '1s' });
  const startPooled = async () => {
    if (!pgbouncer.path) return [];
    bouncer = await startPgBouncer(db.url);
    const pooled = baseEnv(bouncer.url, upstream.url, { MIGRATE_ON_START: 'false', DB_POOL_MAX: '4', DB_PREPARE: 'false', SHUTDOWN_DEADLINE: '1s' });
    return Promise.all([0, 1, 2].map(() => startGatewayProcess(pooled)));
  };
  [fleets.direct, fleets.pgbouncer] = await Promise.all([Promise.all([0, 1, 2].map(() => startGatewayProcess(direct))), startPooled()]);
}, 90_000);

afterAll(async () => {
  await Promise.all([...fleets.direct, ...fleets.pgbouncer].map((g) => g.stop('SIGTERM')));
  await bouncer?.stop();
  await upstream?.stop();
  await db?.drop();
});

const describeMode = (mode: 'direct' | 'pgbouncer') => (mode === 'pgbouncer' ? describeWith(pgbouncer) : describe);

for (const mode of ['direct', 'pgbouncer'] as const) describeMode(mode)(`three gateway processes (${mode})`, () => {
  it('admit exactly the request limit and settle every token into the quota', async () => {
    const N = 30;
    const ws = await seedWorkspace(db.sql, { requestsLimit: N, tokensLimit: 10_000_000 });
    const token = await librechatToken(ws.email);
    const gateways = fleets[mode];
    const results = await Promise.all(Array.from({ length: 3 * N }, (_, i) =>
      postChat(gateways[i % 3]!.url, { token, body: chatBody({ __fake: { calls: [{ model: 'gpt-4o', input: 10 + i, output: 1 }] } }) })));
    const admitted = results.filter((r) => r.status === 200);
    expect(admitted).toHaveLength(N);
    expect(results.filter((r) => r.status === 429)).toHaveLength(2 * N);
    await Promise.all(admitted.map((r) => waitSettled(db.sql, r.requestId, 15_000)));
    const [sum] = await db.sql<{ total: number }[]>`SELECT sum(total_tokens)::int AS total FROM chat_usage WHERE workspace_id = ${ws.workspaceId}`;
    const quota = await quotaRow(db.sql, ws.workspaceId);
    expect(quota.requests_used).toBe(N);
    expect(quota.tokens_used).toBe(sum!.total);
  });

  it('never let token holds pass the limit', async () => {
    const ws = await seedWorkspace(db.sql, { tokensLimit: 2_000, requestsLimit: 10_000, customSettings: { maxTokens: 190 } });
    const token = await librechatToken(ws.email);
    const results = await Promise.all(Array.from({ length: 45 }, (_, i) =>
      postChat(fleets[mode][i % 3]!.url, { token, body: chatBody({ text: 'x'.repeat(40), __fake: { ending: 'hang' } }) })));
    expect(results.filter((r) => r.status === 200)).toHaveLength(10);
    expect((await quotaRow(db.sql, ws.workspaceId)).tokens_used).toBe(2_000);
  });
});
