// Accumulates one generation's token usage from LibreChat's SSE events and picks the best source, in
// DESIGN.md's order: on_token_usage events (deduplicated on runId+seq; a resume `sync` frame's
// collectedUsage is cumulative and replaces them), then final.responseMessage.metadata.usage, then
// LibreChat's tokenCount/promptTokens, then an estimate with a real tokenizer. The OpenAI-compatible
// routes' final `usage` chunk (chat completions and responses) is read here too.
import { createRequire } from 'node:module';

// The tokenizer's tables cost ~65 MB of memory; most generations never need them (LibreChat reports
// usage), so they are loaded on the first estimate only.
let tokenizer: ((text: string) => number) | undefined;
function countTokens(text: string): number {
  if (text === '') return 0;
  tokenizer ??= (createRequire(import.meta.url)('gpt-tokenizer') as { countTokens: (text: string) => number }).countTokens;
  return tokenizer(text);
}

export type UsageSource = 'on_token_usage' | 'final_metadata' | 'token_count' | 'openai_usage' | 'estimate' | 'not_taken';
export type Ending = 'completed' | 'aborted' | 'error';

export interface ModelUsage {
  prompt_tokens: number;
  completion_tokens: number;
  total_tokens: number;
  cache_read_tokens: number;
  cache_write_tokens: number;
  calls: number;
}

export interface UsageResult {
  promptTokens: number;
  completionTokens: number;
  totalTokens: number;
  source: UsageSource;
  perModel: Record<string, ModelUsage>;
}

interface Call {
  model: string;
  input: number;
  output: number;
  cacheRead: number;
  cacheWrite: number;
}

type Json = Record<string, unknown>;

const MAX_ESTIMATE_CHARS = 4 * 1024 * 1024;
/** Frames that may carry usage or the ending (quotes inside streamed text are escaped, so never match). */
const MAY_CARRY_USAGE = /"(?:on_token_usage|final|sync|usage)"/;
const IS_DELTA = /"(?:on_message_delta|delta)"/;

function num(value: unknown): number {
  return typeof value === 'number' && Number.isFinite(value) && value > 0 ? Math.round(value) : 0;
}

function obj(value: unknown): Json | undefined {
  return value && typeof value === 'object' && !Array.isArray(value) ? (value as Json) : undefined;
}

/**
 * A model name as the usage is recorded under it (the settlement's per-model details, metric labels): jsonb
 * holds no NUL, and a name LibreChat reports past 255 characters is cut, so calls whose names then meet are
 * summed. Without it such a settlement failed in PostgreSQL and was retried for ever.
 */
function recordedModel(name: string): string {
  return name.length <= 255 && !name.includes('\u0000') ? name : name.replaceAll('\u0000', '').slice(0, 255);
}

function callFrom(data: Json, fallbackModel: string): Call {
  const details = obj(data.input_token_details);
  const reported = typeof data.model === 'string' ? recordedModel(data.model) : '';
  return {
    model: reported || fallbackModel,
    input: num(data.input_tokens),
    output: num(data.output_tokens),
    cacheRead: num(details?.cache_read),
    cacheWrite: num(details?.cache_creation),
  };
}

export class UsageTally {
  private readonly calls = new Map<string, Call>();
  private readonly deltaFrames: string[] = [];
  private deltaChars = 0;
  private finalMetadata: { input: number; output: number } | undefined;
  private tokenCounts: { prompt: number | undefined; completion: number | undefined } | undefined;
  private openAiUsage: { prompt: number; completion: number } | undefined;
  ending: Ending | undefined;
  conversationId: string | undefined;
  /** LibreChat called a model for this generation, so even with no usage reported the prompt was paid for. */
  private modelCalled = false;

  constructor(private readonly model: string, private readonly promptText: string) {}

  /** Feeds one SSE event (its `event:` name and raw `data:`). Malformed data is ignored. */
  onEvent(eventName: string | undefined, data: string): void {
    if (eventName === 'error') {
      this.ending ??= 'error';
      return;
    }
    if (data === '[DONE]') return;
    // Most frames are text deltas, only needed if LibreChat reports no usage at all: keep them raw and
    // parse them only then, so the tap's cost per frame is a substring test.
    if (!MAY_CARRY_USAGE.test(data)) {
      if (IS_DELTA.test(data) && this.deltaChars < MAX_ESTIMATE_CHARS) {
        this.deltaFrames.push(data);
        this.deltaChars += data.length;
      }
      return;
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(data);
    } catch {
      return;
    }
    const frame = obj(parsed);
    if (!frame) return;
    if (frame.final === true) return this.onFinal(frame);
    if (frame.sync === true) return this.onSync(frame);
    const inner = obj(frame.data);
    if (frame.event === 'on_token_usage' && inner) {
      const key = `${String(inner.runId ?? '')}:${String(inner.seq ?? this.calls.size)}`;
      if (!this.calls.has(key)) this.calls.set(key, callFrom(inner, this.model));
      return;
    }
    this.onOpenAiFrame(frame);
  }

