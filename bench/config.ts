// The benchmark's knobs, read once from the environment. Defaults fit a 2-core machine where the load
// generator, the gateway, the upstream, PostgreSQL and Portkey all share the cores: short measurements
// in alternating rounds, the whole run around 10 minutes. BENCH_QUICK=1 is a ~1-minute smoke run.
//   BENCH_SECONDS        seconds per measurement (default 4; quick 1)
//   BENCH_ROUNDS         alternating rounds per comparison (default 3; quick 1)
//   BENCH_HISTORY_ROWS   audit_logs rows seeded for the history scenario (default 10,000,000; quick 100,000);
//                        chat_usage gets a tenth of it
//   BENCH_STREAMS        concurrent metered streams for the memory scenario (default 1000)
//   BENCH_SKIP_BUILD=1   use the existing dist/ instead of running `npm run build`
//   BENCH_PROFILE=1      run the gateway under `node --cpu-prof` and summarise its top self-time functions
//   BENCH_ONLY           comma-separated scenario names to run (default: all), e.g. small_json,metered_c16
//   BENCH_DB_POOL_MAX    the gateway's DB_POOL_MAX (default 4: PostgreSQL shares the machine's 2 cores)
//   BENCH_FIXED_RATE     offered requests/s of the fixed-rate latency comparison (default 200)

export interface BenchConfig {
  quick: boolean;
  seconds: number;
  rounds: number;
  warmupSeconds: number;
  concurrencies: number[];
  historyAuditRows: number;
  historyUsageRows: number;
  streams: number;
  /** Frame interval of the long generations of the memory scenario (50 deltas: ~10 s by default). */
  streamFrameIntervalMs: number;
  sseSamples: number;
  sqlSampleChats: number;
  skipBuild: boolean;
  profile: boolean;
  /** Scenario names to run; empty: all. */
  only: string[];
  dbPoolMax: number;
  /** Offered load of the fixed-rate latency comparison (well under saturation, so latency is not queueing). */
  fixedRate: number;
}

function positive(env: NodeJS.ProcessEnv, name: string, fallback: number): number {
  const raw = env[name];
  if (raw === undefined || raw.trim() === '') return fallback;
  const value = Number(raw);
  if (!Number.isFinite(value) || value <= 0) throw new Error(`${name} must be a positive number, got "${raw}"`);
  return value;
}

function flag(env: NodeJS.ProcessEnv, name: string): boolean {
  return ['1', 'true', 'yes'].includes((env[name] ?? '').toLowerCase());
}

export function loadBenchConfig(env: NodeJS.ProcessEnv = process.env): BenchConfig {
  const quick = flag(env, 'BENCH_QUICK');
  const historyAuditRows = Math.round(positive(env, 'BENCH_HISTORY_ROWS', quick ? 100_000 : 10_000_000));
  return {
    quick,
    seconds: positive(env, 'BENCH_SECONDS', quick ? 1 : 4),
    rounds: Math.round(positive(env, 'BENCH_ROUNDS', quick ? 1 : 3)),
    warmupSeconds: quick ? 0.5 : 1.5,
    concurrencies: [1, 16, 64],
    historyAuditRows,
    historyUsageRows: Math.max(1, Math.round(historyAuditRows / 10)),
    streams: Math.round(positive(env, 'BENCH_STREAMS', 1000)),
    streamFrameIntervalMs: quick ? 100 : 200,
    sseSamples: quick ? 8 : 30,
    sqlSampleChats: quick ? 20 : 100,
    skipBuild: flag(env, 'BENCH_SKIP_BUILD'),
    profile: flag(env, 'BENCH_PROFILE'),
    dbPoolMax: Math.round(positive(env, 'BENCH_DB_POOL_MAX', 4)),
    fixedRate: Math.round(positive(env, 'BENCH_FIXED_RATE', 200)),
    only: (env.BENCH_ONLY ?? '').split(',').map((name) => name.trim()).filter(Boolean),
  };
}
