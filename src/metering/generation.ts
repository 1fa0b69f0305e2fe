// One admitted generation held by this process: the gateway's own upstream subscription to LibreChat's
// stream (opened as soon as the chat POST answered, so metering never depends on a client), the bytes
// received so far (bounded), and the clients reading them, each at its own pace. A cut subscription is
// re-opened with ?resume=true (LibreChat then sends a `sync` frame whose usage is cumulative), as
// LibreChat's own client does. The generation settles once, when LibreChat ends it or gives up on it.
// What runs is held to what the workspace enabled (stream-policy.ts): the first call or tool it does not
// enable is reported once (onPolicyViolation: audit row, abort through LibreChat), and the settlement
// waits for that row so the generation's chat_completed row follows it.
import http, { type ClientRequest, type IncomingMessage, type OutgoingHttpHeaders, type ServerResponse } from 'node:http';
import https from 'node:https';
import type { Logger } from '../log.ts';
import type { AdmittedChat } from '../admission/admit.ts';
import { createSseReader, type SseReader } from './sse-reader.ts';
import { createStreamPolicy, type PolicyViolation, type StreamPolicy } from './stream-policy.ts';
import type { Outcome, Settlement } from './settle.ts';
import { UsageTally } from './usage-tally.ts';

export interface GenerationDeps {
  target: URL;
  agent: http.Agent;
  logger: Logger;
  idleTimeoutMs: number;
  /** A subscription with no response headers within this is cut and resumed (LibreChat flushes them at once). */
  headersTimeoutMs: number;
  historyLimitBytes: number;
  settle: (settlement: Settlement) => Promise<void>;
  /** Records the violation and asks LibreChat to end the generation; resolves once the audit row landed. */
  onPolicyViolation: (generation: Generation, violation: PolicyViolation) => Promise<void>;
}

export interface GenerationInit {
  admitted: AdmittedChat;
  streamId: string;
  conversationId: string | undefined;
  /** The caller's Authorization header: LibreChat checks the stream's owner. */
  authorization: string;
  subjectKey: string;
  promptText: string;
  upstreamHeaders: Record<string, string>;
  /** LibreChat v0.8.8's id of this generation; with it, a resume cannot attach to a newer job of the conversation. */
  generationCreatedAt?: string | undefined;
}

interface ClientCursor {
  res: ServerResponse;
  index: number;
  waitingForDrain: boolean;
  requestId: string;
}

const RESUME_BACKOFF_MS = [100, 250, 500, 1000, 2000];
const STREAM_HEADERS = ['content-type', 'cache-control', 'x-accel-buffering', 'content-encoding', 'access-control-allow-origin'];

export class Generation {
  readonly tally: UsageTally;
  ended = false;
  settled: Promise<void> | undefined;
  /** Resolves once the generation has ended and its settlement has landed (or been given up). */
  readonly done: Promise<void>;
  private resolveDone!: () => void;
  private chunks: Buffer[] = [];
  private base = 0;
  private bytes = 0;
  private truncated = false;
  private readonly clients = new Set<ClientCursor>();
  private pending: { cursor: ClientCursor; fallback: () => void }[] = [];
  private responseHeaders: OutgoingHttpHeaders | undefined;
  private attempts = 0;
  private current: ClientRequest | undefined;
  private idleTimer: NodeJS.Timeout | undefined;
  private endedAtFrameBoundary = true;
  private readonly policy: StreamPolicy;
  violation: PolicyViolation | undefined;
  private violationRecorded: Promise<void> | undefined;

  constructor(private readonly deps: GenerationDeps, readonly init: GenerationInit) {
    this.tally = new UsageTally(init.admitted.model, init.promptText);
    this.policy = createStreamPolicy(init.admitted);
    this.done = new Promise((resolve) => { this.resolveDone = resolve; });
  }

  get streamId(): string {
    return this.init.streamId;
  }

  get clientCount(): number {
    return this.clients.size + this.pending.length;
  }

  start(): void {
    this.subscribe(false);
  }

  private subscribe(resume: boolean): void {
    const url = new URL(`/api/agents/chat/stream/${encodeURIComponent(this.init.streamId)}`, this.deps.target);
    if (resume) url.searchParams.set('resume', 'true');
    if (this.init.generationCreatedAt) url.searchParams.set('generationCreatedAt', this.init.generationCreatedAt);
    const client = url.protocol === 'https:' ? https : http;
    const request = client.get(url, {
      agent: this.deps.agent,
      headers: {
        ...this.init.upstreamHeaders,
        authorization: this.init.authorization,
        accept: 'text/event-stream',
        'accept-encoding': 'identity',
      },
    }, (res) => {
      clearTimeout(headersTimer);
      this.onSubscribed(res);
    });
    // Without this a subscription LibreChat never answers would hold its generation, and so its hold, for the
    // life of the process: the sweeper leaves a hold this process still meters alone.
    const headersTimer = setTimeout(() => request.destroy(new Error('no response headers')), this.deps.headersTimeoutMs);
    headersTimer.unref();
    this.current = request;
    request.on('error', () => {
      clearTimeout(headersTimer);
      this.onSubscriptionEnded();
    });
  }

