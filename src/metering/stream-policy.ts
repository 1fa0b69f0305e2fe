// Holds what actually runs to what the workspace enabled when it admitted the chat (DESIGN.md,
// Admission: "What actually runs is held too"; "The seed's other entitlements": on the stream). Reads
// LibreChat's frames as metering sees them and names the first thing the workspace does not enable:
// - an LLM call (`on_token_usage`) whose `usage_type` is absent (a primary call), `subagent` or
//   `sequential`, on a model not in `enabled_models`, for a chat admitted by model (an enabled agent id
//   enables whatever models that agent runs). LibreChat's helper calls (`summarization`, the labels) run
//   on models the operator configured, not ones the user chose: metered, never stopped.
// - a tool call (`on_run_step` with `tool_calls`) of an MCP server (`<tool>_mcp_<server>`) or a built-in
//   tool (`web_search`, `execute_code`, `file_search`) not in `enabled_mcps`, in every chat.
// A resume's `sync` frame carries the calls and steps made while the subscription was cut: checked too.
// The OpenAI-compatible routes show tool calls (chunks) but no per-call model: only tools are held there.
// Names are matched with the admission's one rule (src/admission/enabled-rule.ts).
import { isEnabledBy } from '../admission/enabled-rule.ts';

export interface PolicyViolation {
  code: 'model_not_enabled' | 'mcp_not_enabled';
  /** The call's model and provider, and its usage_type (null for a primary call). */
  model?: string;
  provider?: string | null;
  usageType?: string | null;
  /** The tool called, and its MCP server when it is one. */
  tool?: string;
  server?: string;
}

export interface PolicyInput {
  enabledModels: unknown;
  enabledMcps: unknown;
  admittedByAgentId: boolean;
}

type Json = Record<string, unknown>;

const HELD_USAGE_TYPES = new Set([undefined, 'subagent', 'sequential']);
const BUILT_IN_TOOLS = new Set(['web_search', 'execute_code', 'file_search']);
/** LibreChat's MCP tool-key delimiter (`Constants.mcp_delimiter`, librechat-data-provider). */
const MCP_DELIMITER = '_mcp_';
/** Frames that may carry a call's model or a tool call (quotes inside streamed text are escaped). */
const MAY_MATTER = /"(?:on_token_usage|on_run_step|on_run_step_completed|sync|tool_calls|function_call)"/;

function obj(value: unknown): Json | undefined {
  return value && typeof value === 'object' && !Array.isArray(value) ? (value as Json) : undefined;
}

/** LibreChat's normalisation of an MCP server name inside tool keys (packages/api/src/mcp/utils.ts). */
function normalizeServerName(name: string): string {
  if (/^[a-zA-Z0-9_.-]+$/.test(name)) return name;
  return name.replace(/[^a-zA-Z0-9_.-]/g, '_').replace(/^_+|_+$/g, '');
}

/**
 * `enabled_mcps` as tool keys spell servers: each entry as written and normalised (a prefix keeps its
 * `*` and only has its characters replaced), so `"My Server"` enables the key's `My_Server`.
 */
function serverEntries(enabledMcps: unknown): unknown {
  if (!Array.isArray(enabledMcps)) return enabledMcps;
  const entries: string[] = [];
  for (const entry of enabledMcps) {
    if (typeof entry !== 'string') continue;
    entries.push(entry);
    if (entry.endsWith('*')) entries.push(`${entry.slice(0, -1).replace(/[^a-zA-Z0-9_.-]/g, '_')}*`);
    else entries.push(normalizeServerName(entry));
  }
  return entries;
}

export function createStreamPolicy(input: PolicyInput) {
  const servers = serverEntries(input.enabledMcps);

  function checkCall(call: Json | undefined): PolicyViolation | undefined {
    if (!call || input.admittedByAgentId) return undefined;
    const usageType = typeof call.usage_type === 'string' ? call.usage_type : undefined;
    if (!HELD_USAGE_TYPES.has(usageType)) return undefined;
    const model = call.model;
    if (typeof model !== 'string' || model === '' || isEnabledBy(input.enabledModels, model)) return undefined;
    return { code: 'model_not_enabled', model, provider: typeof call.provider === 'string' ? call.provider : null, usageType: usageType ?? null };
  }

  /** A tool the workspace governs and does not enable, or undefined (other tools are not entitlements). */
  function checkTool(name: unknown): PolicyViolation | undefined {
    if (typeof name !== 'string' || name === '') return undefined;
    const at = name.lastIndexOf(MCP_DELIMITER);
    if (at > 0 && at + MCP_DELIMITER.length < name.length) {
      const server = name.slice(at + MCP_DELIMITER.length);
      return isEnabledBy(servers, server) ? undefined : { code: 'mcp_not_enabled', tool: name, server };
    }
    if (BUILT_IN_TOOLS.has(name) && !isEnabledBy(input.enabledMcps, name)) return { code: 'mcp_not_enabled', tool: name };
    return undefined;
  }

  function checkStep(step: Json | undefined): PolicyViolation | undefined {
    const calls = obj(step?.stepDetails)?.tool_calls;
    if (!Array.isArray(calls)) return undefined;
    for (const call of calls) {
      const found = checkTool(obj(call)?.name);
      if (found) return found;
    }
    return undefined;
  }

  function checkSync(frame: Json): PolicyViolation | undefined {
    const state = obj(frame.resumeState);
    for (const call of Array.isArray(state?.collectedUsage) ? state.collectedUsage : []) {
      const found = checkCall(obj(call));
      if (found) return found;
    }
    for (const step of Array.isArray(state?.runSteps) ? state.runSteps : []) {
      const found = checkStep(obj(step));
      if (found) return found;
    }
    return undefined;
  }

  /**
   * The OpenAI-compatible routes: a chat completion chunk's `choices[].delta.tool_calls[].function.name`
   * (LibreChat streams a tool call's name in its first chunk), and a responses event's function-call item.
   */
  function checkChunk(frame: Json): PolicyViolation | undefined {
    const item = obj(frame.item);
    if (item?.type === 'function_call') return checkTool(item.name);
    const choices = frame.choices;
    if (!Array.isArray(choices)) return undefined;
    for (const choice of choices) {
      const calls = obj(obj(choice)?.delta)?.tool_calls;
      if (!Array.isArray(calls)) continue;
      for (const call of calls) {
        const found = checkTool(obj(obj(call)?.function)?.name);
        if (found) return found;
      }
    }
    return undefined;
  }

  /** One SSE event's data; the first violation it shows, if any. */
  function inspect(data: string): PolicyViolation | undefined {
    if (!MAY_MATTER.test(data)) return undefined;
    let frame: Json | undefined;
    try {
      frame = obj(JSON.parse(data));
    } catch {
      return undefined;
    }
    if (!frame) return undefined;
    if (frame.sync === true) return checkSync(frame);
    const inner = obj(frame.data);
    if (frame.event === 'on_token_usage') return checkCall(inner);
    if (frame.event === 'on_run_step') return checkStep(inner);
    if (frame.event === 'on_run_step_completed') return checkTool(obj(obj(inner?.result)?.tool_call)?.name);
    return checkChunk(frame);
  }

  return { inspect };
}

export type StreamPolicy = ReturnType<typeof createStreamPolicy>;
