// The bare http-proxy contender: http.createServer + http-proxy's createProxyServer over a keep-alive
// http.Agent, and nothing else (no auth, no header policy, no metering). It is the floor for any gateway
// built on http-proxy. Run as `node --import tsx bench/bare-proxy.ts`; env TARGET (the upstream's URL),
// PORT (default 0). Prints one line {"port":N} once listening.
import http from 'node:http';
import httpProxy from 'http-proxy';

const target = process.env.TARGET;
if (!target) {
  process.stderr.write('bare-proxy: TARGET is required\n');
  process.exit(2);
}
const agent = new http.Agent({ keepAlive: true, maxSockets: 1024, maxFreeSockets: 256, scheduling: 'lifo' });
const proxy = httpProxy.createProxyServer({ target, agent });
proxy.on('error', (_error, _req, res) => {
  if (res instanceof http.ServerResponse && !res.headersSent) res.writeHead(502).end();
  else res.destroy();
});
const server = http.createServer((req, res) => proxy.web(req, res));
server.keepAliveTimeout = 65_000;
server.listen(Number(process.env.PORT ?? 0), '127.0.0.1', () => {
  const address = server.address();
  process.stdout.write(`${JSON.stringify({ port: typeof address === 'object' && address ? address.port : 0 })}\n`);
});
const stop = () => {
  server.close();
  server.closeAllConnections();
  agent.destroy();
  process.exit(0);
};
process.once('SIGTERM', stop);
process.once('SIGINT', stop);
