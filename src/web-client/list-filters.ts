// Filters LibreChat's list answers to what a workspace enables, by the admission's own rule (isEnabledBy), and
// keeps everything else in each body as LibreChat sent it. Shapes, from LibreChat's routes and client:
// - GET /api/models: `{[endpoint]: string[]}` (api/server/controllers/ModelController.js).
// - GET /api/endpoints: `{[endpoint]: {order, type?, ...}}`; an endpoint whose models all went is dropped.
// - GET /api/agents: `{object: 'list', data: [agent], first_id, last_id, has_more, after}`
//   (api/server/controllers/agents/v1.js getListAgentsHandler); an agent stays when its id or model is enabled.
// - GET /api/config: `modelSpecs.list[]`; a spec stays when its preset's model or agent is enabled.
// - GET /api/mcp/tools `{servers: {[name]: …}}`, /api/mcp/servers `{[name]: …}`, /api/mcp/connection/status
//   `{success, connectionStatus: {[name]: …}}` (api/server/routes/mcp.js): only enabled servers stay.
import { isEnabledBy } from '../admission/enabled-rule.ts';
import type { ListRoute } from './list-routes.ts';

export interface Entitlements {
  enabledModels: unknown;
  enabledMcps: unknown;
}

type Json = Record<string, unknown>;

function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** A name the admission could ever admit (chat-request.ts bounds names to 255 characters). */
function enabled(list: unknown, name: unknown): boolean {
  return typeof name === 'string' && name.length <= 255 && isEnabledBy(list, name);
}

function keepKeys(value: unknown, keep: (key: string) => boolean): unknown {
  if (!isObject(value)) return value;
  return Object.fromEntries(Object.entries(value).filter(([key]) => keep(key)));
}

function filterModels(body: Json, rights: Entitlements): Json {
  const out: Json = {};
  for (const [endpoint, models] of Object.entries(body)) {
    out[endpoint] = Array.isArray(models) ? models.filter((model) => enabled(rights.enabledModels, model)) : models;
  }
  return out;
}

/** Drops an endpoint that offered models of which none is enabled; endpoints with no model list stay. */
function filterEndpoints(body: Json, rights: Entitlements, upstreamModels: Json | undefined): Json {
  if (!upstreamModels) return body;
  return keepKeys(body, (endpoint) => {
    const models = upstreamModels[endpoint];
    return !Array.isArray(models) || models.length === 0 || models.some((model) => enabled(rights.enabledModels, model));
  }) as Json;
}

function filterAgents(body: Json, rights: Entitlements): Json {
  if (!Array.isArray(body.data)) return body;
  const data = body.data.filter((agent) => isObject(agent) && (enabled(rights.enabledModels, agent.id) || enabled(rights.enabledModels, agent.model)));
  return { ...body, data };
}

function filterConfig(body: Json, rights: Entitlements): Json {
  const specs = body.modelSpecs;
  if (!isObject(specs) || !Array.isArray(specs.list)) return body;
  const list = specs.list.filter((spec) => {
    const preset = isObject(spec) && isObject(spec.preset) ? spec.preset : {};
    return enabled(rights.enabledModels, preset.model) || enabled(rights.enabledModels, preset.agent_id);
  });
  return { ...body, modelSpecs: { ...specs, list } };
}

export function filterList(route: ListRoute, body: unknown, rights: Entitlements, upstreamModels?: Json): unknown {
  if (!isObject(body)) return body;
  const mcp = (name: string) => enabled(rights.enabledMcps, name);
  switch (route) {
    case 'models': return filterModels(body, rights);
    case 'endpoints': return filterEndpoints(body, rights, upstreamModels);
    case 'agents': return filterAgents(body, rights);
    case 'config': return filterConfig(body, rights);
    case 'mcp_tools': return 'servers' in body ? { ...body, servers: keepKeys(body.servers, mcp) } : body;
    case 'mcp_servers': return keepKeys(body, mcp);
    case 'mcp_status': return 'connectionStatus' in body ? { ...body, connectionStatus: keepKeys(body.connectionStatus, mcp) } : body;
  }
}
