// Child processes of the benchmark (fake LibreChat, bare http-proxy, the gateway, Portkey): start, wait
// until each answers, stop (SIGTERM, then SIGKILL), and read a process's resident memory from
// /proc/<pid>/status (and its CPU time from /proc/<pid>/stat). Every start registers its stop with a Cleanup, which run.ts runs in `finally` and
// on SIGINT/SIGTERM, so no process outlives the run even when a scenario fails.
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, openSync, readdirSync, readFileSync } from 'node:fs';
import http from 'node:http';

export interface Service {
  name: string;
  pid: number;
  port: number;
  url: string;
  /** The last lines the process wrote (stdout and stderr), for error messages. */
  tail(): string;
  stop(): Promise<void>;
}

/** Stops in reverse order of registration; each step runs even when an earlier one failed. */
export class Cleanup {
  private readonly steps: { name: string; run: () => Promise<void> }[] = [];

  add(name: string, run: () => Promise<void>): void {
    this.steps.push({ name, run });
  }

  async runAll(log: (line: string) => void = () => undefined): Promise<void> {
    while (this.steps.length > 0) {
      const step = this.steps.pop()!;
      try {
        await step.run();
      } catch (error) {
        log(`cleanup of ${step.name} failed: ${error instanceof Error ? error.message : String(error)}`);
      }
    }
  }
}

export { freePort } from '../src/db/embedded.ts';

/** VmRSS of a process in MiB, or null when it is gone. */
export function readRssMb(pid: number): number | null {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const match = /^VmRSS:\s+(\d+)\s+kB/m.exec(status);
    return match ? Number(match[1]) / 1024 : null;
  } catch {
    return null;
  }
}

const CLOCK_TICKS = 100; // USER_HZ on Linux

/** CPU time (user + system) a process has used so far, in seconds, or null when it is gone. */
export function readCpuSeconds(pid: number): number | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS;
  } catch {
    return null;
  }
}

/** CPU seconds of a process and its direct children (PostgreSQL: the postmaster and its backends). */
export function readCpuSecondsTree(pid: number): number | null {
  const own = readCpuSeconds(pid);
  if (own === null) return null;
  let total = own;
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (Number(fields[1]) === pid) total += (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS;
    } catch {
      // gone meanwhile
    }
  }
  return total;
}

export interface SpawnOptions {
  name: string;
  args: string[];
  env?: Record<string, string | undefined>;
  cwd: string;
  /** Told when the process exits before stop() was called (a crash), with its last output. */
  onCrash?: (message: string) => void;
  /** How the port is learned: from a `{"port":N}` line on stdout, or given (then polled over HTTP). */
  port?: number;
  readyPath?: string;
  timeoutMs?: number;
  /**
   * Where stdout goes: a file (opened for append) instead of a pipe this process reads. For the gateway,
   * whose request log is stdout: production hands it to a log shipper that drains it at once, and a file
   * never blocks the writer either (a pipe the bench reads late would make the log cost look larger).
   * Needs `port` (the port cannot be learned from stdout then).
   */
  stdoutFile?: string;
}

const TAIL_CHARS = 8_000;

function stopChild(child: ChildProcess, exited: Promise<void>): () => Promise<void> {
  return async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
    await exited;
    clearTimeout(timer);
  };
}

