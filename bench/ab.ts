// `npx tsx bench/ab.ts`: a lever's before/after in ONE run. Two gateway builds (AB_BEFORE: the dist/ of the
// "before" code, built elsewhere, e.g. `git archive <commit> | tar -x -C /tmp/before && ln -s $PWD/node_modules
// /tmp/before/ && (cd /tmp/before && npx tsc -p tsconfig.build.json)`; "after": this checkout's dist/) run side
// by side against one PostgreSQL and one fake LibreChat, and every figure alternates between them, the
// order flipped each round, so the machine's load (other processes on the 2 cores) hits both alike.
// CPU per request counts until the process and PostgreSQL are idle again (context.ts `alternate`).
//   AB_BEFORE     path of the before build's dist/src/main.js (required)
//   AB_AFTER      path of the after build's main.js (default: this checkout's dist/src/main.js)
//   AB_ONLY       comma list of pass,chat,openai_json,openai_sse (default: all)
//   AB_C          concurrency (default 16); BENCH_SECONDS, BENCH_ROUNDS as for npm run bench (default 3 s x 6)
//   AB_BEFORE_SQL a .sql file: the before gateway then gets its own database, a copy of the seeded one with
//                 this SQL applied (e.g. what undoes a new migration), for a schema lever's before/after
//   AB_PROFILE    a directory: the after gateway runs under --cpu-prof and writes its profile there on exit
//                 (summarise it with `npx tsx bench/profile-summary.ts <file>`)
import { readFile } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { loadBenchConfig } from './config.ts';
import { alternate, authHeaders, waitForSettlement, warmUp, type BenchContext, type Contender } from './context.ts';
import { startBenchDatabase } from './database.ts';
import { request } from './http.ts';
import { round3 } from './load.ts';
import { Cleanup } from './processes.ts';
import { createSql } from '../src/db/sql.ts';
import { chatStartBody } from './scenarios/metered.ts';
import { OPENAI_PATH, openAiBody } from './scenarios/openai.ts';
import { BENCH_AGENT_ID, benchToken, seedBench } from './seed.ts';
import { startBareProxy, startFake, startGateway } from './services.ts';

const log = (line: string) => process.stderr.write(`${line}\n`);
const before = process.env.AB_BEFORE;
if (!before) throw new Error('AB_BEFORE must name the before build\'s dist/src/main.js');
const only = (process.env.AB_ONLY ?? 'pass,chat,openai_json,openai_sse').split(',');
const connections = Number(process.env.AB_C ?? 16);
const cfg = { ...loadBenchConfig({ BENCH_SECONDS: '3', BENCH_ROUNDS: '6', ...process.env }) };
const cleanup = new Cleanup();
process.on('SIGINT', () => void cleanup.runAll(log).finally(() => process.exit(130)));

