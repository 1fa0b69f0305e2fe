// Payload builders for the agents chat stream: `created`, step events (text and tool calls),
// `on_token_usage`, `final`, the aborted final and the resume `sync` frame, in LibreChat v0.8.7's shapes.
import type { FinalCounts, LlmCall, ToolCallPlan } from './scenario.ts';

export const NO_PARENT = '00000000-0000-0000-0000-000000000000';

/** Everything about one chat turn that the frames repeat. */
export interface Turn {
  streamId: string;
  conversationId: string;
  endpoint: string;
  endpointType?: string;
  /** `responseMessage.model`: the agent id for the `agents` endpoint, else the model. */
  responseModel: string;
  agentId?: string;
  sender: string;
  userMessageId: string;
  parentMessageId: string;
  responseMessageId: string;
  text: string;
  requestTokenCount: number;
  promptTokens: number;
  countsMode: FinalCounts;
}

export interface TokenUsageData {
  input_tokens: number;
  output_tokens: number;
  total_tokens: number;
  input_token_details?: { cache_creation: number; cache_read: number };
  model: string;
  provider: string;
  usage_type?: string;
  runId: string;
  seq: number;
}

export interface TextPart {
  type: 'text';
  text: string;
}

export function userMessage(turn: Turn): Record<string, unknown> {
  return {
    messageId: turn.userMessageId,
    parentMessageId: turn.parentMessageId,
    conversationId: turn.conversationId,
    text: turn.text,
    sender: 'User',
    isCreatedByUser: true,
  };
}

export function createdEvent(turn: Turn): Record<string, unknown> {
  return { created: true, message: userMessage(turn), streamId: turn.streamId };
}

/** An `on_run_step` of the response message; its `type` is its step details' type. */
function responseRunStep(turn: Turn, stepId: string, index: number, stepDetails: { type: string; [field: string]: unknown }): Record<string, unknown> {
  return {
    event: 'on_run_step',
    data: {
      id: stepId,
      runId: turn.responseMessageId,
      index,
      stepIndex: index,
      type: stepDetails.type,
      stepDetails,
      usage: null,
    },
  };
}

export function runStepEvent(turn: Turn, stepId: string, index: number): Record<string, unknown> {
  return responseRunStep(turn, stepId, index, { type: 'message_creation', message_creation: { message_id: turn.responseMessageId } });
}

/**
 * A `tool_calls` run step, dispatched while the model streams its tool call (danny-avila/agents Graph;
 * LibreChat's reference: `stepDetails.tool_calls[{id, name, args, type: "tool_call"}]`).
 */
export function toolCallStepEvent(turn: Turn, stepId: string, index: number, calls: { id: string; tool: ToolCallPlan }[]): Record<string, unknown> {
  return responseRunStep(turn, stepId, index,
    { type: 'tool_calls', tool_calls: calls.map(({ id, tool }) => ({ id, name: tool.name, args: '', type: 'tool_call' })) });
}

/** The arguments of one tool call, as they stream (`on_run_step_delta`). */
export function toolCallDeltaEvent(stepId: string, toolIndex: number, id: string, tool: ToolCallPlan): Record<string, unknown> {
  return {
    event: 'on_run_step_delta',
    data: { id: stepId, delta: { type: 'tool_calls', tool_calls: [{ index: toolIndex, id, name: tool.name, args: tool.args ?? '{}', type: 'tool_call_chunk' }] } },
  };
}

/** A tool's result once it ran (`on_run_step_completed`, `result.tool_call`). */
export function toolCallCompletedEvent(stepId: string, index: number, id: string, tool: ToolCallPlan): Record<string, unknown> {
  return {
    event: 'on_run_step_completed',
    data: {
      result: {
        id: stepId,
        index,
        type: 'tool_call',
        tool_call: { id, name: tool.name, args: tool.args ?? '{}', output: tool.output ?? 'ok', progress: 1, type: 'tool_call' },
      },
    },
  };
}

/**
 * A summarization call, as danny-avila/agents' summarize node dispatches it: a run step carrying a
 * placeholder summary, `on_summarize_start` (the operator's summarization model), the call itself (its
 * `on_token_usage` has `usage_type: "summarization"`), then `on_summarize_delta` and `on_summarize_complete`
 * with the summary block. The summary is not streamed as text.
 */
