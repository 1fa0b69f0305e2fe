// The bare undici contender: http.createServer forwarding each request through an undici Pool (keep-alive,
// one request per connection at a time, as http-proxy's agent does) and streaming LibreChat's answer back,
// with only the hop-by-hop headers dropped that HTTP/1.1 framing requires. The issue asks for an
// alternative to http-proxy measured side by side; this is that alternative's floor, as bare-proxy.ts is
// http-proxy's. Run as `node --import tsx bench/bare-undici.ts`; env TARGET, PORT (default 0). Prints
// {"port":N} once listening.
import { Pool } from 'undici';
import { serveBare } from './bare-serve.ts';

const target = process.env.TARGET;
if (!target) {
  process.stderr.write('bare-undici: TARGET is required\n');
  process.exit(2);
}
const pool = new Pool(target, { connections: 1024, pipelining: 1, keepAliveTimeout: 4_000 });
/** Headers that describe one hop's connection; undici refuses some of them outright. */
const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'transfer-encoding', 'upgrade', 'proxy-connection', 'te', 'trailer']);

function endToEnd(headers: Record<string, string | string[] | undefined>): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (const [name, value] of Object.entries(headers)) if (value !== undefined && !HOP_BY_HOP.has(name)) out[name] = value;
  return out;
}

serveBare((req, res) => {
  const hasBody = req.headers['content-length'] !== undefined || req.headers['transfer-encoding'] !== undefined;
  pool.stream(
    { path: req.url ?? '/', method: req.method as 'GET', headers: endToEnd(req.headers), body: hasBody ? req : null },
    ({ statusCode, headers }) => {
      res.writeHead(statusCode, endToEnd(headers));
      return res;
    },
    (error) => {
      if (!error) return;
      if (!res.headersSent) res.writeHead(502).end();
      else res.destroy();
    },
  );
}, () => void pool.destroy());
