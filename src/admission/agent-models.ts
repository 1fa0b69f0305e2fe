// Reads a saved agent from LibreChat with the caller's own token: its model and the agents it can hand off
// to, chain or spawn. LibreChat serves two views (api/server/routes/agents/v1.js): `GET /api/agents/:id/expanded`
// (EDIT permission) is the whole document, with `edges`, the deprecated `agent_ids` and `subagents`;
// `GET /api/agents/:id` (VIEW) is a basic view with `model` and `provider` but, in current LibreChat, without
// `edges` (controllers/agents/v1.js getAgentHandler). So the expanded view is asked first, the basic one when
// the caller may not edit; a basic answer without `edges` leaves the agent's links unknown.
//
// Answers are cached per caller and agent (never by agent id alone): LibreChat decides access per user, so
// one user's "no access" must not fail another's chat, and one user's answer (which a refusal would name)
// must not serve a user who may not see the agent. A found agent is kept up to `ttlMs` (60 s by default: the
// agent's author may change its model at any time); a 403/404 only 5 s; a failure is not kept at all.
import { LRUCache } from 'lru-cache';
import { createLibreChatGet, type LibreChatGetDeps } from './librechat-get.ts';

/** Who asks: the bearer LibreChat sees, and a stable key of its subject for the cache. */
export interface Caller {
  authorization: string;
  key: string;
}

export type AgentLookupResult =
  /** `links` is null when LibreChat's answer does not show them (the basic view). */
  | { kind: 'found'; model: string | undefined; links: string[] | null }
  /** 403 or 404: LibreChat does not run this agent for this caller. */
  | { kind: 'absent' }
  /** No usable answer (refused connection, timeout, 5xx, not JSON). */
  | { kind: 'unavailable' };

export type AgentLookup = (agentId: string, caller: Caller) => Promise<AgentLookupResult>;

export interface AgentLookupDeps extends LibreChatGetDeps {
  ttlMs?: number;
}

const MAX_ANSWER_BYTES = 1024 * 1024;
const ABSENT_TTL_MS = 5_000;

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function strings(value: unknown): string[] {
  const list = Array.isArray(value) ? value : [value];
  return list.filter((item): item is string => typeof item === 'string' && item.length > 0);
}

/**
 * The agents a document links to, as LibreChat's run collects them: every `from` and `to` of every edge
 * (packages/api createEdgeCollector takes both), the deprecated `agent_ids` chain, and the agents an enabled
 * `subagents` setting may spawn. Null when the document has no `edges` (a view that does not show them).
 */
export function linkedAgentIds(doc: Record<string, unknown>): string[] | null {
  if (!Array.isArray(doc.edges)) return null;
  const ids = new Set<string>();
  for (const edge of doc.edges) {
    if (!isRecord(edge)) continue;
    for (const id of [...strings(edge.from), ...strings(edge.to)]) ids.add(id);
  }
  for (const id of Array.isArray(doc.agent_ids) ? strings(doc.agent_ids) : []) ids.add(id);
  const subagents = doc.subagents;
  if (isRecord(subagents) && subagents.enabled === true && Array.isArray(subagents.agent_ids)) {
    for (const id of strings(subagents.agent_ids)) ids.add(id);
  }
  return [...ids];
}

export function createAgentLookup(deps: AgentLookupDeps): AgentLookup {
  const cache = new LRUCache<string, AgentLookupResult>({ max: 10_000, ttl: deps.ttlMs ?? 60_000 });
  const get = createLibreChatGet(deps, MAX_ANSWER_BYTES);

  function found(body: unknown): AgentLookupResult {
    if (!isRecord(body)) return { kind: 'unavailable' };
    return { kind: 'found', model: typeof body.model === 'string' ? body.model : undefined, links: linkedAgentIds(body) };
  }

  async function fetchAgent(agentId: string, authorization: string): Promise<AgentLookupResult> {
    const path = `/api/agents/${encodeURIComponent(agentId)}`;
    const expanded = await get(`${path}/expanded`, authorization);
    if (expanded?.status === 200) return found(expanded.body);
    const basic = await get(path, authorization);
    if (basic === undefined) return { kind: 'unavailable' };
    if (basic.status === 200) return found(basic.body);
    return basic.status === 401 || basic.status === 403 || basic.status === 404 ? { kind: 'absent' } : { kind: 'unavailable' };
  }

  return async function lookupAgent(agentId, caller) {
    const key = `${caller.key}\u0000${agentId}`;
    const cached = cache.get(key);
    if (cached !== undefined) return cached;
    const result = await fetchAgent(agentId, caller.authorization);
    if (result.kind === 'found') cache.set(key, result);
    else if (result.kind === 'absent') cache.set(key, result, { ttl: Math.min(ABSENT_TTL_MS, deps.ttlMs ?? ABSENT_TTL_MS) });
    return result;
  };
}
