// Starts the fake LibreChat as a real child process (`node --import tsx scripts/fake-librechat.ts`),
// for tests that need an upstream they can kill or that must not share the test's event loop.
import { startChildServer } from './child-server.ts';
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

const STDERR_KEEP = 16 * 1024;

export async function startUpstreamProcess(opts: UpstreamProcessOptions = {}): Promise<UpstreamProcess> {
  const env: Record<string, string | undefined> = { ...process.env, PORT: '0', HOST: '127.0.0.1', ...opts.env };
  if (opts.jwtSecret !== undefined) env.JWT_SECRET = opts.jwtSecret;
  const { child, ready, stop } = await startChildServer<{ port: number; url: string }>({
    name: 'fake LibreChat', script: 'scripts/fake-librechat.ts', env, startTimeoutMs: opts.startTimeoutMs ?? 20_000, stderrKeep: STDERR_KEEP,
  });
  return {
    url: ready.url,
    port: ready.port,
    pid: child.pid ?? -1,
    control: createFakeControl(ready.url),
    stop,
    kill: (signal: NodeJS.Signals = 'SIGKILL') => void child.kill(signal),
  };
}
