// The MCP servers and built-in tools a chat body asks for, which `workspace_config.enabled_mcps` must enable
// (DESIGN.md "The seed's other entitlements"). LibreChat builds an ephemeral agent's tools from
// `ephemeralAgent`: each server in `mcp`, and a built-in tool for each flag that is exactly `true`
// (packages/api/src/agents/load.ts, loadEphemeralAgent); `addedConvo` carries its own
// (packages/api/src/agents/added.ts); and a model spec adds its preset's `mcpServers` / `webSearch` /
// `executeCode` / `fileSearch`, which only LibreChat's config knows (see SpecToolsLookup).
import { GatewayError } from '../errors.ts';
import { findModelSpec, type ModelSpec, type ModelSpecs } from './model-specs.ts';

type Body = Record<string, unknown>;

/** LibreChat's built-in tools, by the flag of `ephemeralAgent` that asks for each (also their names in enabled_mcps). */
export const BUILT_IN_TOOLS = ['web_search', 'execute_code', 'file_search'] as const;

/**
 * The tools a named model spec adds (its `mcpServers` and the built-ins its `webSearch` / `fileSearch` /
 * `executeCode` flags turn on: TModelSpec in packages/data-provider/src/models.ts), or undefined when the
 * spec is unknown. The specs are LibreChat's config, read by model-specs.ts (see specToolsLookup).
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

/** The tools one spec adds, in enabled_mcps' names. */
function toolsOfSpec(spec: ModelSpec): string[] {
  const servers = Array.isArray(spec.mcpServers) ? spec.mcpServers.filter((server): server is string => typeof server === 'string') : [];
  const flags: [unknown, string][] = [[spec.webSearch, 'web_search'], [spec.fileSearch, 'file_search'], [spec.executeCode, 'execute_code']];
  return [...servers, ...flags.filter(([flag]) => flag === true).map(([, tool]) => tool)];
}

/**
 * The spec lookup for one chat body: LibreChat's model specs are read (through the caller's cached reader,
 * which the model check has usually just filled) only when the body or its addedConvo names a spec. A spec's
 * tools count whether or not LibreChat enforces specs: the client applies a chosen spec's tools either way.
 */
export async function specToolsLookup(body: Body, modelSpecs: () => Promise<ModelSpecs>): Promise<SpecToolsLookup | undefined> {
  const added = isObject(body.addedConvo) ? body.addedConvo : undefined;
  if (typeof body.spec !== 'string' && typeof added?.spec !== 'string') return undefined;
  const specs = await modelSpecs();
  return (specName) => {
    const spec = findModelSpec(specs, specName);
    return spec ? toolsOfSpec(spec) : undefined;
  };
}
