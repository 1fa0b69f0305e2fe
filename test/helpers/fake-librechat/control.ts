// Typed client for the fake's /__fake/ control API, usable against the in-process server or the
// child-process one alike (it only needs the base URL).
import type { JobInfo } from './generation.ts';
import type { LogEntry } from './request-log.ts';
import type { Scenario } from './scenario.ts';

export type { JobInfo, LogEntry };

export interface AgentInput {
  model: string;
  provider: string;
  name?: string;
  [key: string]: unknown;
}

export interface FakeControl {
  readonly url: string;
  /** Clears the log, jobs (stopping them), agents, and returns defaults to the server's initial ones. */
  reset(): Promise<void>;
  /** Merges scenario defaults for every later request. */
  setDefaults(partial: Partial<Scenario>): Promise<void>;
  /**
   * A saved agent. Optional `edges`, `agent_ids`, `subagents` as LibreChat stores them; `viewers` / `editors`
   * (user ids) limit who may see it (VIEW) and who gets its full document (EDIT, `GET .../expanded`).
   */
  setAgent(id: string, agent: AgentInput): Promise<void>;
  /** `modelSpecs` of `GET /api/config` ({enforce, list: [{name, preset, ...}]}); null removes them. */
  setModelSpecs(modelSpecs: unknown): Promise<void>;
  log(): Promise<LogEntry[]>;
  jobs(): Promise<JobInfo[]>;
  /** Polls the log until an entry matches; resolves with it, rejects after timeoutMs. */
  waitFor(predicate: (entry: LogEntry, log: LogEntry[]) => boolean, timeoutMs?: number): Promise<LogEntry>;
  /** Polls the jobs until one matches. */
  waitForJob(predicate: (job: JobInfo) => boolean, timeoutMs?: number): Promise<JobInfo>;
}

const POLL_MS = 10;

async function call<T>(base: string, method: 'GET' | 'POST', path: string, body?: unknown): Promise<T> {
  const init: RequestInit = { method };
  if (body !== undefined) {
    init.headers = { 'content-type': 'application/json' };
    init.body = JSON.stringify(body);
  }
  const res = await fetch(`${base}${path}`, init);
  const text = await res.text();
  if (!res.ok) throw new Error(`fake control ${method} ${path}: ${res.status} ${text}`);
  return JSON.parse(text) as T;
}

async function poll<T>(what: string, read: () => Promise<T | undefined>, timeoutMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const found = await read();
    if (found !== undefined) return found;
    if (Date.now() >= deadline) throw new Error(`fake control: timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  }
}

export function createFakeControl(url: string): FakeControl {
  const base = url.replace(/\/+$/, '');
  return {
    url: base,
    async reset() {
      await call(base, 'POST', '/__fake/reset', {});
    },
    async setDefaults(partial) {
      await call(base, 'POST', '/__fake/defaults', partial);
    },
    async setAgent(id, agent) {
      await call(base, 'POST', '/__fake/agents', { ...agent, id });
    },
    async setModelSpecs(modelSpecs) {
      await call(base, 'POST', '/__fake/model-specs', { modelSpecs });
    },
    log: () => call<LogEntry[]>(base, 'GET', '/__fake/log'),
    jobs: () => call<JobInfo[]>(base, 'GET', '/__fake/jobs'),
    waitFor(predicate, timeoutMs = 2000) {
      return poll('a log entry', async () => {
        const log = await call<LogEntry[]>(base, 'GET', '/__fake/log');
        return log.find((entry) => predicate(entry, log));
      }, timeoutMs);
    },
    waitForJob(predicate, timeoutMs = 2000) {
      return poll('a job', async () => {
        const jobs = await call<JobInfo[]>(base, 'GET', '/__fake/jobs');
        return jobs.find(predicate);
      }, timeoutMs);
    },
  };
}
