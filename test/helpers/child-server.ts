// Starts one of the test servers (the fake LibreChat, the Express 5 oracle) as a real child process,
// `node --import tsx <script>` from the repository root: it prints its address as one JSON line on stdout
// once it listens, and stop() sends SIGTERM, then SIGKILL if it has not exited within 5 s.
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export type Child = ReturnType<typeof spawn>;

export interface ChildServer<Ready> {
  child: Child;
  /** The first stdout line, parsed. */
  ready: Ready;
  /** Resolves once the process exited. */
  stop(): Promise<void>;
}

export interface ChildServerOptions {
  /** Names the process in every error. */
  name: string;
  /** From the repository root. */
  script: string;
  env: Record<string, string | undefined>;
  startTimeoutMs: number;
  /** How much of the end of its stderr an error quotes. */
  stderrKeep: number;
}

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

export async function startChildServer<Ready>(opts: ChildServerOptions): Promise<ChildServer<Ready>> {
  const child = spawn(process.execPath, ['--import', 'tsx', opts.script], { cwd: ROOT, env: opts.env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (chunk: string) => {
    stderr = (stderr + chunk).slice(-opts.stderrKeep);
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const ready = await waitForReady<Ready>(child, opts.name, () => stderr, opts.startTimeoutMs).catch((error: unknown) => {
    child.kill('SIGKILL');
    throw error;
  });
  child.stdout?.resume(); // nothing more is expected there; never let the pipe fill up
  return {
    child,
    ready,
    stop: async () => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(timer);
    },
  };
}

/** Resolves with the first stdout line, parsed as JSON. */
function waitForReady<Ready>(child: Child, name: string, stderr: () => string, timeoutMs: number): Promise<Ready> {
  return new Promise((resolve, reject) => {
    let buffered = '';
    const fail = (why: string) => {
      cleanup();
      reject(new Error(`${name} process ${why}${stderr() ? `; stderr:\n${stderr()}` : ''}`));
    };
    const onData = (chunk: string) => {
      buffered += chunk;
      const newline = buffered.indexOf('\n');
      if (newline < 0) return;
      try {
        const parsed = JSON.parse(buffered.slice(0, newline)) as Ready;
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