export function summarizeEvents(turn: Turn, stepId: string, index: number, call: LlmCall, agentId: string) {
  const placeholder = { type: 'summary', text: '', tokenCount: 0, model: call.model, provider: call.provider };
  const summary = { ...placeholder, text: (call.deltas ?? ['Summary of the earlier messages.']).join(''), tokenCount: call.output, summaryVersion: 1 };
  return {
    step: {
      event: 'on_run_step',
      data: {
        stepIndex: index, id: stepId, type: 'message_creation', index,
        stepDetails: { type: 'message_creation', message_creation: { message_id: stepId } },
        summary: placeholder, usage: null, runId: turn.responseMessageId,
      },
    },
    start: { event: 'on_summarize_start', data: { agentId, provider: call.provider, model: call.model, messagesToRefineCount: 4, summaryVersion: 1 } },
    delta: { event: 'on_summarize_delta', data: { id: stepId, delta: { summary } } },
    complete: { event: 'on_summarize_complete', data: { agentId, summary } },
  };
}

export function messageDeltaEvent(stepId: string, text: string): Record<string, unknown> {
  return { event: 'on_message_delta', data: { id: stepId, delta: { content: [{ type: 'text', text }] } } };
}

export function tokenUsageData(turn: Turn, call: LlmCall, seq: number): TokenUsageData {
  // Built in LibreChat's key order, so frames read the same on the wire.
  const hasCache = call.cacheRead !== undefined || call.cacheWrite !== undefined;
  return {
    input_tokens: call.input,
    output_tokens: call.output,
    total_tokens: call.input + call.output,
    ...(hasCache ? { input_token_details: { cache_creation: call.cacheWrite ?? 0, cache_read: call.cacheRead ?? 0 } } : {}),
    model: call.model,
    provider: call.provider,
    ...(call.usageType !== undefined ? { usage_type: call.usageType } : {}),
    runId: turn.responseMessageId,
    seq,
  };
}

function sumUsage(calls: LlmCall[]): { input: number; output: number; cacheWrite: number; cacheRead: number } {
  const total = { input: 0, output: 0, cacheWrite: 0, cacheRead: 0 };
  for (const call of calls) {
    // LibreChat's metadata.usage.input excludes cache reads and writes (TResponseUsage); the provider's
    // input_tokens, which on_token_usage carries, includes them.
    total.input += Math.max(0, call.input - (call.cacheRead ?? 0) - (call.cacheWrite ?? 0));
    total.output += call.output;
    total.cacheWrite += call.cacheWrite ?? 0;
    total.cacheRead += call.cacheRead ?? 0;
  }
  return total;
}

export function finalEvent(turn: Turn, calls: LlmCall[], content: TextPart[]): Record<string, unknown> {
  const title = 'New Chat';
  const conversation: Record<string, unknown> = {
    conversationId: turn.conversationId,
    endpoint: turn.endpoint,
    model: turn.responseModel,
    title,
  };
  if (turn.endpointType) conversation.endpointType = turn.endpointType;
  if (turn.agentId) conversation.agent_id = turn.agentId;
  const requestMessage: Record<string, unknown> = { ...userMessage(turn) };
  const responseMessage: Record<string, unknown> = {
    messageId: turn.responseMessageId,
    conversationId: turn.conversationId,
    parentMessageId: turn.userMessageId,
    isCreatedByUser: false,
    model: turn.responseModel,
    sender: turn.sender,
    endpoint: turn.endpoint,
    text: '',
    content,
  };
  if (turn.countsMode !== 'none') {
    const usage = sumUsage(calls);
    requestMessage.tokenCount = turn.requestTokenCount;
    responseMessage.promptTokens = turn.promptTokens;
    responseMessage.tokenCount = usage.output;
    if (turn.countsMode === 'metadata') responseMessage.metadata = { usage };
  }
  return { final: true, conversation, title, requestMessage, responseMessage };
}

/** `GenerationJobManager.abortJob`'s final: no usage for the call that was cut short. */
export function abortedFinalEvent(turn: Turn, content: TextPart[], earlyAbort: boolean): Record<string, unknown> {
  return {
    final: true,
    aborted: true,
    earlyAbort,
    title: 'New Chat',
    conversation: { conversationId: turn.conversationId },
    requestMessage: userMessage(turn),
    responseMessage: {
      messageId: turn.responseMessageId,
      parentMessageId: turn.userMessageId,
      conversationId: turn.conversationId,
      content,
      sender: turn.sender,
      unfinished: true,
      error: false,
    },
  };
}

export interface ResumeSnapshot {
  runSteps: unknown[];
  content: TextPart[];
  collectedUsage: TokenUsageData[];
}

export function resumeState(turn: Turn, snapshot: ResumeSnapshot): Record<string, unknown> {
  return {
    runSteps: snapshot.runSteps,
    aggregatedContent: snapshot.content,
    userMessage: userMessage(turn),
    responseMessageId: turn.responseMessageId,
    conversationId: turn.conversationId,
    sender: turn.sender,
    collectedUsage: snapshot.collectedUsage,
  };
}

export function syncEvent(turn: Turn, snapshot: ResumeSnapshot): Record<string, unknown> {
  return { sync: true, resumeState: resumeState(turn, snapshot), pendingEvents: [] };
}
