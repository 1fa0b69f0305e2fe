// Ends a generation in LibreChat the way its own client does: `POST /api/agents/chat/abort` with the
// caller's token (LibreChat checks that the caller owns the job) and the ids it matches on (`streamId`,
// `conversationId`, and v0.8.8's `generationCreatedAt` so a newer job of the conversation is never hit).
// LibreChat then sends the aborted final on the stream, which settles the generation.
import http from 'node:http';
import https from 'node:https';

export interface AbortTarget {
  target: URL;
  agent: http.Agent;
  /** The caller's Authorization header and the identity headers LibreChat got with the chat. */
  authorization: string;
  upstreamHeaders: Record<string, string>;
  streamId: string;
  conversationId: string | undefined;
  generationCreatedAt: string | undefined;
  timeoutMs?: number;
}

/** LibreChat's answer status, or undefined when it could not be reached in time. */
export function postAbort(abort: AbortTarget): Promise<number | undefined> {
  const body = JSON.stringify({
    streamId: abort.streamId,
    conversationId: abort.conversationId ?? abort.streamId,
    ...(abort.generationCreatedAt ? { generationCreatedAt: Number(abort.generationCreatedAt) } : {}),
  });
  const url = new URL('/api/agents/chat/abort', abort.target);
  const client = url.protocol === 'https:' ? https : http;
  return new Promise((resolve) => {
    const request = client.request(url, {
      method: 'POST',
      agent: abort.agent,
      headers: {
        ...abort.upstreamHeaders,
        authorization: abort.authorization,
        'content-type': 'application/json',
        'content-length': String(Buffer.byteLength(body)),
      },
    }, (res) => {
      res.resume();
      res.once('end', () => resolve(res.statusCode));
      res.once('error', () => resolve(res.statusCode));
    });
    request.setTimeout(abort.timeoutMs ?? 5_000, () => request.destroy());
    request.once('error', () => resolve(undefined));
    request.end(body);
  });
}
