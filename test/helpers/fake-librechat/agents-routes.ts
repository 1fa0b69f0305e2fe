// The resumable agents chat routes (v0.8.7; v0.8.8's generationCreatedAt with `protocolV2`): start (POST answers JSON at once), stream GET with
// owner checks and resume, abort, active jobs, status, and `GET /api/agents/:id`.
import { randomUUID } from 'node:crypto';
import { setTimeout as delay } from 'node:timers/promises';
import { postPreamble, readJsonBody, type Ctx } from './context.ts';
import { NO_PARENT, type Turn } from './frames.ts';
import { CHAT_BODY_LIMIT, sendJson, str } from './http-util.ts';
import { callsFor, resolveScenario, type LlmCall, type Scenario } from './scenario.ts';
import type { Job } from './generation.ts';

interface TurnPlan {
  turn: Turn;
  calls: LlmCall[];
}

/** What the request names, resolved the way LibreChat's buildEndpointOption / loadEphemeralAgent do. */
function planTurn(ctx: Ctx, body: Record<string, unknown>, endpointParam: string | undefined, scenario: Scenario): TurnPlan {
  const rawConvo = str(body.conversationId);
  const conversationId = rawConvo && rawConvo !== 'new' ? rawConvo : randomUUID();
  const endpoint = endpointParam ?? str(body.endpoint) ?? 'agents';
  const agentId = str(body.agent_id);
  const agent = agentId ? ctx.state.agents.get(agentId) : undefined;
  const isAgents = endpoint === 'agents';
  const model = (isAgents ? agent?.model : undefined) ?? str(body.model) ?? 'gpt-4o';
  const provider = isAgents ? (agent?.provider ?? 'openAI') : endpoint;
  const calls = callsFor(scenario, { model, provider });
  const text = typeof body.text === 'string' ? body.text : '';
  const turn: Turn = {
    streamId: conversationId,
    conversationId,
    endpoint,
    // For saved agents LibreChat reports the agent id as the response's model.
    responseModel: isAgents && agentId ? agentId : model,
    sender: str(body.modelLabel) ?? agent?.name ?? model,
    userMessageId: str(body.messageId) ?? randomUUID(),
    parentMessageId: str(body.parentMessageId) ?? NO_PARENT,
    responseMessageId: str(body.responseMessageId) ?? randomUUID(),
    text,
    requestTokenCount: scenario.requestTokenCount ?? Math.max(1, Math.ceil(Buffer.byteLength(text) / 4)),
    promptTokens: scenario.promptTokens ?? calls[0]?.input ?? 0,
    countsMode: scenario.finalCounts,
  };
  const endpointType = str(body.endpointType);
  if (endpointType) turn.endpointType = endpointType;
  if (agentId) turn.agentId = agentId;
  return { turn, calls };
}

/** `POST /api/agents/chat[/:endpoint]`. */
export async function startChat(ctx: Ctx, endpointParam: string | undefined): Promise<void> {
  const body = await readJsonBody(ctx, CHAT_BODY_LIMIT);
  if (!body) return;
  const scenario = resolveScenario(ctx.state.defaults, body);
  if (await postPreamble(ctx, scenario)) return;
  const { turn, calls } = planTurn(ctx, body, endpointParam, scenario);
  // The job is detached from this connection: it runs even if the client has already gone.
  const job = ctx.state.jobs.create({ turn, calls, scenario, user: ctx.user, tenant: tenantOf(ctx) });
  if (scenario.answerDelayMs > 0) await delay(scenario.answerDelayMs);
  const v2 = scenario.protocolV2 ? { generationCreatedAt: job.createdAt, generationProtocolVersion: 2 } : {};
  sendJson(ctx.res, 200, { streamId: turn.streamId, conversationId: turn.conversationId, ...v2, status: 'started' });
}

function tenantOf(ctx: Ctx): string | null {
  const header = ctx.req.headers['x-tenant-id'];
  return typeof header === 'string' ? header : null;
}

/** LibreChat's 403: another user's job, or the same user id under another tenant. */
function forbidden(ctx: Ctx, job: Job): boolean {
  const tenant = tenantOf(ctx);
  const otherTenant = job.tenant !== null && tenant !== null && job.tenant !== tenant;
  if (job.user === ctx.user && !otherTenant) return false;
  sendJson(ctx.res, 403, { error: 'Unauthorized' });
  return true;
}

/** `GET /api/agents/chat/stream/:streamId[?resume=true]`. */
export function streamChat(ctx: Ctx, streamId: string): void {
  const job = ctx.state.jobs.get(streamId);
  if (!job) {
    sendJson(ctx.res, 404, { error: 'Stream not found', streamId });
    return;
  }
  if (forbidden(ctx, job)) return;
  const named = ctx.url.searchParams.get('generationCreatedAt');
  if (named !== null && Number(named) !== job.createdAt) {
    sendJson(ctx.res, 409, { error: 'Generation replaced', code: 'GENERATION_REPLACED', streamId });
    return;
  }
  job.subscribe(ctx.res, ctx.entry, ctx.url.searchParams.get('resume') === 'true');
}

/** `POST /api/agents/chat/abort`. With no id at all it falls back to the caller's latest running job. */
export async function abortChat(ctx: Ctx): Promise<void> {
  const body = await readJsonBody(ctx, CHAT_BODY_LIMIT);
  if (!body) return;
  const id = str(body.streamId) ?? str(body.conversationId);
  const job = id ? ctx.state.jobs.get(id) : ctx.state.jobs.active(ctx.user).at(-1);
  if (!job) {
    sendJson(ctx.res, 404, { error: 'Job not found', streamId: id ?? null });
    return;
  }
  if (forbidden(ctx, job)) return;
  job.abort();
  sendJson(ctx.res, 200, { success: true, aborted: job.turn.streamId });
}

/** `GET /api/agents/chat/active`. */
export function activeJobs(ctx: Ctx): void {
  const activeJobIds = ctx.state.jobs.active(ctx.user).map((job) => job.turn.streamId);
  sendJson(ctx.res, 200, { activeJobIds });
}

/** `GET /api/agents/chat/status/:conversationId`. */
export function chatStatus(ctx: Ctx, conversationId: string): void {
  const job = ctx.state.jobs.get(conversationId);
  if (!job) {
    sendJson(ctx.res, 200, { active: false });
    return;
  }
  if (forbidden(ctx, job)) return;
  sendJson(ctx.res, 200, job.statusBody());
}

/** `GET /api/agents/:id`: the saved agent from the control API's agents map. */
export function getAgent(ctx: Ctx, id: string): void {
  const agent = ctx.state.agents.get(id);
  if (!agent) {
    sendJson(ctx.res, 404, { message: 'Agent not found' });
    return;
  }
  sendJson(ctx.res, 200, { name: id, author: ctx.user, tools: [], edges: [], ...agent });
}
