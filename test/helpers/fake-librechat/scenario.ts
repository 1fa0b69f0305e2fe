// Scenario: what one fake generation does (calls, text, timing, ending), its defaults, and the
// lenient parser for the `__fake` body field / control API so a malformed field never crashes the fake.

/** A tool the model calls during an LLM call (an MCP tool is `<tool>_mcp_<server>`). */
export interface ToolCallPlan {
  name: string;
  args?: string;
  output?: string;
}

/** One LLM call inside a generation; becomes one `on_token_usage` frame when it completes. */
export interface LlmCall {
  /** Empty in a scenario: the model the request names (or the saved agent's model, as it is now). */
  model: string;
  provider: string;
  input: number;
  output: number;
  cacheRead?: number;
  cacheWrite?: number;
  /** Absent for primary calls; e.g. `summarization`, `subagent`, `sequential`. */
  usageType?: string;
  /** Text chunks of this call; defaults to the scenario's `deltas`. */
  deltas?: string[];
  /** The call asks for tools instead of streaming text: a `tool_calls` run step, its argument deltas, the
   *  call's usage, then each tool's `on_run_step_completed` (LibreChat's order). */
  toolCalls?: ToolCallPlan[];
}

export type FinalCounts = 'metadata' | 'tokenCount' | 'none';
export type Ending = 'final' | 'error' | 'hang' | 'cut';

export interface Scenario {
  /** Non-200, or any `postBody`: the POST answers this status with `postBody` and creates no job. */
  postStatus: number;
  postBody?: unknown;
  /** Delay before the POST's response headers ("slow headers"). */
  postDelayMs: number;
  /** Delay between creating the job (replacing any on the conversation) and answering the POST. */
  answerDelayMs: number;
  /** LibreChat v0.8.8: the start answer carries generationCreatedAt, and a stream GET naming another
   *  generation of the conversation is refused with 409 GENERATION_REPLACED. */
  protocolV2: boolean;
  /** Destroy the POST's socket without any answer. */
  postDestroy: boolean;
  /** The first stream GET that is not a resume gets no response headers at all (its socket is left open). */
  silentFirstSubscription: boolean;
  /** Undefined: one call derived from the request (body.model, the endpoint, 812 in / 9 out). */
  calls?: LlmCall[];
  deltas: string[];
  frameIntervalMs: number;
  startDelayMs: number;
  /** false = LibreChat <= v0.8.6, which sends no `on_token_usage`. */
  emitTokenUsage: boolean;
  finalCounts: FinalCounts;
  ending: Ending;
  errorMessage: string;
  cutAfterFrames: number;
  keepCompletedMs: number;
  /** `responseMessage.promptTokens`; default: the first call's input. */
  promptTokens?: number;
  /** `requestMessage.tokenCount`; default: ceil(UTF-8 bytes of text / 4). */
  requestTokenCount?: number;
}

export const DEFAULT_DELTAS = ['Hello', ' from', ' the', ' fake', ' LibreChat.'];

export const BASE_SCENARIO: Scenario = {
  postStatus: 200,
  postDelayMs: 0,
  answerDelayMs: 0,
  protocolV2: false,
  postDestroy: false,
  silentFirstSubscription: false,
  deltas: DEFAULT_DELTAS,
  frameIntervalMs: 5,
  startDelayMs: 20,
  emitTokenUsage: true,
  finalCounts: 'metadata',
  ending: 'final',
  errorMessage: 'Fake LibreChat error',
  cutAfterFrames: 3,
  keepCompletedMs: 1000,
};

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function num(value: unknown): number | undefined {
  return typeof value === 'number' && Number.isFinite(value) && value >= 0 ? value : undefined;
}

function strings(value: unknown): string[] | undefined {
  return Array.isArray(value) && value.every((v) => typeof v === 'string') ? (value as string[]) : undefined;
}

function parseCall(value: unknown): LlmCall | undefined {
  if (!isRecord(value)) return undefined;
  const call: LlmCall = {
    model: typeof value.model === 'string' ? value.model : '',
    provider: typeof value.provider === 'string' ? value.provider : '',
    input: num(value.input) ?? 0,
    output: num(value.output) ?? 0,
  };
  const cacheRead = num(value.cacheRead);
  const cacheWrite = num(value.cacheWrite);
  const deltas = strings(value.deltas);
  if (cacheRead !== undefined) call.cacheRead = cacheRead;
  if (cacheWrite !== undefined) call.cacheWrite = cacheWrite;
  if (typeof value.usageType === 'string') call.usageType = value.usageType;
  if (deltas) call.deltas = deltas;
  if (Array.isArray(value.toolCalls)) {
    call.toolCalls = value.toolCalls.filter(isRecord).filter((t) => typeof t.name === 'string').map((t) => ({
      name: t.name as string,
      ...(typeof t.args === 'string' ? { args: t.args } : {}),
      ...(typeof t.output === 'string' ? { output: t.output } : {}),
    }));
  }
  return call;
}

const ENDINGS: readonly string[] = ['final', 'error', 'hang', 'cut'];
const FINAL_COUNTS: readonly string[] = ['metadata', 'tokenCount', 'none'];

/** Keeps only well-typed known fields; anything else is ignored. */
export function parseScenario(value: unknown): Partial<Scenario> {
  if (!isRecord(value)) return {};
  const out: Partial<Scenario> = {};
  const numbers = [
    'postStatus', 'postDelayMs', 'answerDelayMs', 'frameIntervalMs', 'startDelayMs', 'cutAfterFrames', 'keepCompletedMs',
    'promptTokens', 'requestTokenCount',
  ] as const;
  for (const key of numbers) {
    const n = num(value[key]);
    if (n !== undefined) out[key] = n;
  }
  if ('postBody' in value) out.postBody = value.postBody;
  if (typeof value.postDestroy === 'boolean') out.postDestroy = value.postDestroy;
  if (typeof value.silentFirstSubscription === 'boolean') out.silentFirstSubscription = value.silentFirstSubscription;
  if (typeof value.protocolV2 === 'boolean') out.protocolV2 = value.protocolV2;
  if (typeof value.emitTokenUsage === 'boolean') out.emitTokenUsage = value.emitTokenUsage;
  if (typeof value.errorMessage === 'string') out.errorMessage = value.errorMessage;
  if (typeof value.ending === 'string' && ENDINGS.includes(value.ending)) out.ending = value.ending as Ending;
  if (typeof value.finalCounts === 'string' && FINAL_COUNTS.includes(value.finalCounts)) {
    out.finalCounts = value.finalCounts as FinalCounts;
  }
  const deltas = strings(value.deltas);
  if (deltas) out.deltas = deltas;
  if (Array.isArray(value.calls)) {
    out.calls = value.calls.map(parseCall).filter((c): c is LlmCall => c !== undefined);
  }
  return out;
}

/** Server defaults, then the request's `__fake` overrides. */
export function resolveScenario(defaults: Partial<Scenario>, body: unknown): Scenario {
  const override = isRecord(body) ? parseScenario(body.__fake) : {};
  return { ...BASE_SCENARIO, ...defaults, ...override };
}

/** The calls a request makes: the scenario's (a call naming no model runs the request's), or one derived from it. */
export function callsFor(scenario: Scenario, fallback: { model: string; provider: string }): LlmCall[] {
  if (!scenario.calls) return [{ model: fallback.model, provider: fallback.provider, input: 812, output: 9 }];
  return scenario.calls.map((call) => ({
    ...call,
    model: call.model || fallback.model,
    provider: call.provider || (call.model ? 'openAI' : fallback.provider),
  }));
}
