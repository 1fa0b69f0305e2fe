// Reads what admission needs from a chat body: the models it names (as slots: each slot must have one
// enabled alternative, e.g. a saved agent's id OR its model), the prompt text the hold is sized from,
// and the body's own output cap. DESIGN.md "Admission" says where each lives per endpoint.
import { GatewayError } from '../errors.ts';

export type ModelSlot = string[];
type Body = Record<string, unknown>;

export interface AgentModelLookup {
  (agentId: string): Promise<string | undefined>;
}

export interface ChatRequestFacts {
  endpoint: string;
  slots: ModelSlot[];
  /** The model named first, for chat_usage.model and audit details. */
  model: string;
  promptText: string;
  bodyOutputCap: number | null;
  /** The conversation the body continues (null for a new one: LibreChat mints its id). */
  conversationId: string | null;
  /** The saved agents the chat runs (an agent whose id is enabled runs any model: stream policy). */
  agentIds: string[];
}

function text(value: unknown): string | undefined {
  return typeof value === 'string' && value.length > 0 ? value : undefined;
}

/** NUL cannot be stored, and 255 bounds a name: the model column's width, and the entries a model is matched against. */
function isStorableName(candidate: string): boolean {
  return !candidate.includes('\u0000') && candidate.length <= 255;
}

/** A model/agent/spec name from the body as it may reach SQL. */
function name(value: unknown): string | undefined {
  const candidate = text(value);
  if (candidate === undefined) return undefined;
  if (!isStorableName(candidate)) throw new GatewayError('invalid_request', 'A model name is not valid.');
  return candidate;
}

function positiveInteger(value: unknown): number | null {
  return typeof value === 'number' && Number.isFinite(value) && value > 0 ? Math.ceil(value) : null;
}

async function agentSlot(agentId: string, lookupAgentModel: AgentModelLookup, agentIds: string[]): Promise<ModelSlot> {
  agentIds.push(agentId);
  const model = await lookupAgentModel(agentId);
  // LibreChat's answer is not the caller's fault: a model name no workspace could enable is left out, and
  // the agent id alone decides.
  return model && model !== agentId && isStorableName(model) ? [agentId, model] : [agentId];
}

/** The slot of one conversation object (the body itself, or body.addedConvo). */
async function conversationSlot(convo: Body, endpoint: string | undefined, lookup: AgentModelLookup, agentIds: string[]): Promise<ModelSlot | undefined> {
  const agentId = name(convo.agent_id);
  if (endpoint?.toLowerCase() === 'agents' && agentId) return agentSlot(agentId, lookup, agentIds);
  const model = name(convo.model);
  if (model) return [model];
  const spec = name(convo.spec);
  if (spec) return [spec];
  if (agentId && !agentId.startsWith('ephemeral')) return agentSlot(agentId, lookup, agentIds);
  return undefined;
}

function openAiPromptText(body: Body): string {
  const parts: string[] = [];
  const collect = (value: unknown) => {
    if (typeof value === 'string') parts.push(value);
    else if (Array.isArray(value)) for (const item of value) collect(item);
    else if (value && typeof value === 'object') {
      const record = value as Body;
      collect(record.content ?? record.text);
    }
  };
  collect(body.messages);
  collect(body.input);
  return parts.join('\n');
}

export async function readChatRequest(
  routeKind: 'chat_start' | 'assistants_chat' | 'openai_chat',
  routeEndpoint: string | undefined,
  body: Body,
  lookupAgentModel: AgentModelLookup,
): Promise<ChatRequestFacts> {
  const endpoint = routeKind === 'chat_start' ? (routeEndpoint ?? name(body.endpoint) ?? 'agents') : (routeEndpoint ?? '');
  let primary: ModelSlot | undefined;
  const agentIds: string[] = [];
  if (routeKind === 'openai_chat') {
    // On LibreChat's OpenAI-compatible routes `model` is an agent id.
    const agentId = name(body.model);
    primary = agentId ? await agentSlot(agentId, lookupAgentModel, agentIds) : undefined;
  } else if (routeKind === 'assistants_chat') {
    const model = name(body.model);
    primary = model ? [model] : undefined;
  } else {
    primary = await conversationSlot(body, endpoint, lookupAgentModel, agentIds);
  }
  if (!primary) throw new GatewayError('model_required');
  if (endpoint.includes('\u0000') || endpoint.length > 255) throw new GatewayError('invalid_request', 'The endpoint name is not valid.');
  const slots = [primary];
  const added = body.addedConvo;
  if (added && typeof added === 'object' && !Array.isArray(added)) {
    const addedBody = added as Body;
    const addedSlot = await conversationSlot(addedBody, name(addedBody.endpoint) ?? endpoint, lookupAgentModel, agentIds);
    if (!addedSlot) throw new GatewayError('model_required', 'addedConvo does not name a model.');
    slots.push(addedSlot);
  }
  return {
    endpoint,
    slots,
    model: slots.map((slot) => slot[0]).join('+').slice(0, 255),
    promptText: routeKind === 'openai_chat' ? openAiPromptText(body) : (text(body.text) ?? ''),
    conversationId: continuedConversation(body),
    agentIds,
    bodyOutputCap:
      positiveInteger(body.max_tokens) ?? positiveInteger(body.maxOutputTokens) ??
      positiveInteger(body.max_completion_tokens) ?? positiveInteger(body.max_output_tokens),
  };
}

function continuedConversation(body: Body): string | null {
  const id = text(body.conversationId) ?? text(body.conversation_id);
  return id && id !== 'new' && isStorableName(id) ? id : null;
}

/** The conversation a resume/steer body names, or null when it names none or is not a JSON object. */
export function conversationNamedIn(raw: Buffer): string | null {
  try {
    const value: unknown = JSON.parse(raw.toString('utf8'));
    return typeof value === 'object' && value !== null && !Array.isArray(value) ? continuedConversation(value as Body) : null;
  } catch {
    return null;
  }
}

/** The text part of a hold: a byte-based upper estimate of the prompt's tokens (4 bytes a token). */
export function promptHoldTokens(promptText: string): number {
  return Math.ceil(Buffer.byteLength(promptText, 'utf8') / 4);
}
