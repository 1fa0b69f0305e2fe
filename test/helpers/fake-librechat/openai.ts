// The OpenAI-compatible "remote agents" API: `/api/agents/v1/chat/completions` (chunks ending with a
// usage chunk, then `[DONE]`), `/api/agents/v1/responses` and `/api/agents/v1/models`.
import { randomUUID } from 'node:crypto';
import { setTimeout as delay } from 'node:timers/promises';
import { PostStream, postPreamble, readJsonBody, type Ctx } from './context.ts';
import { CHAT_BODY_LIMIT, sendJson, str } from './http-util.ts';
import { callsFor, resolveScenario, type LlmCall, type Scenario } from './scenario.ts';

const SSE_HEADERS = {
  'Content-Type': 'text/event-stream',
  'Cache-Control': 'no-cache',
  Connection: 'keep-alive',
  'X-Accel-Buffering': 'no',
};

interface RemoteRun {
  agentId: string;
  scenario: Scenario;
  calls: LlmCall[];
  deltas: string[];
  input: number;
  output: number;
  stream: boolean;
}

/** Shared by both routes: body, scenario, POST misbehaviour, and the agent the `model` field names. */
async function prepare(ctx: Ctx): Promise<RemoteRun | undefined> {
  const body = await readJsonBody(ctx, CHAT_BODY_LIMIT);
  if (!body) return undefined;
  const scenario = resolveScenario(ctx.state.defaults, body);
  if (await postPreamble(ctx, scenario)) return undefined;
  const agentId = str(body.model) ?? 'agent_default';
  const agent = ctx.state.agents.get(agentId);
  const calls = callsFor(scenario, { model: agent?.model ?? agentId, provider: agent?.provider ?? 'openAI' });
  const deltas = calls.flatMap((call) => call.deltas ?? scenario.deltas);
  const input = calls.reduce((sum, call) => sum + call.input, 0);
  const output = calls.reduce((sum, call) => sum + call.output, 0);
  return { agentId, scenario, calls, deltas, input, output, stream: body.stream === true };
}

function dataLine(payload: unknown): string {
  return `data: ${JSON.stringify(payload)}\n\n`;
}

/** Non-streaming answers still honour start delay and the error/hang/cut endings. */
async function answerJson(ctx: Ctx, run: RemoteRun, body: unknown): Promise<void> {
  const { scenario } = run;
  await delay(scenario.startDelayMs);
  if (ctx.res.destroyed || scenario.ending === 'hang') return;
  if (scenario.ending === 'cut') {
    if (ctx.entry) ctx.entry.serverClosed = true;
    ctx.req.socket.destroy();
    return;
  }
  if (scenario.ending === 'error') {
    sendJson(ctx.res, 500, { error: { message: scenario.errorMessage, type: 'server_error', code: null } });
    return;
  }
  sendJson(ctx.res, 200, body);
}

