// The resumable agents chat routes (v0.8.7; v0.8.8's generationCreatedAt with `protocolV2`): start (POST answers JSON at once), stream GET with
// owner checks and resume, abort, active jobs, status, and `GET /api/agents/:id` (basic and expanded views).
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

/** An enforced model spec's preset replaces the body's settings (LibreChat's buildEndpointOption). */
function enforcedPreset(ctx: Ctx, body: Record<string, unknown>, savedAgent: boolean): Record<string, unknown> | undefined {
  const specs = ctx.state.modelSpecs as { enforce?: unknown; list?: unknown } | null;
  if (!specs || specs.enforce !== true || !Array.isArray(specs.list) || savedAgent) return undefined;
  const spec = (specs.list as { name?: unknown; preset?: Record<string, unknown> }[]).find((s) => s.name === body.spec);
  return spec?.preset;
}

/**
 * What the request names, resolved the way LibreChat does: the endpoint is `body.endpoint` (the URL segment
 * plays no part), a saved agent runs only on the `agents` endpoint with an `agent_…` id (buildOptions,
 * loadEphemeralAgent), and an enforced spec's preset replaces the body's model, endpoint and agent.
 */
function planTurn(ctx: Ctx, body: Record<string, unknown>, endpointParam: string | undefined, scenario: Scenario): TurnPlan {
  const rawConvo = str(body.conversationId);
  const conversationId = rawConvo && rawConvo !== 'new' ? rawConvo : randomUUID();
  const bodyAgent = str(body.agent_id);
  const savedAgent = str(body.endpoint) === 'agents' && bodyAgent?.startsWith('agent_') === true;
  const settings = { ...body, ...enforcedPreset(ctx, body, savedAgent) };
  const endpoint = str(settings.endpoint) ?? endpointParam ?? 'agents';
  const settingsAgent = str(settings.agent_id);
  const isAgents = endpoint === 'agents' && settingsAgent?.startsWith('agent_') === true;
  const agentId = isAgents ? settingsAgent : undefined;
  const agent = agentId ? ctx.state.agents.get(agentId) : undefined;
  const model = agent?.model ?? str(settings.model) ?? 'gpt-4o';
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
  const resume = ctx.url.searchParams.get('resume') === 'true';
  if (job.takeSilentSubscription(resume)) return;
  job.subscribe(ctx.res, ctx.entry, resume);
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

function allowed(list: unknown, user: string): boolean {
  return !Array.isArray(list) || list.includes(user);
}

/** The agent as LibreChat stores it, or undefined after answering 404/403 (VIEW needed; `viewers` limits it). */
function viewableAgent(ctx: Ctx, id: string): Record<string, unknown> | undefined {
  const agent = ctx.state.agents.get(id);
  if (!agent) {
    sendJson(ctx.res, 404, { error: 'Agent not found' });
    return undefined;
  }
  if (!allowed(agent.viewers, ctx.user)) {
    sendJson(ctx.res, 403, { error: 'Forbidden', message: 'Insufficient permissions to access this agent' });
    return undefined;
  }
  return { name: id, tools: [], edges: [], ...agent };
}

/** `GET /api/agents/:id`: LibreChat's basic view (VIEW permission), which leaves out edges, agent_ids and subagents. */
export function getAgent(ctx: Ctx, id: string): void {
  const agent = viewableAgent(ctx, id);
  if (!agent) return;
  const basic = Object.fromEntries(Object.entries(agent).filter(([key]) =>
    ['id', 'name', 'description', 'avatar', 'provider', 'model', 'model_parameters', 'conversation_starters'].includes(key)));
  sendJson(ctx.res, 200, basic);
}

/** `GET /api/agents/:id/expanded`: the whole document, for callers with EDIT permission (`editors` limits it). */
export function getAgentExpanded(ctx: Ctx, id: string): void {
  const agent = viewableAgent(ctx, id);
  if (!agent) return;
  if (!allowed(agent.editors, ctx.user)) {
    sendJson(ctx.res, 403, { error: 'Forbidden', message: 'Insufficient permissions to access this agent' });
    return;
  }
  const { viewers: _viewers, editors: _editors, ...doc } = agent;
  sendJson(ctx.res, 200, { author: ctx.user, ...doc });
}
