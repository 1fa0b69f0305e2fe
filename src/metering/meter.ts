// The process's metering: which generations it holds (by stream id), what happens to an admitted chat
// once LibreChat answered its POST, the usage tap of the routes that stream on the POST itself, and
// draining at shutdown. Settlements that fail (database down) are retried until they land or the
// process stops; a hold that never lands is closed later by the sweeper.
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import type { AdmittedChat } from '../admission/admit.ts';
import type { Sql } from '../db/sql.ts';
import type { Logger } from '../log.ts';
import type { Metrics } from '../ops/metrics.ts';
import { Generation } from './generation.ts';
import { createPolicyEnforcement } from './policy-enforcement.ts';
import { readOnAfterClientLeft } from './read-on.ts';
import type { Settlement } from './settle.ts';
import { createSettlementBatcher } from './settle-batcher.ts';
import { createSseReader } from './sse-reader.ts';
import { recordStreamHolder } from './stream-routing.ts';
import { UsageTally } from './usage-tally.ts';

export interface MeterDeps {
  sql: Sql;
  logger: Logger;
  target: URL;
  idleTimeoutMs: number;
  /** How long the gateway's own subscription may wait for LibreChat's response headers (UPSTREAM_HEADERS_TIMEOUT). */
  headersTimeoutMs: number;
  historyLimitBytes?: number;
  /** How long a finished generation stays here for late clients. */
  graceMs?: number;
  metrics?: Pick<Metrics, 'observeSettlement' | 'countTokens'>;
  /** On Fly: write each held stream's id so other replicas can route its clients here. */
  recordStreamHolders?: boolean;
}

export interface ChatContext {
  admitted: AdmittedChat;
  authorization: string;
  subjectKey: string;
  promptText: string;
  upstreamHeaders: Record<string, string>;
}

const MAX_START_BODY = 1024 * 1024;
const SETTLE_RETRY_MS = 1_000;
// Settlements gather this long before their statement (settle-batcher.ts): one client at a time still settles in batches.
const SETTLE_LINGER_MS = 20;