  private onSubscribed(res: IncomingMessage): void {
    if (res.statusCode !== 200) {
      res.resume();
      this.deps.logger.warn('metering subscription refused', { stream_id: this.init.streamId, status: res.statusCode });
      // 404: LibreChat no longer has the job; 401/403: the token no longer opens it; 409 (v0.8.8): a newer
      // job replaced it. Either way it is over, and it is settled with what it used.
      void this.finish('error', `subscription answered ${res.statusCode}`);
      return;
    }
    this.attempts = 0;
    if (!this.responseHeaders) {
      this.responseHeaders = {};
      for (const name of STREAM_HEADERS) {
        const value = res.headers[name];
        if (value !== undefined) this.responseHeaders[name] = value;
      }
      this.releasePending();
    }
    if (!this.endedAtFrameBoundary) this.append(Buffer.from('\n\n'));
    const reader: SseReader = createSseReader((event, data) => {
      this.tally.onEvent(event, data);
      if (!this.violation && !this.ended) {
        const violation = this.policy.inspect(data);
        if (violation) this.onViolation(violation);
      }
    });
    this.armIdleTimer(res);
    res.on('data', (chunk: Buffer) => {
      this.armIdleTimer(res);
      this.append(chunk);
      reader.feed(chunk);
    });
    res.once('close', () => {
      clearTimeout(this.idleTimer);
      reader.end();
      this.onSubscriptionEnded();
    });
  }

  private armIdleTimer(res: IncomingMessage): void {
    clearTimeout(this.idleTimer);
    this.idleTimer = setTimeout(() => res.destroy(), this.deps.idleTimeoutMs);
  }

  private onSubscriptionEnded(): void {
    this.current = undefined;
    if (this.ended) return;
    if (this.tally.ending) {
      void this.finish(this.tally.ending);
      return;
    }
    const delay = RESUME_BACKOFF_MS[this.attempts];
    if (delay === undefined) {
      void this.finish('error', 'stream cut and could not be resumed');
      return;
    }
    this.attempts += 1;
    setTimeout(() => {
      if (!this.ended) this.subscribe(true);
    }, delay).unref();
  }

  private append(chunk: Buffer): void {
    this.chunks.push(chunk);
    this.bytes += chunk.length;
    this.endedAtFrameBoundary = chunk.length >= 2 && chunk[chunk.length - 1] === 0x0a && chunk[chunk.length - 2] === 0x0a;
    while (this.bytes > this.deps.historyLimitBytes && this.chunks.length > 1) {
      this.bytes -= this.chunks.shift()!.length;
      this.base += 1;
      this.truncated = true;
    }
    for (const cursor of this.clients) if (!cursor.waitingForDrain) this.pump(cursor);
  }

  private onViolation(violation: PolicyViolation): void {
    this.violation = violation;
    this.violationRecorded = this.deps.onPolicyViolation(this, violation).catch(() => undefined);
  }

  /** Ends the generation: settles it, lets clients drain what is buffered, then ends their responses. */
  finish(outcome: Outcome, reason?: string): Promise<void> {
    if (this.settled) return this.settled;
    this.ended = true;
    clearTimeout(this.idleTimer);
    this.current?.destroy();
    const usage = this.tally.result();
    const { admitted } = this.init;
    const settlement: Settlement = {
      usageId: admitted.usageId, outcome, usage, reason: reason ?? this.violation?.code,
      tenantId: admitted.tenantId, workspaceId: admitted.workspaceId, requestId: admitted.requestId,
      conversationId: this.tally.conversationId ?? this.init.conversationId, streamId: this.init.streamId,
    };
    this.settled = (this.violationRecorded ?? Promise.resolve()).then(() => this.deps.settle(settlement));
    void this.settled.finally(this.resolveDone);
    this.releasePending();
    for (const cursor of this.clients) if (!cursor.waitingForDrain) this.pump(cursor);
    return this.settled;
  }

  /**
   * Serves a client from this generation. Returns false when it cannot (the early frames were already
   * dropped from the bounded history): the caller then forwards the client to LibreChat with resume=true.
   */
  attachClient(res: ServerResponse, requestId: string, fallback: () => void): boolean {
    if (this.truncated) return false;
    const cursor: ClientCursor = { res, index: 0, waitingForDrain: false, requestId };
    res.once('close', () => {
      this.clients.delete(cursor);
      this.pending = this.pending.filter((p) => p.cursor !== cursor);
    });
    if (this.responseHeaders) this.startClient(cursor);
    else this.pending.push({ cursor, fallback });
    return true;
  }

  private releasePending(): void {
    const waiting = this.pending;
    this.pending = [];
    for (const { cursor, fallback } of waiting) {
      if (this.responseHeaders) this.startClient(cursor);
      else fallback();
    }
  }

  private startClient(cursor: ClientCursor): void {
    if (cursor.res.destroyed) return;
    cursor.res.writeHead(200, { ...this.responseHeaders, 'x-request-id': cursor.requestId });
    cursor.res.flushHeaders();
    this.clients.add(cursor);
    this.pump(cursor);
  }

  private pump(cursor: ClientCursor): void {
    const { res } = cursor;
    while (!res.destroyed) {
      if (cursor.index < this.base) {
        // This client fell behind the bounded history; it reconnects with resume=true, as LibreChat's client does.
        res.destroy();
        return;
      }
      const chunk = this.chunks[cursor.index - this.base];
      if (!chunk) {
        if (this.ended) {
          this.clients.delete(cursor);
          res.end();
        }
        return;
      }
      cursor.index += 1;
      if (!res.write(chunk)) {
        cursor.waitingForDrain = true;
        res.once('drain', () => {
          cursor.waitingForDrain = false;
          this.pump(cursor);
        });
        return;
      }
    }
  }

  /** Drops the history and any client still reading (after the grace period). */
  dispose(): void {
    for (const cursor of this.clients) cursor.res.destroy();
    this.clients.clear();
    this.chunks = [];
  }
}
