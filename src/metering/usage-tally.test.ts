// The metering tap reads the same usage however the bytes are split: at every single byte offset, at
// random sets of offsets (fast-check), with CRLF line ends, comments, multi-line data and a huge frame.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createSseReader } from './sse-reader.ts';
import { UsageTally, type UsageResult } from './usage-tally.ts';

function frame(data: unknown, event = 'message'): string {
  return `event: ${event}\ndata: ${JSON.stringify(data)}\n\n`;
}

const usage = (runId: string, seq: number, model: string, input: number, output: number) =>
  frame({ event: 'on_token_usage', data: { input_tokens: input, output_tokens: output, total_tokens: input + output, model, provider: 'openAI', runId, seq } });

const STREAM = [
  frame({ created: true, message: { messageId: 'u1', text: 'héllo ✓' }, streamId: 'c1' }),
  ': a comment line the tap must ignore\n\n',
  frame({ event: 'on_message_delta', data: { id: 's', delta: { content: [{ type: 'text', text: 'Grüße 🌍' }] } } }),
  usage('r1', 1, 'gpt-4o', 812, 9),
  usage('r1', 1, 'gpt-4o', 812, 9), // replayed duplicate: counted once
  usage('r1', 2, 'claude-3-5-sonnet', 100, 20),
  frame({ final: true, conversation: { conversationId: 'c1' }, responseMessage: { tokenCount: 29 } }),
].join('');

function tally(chunks: Buffer[]): UsageResult & { ending: string | undefined } {
  const t = new UsageTally('gpt-4o', 'hi');
  const reader = createSseReader((event, data) => t.onEvent(event, data));
  for (const chunk of chunks) reader.feed(chunk);
  reader.end();
  return { ...t.result(), ending: t.ending };
}

function splitAt(bytes: Buffer, offsets: number[]): Buffer[] {
  const sorted = [...new Set(offsets)].sort((a, b) => a - b);
  const chunks: Buffer[] = [];
  let start = 0;
  for (const offset of sorted) {
    chunks.push(bytes.subarray(start, offset));
    start = offset;
  }
  chunks.push(bytes.subarray(start));
  return chunks;
}

describe('usage tally over split SSE bytes', () => {
  const bytes = Buffer.from(STREAM, 'utf8');
  const whole = tally([bytes]);

  it('reads on_token_usage deduplicated on runId+seq, per model', () => {
    expect(whole).toMatchObject({ promptTokens: 912, completionTokens: 29, totalTokens: 941, source: 'on_token_usage', ending: 'completed' });
    expect(whole.perModel['claude-3-5-sonnet']).toMatchObject({ prompt_tokens: 100, completion_tokens: 20, calls: 1 });
  });

  it('gives the same result when the stream is split at every byte offset', () => {
    for (let offset = 1; offset < bytes.length; offset += 1) {
      expect(tally(splitAt(bytes, [offset])), `offset ${offset}`).toEqual(whole);
    }
  });

  it('gives the same result for random splits and with CRLF line ends', () => {
    const crlf = Buffer.from(STREAM.replace(/\n/g, '\r\n'), 'utf8');
    fc.assert(fc.property(fc.array(fc.integer({ min: 1, max: bytes.length - 1 }), { maxLength: 40 }), (offsets) => {
      expect(tally(splitAt(bytes, offsets))).toEqual(whole);
      const scaled = offsets.map((o) => Math.min(crlf.length - 1, Math.round((o * crlf.length) / bytes.length)));
      expect(tally(splitAt(crlf, scaled))).toEqual(whole);
    }), { numRuns: 300 });
  });

  it('takes a resume sync frame\'s cumulative usage instead of adding it', () => {
    const resumed = Buffer.from([
      usage('r1', 1, 'gpt-4o', 812, 9),
      frame({ sync: true, resumeState: { collectedUsage: [
        { input_tokens: 812, output_tokens: 9, model: 'gpt-4o', runId: 'r1', seq: 1 },
        { input_tokens: 50, output_tokens: 5, model: 'gpt-4o', runId: 'r1', seq: 2 },
      ] } }),
      usage('r1', 2, 'gpt-4o', 50, 5),
      usage('r1', 3, 'gpt-4o', 7, 1),
      frame({ final: true }),
    ].join(''));
    expect(tally([resumed])).toMatchObject({ promptTokens: 869, completionTokens: 15 });
  });

  it('survives multi-line data and skips a frame larger than the cap without unbounded memory', () => {
    const multi = 'event: message\ndata: {"event":"on_token_usage",\ndata: "data":{"input_tokens":3,"output_tokens":4,"runId":"m","seq":1}}\n\n';
    const huge = `data: ${'x'.repeat(9 * 1024 * 1024)}\n\n`;
    const result = tally([Buffer.from(multi), Buffer.from(huge), Buffer.from(frame({ final: true }))]);
    expect(result).toMatchObject({ promptTokens: 3, completionTokens: 4, ending: 'completed' });
  });

  it('marks an error frame as the ending even when its data is not JSON', () => {
    expect(tally([Buffer.from('event: error\ndata: upstream exploded\n\n')])).toMatchObject({ ending: 'error', totalTokens: 0 });
  });

  it('estimates from the streamed deltas only when nothing reports usage', () => {
    const deltas = Array.from({ length: 5 }, () => frame({ event: 'on_message_delta', data: { id: 's', delta: { content: [{ type: 'text', text: 'one two three ' }] } } })).join('');
    const result = tally([Buffer.from(deltas + frame({ final: true }))]);
    expect(result.source).toBe('estimate');
    expect(result.completionTokens).toBeGreaterThanOrEqual(15);
  });

  it('reads the OpenAI-compatible final usage chunk and the responses API usage', () => {
    const chat = Buffer.from([
      `data: ${JSON.stringify({ object: 'chat.completion.chunk', choices: [{ delta: { content: 'Hi' } }] })}\n\n`,
      `data: ${JSON.stringify({ object: 'chat.completion.chunk', choices: [], usage: { prompt_tokens: 11, completion_tokens: 2, total_tokens: 13 } })}\n\n`,
      'data: [DONE]\n\n',
    ].join(''));
    expect(tally([chat])).toMatchObject({ promptTokens: 11, completionTokens: 2, source: 'openai_usage' });
    const responses = Buffer.from(`event: response.completed\ndata: ${JSON.stringify({ type: 'response.completed', response: { usage: { input_tokens: 5, output_tokens: 6 } } })}\n\n`);
    expect(tally([responses])).toMatchObject({ promptTokens: 5, completionTokens: 6 });
  });
});
