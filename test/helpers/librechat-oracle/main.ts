// Runs the Express 5 oracle (routes.ts) as its own process: the app on one port, and on a second port
// the records of which handler ran for each request (GET /records, POST /reset), so no request line
// sent to the app can reach the control routes. Env: HOST (127.0.0.1). Prints one JSON line
// {"port","url","controlUrl"} once both listen.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { buildOracleApp, type OracleRecord } from './routes.ts';

const host = process.env.HOST || '127.0.0.1';
let records: OracleRecord[] = [];

function listen(server: http.Server): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, host, () => resolve((server.address() as AddressInfo).port));
  });
}

function control(req: http.IncomingMessage, res: http.ServerResponse): void {
  if (req.method === 'POST' && req.url === '/reset') {
    records = [];
    res.writeHead(204).end();
    return;
  }
  if (req.method === 'GET' && req.url === '/records') {
    const body = JSON.stringify(records);
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) }).end(body);
    return;
  }
  res.writeHead(404).end();
}

async function main(): Promise<void> {
  const app = buildOracleApp((record) => records.push(record));
  const appServer = http.createServer(app);
  const controlServer = http.createServer(control);
  const [port, controlPort] = await Promise.all([listen(appServer), listen(controlServer)]);
  process.stdout.write(`${JSON.stringify({ port, url: `http://${host}:${port}`, controlUrl: `http://${host}:${controlPort}` })}\n`);
  const stop = () => {
    appServer.closeAllConnections();
    controlServer.closeAllConnections();
    process.exit(0);
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
}

main().catch((error: unknown) => {
  process.stderr.write(`librechat-oracle: ${error instanceof Error ? error.stack ?? error.message : String(error)}\n`);
  process.exit(1);
});