export function createMeter(deps: MeterDeps) {
  const generations = new Map<string, Generation>();
  const inFlight = new Set<Promise<void>>();
  // The holds this process meters right now (a held generation, or a response tapped on the POST), until
  // their settlement lands: the sweeper never expires these (DESIGN.md, Metering).
  const heldUsage = new Set<string>();
  // Subscriptions are long-lived: a pool of their own, so they cannot starve forwarded requests. Kept alive
  // (idle sockets dropped after 4 s, before LibreChat's keep-alive closes them) to save a connection per chat.
  const subscriptionAgent = new http.Agent({ keepAlive: true, maxSockets: Infinity, maxFreeSockets: 64, timeout: 4_000 });
  let stopping = false;
  const settler = createSettlementBatcher(deps.sql, { lingerMs: SETTLE_LINGER_MS });

  function settle(settlement: Settlement): Promise<void> {
    const attempt = async (): Promise<void> => {
      for (;;) {
        try {
          const started = performance.now();
          const settled = await settler.settle(settlement);
          deps.metrics?.observeSettlement(settlement.outcome, (performance.now() - started) / 1000);
          if (settled && settlement.tenantId && settlement.workspaceId) deps.metrics?.countTokens(settlement.tenantId, settlement.workspaceId, settlement.usage.perModel);
          // Flat scalars: written without the redaction pass (Logger.record).
          deps.logger.record('settled', {
            request_id: settlement.requestId, usage_id: settlement.usageId, outcome: settlement.outcome, already_settled: !settled,
            prompt_tokens: settlement.usage.promptTokens, completion_tokens: settlement.usage.completionTokens,
            total_tokens: settlement.usage.totalTokens, usage_source: settlement.usage.source, reason: settlement.reason,
          });
          heldUsage.delete(settlement.usageId);
          return;
        } catch (error) {
          deps.logger.warn('settlement failed, retrying', { usage_id: settlement.usageId, err_code: (error as { code?: string }).code });
          if (stopping) {
            heldUsage.delete(settlement.usageId);
            return;
          }
          await new Promise((resolve) => setTimeout(resolve, SETTLE_RETRY_MS));
        }
      }
    };
    const promise = attempt().finally(() => inFlight.delete(promise));
    inFlight.add(promise);
    return promise;
  }

  /** LibreChat never took the generation: settle at once with 0 tokens, giving back hold and request. */
  function releaseHold(usageId: string, reason: string, labels: Pick<Settlement, 'tenantId' | 'workspaceId' | 'requestId'> = {}): Promise<void> {
    const usage = { promptTokens: 0, completionTokens: 0, totalTokens: 0, source: 'not_taken' as const, perModel: {} };
    return settle({ usageId, outcome: 'error', usage, neverTaken: true, reason, ...labels });
  }

  function neverTaken(admitted: AdmittedChat, reason: string): Promise<void> {
    return releaseHold(admitted.usageId, reason, settlementLabels(admitted));
  }

  const enforcement = createPolicyEnforcement({
    sql: deps.sql, logger: deps.logger, target: deps.target, agent: subscriptionAgent, retryMs: SETTLE_RETRY_MS, isStopping: () => stopping,
  });

  function hold(ctx: ChatContext, started: { streamId: string; conversationId: string | undefined; generationCreatedAt: string | undefined }): void {
    const { streamId, conversationId, generationCreatedAt } = started;
    const generation = new Generation(
      { target: deps.target, agent: subscriptionAgent, logger: deps.logger, idleTimeoutMs: deps.idleTimeoutMs, headersTimeoutMs: deps.headersTimeoutMs,
        historyLimitBytes: deps.historyLimitBytes ?? 8 * 1024 * 1024, settle, onPolicyViolation: enforcement.endGeneration },
      { admitted: ctx.admitted, streamId, conversationId, authorization: ctx.authorization, subjectKey: ctx.subjectKey,
        promptText: ctx.promptText, upstreamHeaders: ctx.upstreamHeaders, generationCreatedAt },
    );
    generations.get(streamId)?.finish('error', 'replaced by a newer generation');
    generations.set(streamId, generation);
    heldUsage.add(ctx.admitted.usageId);
    generation.start();
    if (deps.recordStreamHolders) {
      recordStreamHolder(deps.sql, ctx.admitted.usageId, streamId, conversationId)
        .catch((error: { code?: string }) => deps.logger.warn('could not record the stream holder', { stream_id: streamId, err_code: error.code }));
    }
    const forget = () => {
      const timer = setTimeout(() => {
        if (generations.get(streamId) === generation) generations.delete(streamId);
        generation.dispose();
      }, deps.graceMs ?? 30_000);
      timer.unref();
    };
    void generation.done.then(forget);
  }

  /**
   * LibreChat answered an admitted chat POST. Its small JSON body is read whole before the client gets
   * it, so the generation is held (and its subscription opened) before the client can ask for the stream.
   */
  function onChatStartResponse(ctx: ChatContext, upstreamRes: IncomingMessage, clientRes: ServerResponse): void {
    const chunks: Buffer[] = [];
    let size = 0;
    upstreamRes.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size <= MAX_START_BODY) chunks.push(chunk);
    });
    upstreamRes.once('close', () => {
      const body = Buffer.concat(chunks);
      const started = upstreamRes.complete && upstreamRes.statusCode === 200 ? parseStart(body) : undefined;
      if (started?.status === 'started') hold(ctx, started);
      else if (started) void neverTaken(ctx.admitted, `duplicate request: LibreChat answered status ${started.status}`);
      else void neverTaken(ctx.admitted, upstreamRes.complete ? `LibreChat answered ${upstreamRes.statusCode}` : 'LibreChat cut the answer');
      if (!upstreamRes.complete) {
        clientRes.destroy();
        return;
      }
      if (!clientRes.destroyed) {
        clientRes.writeHead(upstreamRes.statusCode ?? 502, upstreamRes.statusMessage, upstreamRes.headers);
        clientRes.end(body);
      }
    });
  }

  /**
   * Meters a response that streams on the POST itself (assistants, OpenAI-compatible routes). A client
   * that leaves does not end the metering: LibreChat's answer is read on to its usage (its last chunk),
   * for as long as LibreChat keeps sending (cut after idleTimeoutMs of silence, READ_ON_MAX_MS in all).
   */
  function tapResponse(ctx: ChatContext, upstreamRes: IncomingMessage, clientRes: ServerResponse): void {
    const status = upstreamRes.statusCode ?? 0;
    if (status < 200 || status >= 300) {
      upstreamRes.once('close', () => void neverTaken(ctx.admitted, `LibreChat answered ${status}`));
      return;
    }
    heldUsage.add(ctx.admitted.usageId);
    const tally = new UsageTally(ctx.admitted.model, ctx.promptText);
    // LibreChat answers these routes only once the agent is set up and its run starts: a model was called.
    tally.markModelCalled();
    const isSse = String(upstreamRes.headers['content-type'] ?? '').includes('text/event-stream');
    const policy = enforcement.watchAnswer(ctx.admitted, () => upstreamRes.destroy());
    const reader = createSseReader((event, data) => {
      tally.onEvent(event, data);
      policy.inspect(data);
    });
    const jsonChunks: Buffer[] = [];
    let jsonSize = 0;
    const readOn = readOnAfterClientLeft(upstreamRes, clientRes, deps.idleTimeoutMs);
    upstreamRes.on('data', (chunk: Buffer) => {
      readOn.onData();
      if (isSse) return reader.feed(chunk);
      jsonSize += chunk.length;
      if (jsonSize <= 8 * 1024 * 1024) jsonChunks.push(chunk);
    });
    upstreamRes.once('close', () => {
      readOn.stop();
      if (isSse) reader.end();
      else tally.onJsonBody(Buffer.concat(jsonChunks).toString('utf8'));
      const outcome = !upstreamRes.complete || readOn.clientLeft ? 'aborted' : (tally.ending === 'error' ? 'error' : 'completed');
      const settlement: Settlement = {
        usageId: ctx.admitted.usageId, outcome, usage: tally.result(), conversationId: tally.conversationId,
        reason: policy.violation?.code, ...settlementLabels(ctx.admitted),
      };
      // The chat_completed row follows a chat_policy_violation row.
      void policy.recorded().then(() => settle(settlement));
    });
  }

  /** Serves a client's stream GET from a held generation; false when this process does not hold it. */
  function serveStream(streamId: string, subjectKey: string, clientRes: ServerResponse, requestId: string, fallback: () => void): boolean {
    const generation = generations.get(streamId);
    if (!generation || generation.init.subjectKey !== subjectKey) return false;
    return generation.attachClient(clientRes, requestId, fallback);
  }

  /** Shutdown: let generations end by themselves until the deadline, then settle the rest with what was used. */
  async function drain(deadlineMs: number): Promise<void> {
    const open = [...generations.values()].filter((g) => !g.ended);
    const deadline = new Promise<void>((resolve) => setTimeout(resolve, deadlineMs).unref());
    await Promise.race([Promise.all(open.map((g) => g.done)), deadline]);
    await Promise.all(open.filter((g) => !g.ended).map((g) => g.finish('error', 'gateway shut down before the generation ended')));
    await Promise.race([Promise.all([...inFlight]), new Promise((resolve) => setTimeout(resolve, 5_000).unref())]);
    stopping = true;
    for (const generation of generations.values()) generation.dispose();
    generations.clear();
    subscriptionAgent.destroy();
  }

  return {
    onChatStartResponse,
    neverTaken,
    releaseHold,
    tapResponse,
    serveStream,
    drain,
    openGenerations: () => [...generations.values()].filter((g) => !g.ended).length,
    clientStreams: () => [...generations.values()].reduce((n, g) => n + g.clientCount, 0),
    heldStreams: () => generations.size,
    heldUsageIds: (): string[] => [...heldUsage],
  };
}

