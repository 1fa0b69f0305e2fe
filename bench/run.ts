// `npm run bench`: builds the gateway, starts PostgreSQL (embedded, temp dir), the fake LibreChat, the
// gateway's production build, the bare http-proxy and Portkey as child processes, runs every scenario
// of issue 6 against them, prints a table, and writes bench/results/latest.json and latency.svg. A
// failing scenario is recorded under `errors` and the run goes on; every process and temp dir is
// removed at the end, on failure, and on SIGINT/SIGTERM. Knobs: bench/config.ts.
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { copyFile, mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { renderChart, type ChartPanel } from './chart.ts';
import { loadBenchConfig, type BenchConfig } from './config.ts';
import type { BenchContext } from './context.ts';
import { startBenchDatabase } from './database.ts';
import { request } from './http.ts';
import { Cleanup } from './processes.ts';
import { formatProfile, summariseProfileFile, type ProfileSummary } from './profile-summary.ts';
import { checkTargets, describeMachine, formatKeys, formatTable, formatTargets, type Machine } from './report.ts';
import { runHistory } from './scenarios/history.ts';
import { runHotRow } from './scenarios/hot-row.ts';
import { runQuotaRow } from './scenarios/quota-row.ts';
import { runMetered } from './scenarios/metered.ts';
import { OPENAI_MODES, openAiContenders, probeOpenAi, runOpenAi } from './scenarios/openai.ts';
import { runPassthrough, tableJson, type ContenderTable } from './scenarios/passthrough.ts';
import { runSqlCount } from './scenarios/sql-count.ts';
import { runSse } from './scenarios/sse.ts';
import { runStreams } from './scenarios/streams.ts';
import { BENCH_AGENT_ID, benchToken, seedBench } from './seed.ts';
import { ROOT, startBareProxy, startBareUndici, startFake, startGateway, startPortkey } from './services.ts';

const RESULTS = path.join(ROOT, 'bench/results');
const t0 = Date.now();
const log = (line: string) => process.stderr.write(`[${((Date.now() - t0) / 1000).toFixed(0).padStart(4)}s] ${line}\n`);

interface RunState {
  only: string[];
  keys: Record<string, unknown>;
  tables: Record<string, ContenderTable>;
  errors: Record<string, string>;
  notes: string[];
}

async function build(): Promise<void> {
  log('npm run build');
  await promisify(execFile)('npm', ['run', 'build'], { cwd: ROOT, maxBuffer: 16 * 1024 * 1024 }).catch((error: { stdout?: string; stderr?: string }) => {
    throw new Error(`npm run build failed:\n${error.stdout ?? ''}${error.stderr ?? ''}`);
  });
}

async function tryPortkey(cleanup: Cleanup, ctx: BenchContext, state: RunState, onCrash: (message: string) => void): Promise<void> {
  try {
    const portkey = await startPortkey(cleanup, onCrash);
    ctx.urls.portkey = portkey.url;
    ctx.pids.portkey = portkey.pid;
    for (const mode of OPENAI_MODES) await probeOpenAi(openAiContenders(ctx, mode).find((c) => c.name === `portkey_${mode}`)!, mode);
    log(`portkey at ${portkey.url} reaches the fake's OpenAI-compatible route (JSON and SSE)`);
  } catch (error) {
    ctx.urls.portkey = null;
    ctx.pids.portkey = null;
    state.errors.portkey = error instanceof Error ? error.message : String(error);
    log(`portkey unavailable, its figures will be null: ${state.errors.portkey}`);
  }
}

async function setUp(cfg: BenchConfig, cleanup: Cleanup, state: RunState, profileDir: string | undefined): Promise<BenchContext> {
  log('starting PostgreSQL (embedded, temp dir)');
  const db = await startBenchDatabase(cleanup);
  const seed = await seedBench(db.sql);
  const onCrash = (message: string) => {
    state.errors[`crash_${Object.keys(state.errors).length}`] = message;
    log(message);
  };
  const fake = await startFake(cleanup, onCrash);
  await request(`${fake.url}/__fake/agents`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ id: BENCH_AGENT_ID, model: 'gpt-4o', provider: 'openAI' }) });
  // Short generations unless a request says otherwise (Portkey strips the per-request `__fake` field).
  await request(`${fake.url}/__fake/defaults`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ deltas: ['hi'], frameIntervalMs: 0, startDelayMs: 0 }) });
  const jwtSecret = randomBytes(32).toString('hex');
  const logDir = await mkdtemp(path.join(os.tmpdir(), 'geko-bench-log-'));
  cleanup.add('gateway log dir', () => rm(logDir, { recursive: true, force: true }));
  const logFile = path.join(logDir, 'gateway.log');
  const gatewayOptions = { databaseUrl: db.gatewayUrl, librechatUrl: fake.url, jwtSecret, profileDir, onCrash, dbPoolMax: cfg.dbPoolMax, logFile };
  let gateway = await startGateway(cleanup, gatewayOptions);
  const bare = await startBareProxy(cleanup, fake.url, onCrash);
  const bareUndici = await startBareUndici(cleanup, fake.url, onCrash);
  log(`fake ${fake.url}, gateway ${gateway.url} (pid ${gateway.pid}), bare proxy ${bare.url}, bare undici ${bareUndici.url}`);
  const ctx: BenchContext = {
    cfg, sql: db.sql, seed, token: await benchToken(seed, jwtSecret), log, databaseUrl: db.gatewayUrl,
    urls: { direct: fake.url, bare: bare.url, bareUndici: bareUndici.url, gateway: gateway.url, portkey: null },
    pids: { fake: fake.pid, bare: bare.pid, bareUndici: bareUndici.pid, gateway: gateway.pid, portkey: null }, postgresPid: db.pid,
    restartGateway: async () => {
      await gateway.stop();
      gateway = await startGateway(cleanup, gatewayOptions);
      ctx.urls.gateway = gateway.url;
      ctx.pids.gateway = gateway.pid;
      log(`gateway restarted: ${gateway.url} (pid ${gateway.pid})`);
    },
  };
  await tryPortkey(cleanup, ctx, state, onCrash);
  return ctx;
}

