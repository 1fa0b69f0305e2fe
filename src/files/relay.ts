// Hands LibreChat's answer to a file route to the client only after the gateway has settled what it means
// (self-handled http-proxy response): the answer is read up to `limit` bytes, `settle` runs with it, then
// the client gets status, headers and body as LibreChat sent them. An answer larger than `limit` is not one
// LibreChat gives to these routes; it is relayed as it streams and settled with no readable body. A cut
// answer is settled with no body too, and the client's response is cut as well.
import type { IncomingMessage, ServerResponse } from 'node:http';

export function relayAfter(
  upstreamRes: IncomingMessage,
  clientRes: ServerResponse,
  limit: number,
  settle: (body: Buffer | undefined) => Promise<void> | void,
): void {
  const chunks: Buffer[] = [];
  let size = 0;
  let streaming = false;
  const writeHead = () => {
    if (!clientRes.headersSent && !clientRes.destroyed) clientRes.writeHead(upstreamRes.statusCode ?? 502, upstreamRes.statusMessage, upstreamRes.headers);
  };
  upstreamRes.on('data', (chunk: Buffer) => {
    if (streaming) return;
    size += chunk.length;
    chunks.push(chunk);
    if (size <= limit) return;
    // Too large to be a file answer: stop holding it and pass the rest through as it comes.
    streaming = true;
    writeHead();
    for (const held of chunks.splice(0)) clientRes.write(held);
    upstreamRes.pipe(clientRes);
  });
  upstreamRes.once('close', () => {
    const body = upstreamRes.complete && !streaming ? Buffer.concat(chunks, size) : undefined;
    void Promise.resolve(settle(body)).catch(() => undefined).then(() => {
      if (!upstreamRes.complete) {
        clientRes.destroy();
        return;
      }
      if (streaming || clientRes.destroyed) return;
      writeHead();
      clientRes.end(body);
    });
  });
}
