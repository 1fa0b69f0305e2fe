// Accumulates one generation's token usage from LibreChat's SSE events and picks the best source, in
// DESIGN.md's order: on_token_usage events (deduplicated on runId+seq; a resume `sync` frame's
// collectedUsage is cumulative and replaces them), then final.responseMessage.metadata.usage, then
// LibreChat's tokenCount/promptTokens, then an estimate with a real tokenizer. The OpenAI-compatible
// routes' final `usage` chunk (chat completions and responses) is read here too.
import { countTokens } from 'gpt-tokenizer';

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

function num(value: unknown): number {
  return typeof value === 'number' && Number.isFinite(value) && value > 0 ? Math.round(value) : 0;
}

function obj(value: unknown): Json | undefined {
  return value && typeof value === 'object' && !Array.isArray(value) ? (value as Json) : undefined;
}

function callFrom(data: Json, fallbackModel: string): Call {
  const details = obj(data.input_token_details);
  return {
    model: typeof data.model === 'string' && data.model ? data.model : fallbackModel,
    input: num(data.input_tokens),
    output: num(data.output_tokens),
    cacheRead: num(details?.cache_read),
    cacheWrite: num(details?.cache_creation),
  };
}

export class UsageTally {
  private readonly calls = new Map<string, Call>();
  private finalMetadata: { input: number; output: number } | undefined;
  private tokenCounts: { prompt: number | undefined; completion: number | undefined } | undefined;
  private openAiUsage: { prompt: number; completion: number } | undefined;
  private streamedText = '';
  ending: Ending | undefined;
  conversationId: string | undefined;

  constructor(private readonly model: string, private readonly promptText: string) {}

  /** Feeds one SSE event (its `event:` name and raw `data:`). Malformed data is ignored. */
  onEvent(eventName: string | undefined, data: string): void {
    if (data === '[DONE]') return;
    let parsed: unknown;
    try {
      parsed = JSON.parse(data);
    } catch {
      return;
    }
    const frame = obj(parsed);
    if (!frame) return;
    if (eventName === 'error') {
      this.ending ??= 'error';
      return;
    }
    if (frame.final === true) return this.onFinal(frame);
    if (frame.sync === true) return this.onSync(frame);
    const inner = obj(frame.data);
    if (frame.event === 'on_token_usage' && inner) {
      const key = `${String(inner.runId ?? '')}:${String(inner.seq ?? this.calls.size)}`;
      if (!this.calls.has(key)) this.calls.set(key, callFrom(inner, this.model));
      return;
    }
    if (frame.event === 'on_message_delta' && inner) return this.collectText(obj(inner.delta)?.content);
    this.onOpenAiFrame(eventName, frame);
  }

  private collectText(content: unknown): void {
    if (!Array.isArray(content) || this.streamedText.length > MAX_ESTIMATE_CHARS) return;
    for (const part of content) {
      const text = obj(part)?.text;
      if (typeof text === 'string') this.streamedText += text;
    }
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

  private onOpenAiFrame(eventName: string | undefined, frame: Json): void {
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
    const choices = frame.choices;
    if (Array.isArray(choices)) {
      for (const choice of choices) {
        const delta = obj(obj(choice)?.delta) ?? obj(obj(choice)?.message);
        if (typeof delta?.content === 'string' && this.streamedText.length < MAX_ESTIMATE_CHARS) this.streamedText += delta.content;
      }
    }
    if (eventName === 'response.output_text.delta' && typeof frame.delta === 'string') this.streamedText += frame.delta;
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
      const completion = this.tokenCounts.completion ?? countTokens(this.streamedText);
      return this.single('token_count', prompt, completion);
    }
    // A generation that ended badly before LibreChat streamed anything or reported any usage (a balance
    // or model error, an early abort) most likely never called a model: nothing to charge.
    if (this.ending !== 'completed' && this.streamedText === '') return this.single('estimate', 0, 0);
    return this.single('estimate', countTokens(this.promptText), countTokens(this.streamedText));
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