async function scenario(state: RunState, name: string, run: () => Promise<Record<string, unknown>>): Promise<void> {
  if (state.only.length > 0 && !state.only.includes(name)) return;
  const started = Date.now();
  log(`scenario ${name}`);
  try {
    Object.assign(state.keys, await run());
  } catch (error) {
    state.errors[name] = error instanceof Error ? (error.stack ?? error.message) : String(error);
    log(`scenario ${name} FAILED: ${state.errors[name]}`);
  }
  log(`scenario ${name} took ${((Date.now() - started) / 1000).toFixed(0)} s`);
}

/** A scenario that also yields a contender table. */
function withTable(state: RunState, name: string, run: () => Promise<{ table: ContenderTable; keys: Record<string, unknown> }>) {
  return scenario(state, name, async () => {
    const result = await run();
    state.tables[name] = result.table;
    return result.keys;
  });
}

async function runScenarios(ctx: BenchContext, state: RunState): Promise<void> {
  await withTable(state, 'small_json', () => runPassthrough(ctx));
  await withTable(state, 'metered_c16', () => runMetered(ctx));
  await scenario(state, 'sql_statements', () => runSqlCount(ctx));
  await scenario(state, 'sse', () => runSse(ctx));
  await withTable(state, 'openai_route', () => runOpenAi(ctx));
  await withTable(state, 'hot_row_c64', () => runHotRow(ctx));
  await scenario(state, 'quota_row', () => runQuotaRow(ctx));
  await scenario(state, 'streams_memory', () => runStreams(ctx));
  await scenario(state, 'history', () => runHistory(ctx));
}

function chartPanels(state: RunState, concurrencies: number[]): ChartPanel[] {
  const panel = (title: string, table: ContenderTable | undefined): ChartPanel | undefined => {
    if (!table) return undefined;
    const names = [...new Set(Object.values(table).flatMap((row) => Object.keys(row)))];
    const series = names.map((name) => ({
      name,
      points: concurrencies.filter((c) => table[`c${c}`]?.[name]).map((c) => ({ c, p50: table[`c${c}`]![name]!.p50, p99: table[`c${c}`]![name]!.p99 })),
    }));
    return { title, series };
  };
  return [
    panel('Small JSON: GET /api/config', state.tables.small_json),
    panel('OpenAI route, JSON and SSE (gateway metered)', state.tables.openai_route),
  ].filter((p): p is ChartPanel => p !== undefined);
}

