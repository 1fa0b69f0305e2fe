// Emulation of one job of LibreChat's in-memory GenerationJobManager: a background generation that runs
// whether or not anyone listens, replays early frames to its FIRST subscriber only, serves `resume=true`
// with a cumulative `sync` frame, and settles (final, error, aborted final) for every subscriber at once.
import { randomUUID } from 'node:crypto';
import type { ServerResponse } from 'node:http';
import { setTimeout as delay } from 'node:timers/promises';
import {
  abortedFinalEvent, createdEvent, finalEvent, messageDeltaEvent, resumeState, runStepEvent, syncEvent,
  summarizeEvents, tokenUsageData, toolCallCompletedEvent, toolCallDeltaEvent, toolCallStepEvent, type TextPart, type TokenUsageData, type Turn,
} from './frames.ts';
import { errorFrame, messageFrame, writeStreamHeaders } from './http-util.ts';
import type { LogEntry } from './request-log.ts';
import type { LlmCall, Scenario, ToolCallPlan } from './scenario.ts';

export type JobStatus = 'running' | 'done' | 'aborted' | 'error';

export interface JobInfo {
  streamId: string;
  conversationId: string;
  user: string;
  tenant: string | null;
  status: JobStatus;
  framesEmitted: number;
  subscribers: number;
  firstSubscriberAt: number | null;
  createdAt: number;
  endedAt: number | null;
  /** A newer job for the same conversation replaced this one. */
  replaced: boolean;
  /** `POST /chat/abort` requests that reached this job (while running or after). */
  aborts: number;
  /** input + output of every `on_token_usage` frame emitted: what LibreChat itself would bill. */
  tokensEmitted: number;
}

export interface JobInit {
  turn: Turn;
  user: string;
  tenant: string | null;
  scenario: Scenario;
  calls: LlmCall[];
}

interface Subscriber {
  res: ServerResponse;
  entry: LogEntry | null;
}

/** LibreChat bounds the early buffer the same way; past it nothing more is buffered. */
const EARLY_BUFFER_MAX = 5_000;

export class Job {
  readonly turn: Turn;
  readonly user: string;
  readonly tenant: string | null;
  readonly createdAt = Date.now();
  status: JobStatus = 'running';
  endedAt: number | null = null;
  replaced = false;
  private readonly scenario: Scenario;
  private silenced = false;
  private readonly calls: LlmCall[];
  private readonly controller = new AbortController();
  private readonly subscribers = new Set<Subscriber>();
  /** Frames emitted before the first subscriber; null once it took them. */
  private early: string[] | null = [];
  /** The final (or error) frame, cached for subscribers that join after the end. */
  private terminal: string | null = null;
  private framesEmitted = 0;
  private firstSubscriberAt: number | null = null;
  private deltasSent = 0;
  private cutDone = false;
  private readonly runSteps: unknown[] = [];
  private readonly content: TextPart[] = [];
  private readonly collectedUsage: TokenUsageData[] = [];
  private aborts = 0;
  private tokensEmitted = 0;

  constructor(init: JobInit, private readonly onEnded: (job: Job) => void) {
    this.turn = init.turn;
    this.user = init.user;
    this.tenant = init.tenant;
    this.scenario = init.scenario;
    this.calls = init.calls;
  }

  get keepCompletedMs(): number {
    return this.scenario.keepCompletedMs;
  }

  start(): void {
    this.run().catch(() => {
      // Aborted or stopped: abort()/stop() already settled the job and its subscribers.
    });
  }

