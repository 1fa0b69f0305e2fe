// Starts the gateway for a test: in this process (buildGateway + a real listening socket on port 0), or
// as a real child process (`node --import tsx src/main.ts`) for signal and multi-process tests.
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import http from 'node:http';
import { buildGateway, type Gateway } from '../../src/app.ts';
import { loadConfig } from '../../src/config.ts';
import { createSql, type Sql } from '../../src/db/sql.ts';
import { createLogger } from '../../src/log.ts';
import { answerConnect } from '../../src/proxy/request-target.ts';
import { registerInstance } from '../../src/metering/sweeper.ts';
import { TEST_JWT_SECRET } from './jwt.ts';

export interface InProcessGateway {
  url: string;
  gateway: Gateway;
  sql: Sql;
  instanceId: string;
  close(): Promise<void>;
}

export function baseEnv(databaseUrl: string, librechatUrl: string, extra: Record<string, string> = {}): Record<string, string> {
  return { DATABASE_URL: databaseUrl, LIBRECHAT_URL: librechatUrl, JWT_SECRET: TEST_JWT_SECRET, LOG_LEVEL: 'silent', ...extra };
}

export async function startGateway(databaseUrl: string, librechatUrl: string, extra: Record<string, string> = {}): Promise<InProcessGateway> {
  const config = loadConfig(baseEnv(databaseUrl, librechatUrl, { PORT: '0', HOST: '127.0.0.1', ...extra }));
  const sql = createSql({ url: databaseUrl, max: config.dbPoolMax, prepare: config.dbPrepare, connectTimeoutMs: config.dbConnectTimeoutMs });
  const instanceId = randomUUID();
  await registerInstance(sql, instanceId, config.flyMachineId);
  const gateway = buildGateway({ config, sql, logger: createLogger(config.logLevel), instanceId });
  const server = http.createServer(gateway.requestListener);
  server.on('connect', answerConnect);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    gateway,
    sql,
    instanceId,
    close: async () => {
      gateway.startDraining();
      server.close();
      server.closeAllConnections();
      await gateway.meter.drain(2_000);
      gateway.close();
      await sql.end({ timeout: 5 });
    },
  };
}

export interface GatewayProcess {
  url: string;
  port: number;
  child: ChildProcess;
  output: () => string;
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

export async function startGatewayProcess(env: Record<string, string>): Promise<GatewayProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
    cwd: new URL('../..', import.meta.url).pathname,
    // The "listening" line carries the port, so the child logs at info whatever the test's base env says.
    env: { PATH: process.env.PATH ?? '', PORT: '0', HOST: '127.0.0.1', ...env, LOG_LEVEL: 'info' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stderr!.on('data', (chunk: Buffer) => { output += chunk.toString(); });
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`gateway did not start: ${output}`)), 30_000);
    child.stdout!.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      for (const line of output.split('\n')) {
        if (!line.includes('"listening"')) continue;
        const entry = JSON.parse(line) as { msg?: string; port?: number };
        if (entry.msg === 'listening' && typeof entry.port === 'number') {
          clearTimeout(timer);
          resolve(entry.port);
        }
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`gateway exited with ${code}: ${output}`));
    });
  });
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    child,
    output: () => output,
    stop: (signal = 'SIGTERM') => new Promise((resolve) => {
      if (child.exitCode !== null) return resolve(child.exitCode);
      child.once('exit', (code) => resolve(code));
      child.kill(signal);
    }),
  };
}