async function writeOutputs(cfg: BenchConfig, state: RunState, machine: Machine, profile: ProfileSummary | undefined): Promise<void> {
  const targets = checkTargets(state.keys);
  const tables = Object.fromEntries(Object.entries(state.tables).map(([name, table]) => [name, tableJson(table)]));
  const json = {
    date: new Date().toISOString(), machine,
    config: { seconds: cfg.seconds, rounds: cfg.rounds, quick: cfg.quick, concurrencies: cfg.concurrencies, streams: cfg.streams, gateway_db_pool_max: cfg.dbPoolMax, fixed_rate: cfg.fixedRate },
    duration_s: Math.round((Date.now() - t0) / 1000),
    ...state.keys, tables, targets, ...(profile ? { gateway_cpu_profile: profile } : {}), notes: state.notes, errors: state.errors,
  };
  await mkdir(RESULTS, { recursive: true });
  await writeFile(path.join(RESULTS, 'latest.json'), `${JSON.stringify(json, null, 2)}\n`);
  const title = `GEKO gateway latency vs concurrency · ${machine.cpu}, ${machine.cores} cores, ${machine.memory_gb} GB, Node ${machine.node} · ${json.date.slice(0, 10)}`;
  await writeFile(path.join(RESULTS, 'latency.svg'), renderChart(title, chartPanels(state, cfg.concurrencies), cfg.concurrencies));
  const out = [
    `GEKO gateway benchmark · ${machine.cpu} · ${machine.cores} cores · ${machine.memory_gb} GB · Node ${machine.node} · ${json.date}`,
    ...Object.entries(state.tables).map(([name, table]) => formatTable(name, table)),
    formatKeys(state.keys, Object.keys(state.keys)),
    formatTargets(targets),
    profile ? formatProfile(profile) : '',
    Object.keys(state.errors).length ? `\nErrors: ${JSON.stringify(state.errors, null, 2)}` : '',
    `\nWrote bench/results/latest.json and bench/results/latency.svg (${json.duration_s} s)`,
  ];
  process.stdout.write(`${out.join('\n')}\n`);
}

/** Summarises the gateway's profile and keeps it as bench/results/gateway.cpuprofile (git-ignored). */
async function profileOf(dir: string | undefined): Promise<ProfileSummary | undefined> {
  if (!dir) return undefined;
  // One file per gateway process; names sort by start time, and the first process ran the load scenarios.
  const file = (await readdir(dir)).filter((f) => f.endsWith('.cpuprofile')).sort()[0];
  if (!file) return undefined;
  await mkdir(RESULTS, { recursive: true });
  await copyFile(path.join(dir, file), path.join(RESULTS, 'gateway.cpuprofile'));
  return summariseProfileFile(path.join(dir, file));
}

async function main(): Promise<void> {
  const cfg = loadBenchConfig();
  const machine = describeMachine(); // its load average tells whether something else was running at the start
  const cleanup = new Cleanup();
  const state: RunState = { only: cfg.only, keys: {}, tables: {}, errors: {}, notes: [
    'fake LibreChat runs without JWT_SECRET (decodes tokens, does not verify them): less upstream CPU on a shared 2-core machine',
    'Portkey 1.15.2 runs as its release pins it: hono 4.9.7 and @hono/node-server 1.13.5 nested (package.json overrides), no shim',
    'the gateway runs at LOG_LEVEL=info (production) with stdout, its request log, appended to a file in the run temp dir (drained, never a full pipe)',
    'CPU per request: from /proc, counted from each round start until the process and PostgreSQL are idle again (background settlement included)',
  ] };
  // Ctrl-C reaches this process twice (from the terminal's process group and relayed by tsx): the
  // first signal starts the cleanup, later ones must not kill the process before it has finished.
  let stopping = false;
  const onSignal = (signal: NodeJS.Signals) => {
    if (stopping) return;
    stopping = true;
    log(`${signal}: stopping every process`);
    void cleanup.runAll(log).finally(() => process.exit(130));
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  process.on('unhandledRejection', (error) => log(`unhandled rejection: ${String(error)}`));
  const profileDir = cfg.profile ? await mkdtemp(path.join(os.tmpdir(), 'geko-bench-prof-')) : undefined;
  try {
    if (!cfg.skipBuild) await build();
    const ctx = await setUp(cfg, cleanup, state, profileDir);
    await runScenarios(ctx, state);
  } catch (error) {
    state.errors.setup = error instanceof Error ? (error.stack ?? error.message) : String(error);
    log(`setup FAILED: ${state.errors.setup}`);
  } finally {
    log('stopping every process');
    await cleanup.runAll(log);
  }
  const profile = await profileOf(profileDir).catch(() => undefined);
  if (profileDir) await rm(profileDir, { recursive: true, force: true });
  await writeOutputs(cfg, state, machine, profile);
  process.exitCode = Object.keys(state.errors).length > 0 ? 1 : 0;
}

await main();
