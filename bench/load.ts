// The load generator: autocannon (as a library, in this process) for a fixed time at a fixed number of
// connections. Its own latency histogram has 1 ms resolution, too coarse for sub-millisecond deltas,
// so every response's time (process.hrtime, float ms) is taken from its 'response' event instead and
// percentiles are computed exactly. Only 2xx answers count for requests/s and latency.
import http from 'node:http';
import autocannon from 'autocannon';

export interface LoadOptions {
  url: string;
  connections: number;
  seconds: number;
  method?: 'GET' | 'POST';
  headers?: Record<string, string>;
  body?: string;
  /** Rewrites each request (e.g. rotates a header); autocannon calls it per request. */
  rotateHeaders?: () => Record<string, string>;
  /** A fixed offered load in requests/s, evenly spaced over up to `connections` sockets (runPaced); unset: as fast as answered. */
  rate?: number;
}

export interface LoadResult {
  ok: number;
  failed: number;
  errors: number;
  statuses: Record<string, number>;
  durationS: number;
  /** Response times of the 2xx answers, in ms. */
  samples: Float64Array;
}

export interface LoadSummary {
  rps: number;
  p50: number;
  p99: number;
  mean: number;
  ok: number;
  failed: number;
  statuses: Record<string, number>;
}

class SampleBuffer {
  private data = new Float64Array(1 << 16);
  length = 0;

  push(value: number): void {
    if (this.length === this.data.length) {
      const grown = new Float64Array(this.data.length * 2);
      grown.set(this.data);
      this.data = grown;
    }
    this.data[this.length++] = value;
  }

  toArray(): Float64Array {
    return this.data.slice(0, this.length);
  }
}

export function runLoad(opts: LoadOptions): Promise<LoadResult> {
  const samples = new SampleBuffer();
  const statuses: Record<string, number> = {};
  let ok = 0;
  let failed = 0;
  const started = process.hrtime.bigint();
  const base = { method: opts.method ?? 'GET', headers: opts.headers ?? {}, ...(opts.body !== undefined ? { body: opts.body } : {}) };
  const rotate = opts.rotateHeaders;
  return new Promise((resolve, reject) => {
    const instance = autocannon({
      url: opts.url,
      connections: opts.connections,
      pipelining: 1,
      duration: opts.seconds,
      timeout: 30,
      ...base,
      ...(rotate ? { requests: [{ setupRequest: (req) => ({ ...req, headers: { ...req.headers, ...rotate() } }) }] } : {}),
    }, (error, result) => {
      if (error) return reject(error);
      const durationS = Number(process.hrtime.bigint() - started) / 1e9;
      resolve({ ok, failed, errors: result.errors + result.timeouts, statuses, durationS, samples: samples.toArray() });
    });
    instance.on('response', (_client: unknown, statusCode: number, _bytes: number, responseTime: number) => {
      statuses[statusCode] = (statuses[statusCode] ?? 0) + 1;
      if (statusCode >= 200 && statusCode < 300) {
        ok += 1;
        samples.push(responseTime);
      } else {
        failed += 1;
      }
    });
  });
}

/**
 * An open-loop load: one request every 1/rate s whatever the answers do, over a keep-alive pool of up to
 * `connections` sockets, so latency is the service time, not queueing behind the generator's own
 * closed loop (autocannon's rate limit sends each second's share in a burst). For latency at a load every
 * contender sustains.
 */
export function runPaced(opts: LoadOptions & { rate: number }): Promise<LoadResult> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: opts.connections });
  const samples = new SampleBuffer();
  const statuses: Record<string, number> = {};
  const counts = { ok: 0, failed: 0, errors: 0, pending: 0 };
  const body = opts.body !== undefined ? Buffer.from(opts.body) : undefined;
  const headers = { ...opts.headers, ...(body ? { 'content-length': String(body.length) } : {}) };
  const total = Math.max(1, Math.round(opts.rate * opts.seconds));
  const started = process.hrtime.bigint();
  const elapsedMs = () => Number(process.hrtime.bigint() - started) / 1e6;
  return new Promise((resolve) => {
    let sent = 0;
    const finish = () => {
      if (sent < total || counts.pending > 0) return;
      agent.destroy();
      resolve({ ok: counts.ok, failed: counts.failed, errors: counts.errors, statuses, durationS: elapsedMs() / 1000, samples: samples.toArray() });
    };
    const fire = () => {
      const t0 = process.hrtime.bigint();
      counts.pending += 1;
      const req = http.request(opts.url, { method: opts.method ?? 'GET', headers: { ...headers, ...opts.rotateHeaders?.() }, agent }, (res) => {
        res.resume();
        res.on('end', () => {
          const code = res.statusCode ?? 0;
          statuses[code] = (statuses[code] ?? 0) + 1;
          if (code >= 200 && code < 300) {
            counts.ok += 1;
            samples.push(Number(process.hrtime.bigint() - t0) / 1e6);
          } else {
            counts.failed += 1;
          }
          counts.pending -= 1;
          finish();
        });
      });
      req.on('error', () => { counts.errors += 1; counts.pending -= 1; finish(); });
      req.end(body);
    };
    const tick = () => {
      // Catch up on every request due by now (timers fire late under load), then sleep until the next one.
      while (sent < total && sent * (1000 / opts.rate) <= elapsedMs()) { sent += 1; fire(); }
      if (sent < total) setTimeout(tick, Math.max(0, sent * (1000 / opts.rate) - elapsedMs()));
      else finish();
    };
    tick();
  });
}

/** The value at quantile q (0..1) of sorted samples (nearest rank). */
export function quantile(sorted: Float64Array | number[], q: number): number {
  if (sorted.length === 0) return Number.NaN;
  const index = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return sorted[index]!;
}

export function median(values: number[]): number {
  return quantile([...values].sort((a, b) => a - b), 0.5);
}

/** Merges several runs of the same contender: requests/s over the summed time, percentiles over all samples. */
export function summarise(results: LoadResult[]): LoadSummary {
  const total = results.reduce((n, r) => n + r.samples.length, 0);
  const merged = new Float64Array(total);
  let offset = 0;
  for (const r of results) {
    merged.set(r.samples, offset);
    offset += r.samples.length;
  }
  merged.sort();
  const ok = results.reduce((n, r) => n + r.ok, 0);
  const failed = results.reduce((n, r) => n + r.failed + r.errors, 0);
  const seconds = results.reduce((n, r) => n + r.durationS, 0);
  const statuses: Record<string, number> = {};
  for (const r of results) for (const [code, n] of Object.entries(r.statuses)) statuses[code] = (statuses[code] ?? 0) + n;
  const sum = merged.reduce((a, b) => a + b, 0);
  return {
    rps: seconds > 0 ? ok / seconds : 0,
    p50: quantile(merged, 0.5),
    p99: quantile(merged, 0.99),
    mean: total > 0 ? sum / total : Number.NaN,
    ok,
    failed,
    statuses,
  };
}

export const round2 = (value: number): number => Math.round(value * 100) / 100;
export const round3 = (value: number): number => Math.round(value * 1000) / 1000;
