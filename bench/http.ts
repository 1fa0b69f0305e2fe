// A small node:http client for the scenarios that need exact counts or per-frame timings rather than
// a load generator: one request with its status, body and timing; a bounded-concurrency fan-out; and an
// SSE read that records when each frame (a block ending in a blank line) arrived.
import http from 'node:http';

export interface HttpResponse {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

export interface RequestOptions {
  method?: string;
  headers?: Record<string, string>;
  body?: string;
  agent?: http.Agent;
  timeoutMs?: number;
}

export function request(url: string, opts: RequestOptions = {}): Promise<HttpResponse> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method: opts.method ?? 'GET', headers: opts.headers, agent: opts.agent }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    req.setTimeout(opts.timeoutMs ?? 30_000, () => req.destroy(new Error(`timeout: ${url}`)));
    req.on('error', reject);
    req.end(opts.body);
  });
}

/** Runs `count` tasks with at most `concurrency` at once; resolves with their results in order. */
export async function fanOut<T>(count: number, concurrency: number, task: (index: number) => Promise<T>): Promise<T[]> {
  const results: T[] = new Array<T>(count);
  let next = 0;
  const worker = async () => {
    while (next < count) {
      const index = next++;
      results[index] = await task(index);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, count) }, worker));
  return results;
}

export interface SseTiming {
  status: number;
  /** ms from sending the request to the response headers. */
  headersMs: number;
  /** ms from sending the request to the end of each complete frame. */
  frames: number[];
  /** The frames' text (without the blank line). */
  texts: string[];
  /** ms from sending the request to the end of the response. */
  endMs: number;
}

/** GETs an SSE URL and records when each frame completed (hrtime, ms from the request). */
export function readSse(url: string, opts: RequestOptions & { onHeaders?: () => void } = {}): Promise<SseTiming> {
  return new Promise((resolve, reject) => {
    const t0 = process.hrtime.bigint();
    const since = () => Number(process.hrtime.bigint() - t0) / 1e6;
    const req = http.request(url, { method: opts.method ?? 'GET', headers: opts.headers, agent: opts.agent }, (res) => {
      const headersMs = since();
      opts.onHeaders?.();
      const frames: number[] = [];
      const texts: string[] = [];
      let pending = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        pending += chunk;
        let end = pending.indexOf('\n\n');
        while (end !== -1) {
          frames.push(since());
          texts.push(pending.slice(0, end));
          pending = pending.slice(end + 2);
          end = pending.indexOf('\n\n');
        }
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headersMs, frames, texts, endMs: since() }));
      res.on('error', reject);
    });
    req.setTimeout(opts.timeoutMs ?? 60_000, () => req.destroy(new Error(`timeout: ${url}`)));
    req.on('error', reject);
    req.end(opts.body);
  });
}
