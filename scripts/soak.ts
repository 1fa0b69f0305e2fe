// `npm run soak`: the long load-and-soak run (default 10 minutes, 200 concurrent clients) against an
// embedded PostgreSQL, the LibreChat-compatible upstream and a gateway process; prints the figures and
// exits non-zero when the books do not balance or the gateway's RSS passes the memory budget of the Fly
// machine (fly.toml's [[vm]] memory and NODE_OPTIONS; test/soak/memory-budget.ts). SOAK_SECONDS and
// SOAK_CONCURRENCY scale it; SOAK_RSS_BUDGET_MB and SOAK_NODE_OPTIONS size another machine.
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { startEmbeddedPostgres } from '../src/db/embedded.ts';
import { migrate } from '../src/db/migrate.ts';
import { createSql } from '../src/db/sql.ts';
import { baseEnv, startGatewayProcess } from '../test/helpers/gateway.ts';
import { TEST_JWT_SECRET } from '../test/helpers/jwt.ts';
import { startUpstreamProcess } from '../test/helpers/upstream-process.ts';
import { memoryBudget } from '../test/soak/memory-budget.ts';
import { runSoak } from '../test/soak/run-soak.ts';

const seconds = Number(process.env.SOAK_SECONDS ?? 600);
const concurrency = Number(process.env.SOAK_CONCURRENCY ?? 200);
const budget = memoryBudget();
const dataDir = await mkdtemp(path.join(os.tmpdir(), 'geko-soak-'));
const pg = await startEmbeddedPostgres({ dataDir, settings: { max_connections: '200' } });
const sql = createSql({ url: pg.url, max: 4, prepare: false, connectTimeoutMs: 10_000 });
const upstream = await startUpstreamProcess({ jwtSecret: TEST_JWT_SECRET });
let failed = true;
try {
  await migrate(sql);
  const gateway = await startGatewayProcess(baseEnv(pg.url, upstream.url, { MIGRATE_ON_START: 'false', LOG_LEVEL: 'warn', DB_POOL_MAX: '20', NODE_OPTIONS: budget.nodeOptions }));
  try {
    const log = (line: string) => process.stdout.write(`${line}\n`);
    log(`soak: ${seconds}s at ${concurrency} concurrent clients, gateway pid ${gateway.child.pid}, NODE_OPTIONS="${budget.nodeOptions}", RSS budget ${budget.rssBudgetMb} MB of a ${budget.machineMb} MB machine`);
    const report = await runSoak({ sql, gatewayUrl: gateway.url, gatewayPid: gateway.child.pid!, seconds, concurrency, rssBudgetMb: budget.rssBudgetMb, log });
    log(JSON.stringify(report, null, 2));
    const unbalanced = report.books.mismatches.length > 0 || report.books.reserved > 0 || report.books.missingAudit > 0;
    const unanswered = (report.otherStatuses.chat_unanswered ?? 0) + (report.otherStatuses.stream_unanswered ?? 0);
    failed = unbalanced || report.rssMb.overBudget || unanswered > 0;
    log(unbalanced ? 'soak: the books do NOT balance' : 'soak: books balance, nothing reserved, every chat audited');
    if (unanswered > 0) log(`soak: ${unanswered} requests got no complete answer within 30 s`);
    log(report.rssMb.overBudget
      ? `soak: RSS passed the budget (peak ${report.rssMb.max} MB > ${budget.rssBudgetMb} MB)`
      : `soak: RSS within the budget (peak ${report.rssMb.max} MB <= ${budget.rssBudgetMb} MB)`);
  } finally {
    await gateway.stop('SIGTERM');
  }
} finally {
  await upstream.stop();
  await sql.end({ timeout: 5 });
  await pg.stop();
  await rm(dataDir, { recursive: true, force: true });
}
process.exit(failed ? 1 : 0);
