// Starts the Express 5 oracle (main.ts) as a real child process and reads its records.
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { OracleRecord } from './routes.ts';

export interface OracleProcess {
  url: string;
  /** Every request a handler took since the last reset, in arrival order. */
  records(): Promise<OracleRecord[]>;
  reset(): Promise<void>;
  stop(): Promise<void>;
}

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));

export async function startOracleProcess(): Promise<OracleProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'test/helpers/librechat-oracle/main.ts'], {
    cwd: ROOT, env: { ...process.env, HOST: '127.0.0.1' }, stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => { stderr = (stderr + chunk).slice(-8192); });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const ready = await new Promise<{ url: string; controlUrl: string }>((resolve, reject) => {
    let buffered = '';
    const timer = setTimeout(() => reject(new Error(`oracle did not start: ${stderr}`)), 30_000);
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      buffered += chunk;
      const newline = buffered.indexOf('\n');
      if (newline < 0) return;
      clearTimeout(timer);
      resolve(JSON.parse(buffered.slice(0, newline)) as { url: string; controlUrl: string });
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`oracle exited (${code}): ${stderr}`));
    });
  }).catch((error: unknown) => {
    child.kill('SIGKILL');
    throw error;
  });
  child.stdout.resume();
  return {
    url: ready.url,
    records: async () => (await (await fetch(`${ready.controlUrl}/records`)).json()) as OracleRecord[],
    reset: async () => void (await fetch(`${ready.controlUrl}/reset`, { method: 'POST' })),
    stop: async () => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(timer);
    },
  };
}