try {
  const db = await startBenchDatabase(cleanup);
  const seed = await seedBench(db.sql);
  let beforeUrl = db.gatewayUrl;
  let benchSql = db.sql;
  if (process.env.AB_BEFORE_SQL) {
    // CREATE DATABASE … TEMPLATE needs the source without connections: close the bench's pool first.
    await db.sql.end({ timeout: 5 });
    const main = new URL(db.gatewayUrl);
    const admin = createSql({ url: Object.assign(new URL(db.gatewayUrl), { pathname: '/postgres' }).toString(), max: 1, prepare: false, connectTimeoutMs: 10_000 });
    await admin.unsafe(`CREATE DATABASE geko_before TEMPLATE "${main.pathname.slice(1) || 'postgres'}"`);
    await admin.end({ timeout: 5 });
    beforeUrl = Object.assign(new URL(db.gatewayUrl), { pathname: '/geko_before' }).toString();
    const before = createSql({ url: beforeUrl, max: 1, prepare: false, connectTimeoutMs: 10_000 });
    await before.unsafe(await readFile(process.env.AB_BEFORE_SQL, 'utf8'));
    await before.end({ timeout: 5 });
    benchSql = createSql({ url: db.gatewayUrl, max: 2, prepare: false, connectTimeoutMs: 10_000 });
    cleanup.add('bench pool (ab)', () => benchSql.end({ timeout: 5 }));
  }
  const fake = await startFake(cleanup);
  await request(`${fake.url}/__fake/agents`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ id: BENCH_AGENT_ID, model: 'gpt-4o', provider: 'openAI' }) });
  await request(`${fake.url}/__fake/defaults`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ deltas: ['hi'], frameIntervalMs: 0, startDelayMs: 0 }) });
  const jwtSecret = randomBytes(32).toString('hex');
  const logDir = await mkdtemp(path.join(os.tmpdir(), 'geko-ab-log-'));
  cleanup.add('log dir', () => rm(logDir, { recursive: true, force: true }));
  const common = { databaseUrl: db.gatewayUrl, librechatUrl: fake.url, jwtSecret, onCrash: log, dbPoolMax: cfg.dbPoolMax };
  const a = await startGateway(cleanup, { ...common, databaseUrl: beforeUrl, entry: before, logFile: path.join(logDir, 'before.log') });
  const b = await startGateway(cleanup, { ...common, logFile: path.join(logDir, 'after.log'), profileDir: process.env.AB_PROFILE, ...(process.env.AB_AFTER ? { entry: process.env.AB_AFTER } : {}) });
  const bare = await startBareProxy(cleanup, fake.url);
  const ctx: BenchContext = {
    cfg, sql: benchSql, seed, token: await benchToken(seed, jwtSecret), log, databaseUrl: db.gatewayUrl,
    urls: { direct: fake.url, bare: bare.url, bareUndici: bare.url, gateway: b.url, portkey: null },
    pids: { fake: fake.pid, bare: bare.pid, bareUndici: bare.pid, gateway: b.pid, portkey: a.pid }, postgresPid: db.pid,
    restartGateway: () => Promise.reject(new Error('not in an A/B run')),
  };
  // pids.portkey carries the before build here, so `alternate` reads each build's own CPU.
  const both = (name: string, load: (base: string) => Contender['load']): Contender[] => [
    { name: `${name}_before`, load: load(a.url), process: 'portkey' },
    { name: `${name}_after`, load: load(b.url), process: 'gateway' },
  ];
  const cases: Record<string, Contender[]> = {
    pass: both('pass', (base) => ({ url: `${base}/api/config` })),
    chat: both('chat', (base) => ({ url: `${base}/api/agents/chat/openAI`, method: 'POST', headers: authHeaders(ctx), body: chatStartBody() })),
    openai_json: both('openai_json', (base) => ({ url: `${base}${OPENAI_PATH}`, method: 'POST', headers: authHeaders(ctx), body: openAiBody(BENCH_AGENT_ID, 'json') })),
    openai_sse: both('openai_sse', (base) => ({ url: `${base}${OPENAI_PATH}`, method: 'POST', headers: authHeaders(ctx), body: openAiBody(BENCH_AGENT_ID, 'sse') })),
  };
  for (const name of only) {
    const contenders = cases[name];
    if (!contenders) throw new Error(`unknown AB_ONLY case ${name}`);
    await warmUp(ctx, contenders, connections);
    await waitForSettlement(ctx);
    const row = await alternate(ctx, contenders, connections, `ab ${name}`);
    const [x, y] = [row[`${name}_before`]!, row[`${name}_after`]!];
    const cpu = (s: typeof x) => (s.cpu_us_per_req ?? 0) + (s.db_cpu_us_per_req ?? 0);
    process.stdout.write(`${JSON.stringify({
      case: name, c: connections, seconds: cfg.seconds, rounds: cfg.rounds,
      before: { rps: Math.round(x.rps), rounds_rps: x.rounds_rps, rounds_cpu_us: x.rounds_cpu_us, rounds_own_cpu_us: x.rounds_own_cpu_us, p50: round3(x.p50), p99: round3(x.p99), cpu_us: x.cpu_us_per_req, db_us: x.db_cpu_us_per_req },
      after: { rps: Math.round(y.rps), rounds_rps: y.rounds_rps, rounds_cpu_us: y.rounds_cpu_us, rounds_own_cpu_us: y.rounds_own_cpu_us, p50: round3(y.p50), p99: round3(y.p99), cpu_us: y.cpu_us_per_req, db_us: y.db_cpu_us_per_req },
      cpu_after_over_before: round3(cpu(y) / cpu(x)), own_cpu_after_over_before: round3((y.cpu_us_per_req ?? 0) / (x.cpu_us_per_req ?? 1)),
      rps_after_over_before: round3(y.rps / x.rps),
    })}\n`);
  }
} finally {
  await cleanup.runAll(log);
}
