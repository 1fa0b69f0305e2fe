// Starts the Express 5 oracle (main.ts) as a real child process and reads its records.
import { startChildServer } from '../child-server.ts';
import type { OracleRecord } from './routes.ts';

export interface OracleProcess {
  url: string;
  /** Every request a handler took since the last reset, in arrival order. */
  records(): Promise<OracleRecord[]>;
  reset(): Promise<void>;
  stop(): Promise<void>;
}

export async function startOracleProcess(): Promise<OracleProcess> {
  const { ready, stop } = await startChildServer<{ url: string; controlUrl: string }>({
    name: 'librechat-oracle', script: 'test/helpers/librechat-oracle/main.ts', env: { ...process.env, HOST: '127.0.0.1' },
    startTimeoutMs: 30_000, stderrKeep: 8192,
  });
  return {
    url: ready.url,
    records: async () => (await (await fetch(`${ready.controlUrl}/records`)).json()) as OracleRecord[],
    reset: async () => void (await fetch(`${ready.controlUrl}/reset`, { method: 'POST' })),
    stop,
  };
}
