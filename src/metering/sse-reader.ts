// Incremental SSE reading for the metering tap: bytes go in as they arrive (split at any byte, CRLF or
// LF, multi-line data, comments), whole events come out. eventsource-parser does the framing; its
// buffer cap bounds memory when a peer sends one endless frame. The tap only reads: the bytes it is
// fed have already been passed on to clients unchanged.
import { createParser } from 'eventsource-parser';

export interface SseReader {
  feed(chunk: Buffer): void;
  end(): void;
}

const MAX_FRAME_CHARS = 8 * 1024 * 1024;

export function createSseReader(onEvent: (eventName: string | undefined, data: string) => void): SseReader {
  const decoder = new TextDecoder();
  const parser = createParser({
    maxBufferSize: MAX_FRAME_CHARS,
    onEvent: (event) => onEvent(event.event, event.data),
    onError: () => {
      // An oversized or malformed frame is skipped; the parser resynchronises on the next blank line.
    },
  });
  return {
    feed: (chunk) => parser.feed(decoder.decode(chunk, { stream: true })),
    end: () => {
      parser.feed(decoder.decode());
      // A last frame without its blank line still counts (a final frame cut right at the end).
      parser.feed('\n\n');
    },
  };
}
