// SSE timing, sequential samples (one stream at a time, contenders alternating sample by sample, each
// over its own keep-alive connection): GET /__fake/sse?frames=20&intervalMs=10 direct, through the bare
// proxy and through the gateway (time to first frame, to last frame, frames lost, and the worst lag of a
// frame behind the upstream's own schedule); then a metered chat's stream (POST the chat start, GET its
// stream) direct against the gateway, which serves it from its own upstream subscription.
import http from 'node:http';
import { authHeaders, type BenchContext } from '../context.ts';
import { readSse, request, type SseTiming } from '../http.ts';
import { median, round3 } from '../load.ts';
import { chatStartBody } from './metered.ts';

const FRAMES = 20;
const SSE_PATH = `/__fake/sse?frames=${FRAMES}&intervalMs=10`;

interface Stats {
  first: number[];
  last: number[];
  incomplete: number;
  maxLag: number;
}

const emptyStats = (): Stats => ({ first: [], last: [], incomplete: 0, maxLag: 0 });

/** Worst delay of a frame behind the upstream's schedule (each frame carries its emit time `t`). */
function frameLag(timing: SseTiming): number {
  const emitted = timing.texts.map((text) => {
    const data = /^data: (.*)$/m.exec(text)?.[1];
    return data ? (JSON.parse(data) as { t: number }).t : Number.NaN;
  });
  let worst = 0;
  for (let i = 1; i < timing.frames.length; i += 1) {
    const lag = (timing.frames[i]! - timing.frames[0]!) - (emitted[i]! - emitted[0]!);
    if (Number.isFinite(lag)) worst = Math.max(worst, lag);
  }
  return worst;
}

async function timedSse(ctx: BenchContext): Promise<Record<string, unknown>> {
  const targets = { direct: ctx.urls.direct, bare_http_proxy: ctx.urls.bare, gateway: ctx.urls.gateway };
  const agents = new Map(Object.keys(targets).map((name) => [name, new http.Agent({ keepAlive: true, maxSockets: 1 })]));
  const stats = new Map(Object.keys(targets).map((name) => [name, emptyStats()]));
  const entries = Object.entries(targets);
  for (let sample = -2; sample < ctx.cfg.sseSamples; sample += 1) {
    for (let i = 0; i < entries.length; i += 1) {
      const [name, base] = entries[(i + Math.max(0, sample)) % entries.length]!;
      const timing = await readSse(`${base}${SSE_PATH}`, { agent: agents.get(name)! });
      if (sample < 0) continue; // warm-up samples
      const s = stats.get(name)!;
      if (timing.status !== 200 || timing.frames.length !== FRAMES) s.incomplete += 1;
      if (timing.frames.length === 0) continue;
      s.first.push(timing.frames[0]!);
      s.last.push(timing.frames.at(-1)!);
      s.maxLag = Math.max(s.maxLag, frameLag(timing));
    }
  }
  for (const agent of agents.values()) agent.destroy();
  const m = (name: string, key: 'first' | 'last') => median(stats.get(name)![key]);
  const out: Record<string, unknown> = {
    sse_first_frame_delta_ms: round3(m('gateway', 'first') - m('direct', 'first')),
    sse_last_frame_delta_ms: round3(m('gateway', 'last') - m('direct', 'last')),
    sse_first_frame_delta_ms_bare_proxy: round3(m('bare_http_proxy', 'first') - m('direct', 'first')),
    sse_samples: ctx.cfg.sseSamples,
  };
  for (const [name, s] of stats) {
    out[`sse_${name}`] = {
      first_frame_p50_ms: round3(median(s.first)), last_frame_p50_ms: round3(median(s.last)),
      incomplete_streams: s.incomplete, max_frame_lag_ms: round3(s.maxLag),
    };
  }
  return out;
}

/** POST a chat start, then read its stream; times from the POST's start. */
async function chatStream(ctx: BenchContext, base: string, agent: http.Agent): Promise<{ first: number; last: number; frames: number }> {
  const t0 = process.hrtime.bigint();
  const fake = { deltas: Array.from({ length: FRAMES }, (_, i) => `w${i} `), frameIntervalMs: 10, startDelayMs: 0 };
  const started = await request(`${base}/api/agents/chat/openAI`, { method: 'POST', headers: authHeaders(ctx), body: chatStartBody(fake), agent });
  if (started.status !== 200) throw new Error(`chat start via ${base} answered ${started.status}: ${started.body.slice(0, 200)}`);
  const postMs = Number(process.hrtime.bigint() - t0) / 1e6;
  const { streamId } = JSON.parse(started.body) as { streamId: string };
  const timing = await readSse(`${base}/api/agents/chat/stream/${encodeURIComponent(streamId)}`, { headers: authHeaders(ctx), agent });
  return { first: postMs + (timing.frames[0] ?? Number.NaN), last: postMs + (timing.frames.at(-1) ?? Number.NaN), frames: timing.frames.length };
}

async function meteredStreams(ctx: BenchContext): Promise<Record<string, unknown>> {
  const targets: [string, string][] = [['direct', ctx.urls.direct], ['gateway', ctx.urls.gateway]];
  const agents = new Map(targets.map(([name]) => [name, new http.Agent({ keepAlive: true, maxSockets: 2 })]));
  const results = new Map(targets.map(([name]) => [name, { first: [] as number[], last: [] as number[], frames: [] as number[] }]));
  const samples = Math.max(4, Math.round(ctx.cfg.sseSamples / 2));
  for (let sample = -1; sample < samples; sample += 1) {
    for (let i = 0; i < targets.length; i += 1) {
      const [name, base] = targets[(i + Math.max(0, sample)) % targets.length]!;
      const r = await chatStream(ctx, base, agents.get(name)!);
      if (sample < 0) continue;
      const bucket = results.get(name)!;
      bucket.first.push(r.first);
      bucket.last.push(r.last);
      bucket.frames.push(r.frames);
    }
  }
  for (const agent of agents.values()) agent.destroy();
  const g = results.get('gateway')!;
  const d = results.get('direct')!;
  return {
    chat_stream_first_frame_delta_ms: round3(median(g.first) - median(d.first)),
    chat_stream_last_frame_delta_ms: round3(median(g.last) - median(d.last)),
    chat_stream_first_frame_p50_ms: { direct: round3(median(d.first)), gateway: round3(median(g.first)) },
    chat_stream_frames_per_stream: { direct: median(d.frames), gateway: median(g.frames) },
    chat_stream_basis: 'POST chat start + GET its stream, times from the POST; 20 deltas at 10 ms',
  };
}

export async function runSse(ctx: BenchContext): Promise<Record<string, unknown>> {
  return { ...(await timedSse(ctx)), ...(await meteredStreams(ctx)) };
}
