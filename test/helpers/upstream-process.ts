// Starts the fake LibreChat as a real child process (`node --import tsx scripts/fake-librechat.ts`),
// for tests that need an upstream they can kill or that must not share the test's event loop.
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { createFakeControl, type FakeControl } from './fake-librechat/control.ts';

export interface UpstreamProcess {
  url: string;
  port: number;
  pid: number;
  control: FakeControl;
  /** SIGTERM, then SIGKILL if it has not exited within 5 s; resolves once it exited. */
  stop(): Promise<void>;
  /** Sends a signal at once (default SIGKILL), e.g. to simulate an upstream crash. */
  kill(signal?: NodeJS.Signals): void;
}

export interface UpstreamProcessOptions {
  jwtSecret?: string;
  /** Extra environment, e.g. PORT to pin the port. */
  env?: Record<string, string>;
  /** How long to wait for the "listening" line; default 20 s (tsx compiles on first start). */
  startTimeoutMs?: number;
}

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const STDERR_KEEP = 16 * 1024;

export async function startUpstreamProcess(opts: UpstreamProcessOptions = {}): Promise<UpstreamProcess> {
  const env: Record<string, string | undefined> = { ...process.env, PORT: '0', HOST: '127.0.0.1', ...opts.env };
  if (opts.jwtSecret !== undefined) env.JWT_SECRET = opts.jwtSecret;
  const child = spawn(process.execPath, ['--import', 'tsx', 'scripts/fake-librechat.ts'], {
    cwd: ROOT,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (chunk: string) => {
    stderr = (stderr + chunk).slice(-STDERR_KEEP);
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const ready = await waitForReady(child, () => stderr, opts.startTimeoutMs ?? 20_000).catch((error: unknown) => {
    child.kill('SIGKILL');
    throw error;
  });
  child.stdout?.resume(); // nothing more is expected there; never let the pipe fill up
  const stop = async (): Promise<void> => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
    await exited;
    clearTimeout(timer);
  };
  return {
    url: ready.url,
    port: ready.port,
    pid: child.pid ?? -1,
    control: createFakeControl(ready.url),
    stop,
    kill: (signal: NodeJS.Signals = 'SIGKILL') => void child.kill(signal),
  };
}

type Child = ReturnType<typeof spawn>;

/** Resolves with the first stdout line that is the server's `{"port","url"}` JSON. */
function waitForReady(child: Child, stderr: () => string, timeoutMs: number): Promise<{ port: number; url: string }> {
  return new Promise((resolve, reject) => {
    let buffered = '';
    const fail = (why: string) => {
      cleanup();
      reject(new Error(`fake LibreChat process ${why}${stderr() ? `; stderr:\n${stderr()}` : ''}`));
    };
    const onData = (chunk: string) => {
      buffered += chunk;
      const newline = buffered.indexOf('\n');
      if (newline < 0) return;
      try {
        const parsed = JSON.parse(buffered.slice(0, newline)) as { port: number; url: string };
        cleanup();
        resolve(parsed);
      } catch {
        fail(`printed an unexpected line: ${buffered.slice(0, newline)}`);
      }
    };
    const onExit = (code: number | null, signal: NodeJS.Signals | null) => fail(`exited (${code ?? signal}) before listening`);
    const timer = setTimeout(() => fail(`did not start within ${timeoutMs} ms`), timeoutMs);
    const cleanup = () => {
      clearTimeout(timer);
      child.stdout?.off('data', onData);
      child.off('exit', onExit);
    };
    child.stdout?.setEncoding('utf8');
    child.stdout?.on('data', onData);
    child.once('exit', onExit);
  });
}
