// What both bare contenders (bare-proxy.ts, bare-undici.ts) do around their one request handler: listen on
// 127.0.0.1:$PORT (0 by default), print {"port":N} for bench/processes.ts, and on SIGTERM/SIGINT close the
// server and its connections, release the upstream client, and exit.
import http from 'node:http';

export function serveBare(handler: http.RequestListener, releaseUpstream: () => void): void {
  const server = http.createServer(handler);
  server.keepAliveTimeout = 65_000;
  server.listen(Number(process.env.PORT ?? 0), '127.0.0.1', () => {
    const address = server.address();
    process.stdout.write(`${JSON.stringify({ port: typeof address === 'object' && address ? address.port : 0 })}\n`);
  });
  const stop = () => {
    server.close();
    server.closeAllConnections();
    releaseUpstream();
    process.exit(0);
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
}