/** `POST /api/agents/v1/chat/completions`. */
export async function chatCompletions(ctx: Ctx): Promise<void> {
  const run = await prepare(ctx);
  if (!run) return;
  const id = `chatcmpl-${randomUUID()}`;
  const created = Math.floor(Date.now() / 1000);
  const usage = {
    prompt_tokens: run.input,
    completion_tokens: run.output,
    total_tokens: run.input + run.output,
    completion_tokens_details: { reasoning_tokens: 0 },
  };
  if (!run.stream) {
    const message = { role: 'assistant', content: run.deltas.join('') };
    const choices = [{ index: 0, message, finish_reason: 'stop' }];
    const body = { id, object: 'chat.completion', created, model: run.agentId, choices, usage };
    await answerJson(ctx, run, body);
    return;
  }
  const out = new PostStream(ctx, run.scenario, SSE_HEADERS);
  const chunk = (delta: Record<string, unknown>, finish: string | null, extra: Record<string, unknown> = {}) => {
    const choices = [{ index: 0, delta, finish_reason: finish }];
    return dataLine({ id, object: 'chat.completion.chunk', created, model: run.agentId, choices, ...extra });
  };
  if (!(await out.pause(run.scenario.startDelayMs))) return;
  if (!out.write(chunk({ role: 'assistant', content: '' }, null))) return;
  for (const [index, call] of run.calls.entries()) {
    // A call that asks for tools: LibreChat's on_run_step handler streams each call's id and name, its
    // on_run_step_delta handler the arguments (api/server/controllers/agents/openai.js).
    for (const tool of call.toolCalls ?? []) {
      const id = `call_${randomUUID().slice(0, 8)}`;
      if (!(await out.pause(run.scenario.frameIntervalMs))) return;
      if (!out.write(chunk({ tool_calls: [{ index, id, type: 'function', function: { name: tool.name, arguments: '' } }] }, null))) return;
      if (!(await out.pause(run.scenario.frameIntervalMs))) return;
      if (!out.write(chunk({ tool_calls: [{ index, function: { arguments: tool.args ?? '{}' } }] }, null))) return;
    }
    for (const text of call.toolCalls ? [] : (call.deltas ?? run.scenario.deltas)) {
      if (!(await out.pause(run.scenario.frameIntervalMs))) return;
      if (!out.write(chunk({ content: text }, null))) return;
    }
  }
  if (run.scenario.ending === 'hang') return out.hang();
  if (!(await out.pause(run.scenario.frameIntervalMs))) return;
  if (run.scenario.ending === 'error') {
    out.end(dataLine({ error: { message: run.scenario.errorMessage, type: 'server_error' } }));
    return;
  }
  // LibreChat's sendFinalChunk: usage summed over the run rides on the last chunk, no stream_options needed.
  if (!out.write(chunk({}, 'stop', { usage }))) return;
  out.end('data: [DONE]\n\n');
}

function responseObject(run: RemoteRun, id: string, createdAt: number, done: boolean): Record<string, unknown> {
  const content = [{ type: 'output_text', text: run.deltas.join(''), annotations: [] }];
  return {
    id,
    object: 'response',
    created_at: createdAt,
    status: done ? 'completed' : 'in_progress',
    model: run.agentId,
    output: done
      ? [{ type: 'message', id: `msg_${id}`, role: 'assistant', status: 'completed', content }]
      : [],
    usage: done ? { input_tokens: run.input, output_tokens: run.output, total_tokens: run.input + run.output } : null,
  };
}

/** `POST /api/agents/v1/responses` (Open Responses). */
export async function responses(ctx: Ctx): Promise<void> {
  const run = await prepare(ctx);
  if (!run) return;
  const id = `resp_${randomUUID().replaceAll('-', '')}`;
  const createdAt = Math.floor(Date.now() / 1000);
  if (!run.stream) {
    await answerJson(ctx, run, responseObject(run, id, createdAt, true));
    return;
  }
  const out = new PostStream(ctx, run.scenario, SSE_HEADERS);
  let seq = 0;
  const event = (type: string, payload: Record<string, unknown>) =>
    `event: ${type}\ndata: ${JSON.stringify({ type, sequence_number: seq++, ...payload })}\n\n`;
  if (!(await out.pause(run.scenario.startDelayMs))) return;
  if (!out.write(event('response.created', { response: responseObject(run, id, createdAt, false) }))) return;
  for (const delta of run.deltas) {
    if (!(await out.pause(run.scenario.frameIntervalMs))) return;
    const frame = event('response.output_text.delta', { item_id: `msg_${id}`, output_index: 0, content_index: 0, delta });
    if (!out.write(frame)) return;
  }
  if (run.scenario.ending === 'hang') return out.hang();
  if (!(await out.pause(run.scenario.frameIntervalMs))) return;
  if (run.scenario.ending === 'error') {
    out.end(event('error', { code: 'server_error', message: run.scenario.errorMessage }));
    return;
  }
  if (!out.write(event('response.completed', { response: responseObject(run, id, createdAt, true) }))) return;
  out.end();
}

/** `GET /api/agents/v1/models`: the agents the control API registered. */
export function remoteModels(ctx: Ctx): void {
  const created = Math.floor(Date.now() / 1000);
  const data = [...ctx.state.agents.values()].map((agent) => ({ id: agent.id, object: 'model', created, owned_by: 'librechat' }));
  sendJson(ctx.res, 200, { object: 'list', data });
}