  private async run(): Promise<void> {
    const { scenario, turn } = this;
    const signal = this.controller.signal;
    await delay(scenario.startDelayMs, undefined, { signal });
    this.emit(createdEvent(turn));
    for (const [index, call] of this.calls.entries()) {
      const stepId = `step_${randomUUID()}`;
      if (call.usageType === 'summarization') {
        await this.summarize(stepId, index, call, signal);
        continue;
      }
      const tools = (call.toolCalls ?? []).map((tool) => ({ id: `call_${randomUUID().slice(0, 8)}`, tool }));
      const step = tools.length > 0 ? toolCallStepEvent(turn, stepId, index, tools) : runStepEvent(turn, stepId, index);
      this.runSteps.push(step.data);
      this.emit(step);
      if (tools.length > 0) await this.streamToolArgs(stepId, tools, signal);
      else await this.streamDeltas(stepId, call.deltas ?? scenario.deltas, signal);
      // 'hang': the last LLM call never returns, so its usage never arrives.
      if (scenario.ending === 'hang' && index === this.calls.length - 1) await never(signal);
      await delay(scenario.frameIntervalMs, undefined, { signal });
      this.emitUsage(tokenUsageData(turn, call, index + 1));
      // The tools run after the call that asked for them, each reporting its result.
      for (const { id, tool } of tools) {
        await delay(scenario.frameIntervalMs, undefined, { signal });
        this.emit(toolCallCompletedEvent(stepId, index, id, tool));
      }
    }
    if (scenario.ending === 'hang') await never(signal);
    await delay(scenario.frameIntervalMs, undefined, { signal });
    if (scenario.ending === 'error') this.finish('error', errorFrame(scenario.errorMessage));
    else this.finish('done', messageFrame(finalEvent(turn, this.calls, this.content)));
  }

  /** A summarization call: its own frames, its usage in the middle (the summary is not streamed). */
  private async summarize(stepId: string, index: number, call: LlmCall, signal: AbortSignal): Promise<void> {
    const { scenario, turn } = this;
    const events = summarizeEvents(turn, stepId, index, call, turn.agentId ?? 'ephemeral');
    this.runSteps.push(events.step.data);
    this.emit(events.step);
    this.emit(events.start);
    await delay(scenario.frameIntervalMs, undefined, { signal });
    this.emitUsage(tokenUsageData(turn, call, index + 1));
    await delay(scenario.frameIntervalMs, undefined, { signal });
    this.emit(events.delta);
    this.emit(events.complete);
  }

  private emitUsage(usage: TokenUsageData): void {
    this.collectedUsage.push(usage);
    if (!this.scenario.emitTokenUsage) return;
    this.emit({ event: 'on_token_usage', data: usage });
    if (this.status === 'running') this.tokensEmitted += usage.total_tokens;
  }

  private async streamToolArgs(stepId: string, tools: { id: string; tool: ToolCallPlan }[], signal: AbortSignal): Promise<void> {
    for (const [toolIndex, { id, tool }] of tools.entries()) {
      await delay(this.scenario.frameIntervalMs, undefined, { signal });
      this.emit(toolCallDeltaEvent(stepId, toolIndex, id, tool));
    }
  }

  private async streamDeltas(stepId: string, deltas: string[], signal: AbortSignal): Promise<void> {
    let part: TextPart | undefined;
    for (const text of deltas) {
      await delay(this.scenario.frameIntervalMs, undefined, { signal });
      if (!part) {
        part = { type: 'text', text: '' };
        this.content.push(part);
      }
      part.text += text;
      this.deltasSent += 1;
      this.emit(messageDeltaEvent(stepId, text));
    }
  }

  private emit(payload: unknown): void {
    if (this.status !== 'running') return;
    this.deliver(messageFrame(payload));
    this.maybeCut();
  }

  private deliver(frame: string): void {
    this.framesEmitted += 1;
    if (this.early) {
      if (this.early.length < EARLY_BUFFER_MAX) this.early.push(frame);
      return;
    }
    // After the first subscriber, frames nobody is listening to are lost (resume recovers the state).
    for (const sub of this.subscribers) {
      if (!sub.res.writableEnded && !sub.res.destroyed) sub.res.write(frame);
    }
  }

