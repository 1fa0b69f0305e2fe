// What admission asks LibreChat about a chat body, bound to one caller: the reach of a saved agent
// (agent-models.ts, agent-reach.ts) and the model specs of its startup config (model-specs.ts). Built once per
// process; both caches live here and are keyed by caller.
import type http from 'node:http';
import { createAgentLookup, type AgentLookup, type Caller } from './agent-models.ts';
import { resolveAgentReach } from './agent-reach.ts';
import { createModelSpecsReader, type ModelSpecsReader } from './model-specs.ts';
import type { ChatLookups } from './run-plan.ts';

export interface ChatLookupsDeps {
  target: URL;
  agent: http.Agent;
}

export interface ChatLookupSources {
  lookupAgent: AgentLookup;
  readModelSpecs: ModelSpecsReader;
  /** The lookups one chat body needs, with the caller's token. */
  forCaller(caller: Caller): ChatLookups;
}

export function createChatLookups(deps: ChatLookupsDeps): ChatLookupSources {
  const lookupAgent = createAgentLookup({ target: deps.target, agent: deps.agent });
  const readModelSpecs = createModelSpecsReader({ target: deps.target, agent: deps.agent });
  return {
    lookupAgent,
    readModelSpecs,
    forCaller: (caller) => ({
      agentReach: (agentId) => resolveAgentReach(agentId, (id) => lookupAgent(id, caller)),
      modelSpecs: () => readModelSpecs(caller),
    }),
  };
}
