// The bare http-proxy contender: http.createServer + http-proxy's createProxyServer over a keep-alive
// http.Agent, and nothing else (no auth, no header policy, no metering). It is the floor for any gateway
// built on http-proxy. Run as `node --import tsx bench/bare-proxy.ts`; env TARGET (the upstream's URL),
// PORT (default 0). Prints one line {"port":N} once listening.
import http from 'node:http';
import httpProxy from 'http-proxy';
import { serveBare } from './bare-serve.ts';

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
serveBare((req, res) => proxy.web(req, res), () => agent.destroy());