  /** The 'cut' ending: once, after N frames, drop every subscriber's connection; the job goes on. */
  private maybeCut(): void {
    const { scenario } = this;
    if (scenario.ending !== 'cut' || this.cutDone || this.subscribers.size === 0) return;
    if (this.framesEmitted < scenario.cutAfterFrames) return;
    this.cutDone = true;
    for (const sub of this.subscribers) {
      if (sub.entry) sub.entry.serverClosed = true;
      // Let what was written reach the client, then close without the chunked terminator.
      sub.res.socket?.destroySoon();
    }
    this.subscribers.clear();
  }

  private finish(status: JobStatus, frame: string | null): void {
    if (this.status !== 'running') return;
    if (frame) {
      this.deliver(frame);
      this.terminal = frame;
    }
    this.status = status;
    this.endedAt = Date.now();
    this.controller.abort();
    for (const sub of this.subscribers) sub.res.end();
    this.subscribers.clear();
    this.onEnded(this);
  }

  /** True once, for the scenario's silent first subscription: the caller leaves that request unanswered. */
  takeSilentSubscription(resume: boolean): boolean {
    if (resume || !this.scenario.silentFirstSubscription || this.silenced) return false;
    this.silenced = true;
    return true;
  }

  subscribe(res: ServerResponse, entry: LogEntry | null, resume: boolean): void {
    writeStreamHeaders(res);
    this.firstSubscriberAt ??= Date.now();
    const first = this.early !== null;
    const replay = this.early ?? [];
    this.early = null;
    // A resuming client gets the state as one `sync` frame instead of the replay.
    if (resume) res.write(messageFrame(syncEvent(this.turn, this.snapshot())));
    else for (const frame of replay) res.write(frame);
    if (this.status !== 'running') {
      if ((resume || !first) && this.terminal) res.write(this.terminal);
      res.end();
      return;
    }
    const sub: Subscriber = { res, entry };
    this.subscribers.add(sub);
    res.once('close', () => this.subscribers.delete(sub));
    this.maybeCut();
  }

  /** `POST /chat/abort`: the aborted final to subscribers; the unfinished call reports no usage. */
  abort(): void {
    this.aborts += 1;
    if (this.status !== 'running') return;
    const frame = abortedFinalEvent(this.turn, this.content, this.deltasSent === 0);
    this.finish('aborted', messageFrame(frame));
  }

  /** Replaced by a newer job, or the server closes: subscribers are ended without a final. */
  stop(replaced: boolean): void {
    this.replaced = replaced;
    this.finish('aborted', null);
  }

  /** Past keepCompletedMs nobody can subscribe any more: drop the buffered frames, keep the counters. */
  release(): void {
    this.early = null;
    this.terminal = null;
  }

  private snapshot() {
    return { runSteps: this.runSteps, content: this.content, collectedUsage: this.collectedUsage };
  }

  statusBody(): Record<string, unknown> {
    return {
      active: this.status === 'running',
      streamId: this.turn.streamId,
      status: this.status === 'done' ? 'complete' : this.status,
      aggregatedContent: this.content,
      createdAt: this.createdAt,
      resumeState: resumeState(this.turn, this.snapshot()),
    };
  }

  info(): JobInfo {
    return {
      streamId: this.turn.streamId,
      conversationId: this.turn.conversationId,
      user: this.user,
      tenant: this.tenant,
      status: this.status,
      framesEmitted: this.framesEmitted,
      subscribers: this.subscribers.size,
      firstSubscriberAt: this.firstSubscriberAt,
      createdAt: this.createdAt,
      endedAt: this.endedAt,
      replaced: this.replaced,
      aborts: this.aborts,
      tokensEmitted: this.tokensEmitted,
    };
  }
}

function never(signal: AbortSignal): Promise<never> {
  return new Promise((_, reject) => {
    signal.addEventListener('abort', () => reject(signal.reason), { once: true });
  });
}