export type Meter = ReturnType<typeof createMeter>;

function settlementLabels(admitted: AdmittedChat): Pick<Settlement, 'tenantId' | 'workspaceId' | 'requestId'> {
  return { tenantId: admitted.tenantId, workspaceId: admitted.workspaceId, requestId: admitted.requestId };
}

/**
 * LibreChat's answer to a chat start. `status` is "started" for a new generation; v0.8.8 answers
 * "resumed" or "settled" to a repeated clientRequestId, whose generation the first request already meters.
 */
function parseStart(body: Buffer): { streamId: string; conversationId: string | undefined; status: string; generationCreatedAt: string | undefined } | undefined {
  try {
    const value = JSON.parse(body.toString('utf8')) as { streamId?: unknown; conversationId?: unknown; status?: unknown; generationCreatedAt?: unknown };
    if (typeof value.streamId !== 'string' || value.streamId === '') return undefined;
    const createdAt = value.generationCreatedAt;
    return {
      streamId: value.streamId,
      conversationId: typeof value.conversationId === 'string' ? value.conversationId : undefined,
      status: typeof value.status === 'string' ? value.status : 'started',
      // v0.8.8 names the generation: the gateway's subscription asks for that one, never a successor.
      generationCreatedAt: (typeof createdAt === 'number' && Number.isFinite(createdAt)) || (typeof createdAt === 'string' && /^\d{1,16}$/.test(createdAt))
        ? String(createdAt) : undefined,
    };
  } catch {
    return undefined;
  }
}
