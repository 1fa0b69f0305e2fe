// The contenders and the upstream as child processes: the fake LibreChat (test/helpers/fake-librechat,
// run by scripts/fake-librechat.ts), the bare http-proxy (bench/bare-proxy.ts) and its undici counterpart
// (bench/bare-undici.ts), the gateway's production build (`node dist/src/main.js`) and Portkey's
// open-source gateway (@portkey-ai/gateway's start-server.js).
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Cleanup, freePort, startService, type Service } from './processes.ts';

export const ROOT = fileURLToPath(new URL('../', import.meta.url));
const PORTKEY_ENTRY = path.join(ROOT, 'node_modules/@portkey-ai/gateway/build/start-server.js');

/** The LibreChat-compatible upstream. Without JWT_SECRET it decodes tokens instead of verifying them. */
export function startFake(cleanup: Cleanup, onCrash?: (message: string) => void): Promise<Service> {
  return startService(cleanup, {
    name: 'fake-librechat', cwd: ROOT, args: ['--import', 'tsx', 'scripts/fake-librechat.ts'], ...(onCrash ? { onCrash } : {}),
    env: { PORT: '0', HOST: '127.0.0.1', JWT_SECRET: '' },
  });
}

export function startBareProxy(cleanup: Cleanup, target: string, onCrash?: (message: string) => void): Promise<Service> {
  return startService(cleanup, {
    name: 'bare-proxy', cwd: ROOT, ...(onCrash ? { onCrash } : {}), args: ['--import', 'tsx', 'bench/bare-proxy.ts'], env: { TARGET: target, PORT: '0' },
  });
}

/** The bare undici contender: the same floor as startBareProxy's, with undici's client instead of http-proxy. */
export function startBareUndici(cleanup: Cleanup, target: string, onCrash?: (message: string) => void): Promise<Service> {
  return startService(cleanup, {
    name: 'bare-undici', cwd: ROOT, ...(onCrash ? { onCrash } : {}), args: ['--import', 'tsx', 'bench/bare-undici.ts'], env: { TARGET: target, PORT: '0' },
  });
}

/** The bench's gateways guard /_gateway/metrics like production; the metered scenario scrapes with it. */
export const BENCH_METRICS_TOKEN = 'bench-metrics-token';

export interface GatewayOptions {
  onCrash: (message: string) => void;
  databaseUrl: string;
  librechatUrl: string;
  jwtSecret: string;
  dbPoolMax: number;
  /** When set, the gateway runs under --cpu-prof and writes its profile here on exit. */
  profileDir?: string | undefined;
  /** The file its stdout (the request log, one JSON line per request at LOG_LEVEL=info) is appended to. */
  logFile: string;
  /** Another build's main.js (bench/ab.ts runs a "before" build beside the current one). */
  entry?: string;
}

export async function startGateway(cleanup: Cleanup, opts: GatewayOptions): Promise<Service> {
  const entry = opts.entry ?? path.join(ROOT, 'dist/src/main.js');
  if (!existsSync(entry)) throw new Error(`${entry} is missing: run npm run build`);
  const port = await freePort();
  const profile = opts.profileDir ? ['--cpu-prof', `--cpu-prof-dir=${opts.profileDir}`] : [];
  return startService(cleanup, {
    name: 'gateway', cwd: ROOT, args: [...profile, entry], port, readyPath: '/_gateway/readyz', onCrash: opts.onCrash, stdoutFile: opts.logFile,
    env: {
      NODE_ENV: 'production',
      DATABASE_URL: opts.databaseUrl,
      LIBRECHAT_URL: opts.librechatUrl,
      JWT_SECRET: opts.jwtSecret,
      PORT: String(port),
      HOST: '127.0.0.1',
      // Production's level: one request log line per request, costed like in production.
      LOG_LEVEL: 'info',
      MIGRATE_ON_START: 'false',
      // PostgreSQL has the same two cores: more backends than ~2 per core only add lock and context-switch
      // cost on the hot quota row (measured: pool 4 vs the default 10, +5-10 % chats/s).
      DB_POOL_MAX: String(opts.dbPoolMax),
      // Open generations at the end of the run are not worth waiting 25 s for.
      SHUTDOWN_DEADLINE: '3s',
      METRICS_TOKEN: BENCH_METRICS_TOKEN,
    },
  });
}

/**
 * Portkey's gateway as its 1.15.2 release runs: package.json's `overrides` give it the hono 4.9.7 and
 * @hono/node-server 1.13.5 of its own lockfile, which stream without the `immutable` error of newer
 * node-server versions (Portkey-AI/gateway#1389), so no shim. `--port=N` and `--headless` are its CLI
 * (build/start-server.js reads process.argv); NODE_ENV=production skips its log UI.
 */
export async function startPortkey(cleanup: Cleanup, onCrash?: (message: string) => void): Promise<Service> {
  if (!existsSync(PORTKEY_ENTRY)) throw new Error(`${PORTKEY_ENTRY} is missing: npm ci installs @portkey-ai/gateway`);
  const port = await freePort();
  return startService(cleanup, {
    name: 'portkey', cwd: ROOT, port, readyPath: '/', ...(onCrash ? { onCrash } : {}),
    args: [PORTKEY_ENTRY, `--port=${port}`, '--headless'],
    env: { NODE_ENV: 'production' },
  });
}

/** Headers that make Portkey proxy an OpenAI-compatible request to `upstreamBase` (e.g. …/api/agents/v1). */
export function portkeyHeaders(upstreamBase: string): Record<string, string> {
  return { 'x-portkey-provider': 'openai', 'x-portkey-custom-host': upstreamBase };
}
