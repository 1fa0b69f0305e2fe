// The fake's shared state and per-request context, plus the steps every POST route shares:
// reading a bounded JSON body into the log, and the scenario's POST-level misbehaviour.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { setTimeout as delay } from 'node:timers/promises';
import type { StoredFile } from './files.ts';
import type { JobManager } from './job-manager.ts';
import { parseLikeLibreChat } from './body-parsers.ts';
import { isObject, LOG_BODY_LIMIT, readBody, sendJson, type Json } from './http-util.ts';
import type { LogEntry, RequestLog } from './request-log.ts';
import type { Scenario } from './scenario.ts';

/** A saved agent, as `GET /api/agents/:id` returns it. */
export interface Agent {
  id: string;
  name?: string;
  model: string;
  provider: string;
  [key: string]: unknown;
}

export interface FakeState {
  jwtSecret: string | undefined;
  /** Defaults given at construction; `reset` returns to them. */
  baseDefaults: Partial<Scenario>;
  defaults: Partial<Scenario>;
  agents: Map<string, Agent>;
  /** Signed-in users by their refresh token (web-client.ts). */
  sessions: Map<string, { id: string; email: string; username: string }>;
  /** `modelSpecs` of `GET /api/config` (LibreChat's librechat.yaml), set through the control API; null: none. */
  modelSpecs: unknown;
  /** Files uploaded through `POST /api/files[/images]`, by file_id. */
  files: Map<string, StoredFile>;
  jobs: JobManager;
  log: RequestLog;
}

export interface Ctx {
  req: IncomingMessage;
  res: ServerResponse;
  url: URL;
  entry: LogEntry | null;
  state: FakeState;
  /** The authenticated user; '' on public routes. */
  user: string;
}

/**
 * Reads a body like LibreChat's `express.json` / `express.urlencoded` (body-parsers.ts): a body no parser takes
 * gives `{}`, too large 413, an unsupported charset or coding 415, malformed 400. Answers the error itself
 * and returns undefined then.
 */
export async function readJsonBody(ctx: Ctx, limit: number): Promise<Record<string, unknown> | undefined> {
  const result = await readBody(ctx.req, limit);
  if (!result.ok) {
    if (result.reason === 'too-large') {
      ctx.req.resume();
      sendJson(ctx.res, 413, { message: 'request entity too large' }, { Connection: 'close' });
    }
    return undefined;
  }
  const { buffer } = result;
  if (ctx.entry) ctx.entry.bodyBytes = buffer.length;
  const parsed = parseLikeLibreChat(ctx.req, buffer);
  if (!parsed.ok) {
    sendJson(ctx.res, parsed.status, { message: parsed.message });
    return undefined;
  }
  if (!parsed.parsed) return {};
  if (ctx.entry && buffer.length < LOG_BODY_LIMIT) ctx.entry.body = parsed.body as Json;
  return isObject(parsed.body) ? parsed.body : {};
}

/**
 * The POST-level scenario fields: slow headers, a dropped connection, a non-200 answer, or a 200 with a
 * given body and no new job (what v0.8.8 answers a repeated clientRequestId: status "resumed"/"settled").
 * True when handled.
 */
export async function postPreamble(ctx: Ctx, scenario: Scenario): Promise<boolean> {
  if (scenario.postDelayMs > 0) await delay(scenario.postDelayMs);
  if (scenario.postDestroy) {
    if (ctx.entry) ctx.entry.serverClosed = true;
    ctx.req.socket.destroy();
    return true;
  }
  if (scenario.postStatus !== 200 || scenario.postBody !== undefined) {
    const body = scenario.postBody ?? { error: `Fake LibreChat answered ${scenario.postStatus}` };
    sendJson(ctx.res, scenario.postStatus, body);
    return true;
  }
  return false;
}

/** Writes streamed frames for the routes that stream on the POST itself, honouring the `cut` ending. */
export class PostStream {
  private frames = 0;
  readonly signal: AbortSignal;
  private readonly controller = new AbortController();

  constructor(private readonly ctx: Ctx, private readonly scenario: Scenario, headers: Record<string, string>) {
    this.signal = this.controller.signal;
    // The client leaving stops the run, so no timers outlive the connection.
    ctx.res.once('close', () => this.controller.abort());
    ctx.res.writeHead(200, headers);
    ctx.res.flushHeaders();
  }

  /** False once the stream is gone (client left, or the `cut` ending dropped it). */
  write(frame: string): boolean {
    const { res, entry } = this.ctx;
    if (this.signal.aborted || res.writableEnded) return false;
    res.write(frame);
    this.frames += 1;
    if (this.scenario.ending === 'cut' && this.frames >= this.scenario.cutAfterFrames) {
      if (entry) entry.serverClosed = true;
      res.socket?.destroySoon();
      this.controller.abort();
      return false;
    }
    return true;
  }

  async pause(ms: number): Promise<boolean> {
    try {
      await delay(ms, undefined, { signal: this.signal });
      return true;
    } catch {
      return false;
    }
  }

  /** The 'hang' ending: wait until the client goes away. */
  async hang(): Promise<void> {
    if (this.signal.aborted) return;
    await new Promise<void>((resolve) => this.signal.addEventListener('abort', () => resolve(), { once: true }));
  }

  end(frame?: string): void {
    if (this.signal.aborted || this.ctx.res.writableEnded) return;
    this.ctx.res.end(frame);
  }
}
