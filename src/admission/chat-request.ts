// Reads what admission needs from a chat body: the model slots of what LibreChat will run (run-plan.ts), the
// prompt text the hold is sized from, and the body's own output cap. DESIGN.md "Admission" says where each
// lives per endpoint. Numbers are bounded here, before they can reach SQL: the hold's columns are PostgreSQL
// `integer`, so a cap must be a whole number from 0 to 2^31-1 (400 invalid_request otherwise).
import { GatewayError } from '../errors.ts';
import { isStorableName } from './agent-reach.ts';
import { addedPlan, agentPlan, name, primaryPlan, type ChatLookups, type ModelSlot, type RunPlan } from './run-plan.ts';

export type { ChatLookups, ModelSlot } from './run-plan.ts';
type Body = Record<string, unknown>;

export interface ChatRequestFacts {
  /** The endpoint LibreChat reads (`body.endpoint`; the URL segment only when the body names none). */
  endpoint: string;
  slots: ModelSlot[];
  /** What runs (agent id or model; the added conversation's after a `+`), for chat_usage.model and audit details. */
  model: string;
  promptText: string;
  bodyOutputCap: number | null;
  /** The conversation the body continues (null for a new one: LibreChat mints its id). */
  conversationId: string | null;
  /** The saved agents the chat runs (an agent whose id is enabled runs any model: stream policy). */
  agentIds: string[];
  /** Why a name a refusal may give stands alone (an agent whose models could not all be checked). */
  refusalNotes: Record<string, string>;
}

/** The largest value of a PostgreSQL `integer`, the type of every token counter. */
export const MAX_TOKENS = 2_147_483_647;
const OUTPUT_CAP_FIELDS = ['max_tokens', 'maxOutputTokens', 'max_completion_tokens', 'max_output_tokens'] as const;
/** How deep the OpenAI routes' message content is searched for text (a deeper body is not a real chat). */
const MAX_CONTENT_DEPTH = 16;

function text(value: unknown): string | undefined {
  return typeof value === 'string' && value.length > 0 ? value : undefined;
}

/**
 * The first output cap a body sets. A number must be a whole number in 0..2^31-1 (JSON's 1e19, 1e400 =
 * Infinity, -5 and 2.5 are 400s: no provider takes them, and they would break the hold's arithmetic); 0 and
 * null set none. Other types are not caps LibreChat passes on, and are left out as before.
 */
export function outputCap(settings: Body, strict: boolean): number | null {
  for (const field of OUTPUT_CAP_FIELDS) {
    const value = settings[field];
    if (typeof value !== 'number') continue;
    if (!Number.isInteger(value) || value < 0 || value > MAX_TOKENS) {
      if (!strict) continue;
      throw new GatewayError('invalid_request', `${field} must be a whole number from 0 to ${MAX_TOKENS}.`, { field });
    }
    if (value > 0) return value;
  }
  return null;
}

function openAiPromptText(body: Body): string {
  const parts: string[] = [];
  const collect = (value: unknown, depth: number) => {
    if (depth > MAX_CONTENT_DEPTH) return;
    if (typeof value === 'string') parts.push(value);
    else if (Array.isArray(value)) for (const item of value) collect(item, depth + 1);
    else if (value && typeof value === 'object') {
      const record = value as Body;
      collect(record.content ?? record.text, depth + 1);
    }
  };
  collect(body.messages, 0);
  collect(body.input, 0);
  return parts.join('\n');
}

async function plansFor(
  routeKind: 'chat_start' | 'assistants_chat' | 'openai_chat', endpoint: string, body: Body, lookups: ChatLookups,
): Promise<RunPlan[]> {
  if (routeKind === 'openai_chat') {
    // On LibreChat's OpenAI-compatible routes `model` is a saved agent's id.
    const agentId = name(body.model);
    if (agentId === undefined) throw new GatewayError('model_required');
    return [await agentPlan(agentId, lookups)];
  }
  if (routeKind === 'assistants_chat') {
    const model = name(body.model);
    if (model === undefined) throw new GatewayError('model_required');
    return [{ label: model, slots: [[model]], agentIds: [], notes: {} }];
  }
  const added = body.addedConvo;
  const hasAdded = typeof added === 'object' && added !== null && !Array.isArray(added);
  // Both conversations' lookups go out at once.
  return Promise.all([primaryPlan(body, endpoint, lookups), ...(hasAdded ? [addedPlan(added as Body, lookups)] : [])]);
}

function uniqueSlots(plans: RunPlan[]): ModelSlot[] {
  const seen = new Set<string>();
  return plans.flatMap((plan) => plan.slots).filter((slot) => {
    const key = JSON.stringify(slot);
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

export async function readChatRequest(
  routeKind: 'chat_start' | 'assistants_chat' | 'openai_chat',
  routeEndpoint: string | undefined,
  body: Body,
  lookups: ChatLookups,
): Promise<ChatRequestFacts> {
  // LibreChat reads the endpoint from the body. A body without one is refused by LibreChat ("undefined
  // endpoint" in parseCompactConvo), so nothing runs; it is checked as its URL names it.
  // A URL segment no endpoint could have (NUL, over 255 characters) is refused even when the body names one.
  if (routeEndpoint !== undefined && !isStorableName(routeEndpoint)) throw new GatewayError('invalid_request', 'The endpoint name is not valid.');
  const endpoint = routeKind === 'chat_start' ? (name(body.endpoint) ?? routeEndpoint ?? 'agents') : (routeEndpoint ?? '');
  const bodyCap = outputCap(body, true);
  const plans = await plansFor(routeKind, endpoint, body, lookups);
  const preset = plans[0]?.enforcedPreset;
  return {
    endpoint,
    slots: uniqueSlots(plans),
    model: plans.map((plan) => plan.label).join('+').slice(0, 255),
    promptText: routeKind === 'openai_chat' ? openAiPromptText(body) : (text(body.text) ?? ''),
    conversationId: continuedConversation(body),
    agentIds: plans.flatMap((plan) => plan.agentIds),
    // An enforced spec's preset replaces the body's settings, its output cap among them.
    bodyOutputCap: preset ? outputCap(preset, false) : bodyCap,
    refusalNotes: Object.assign({}, ...plans.map((plan) => plan.notes)) as Record<string, string>,
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

/** The text part of a hold: a byte-based upper estimate of the prompt's tokens (4 bytes a token), within an `integer`. */
export function promptHoldTokens(promptText: string): number {
  return Math.min(MAX_TOKENS, Math.ceil(Buffer.byteLength(promptText, 'utf8') / 4));
}
