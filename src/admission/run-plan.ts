// What LibreChat will run for one conversation object of a chat body (the body itself, or body.addedConvo),
// decided as LibreChat decides it, and the model slots admission checks for it. A slot lists alternatives,
// one of which must be enabled; the last one is the name a refusal gives when none is.
//
// LibreChat's rules (all paths in its repo):
// - The body's own conversation runs a saved agent only when `body.endpoint` is exactly `agents`
//   (isAgentsEndpoint) and `agent_id` is a saved agent id (`agent_…`, isEphemeralAgentId): buildOptions in
//   api/server/services/Endpoints/agents/build.js passes `isAgentsEndpoint(endpoint) ? agent_id : EPHEMERAL`,
//   and canAccessAgentFromBody does the same. Otherwise it is an ephemeral agent running `body.model`
//   (packages/api/src/agents/load.ts loadEphemeralAgent). The URL segment plays no part.
// - addedConvo runs the saved agent `addedConvo.agent_id` whenever that is a saved agent id, whatever its
//   endpoint, else `addedConvo.model` (packages/api/src/agents/added.ts loadAddedAgent).
// - With `modelSpecs.enforce`, a conversation that is not a saved agent runs the named spec's preset; a missing
//   or unknown spec, or one whose preset endpoint is not the body's, is refused (buildEndpointOption.js).
// - A saved agent runs its own model and those of the agents its edges, agent_ids and subagents reach
//   (agent-reach.ts): its id enabled admits it, or else every one of those models must be enabled. By
//   distribution, "id OR (m1 AND m2 ...)" is the slots [id, m1], [id, m2], ...
import { GatewayError } from '../errors.ts';
import { MAX_AGENTS, MAX_DEPTH, isStorableName, type AgentReach, type IncompleteReason } from './agent-reach.ts';
import { findModelSpec, type ModelSpec, type ModelSpecs } from './model-specs.ts';

export type ModelSlot = string[];
type Body = Record<string, unknown>;

/** The lookups a plan may need, already bound to the caller. */
export interface ChatLookups {
  agentReach(agentId: string): Promise<AgentReach>;
  modelSpecs(): Promise<ModelSpecs>;
}

export interface RunPlan {
  /** What runs, for chat_usage.model and the audit rows: the agent id or the model. */
  label: string;
  slots: ModelSlot[];
  /** The saved agents it runs by id (an enabled one admits any model: the stream policy stops none of its calls). */
  agentIds: string[];
  /** Why a name stands alone in its slot (an agent whose models could not all be seen), for the refusal. */
  notes: Record<string, string>;
  /** The enforced spec's preset, whose settings (the output cap among them) replace the body's. */
  enforcedPreset?: Record<string, unknown>;
}

const INCOMPLETE: Record<IncompleteReason, string> = {
  unknown_agent: 'LibreChat does not show this agent to you',
  lookup_failed: 'LibreChat did not answer the lookup of this agent or of an agent it links to',
  unusable_model: 'it names a model no workspace can enable',
  too_many_agents: `it links to more than ${MAX_AGENTS} agents`,
  too_deep: `it links to agents more than ${MAX_DEPTH} hand-offs away`,
};

function text(value: unknown): string | undefined {
  return typeof value === 'string' && value.length > 0 ? value : undefined;
}

/** A model/agent/spec/endpoint name from the body as it may reach SQL. */
export function name(value: unknown): string | undefined {
  const candidate = text(value);
  if (candidate === undefined) return undefined;
  if (!isStorableName(candidate)) throw new GatewayError('invalid_request', 'A model, agent, spec or endpoint name is not valid.');
  return candidate;
}

/** LibreChat's isEphemeralAgentId, negated: saved agents' ids always start with `agent_`. */
export function isSavedAgentId(id: string | undefined): id is string {
  return id !== undefined && id.startsWith('agent_');
}

export async function agentPlan(agentId: string, lookups: ChatLookups): Promise<RunPlan> {
  const reach = await lookups.agentReach(agentId);
  if (!reach.complete) return { label: agentId, slots: [[agentId]], agentIds: [agentId], notes: { [agentId]: INCOMPLETE[reach.reason] } };
  const slots = reach.models.filter((model) => model !== agentId).map((model) => [agentId, model]);
  return { label: agentId, slots: slots.length > 0 ? slots : [[agentId]], agentIds: [agentId], notes: {} };
}

function modelPlan(model: string): RunPlan {
  return { label: model, slots: [[model]], agentIds: [], notes: {} };
}