  /** The text streamed so far, from the raw delta frames (LibreChat's, OpenAI chunks, responses deltas). */
  private streamedText(): string {
    let text = '';
    for (const data of this.deltaFrames) {
      let frame: Json | undefined;
      try {
        frame = obj(JSON.parse(data));
      } catch {
        continue;
      }
      const content = obj(obj(frame?.data)?.delta)?.content;
      if (Array.isArray(content)) {
        for (const part of content) {
          const piece = obj(part)?.text;
          if (typeof piece === 'string') text += piece;
        }
      }
      const choices = frame?.choices;
      if (Array.isArray(choices)) {
        for (const choice of choices) {
          const delta = obj(obj(choice)?.delta) ?? obj(obj(choice)?.message);
          if (typeof delta?.content === 'string') text += delta.content;
        }
      }
      if (typeof frame?.delta === 'string') text += frame.delta;
    }
    return text;
  }

  private onFinal(frame: Json): void {
    this.ending = frame.aborted === true ? 'aborted' : 'completed';
    const conversation = obj(frame.conversation);
    if (typeof conversation?.conversationId === 'string') this.conversationId = conversation.conversationId;
    const response = obj(frame.responseMessage);
    const request = obj(frame.requestMessage);
    const usage = obj(obj(response?.metadata)?.usage);
    if (usage) {
      // metadata.usage.input excludes cache reads and writes; the prompt that was billed includes them.
      this.finalMetadata = {
        input: num(usage.input) + num(usage.cacheRead) + num(usage.cacheWrite),
        output: num(usage.output),
      };
    }
    const prompt = response?.promptTokens ?? request?.tokenCount;
    const completion = response?.tokenCount;
    if (typeof prompt === 'number' || typeof completion === 'number') {
      this.tokenCounts = {
        prompt: typeof prompt === 'number' ? num(prompt) : undefined,
        completion: typeof completion === 'number' ? num(completion) : undefined,
      };
    }
  }

  private onSync(frame: Json): void {
    const collected = obj(frame.resumeState)?.collectedUsage;
    if (!Array.isArray(collected)) return;
    // Cumulative: it replaces what was counted, it is never added on top.
    this.calls.clear();
    collected.forEach((item, index) => {
      const usage = obj(item);
      if (!usage) return;
      const key = usage.runId !== undefined && usage.seq !== undefined ? `${String(usage.runId)}:${String(usage.seq)}` : `sync:${index}`;
      this.calls.set(key, callFrom(usage, this.model));
    });
  }

  private onOpenAiFrame(frame: Json): void {
    const chat = obj(frame.usage);
    if (chat && ('prompt_tokens' in chat || 'completion_tokens' in chat)) {
      this.openAiUsage = { prompt: num(chat.prompt_tokens), completion: num(chat.completion_tokens) };
      return;
    }
    const response = obj(frame.response) ?? (frame.object === 'response' ? frame : undefined);
    const usage = obj(response?.usage);
    if (usage && ('input_tokens' in usage || 'output_tokens' in usage)) {
      this.openAiUsage = { prompt: num(usage.input_tokens), completion: num(usage.output_tokens) };
    }
  }

  markModelCalled(): void {
    this.modelCalled = true;
  }

  /** Reads a whole (non-streamed) JSON response of the OpenAI-compatible routes. */
  onJsonBody(body: string): void {
    this.onEvent(undefined, body);
  }

  get countedCalls(): number {
    return this.calls.size;
  }

  result(): UsageResult {
    if (this.calls.size > 0) return this.fromCalls();
    if (this.openAiUsage) return this.single('openai_usage', this.openAiUsage.prompt, this.openAiUsage.completion);
    if (this.finalMetadata) return this.single('final_metadata', this.finalMetadata.input, this.finalMetadata.output);
    if (this.tokenCounts) {
      const prompt = this.tokenCounts.prompt ?? countTokens(this.promptText);
      const completion = this.tokenCounts.completion ?? countTokens(this.streamedText());
      return this.single('token_count', prompt, completion);
    }
    // A generation that ended badly before LibreChat streamed anything or reported any usage (a balance
    // or model error, an early abort) most likely never called a model: nothing to charge. Once a model
    // was called, the prompt estimate at least.
    const streamed = this.streamedText();
    if (this.ending !== 'completed' && streamed === '' && !this.modelCalled) return this.single('estimate', 0, 0);
    return this.single('estimate', countTokens(this.promptText), countTokens(streamed));
  }

  private single(source: UsageSource, prompt: number, completion: number): UsageResult {
    const perModel: Record<string, ModelUsage> = {
      [this.model]: { prompt_tokens: prompt, completion_tokens: completion, total_tokens: prompt + completion, cache_read_tokens: 0, cache_write_tokens: 0, calls: 1 },
    };
    return { promptTokens: prompt, completionTokens: completion, totalTokens: prompt + completion, source, perModel };
  }

  private fromCalls(): UsageResult {
    const perModel: Record<string, ModelUsage> = {};
    let prompt = 0;
    let completion = 0;
    for (const call of this.calls.values()) {
      prompt += call.input;
      completion += call.output;
      const entry = (perModel[call.model] ??= {
        prompt_tokens: 0, completion_tokens: 0, total_tokens: 0, cache_read_tokens: 0, cache_write_tokens: 0, calls: 0,
      });
      entry.prompt_tokens += call.input;
      entry.completion_tokens += call.output;
      entry.total_tokens += call.input + call.output;
      entry.cache_read_tokens += call.cacheRead;
      entry.cache_write_tokens += call.cacheWrite;
      entry.calls += 1;
    }
    return { promptTokens: prompt, completionTokens: completion, totalTokens: prompt + completion, source: 'on_token_usage', perModel };
  }
}