/** Starts `node <args>` and resolves once it listens; registers its stop with `cleanup`. */
export async function startService(cleanup: Cleanup, opts: SpawnOptions): Promise<Service> {
  if (opts.stdoutFile && opts.port === undefined) throw new Error(`${opts.name}: stdoutFile needs a given port`);
  const stdoutFd = opts.stdoutFile ? openSync(opts.stdoutFile, 'a') : undefined;
  const child = spawn(process.execPath, opts.args, {
    cwd: opts.cwd, env: { ...process.env, ...opts.env }, stdio: ['ignore', stdoutFd ?? 'pipe', 'pipe'],
  });
  if (stdoutFd !== undefined) closeSync(stdoutFd); // the child holds its own copy
  let tail = '';
  const keep = (chunk: Buffer) => { tail = (tail + chunk.toString('utf8')).slice(-TAIL_CHARS); };
  child.stderr!.on('data', keep);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  let stopping = false;
  const stopNow = stopChild(child, exited);
  const stop = () => { stopping = true; return stopNow(); };
  child.once('exit', (code, signal) => {
    if (!stopping) opts.onCrash?.(`${opts.name} (pid ${child.pid}) exited unexpectedly (${code ?? signal}); last output:\n${tail}`);
  });
  cleanup.add(opts.name, stop);
  const timeoutMs = opts.timeoutMs ?? 30_000;
  const port = opts.port ?? await portFromStdout(child, timeoutMs, () => tail);
  child.stdout?.on('data', keep);
  if (opts.readyPath) await pollHttp(`http://127.0.0.1:${port}${opts.readyPath}`, timeoutMs, child, () => tail);
  return {
    name: opts.name, pid: child.pid ?? -1, port, url: `http://127.0.0.1:${port}`,
    tail: () => tail, stop,
  };
}

function portFromStdout(child: ChildProcess, timeoutMs: number, tail: () => string): Promise<number> {
  return new Promise((resolve, reject) => {
    let buffered = '';
    const timer = setTimeout(() => fail('did not print its port in time'), timeoutMs);
    const onData = (chunk: Buffer) => {
      buffered += chunk.toString('utf8');
      const match = /\{"port":(\d+)[^\n]*\n/.exec(buffered);
      if (!match) return;
      done();
      resolve(Number(match[1]));
    };
    const onExit = (code: number | null) => fail(`exited (${code}) before listening`);
    const done = () => {
      clearTimeout(timer);
      child.stdout!.off('data', onData);
      child.off('exit', onExit);
    };
    const fail = (why: string) => {
      done();
      reject(new Error(`${why}: ${buffered.slice(-2000)}${tail()}`));
    };
    child.stdout!.on('data', onData);
    child.once('exit', onExit);
  });
}

/** Polls a URL until it answers 2xx (any answer at all when `anyStatus`). */
export async function pollHttp(url: string, timeoutMs: number, child?: ChildProcess, tail?: () => string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (child && child.exitCode !== null) throw new Error(`${url}: the process exited (${child.exitCode}): ${tail?.() ?? ''}`);
    const status = await new Promise<number>((resolve) => {
      const req = http.get(url, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      });
      req.setTimeout(1_000, () => req.destroy());
      req.on('error', () => resolve(0));
    });
    if (status >= 200 && status < 300) return;
    if (Date.now() > deadline) throw new Error(`${url} did not answer 2xx within ${timeoutMs} ms (last ${status}): ${tail?.() ?? ''}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

/** Summed CPU seconds of processes (a tree for each `trees` pid), or null when one is gone. */
export function readCpuSecondsOf(pids: number[], trees: number[] = []): number | null {
  let total = 0;
  for (const pid of pids) {
    const s = readCpuSeconds(pid);
    if (s === null) return null;
    total += s;
  }
  for (const pid of trees) {
    const s = readCpuSecondsTree(pid);
    if (s === null) return null;
    total += s;
  }
  return total;
}

/**
 * Waits until the given processes are idle again: two successive 200 ms windows in which they used at
 * most 10 ms of CPU together (one clock tick of /proc per window; PostgreSQL's background writers tick
 * now and then), or `timeoutMs`. So a round's CPU includes the work it caused after its last answer
 * (settlement, audit rows, log writes). Returns the ms waited.
 */
export async function waitUntilIdle(pids: number[], trees: number[], timeoutMs = 15_000): Promise<number> {
  const started = Date.now();
  let last = readCpuSecondsOf(pids, trees);
  let quiet = 0;
  while (Date.now() - started < timeoutMs) {
    await new Promise((resolve) => setTimeout(resolve, 200));
    const now = readCpuSecondsOf(pids, trees);
    if (now === null || last === null) return Date.now() - started;
    quiet = now - last <= 0.0101 ? quiet + 1 : 0;
    last = now;
    if (quiet >= 2) break;
  }
  return Date.now() - started;
}