function merge(first: RunPlan, second: RunPlan): RunPlan {
  return {
    ...first, slots: [...first.slots, ...second.slots], agentIds: [...first.agentIds, ...second.agentIds], notes: { ...second.notes, ...first.notes },
  };
}

/** The enforced spec a conversation names, or a 400 where LibreChat would refuse the chat. */
function enforcedSpec(specs: ModelSpecs, specName: string | undefined, endpoint: string | undefined): ModelSpec {
  const spec = specName === undefined ? undefined : findModelSpec(specs, specName);
  if (!spec) {
    throw new GatewayError('invalid_request', specName === undefined
      ? 'LibreChat enforces model specs: choose one.'
      : `LibreChat enforces model specs and has none named "${specName}".`);
  }
  if (spec.preset.endpoint !== endpoint) {
    throw new GatewayError('invalid_request', `The model spec "${spec.name}" is not for the endpoint "${endpoint ?? ''}".`);
  }
  return spec;
}

/** What an enforced spec's preset runs: its saved agent, or its model. */
async function presetPlan(spec: ModelSpec, lookups: ChatLookups): Promise<RunPlan> {
  const preset = spec.preset;
  const agentId = text(preset.agent_id);
  if (preset.endpoint === 'agents' && isSavedAgentId(agentId) && isStorableName(agentId)) {
    return { ...(await agentPlan(agentId, lookups)), enforcedPreset: preset };
  }
  const model = text(preset.model);
  if (model === undefined || !isStorableName(model)) {
    throw new GatewayError('invalid_request', `The model spec "${spec.name}" names no model the gateway can check.`);
  }
  return { ...modelPlan(model), enforcedPreset: preset };
}

/**
 * A saved agent under enforced specs: current LibreChat runs it (when it matches some spec); releases before
 * that exception ran the named spec's preset agent instead. Both are checked.
 */
async function enforcedSavedAgentPlan(agentId: string, spec: ModelSpec | undefined, lookups: ChatLookups): Promise<RunPlan> {
  const presetAgent = text(spec?.preset.agent_id);
  const runsOther = spec?.preset.endpoint === 'agents' && isSavedAgentId(presetAgent) && presetAgent !== agentId && isStorableName(presetAgent);
  if (!runsOther) return agentPlan(agentId, lookups);
  const [own, preset] = await Promise.all([agentPlan(agentId, lookups), agentPlan(presetAgent, lookups)]);
  return merge(own, preset);
}

/** The body's own conversation on a chat start, `endpoint` being the one LibreChat reads (chat-request.ts). */
export async function primaryPlan(body: Body, endpoint: string, lookups: ChatLookups): Promise<RunPlan> {
  const agentId = name(body.agent_id);
  const savedAgent = endpoint === 'agents' && isSavedAgentId(agentId) ? agentId : undefined;
  const specName = name(body.spec);
  if (specName !== undefined) {
    const specs = await lookups.modelSpecs();
    if (specs.enforce && savedAgent !== undefined) return enforcedSavedAgentPlan(savedAgent, findModelSpec(specs, specName), lookups);
    if (specs.enforce) return presetPlan(enforcedSpec(specs, specName, endpoint), lookups);
  }
  if (savedAgent !== undefined) return agentPlan(savedAgent, lookups);
  const model = name(body.model);
  if (model !== undefined) return modelPlan(model);
  if (specName !== undefined) return modelPlan(specName);
  throw new GatewayError('model_required', endpoint === 'agents' ? 'The request names no saved agent (agent_id) and no model.' : undefined);
}

/** body.addedConvo, the conversation run beside the body's own. */
export async function addedPlan(added: Body, lookups: ChatLookups): Promise<RunPlan> {
  const agentId = name(added.agent_id);
  if (isSavedAgentId(agentId)) return agentPlan(agentId, lookups);
  const model = name(added.model);
  const specName = name(added.spec);
  if (specName !== undefined) {
    const specs = await lookups.modelSpecs();
    if (specs.enforce) {
      const preset = await presetPlan(enforcedSpec(specs, specName, name(added.endpoint)), lookups);
      // Releases that did not enforce specs on addedConvo ran its own model: that one is checked too.
      return model !== undefined && model !== preset.label ? merge(preset, modelPlan(model)) : preset;
    }
  }
  if (model !== undefined) return modelPlan(model);
  if (specName !== undefined) return modelPlan(specName);
  throw new GatewayError('model_required', 'addedConvo does not name a model.');
}
