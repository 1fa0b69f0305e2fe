// The legacy assistants chat (`POST /api/assistants/v1|v2/chat`): not resumable, the POST response
// itself is the SSE stream (created, text deltas, final with token counts).
import { randomUUID } from 'node:crypto';
import { PostStream, postPreamble, readJsonBody, type Ctx } from './context.ts';
import { NO_PARENT } from './frames.ts';
import { CHAT_BODY_LIMIT, errorFrame, messageFrame, str } from './http-util.ts';
import { callsFor, resolveScenario, type LlmCall, type Scenario } from './scenario.ts';

/** `setHeaders.js` of the assistants routes. */
const ASSISTANTS_HEADERS = {
  'Content-Type': 'text/event-stream',
  'Cache-Control': 'no-cache',
  Connection: 'keep-alive',
  'X-Accel-Buffering': 'no',
  'Access-Control-Allow-Origin': '*',
};

interface AssistantTurn {
  conversationId: string;
  threadId: string;
  endpoint: string;
  model: string;
  assistantId: string;
  requestMessage: Record<string, unknown>;
  responseMessageId: string;
}

function planTurn(body: Record<string, unknown>, version: string): AssistantTurn {
  const rawConvo = str(body.conversationId);
  const conversationId = rawConvo && rawConvo !== 'new' ? rawConvo : randomUUID();
  const text = typeof body.text === 'string' ? body.text : '';
  return {
    conversationId,
    threadId: str(body.thread_id) ?? `thread_${randomUUID().replaceAll('-', '')}`,
    endpoint: version === 'v1' ? 'azureAssistants' : 'assistants',
    model: str(body.model) ?? 'gpt-4o',
    assistantId: str(body.assistant_id) ?? 'asst_fake',
    requestMessage: {
      messageId: str(body.messageId) ?? randomUUID(),
      parentMessageId: str(body.parentMessageId) ?? NO_PARENT,
      conversationId,
      text,
      sender: 'User',
      isCreatedByUser: true,
    },
    responseMessageId: randomUUID(),
  };
}

function finalFrame(turn: AssistantTurn, scenario: Scenario, calls: LlmCall[], text: string): string {
  const responseMessage: Record<string, unknown> = {
    messageId: turn.responseMessageId,
    conversationId: turn.conversationId,
    parentMessageId: turn.requestMessage.messageId,
    isCreatedByUser: false,
    model: turn.model,
    sender: 'Assistant',
    endpoint: turn.endpoint,
    assistant_id: turn.assistantId,
    thread_id: turn.threadId,
    text,
    content: [{ type: 'text', text: { value: text } }],
  };
  const requestMessage = { ...turn.requestMessage };
  if (scenario.finalCounts !== 'none') {
    // The run's usage: prompt tokens over every step, completion tokens likewise.
    responseMessage.promptTokens = scenario.promptTokens ?? calls.reduce((sum, call) => sum + call.input, 0);
    responseMessage.tokenCount = calls.reduce((sum, call) => sum + call.output, 0);
    const textBytes = Buffer.byteLength(String(requestMessage.text));
    requestMessage.tokenCount = scenario.requestTokenCount ?? Math.max(1, Math.ceil(textBytes / 4));
  }
  const conversation = { conversationId: turn.conversationId, endpoint: turn.endpoint, model: turn.model, title: 'New Chat' };
  return messageFrame({ final: true, conversation, requestMessage, responseMessage });
}

/** `POST /api/assistants/:version/chat`. */
export async function assistantsChat(ctx: Ctx, version: string): Promise<void> {
  const body = await readJsonBody(ctx, CHAT_BODY_LIMIT);
  if (!body) return;
  const scenario = resolveScenario(ctx.state.defaults, body);
  if (await postPreamble(ctx, scenario)) return;
  const turn = planTurn(body, version);
  const calls = callsFor(scenario, { model: turn.model, provider: turn.endpoint });
  const deltas = calls.flatMap((call) => call.deltas ?? scenario.deltas);
  const out = new PostStream(ctx, scenario, ASSISTANTS_HEADERS);
  if (!(await out.pause(scenario.startDelayMs))) return;
  if (!out.write(messageFrame({ created: true, message: turn.requestMessage }))) return;
  const ids = { messageId: turn.responseMessageId, conversationId: turn.conversationId, thread_id: turn.threadId };
  for (const value of deltas) {
    if (!(await out.pause(scenario.frameIntervalMs))) return;
    if (!out.write(messageFrame({ type: 'text', index: 0, text: { value }, stream: true, ...ids }))) return;
  }
  if (scenario.ending === 'hang') return out.hang();
  if (!(await out.pause(scenario.frameIntervalMs))) return;
  if (scenario.ending === 'error') {
    out.end(errorFrame(scenario.errorMessage));
    return;
  }
  out.end(finalFrame(turn, scenario, calls, deltas.join('')));
}
