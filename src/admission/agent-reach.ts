// Every model a saved agent can run: its own, and transitively those of the agents it links to (hand-off
// and chain edges, the deprecated agent_ids, enabled subagents), the way LibreChat's run discovers them
// (api/server/services/Endpoints/agents/initialize.js: breadth-first over the edges; a linked agent the
// user cannot see, or that no longer exists, is skipped, not run). Each level is looked up concurrently.
//
// The walk is bounded: at most MAX_DEPTH links away from the agent and MAX_AGENTS agents in all. When it
// cannot see the whole graph (a bound is passed, LibreChat does not answer) the reach is incomplete and only
// the agent id itself can admit the chat.
//
// One exception, chosen for the users of shared agents: LibreChat shows an agent's links only to those who
// may edit it (the `/expanded` view); a user who may only view it gets the basic view, without `edges`. Such
// an agent is admitted on the models the gateway can see (its own), and whatever it hands off to is held on
// the stream, where every call names its model (metering/stream-policy.ts stops a call on a model the
// workspace does not enable). Refusing every view-only agent not enabled by id would make shared agents
// unusable for the workspaces that enable their model.
import type { AgentLookupResult } from './agent-models.ts';

export const MAX_DEPTH = 5;
export const MAX_AGENTS = 20;

export type IncompleteReason =
  | 'unknown_agent' // LibreChat does not run the agent for this caller (403/404)
  | 'lookup_failed' // LibreChat gave no usable answer for the agent or a linked one
  | 'unusable_model' // an agent names a model no workspace could enable (NUL, over 255 characters)
  | 'too_many_agents' // more than MAX_AGENTS agents linked
  | 'too_deep'; // links more than MAX_DEPTH hops away

export type AgentReach =
  | { complete: true; models: string[] }
  | { complete: false; reason: IncompleteReason };

/** NUL cannot be stored and 255 bounds a name (the width of the model column and of enabled names). */
export function isStorableName(candidate: string): boolean {
  return !candidate.includes('\u0000') && candidate.length <= 255;
}

function modelOf(result: AgentLookupResult & { kind: 'found' }): string | IncompleteReason {
  if (result.model === undefined || !isStorableName(result.model)) return 'unusable_model';
  return result.model;
}

export async function resolveAgentReach(agentId: string, lookup: (id: string) => Promise<AgentLookupResult>): Promise<AgentReach> {
  const seen = new Set([agentId]);
  const models: string[] = [];
  let level = [agentId];
  for (let depth = 0; level.length > 0; depth += 1) {
    const results = await Promise.all(level.map((id) => lookup(id)));
    const next: string[] = [];
    for (const [index, result] of results.entries()) {
      if (result.kind === 'unavailable') return { complete: false, reason: 'lookup_failed' };
      // LibreChat refuses a chat whose own agent the user cannot see, and skips such a linked agent.
      if (result.kind === 'absent') {
        if (depth === 0 && index === 0) return { complete: false, reason: 'unknown_agent' };
        continue;
      }
      const model = modelOf(result);
      if (model === 'unusable_model') return { complete: false, reason: model };
      if (!models.includes(model)) models.push(model);
      for (const linked of result.links ?? []) {
        if (seen.has(linked)) continue;
        seen.add(linked);
        next.push(linked);
      }
    }
    if (next.length > 0 && depth + 1 > MAX_DEPTH) return { complete: false, reason: 'too_deep' };
    if (seen.size > MAX_AGENTS) return { complete: false, reason: 'too_many_agents' };
    level = next;
  }
  return { complete: true, models };
}
