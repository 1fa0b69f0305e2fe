// The short CI version of the soak (`npm run soak` runs it for minutes): concurrent mixed traffic
// through a real gateway process, then the books must balance and memory and handles must be flat. The
// gateway runs with fly.toml's NODE_OPTIONS and its RSS must stay within the machine's budget
// (test/soak/memory-budget.ts).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from './helpers/database.ts';
import { baseEnv, startGatewayProcess, type GatewayProcess } from './helpers/gateway.ts';
import { TEST_JWT_SECRET } from './helpers/jwt.ts';
import { startUpstreamProcess, type UpstreamProcess } from './helpers/upstream-process.ts';
import { memoryBudget } from './soak/memory-budget.ts';
import { runSoak } from './soak/run-soak.ts';

let db: TestDatabase;
let upstream: UpstreamProcess;
let gateway: GatewayProcess;
const budget = memoryBudget();

beforeAll(async () => {
  [db, upstream] = await Promise.all([createTestDatabase(), startUpstreamProcess({ jwtSecret: TEST_JWT_SECRET })]);
  gateway = await startGatewayProcess(baseEnv(db.url, upstream.url, { MIGRATE_ON_START: 'false', LOG_LEVEL: 'warn', NODE_OPTIONS: budget.nodeOptions }));
});
afterAll(async () => {
  await gateway?.stop('SIGTERM');
  await upstream?.stop();
  await db?.drop();
});

describe('soak (short)', () => {
  it('keeps the books exact and memory and handles flat under mixed concurrent load', async () => {
    const report = await runSoak({ sql: db.sql, gatewayUrl: gateway.url, gatewayPid: gateway.child.pid!, seconds: 15, concurrency: 50, rssBudgetMb: budget.rssBudgetMb });
    process.stdout.write(`${JSON.stringify(report)}\n`);
    expect(report.admitted).toBeGreaterThan(100);
    expect(Object.keys(report.denied).sort()).toEqual(expect.arrayContaining(['model_not_enabled', 'quota_exceeded', 'role_forbidden']));
    expect(report.otherStatuses).toEqual({});
    expect(report.books).toMatchObject({ mismatches: [], reserved: 0, missingAudit: 0 });
    // Pooled keep-alive sockets stay open after the load; nothing beyond what warm-up already had.
    expect(report.openFds.end).toBeLessThanOrEqual(report.openFds.afterWarmup + 20);
    // V8 grows the heap lazily up to fly.toml's cap; a leak shows as growth far beyond that.
    expect(report.rssMb.end - report.rssMb.afterWarmup).toBeLessThan(150);
    // Sampled every 500 ms through the run: never past what the Fly machine leaves the process.
    expect(report.rssMb).toMatchObject({ budget: budget.rssBudgetMb, overBudget: false });
    expect(report.rssMb.max).toBeLessThanOrEqual(budget.rssBudgetMb);
  }, 90_000);
});
