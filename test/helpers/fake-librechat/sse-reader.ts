// A minimal SSE reader over a fetch Response for tests: yields frames ({event, data, raw}) one at a time
// and surfaces a cut connection as a rejected next().
export interface SseFrame {
  /** The `event:` field; 'message' when absent (per the SSE spec). */
  event: string;
  /** The `data:` lines joined by '\n'. */
  data: string;
  /** The frame as it appeared on the wire, without the blank line that ends it. */
  raw: string;
}

export class SseReader {
  private buffer = '';
  private readonly reader: ReadableStreamDefaultReader<Uint8Array>;
  private readonly decoder = new TextDecoder();
  private ended = false;

  constructor(response: Response) {
    if (!response.body) throw new Error('response has no body');
    this.reader = response.body.getReader();
  }

  /** The next frame; null once the stream ended cleanly. Rejects when the connection was cut. */
  async next(): Promise<SseFrame | null> {
    for (;;) {
      const boundary = this.buffer.indexOf('\n\n');
      if (boundary >= 0) {
        const raw = this.buffer.slice(0, boundary);
        this.buffer = this.buffer.slice(boundary + 2);
        return parseFrame(raw);
      }
      if (this.ended) return null;
      const { done, value } = await this.reader.read();
      if (done) this.ended = true;
      else this.buffer += this.decoder.decode(value, { stream: true });
    }
  }

  /** Every remaining frame until a clean end. */
  async all(): Promise<SseFrame[]> {
    const frames: SseFrame[] = [];
    for (let frame = await this.next(); frame; frame = await this.next()) frames.push(frame);
    return frames;
  }

  /** Reads until a frame matches (returning every frame read, the match last); rejects at the end. */
  async until(predicate: (frame: SseFrame) => boolean): Promise<SseFrame[]> {
    const frames: SseFrame[] = [];
    for (;;) {
      const frame = await this.next();
      if (!frame) throw new Error(`stream ended before the expected frame; got ${frames.length} frames`);
      frames.push(frame);
      if (predicate(frame)) return frames;
    }
  }

  async cancel(): Promise<void> {
    await this.reader.cancel().catch(() => undefined);
  }
}

function parseFrame(raw: string): SseFrame {
  let event = 'message';
  const data: string[] = [];
  for (const line of raw.split('\n')) {
    if (line.startsWith('event:')) event = line.slice(6).trim();
    else if (line.startsWith('data:')) data.push(line.slice(5).replace(/^ /, ''));
  }
  return { event, data: data.join('\n'), raw };
}

/** The frame's data as JSON (LibreChat's frames are always one line of JSON). */
export function frameJson(frame: SseFrame): Record<string, unknown> {
  return JSON.parse(frame.data) as Record<string, unknown>;
}
