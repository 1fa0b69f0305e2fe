// Request lines exactly as written, on a raw socket: absolute-form and asterisk-form targets, fragments,
// lower-case methods, HTTP/1.0, pipelined requests, duplicate headers: things node:http's client would
// refuse or rewrite. The answer is read until the server closes the connection.
import net from 'node:net';

export interface RawAnswer {
  /** The status of the first answer, or undefined when the server closed without an HTTP answer. */
  status: number | undefined;
  /** Every status line's code, in order (pipelined requests get one each). */
  statuses: number[];
  text: string;
  /** The first answer's body when it is JSON, else undefined. */
  json: { error?: { code: string; message: string; request_id: string } } & Record<string, unknown> | undefined;
}

export interface RawRequestSpec {
  /** The request line without the version, e.g. `POST http://h/api/agents/chat/openAI`. */
  line: string;
  headers?: Record<string, string | string[]>;
  body?: string;
  version?: '1.0' | '1.1';
}

/** The bytes of one request; Content-Length is added for a body unless a framing header is given. */
export function requestBytes(spec: RawRequestSpec): string {
  const headers: [string, string][] = [];
  for (const [name, value] of Object.entries(spec.headers ?? {})) {
    for (const one of Array.isArray(value) ? value : [value]) headers.push([name, one]);
  }
  const named = (n: string) => headers.some(([h]) => h.toLowerCase() === n);
  if (spec.body !== undefined && !named('content-length') && !named('transfer-encoding')) {
    headers.push(['Content-Length', String(Buffer.byteLength(spec.body))]);
  }
  const head = headers.map(([n, v]) => `${n}: ${v}\r\n`).join('');
  return `${spec.line} HTTP/${spec.version ?? '1.1'}\r\n${head}\r\n${spec.body ?? ''}`;
}

export function rawExchange(port: number, bytes: string, timeoutMs = 15_000): Promise<RawAnswer> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    const chunks: Buffer[] = [];
    const finish = () => {
      clearTimeout(timer);
      socket.destroy();
      resolve(parseAnswer(Buffer.concat(chunks).toString('utf8')));
    };
    const timer = setTimeout(finish, timeoutMs);
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    socket.once('close', finish);
    socket.once('error', finish);
    socket.write(bytes);
  });
}

export function rawRequest(port: number, spec: RawRequestSpec, timeoutMs?: number): Promise<RawAnswer> {
  return rawExchange(port, requestBytes({ ...spec, headers: { Connection: 'close', ...spec.headers } }), timeoutMs);
}

function parseAnswer(text: string): RawAnswer {
  const statuses = [...text.matchAll(/HTTP\/1\.[01] (\d{3}) /g)].map((m) => Number(m[1]));
  const bodyAt = text.indexOf('\r\n\r\n');
  let json: RawAnswer['json'];
  if (bodyAt !== -1) {
    const rest = text.slice(bodyAt + 4);
    const end = rest.indexOf('HTTP/1.');
    try {
      json = JSON.parse(end === -1 ? rest : rest.slice(0, end)) as RawAnswer['json'];
    } catch {
      json = undefined;
    }
  }
  return { status: statuses[0], statuses, text, json };
}
