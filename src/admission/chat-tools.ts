// The MCP servers and built-in tools a chat body asks for, which `workspace_config.enabled_mcps` must enable
// (DESIGN.md "The seed's other entitlements"). LibreChat builds an ephemeral agent's tools from
// `ephemeralAgent`: each server in `mcp`, and a built-in tool for each flag that is exactly `true`
// (packages/api/src/agents/load.ts, loadEphemeralAgent); `addedConvo` carries its own
// (packages/api/src/agents/added.ts); and a model spec adds its preset's `mcpServers` / `webSearch` /
// `executeCode` / `fileSearch`, which only LibreChat's config knows (see SpecToolsLookup).
import { GatewayError } from '../errors.ts';

type Body = Record<string, unknown>;

/** LibreChat's built-in tools, by the flag of `ephemeralAgent` that asks for each (also their names in enabled_mcps). */
export const BUILT_IN_TOOLS = ['web_search', 'execute_code', 'file_search'] as const;

/**
 * The tools a named model spec adds (its preset's MCP servers and the built-ins its flags turn on), or
 * undefined when the spec is unknown. INTEGRATION POINT: the spec presets live in LibreChat's config, which
 * the model-spec resolver (the `body-model` work) reads; until client-request.ts passes it in, a spec's own
 * tools are not checked at admission (only a stream check of tool calls would see them).
 */
export type SpecToolsLookup = (specName: string) => readonly string[] | undefined;

/**
 * Bounds on what one chat may ask for. Each name is matched through the entries that would admit it
 * (statement.ts entriesAdmitting: the name and each of its prefixes with `*`), whose total length grows with
 * the square of the name's: 32 names of at most 2,048 characters together keep that under 300 kB.
 */
export const MAX_CHAT_TOOLS = 32;
const MAX_TOOL_NAME_CHARS = 2_048;

/** LibreChat's reserved markers (`sys__all__sys`, `sys__clear__sys`, …) are never server names: it drops them. */
const RESERVED_MARKER = /^sys__.*__sys$/;

function isObject(value: unknown): value is Body {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function addName(names: Set<string>, candidate: string): void {
  if (candidate.length === 0 || RESERVED_MARKER.test(candidate)) return;
  // Same bounds as model names (chat-request.ts): storable in PostgreSQL text, and a bounded entry list.
  if (candidate.includes('\u0000') || candidate.length > 255) {
    throw new GatewayError('invalid_request', 'An MCP server name is not valid.');
  }
  names.add(candidate);
  if (names.size > MAX_CHAT_TOOLS) throw new GatewayError('invalid_request', `A chat may ask for at most ${MAX_CHAT_TOOLS} MCP servers and tools.`);
}

/** The servers and built-ins of one conversation object (the body itself, or body.addedConvo). */
function collectConversation(names: Set<string>, convo: Body, lookupSpecTools: SpecToolsLookup | undefined): void {
  const ephemeral = convo.ephemeralAgent;
  if (isObject(ephemeral)) {
    if (Array.isArray(ephemeral.mcp)) {
      for (const server of ephemeral.mcp) if (typeof server === 'string') addName(names, server);
    }
    for (const tool of BUILT_IN_TOOLS) if (ephemeral[tool] === true) addName(names, tool);
  }
  const spec = convo.spec;
  if (lookupSpecTools && typeof spec === 'string' && spec.length > 0) {
    for (const tool of lookupSpecTools(spec) ?? []) addName(names, tool);
  }
}

/**
 * Every MCP server and built-in tool the chat body asks for, each once, in the order first named. A saved
 * agent's own tools are not in the body (LibreChat does not show them to its users): only the stream can
 * show those (DESIGN.md "On the stream", the metering work).
 */
export function readChatTools(body: Body, lookupSpecTools?: SpecToolsLookup): string[] {
  const names = new Set<string>();
  collectConversation(names, body, lookupSpecTools);
  if (isObject(body.addedConvo)) collectConversation(names, body.addedConvo, lookupSpecTools);
  let total = 0;
  for (const name of names) total += name.length;
  if (total > MAX_TOOL_NAME_CHARS) throw new GatewayError('invalid_request', 'The MCP server names of this chat are too long.');
  return [...names];
}
