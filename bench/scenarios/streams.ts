// Memory with 1,000 concurrent metered streams: start N chats through the gateway whose generations
// stream 50 deltas (~10 s) and then stay open (the fake's `hang` ending: the last LLM call never
// returns), and for each open the client stream (GET /api/agents/chat/stream/:id), so the gateway holds
// N upstream subscriptions and serves N clients at once however long the N starts take. The gateway's
// VmRSS is sampled every 100 ms; the figure is the peak while all N client streams are open, over a
// window that covers the deltas. Then every chat is aborted through the gateway (POST
// /api/agents/chat/abort): each stream must end with its aborted final frame and be settled.
// It runs on a fresh gateway process (warmed with a few hundred short chats): the one that ran the load
// scenarios still keeps every generation of the last 30 s for late clients, which would be counted too.
// That process's RSS is reported beside it (rss_mb_gateway_after_load).
import http from 'node:http';
import { authHeaders, sleep, waitForSettlement, type BenchContext } from '../context.ts';
import { fanOut, readSse, request } from '../http.ts';
import { round2 } from '../load.ts';
import { readRssMb } from '../processes.ts';
import { chatStartBody } from './metered.ts';

const DELTAS = 50;

interface Sampler {
  samples: { rss: number; open: number }[];
  stop(): void;
}

function sampleRss(pid: number, open: () => number): Sampler {
  const samples: Sampler['samples'] = [];
  const take = () => {
    const rss = readRssMb(pid);
    if (rss !== null) samples.push({ rss, open: open() });
  };
  take();
  const timer = setInterval(take, 100);
  return { samples, stop: () => clearInterval(timer) };
}

interface OpenStream {
  streamId: string;
  done: Promise<boolean>;
}

/** Starts a chat and opens its client stream; resolves once the stream's headers arrived. */
async function openStream(ctx: BenchContext, agents: { post: http.Agent; stream: http.Agent }, counters: { open: number }, fake: Record<string, unknown>): Promise<OpenStream> {
  const started = await request(`${ctx.urls.gateway}/api/agents/chat/openAI`, {
    method: 'POST', headers: authHeaders(ctx), body: chatStartBody(fake), agent: agents.post,
  });
  if (started.status !== 200) throw new Error(`chat start answered ${started.status}: ${started.body.slice(0, 200)}`);
  const { streamId } = JSON.parse(started.body) as { streamId: string };
  let opened = false;
  let markOpen: () => void = () => undefined;
  const isOpen = new Promise<void>((resolve) => { markOpen = resolve; });
  const done = readSse(`${ctx.urls.gateway}/api/agents/chat/stream/${encodeURIComponent(streamId)}`, {
    headers: authHeaders(ctx), agent: agents.stream, timeoutMs: 180_000,
    onHeaders: () => { opened = true; counters.open += 1; markOpen(); },
  }).then(
    (timing) => timing.status === 200 && timing.texts.some((t) => t.includes('"final":true')),
    () => false,
  ).finally(() => {
    if (opened) counters.open -= 1;
    markOpen();
  });
  await isOpen;
  return { streamId, done };
}

async function abortAll(ctx: BenchContext, streams: OpenStream[], agent: http.Agent): Promise<number> {
  const statuses = await fanOut(streams.length, 50, async (i) => (await request(`${ctx.urls.gateway}/api/agents/chat/abort`, {
    method: 'POST', headers: authHeaders(ctx), body: JSON.stringify({ streamId: streams[i]!.streamId }), agent,
  }).catch(() => ({ status: 0 }))).status);
  return statuses.filter((s) => s !== 200).length;
}

/** Restarts the gateway and warms the new process with short chats (JIT, pools), then lets it settle. */
async function freshGateway(ctx: BenchContext): Promise<number | null> {
  const afterLoad = readRssMb(ctx.pids.gateway);
  await ctx.restartGateway();
  const agent = new http.Agent({ keepAlive: true, maxSockets: 16 });
  await fanOut(300, 16, () => request(`${ctx.urls.gateway}/api/agents/chat/openAI`, {
    method: 'POST', headers: authHeaders(ctx), body: chatStartBody(), agent,
  }));
  agent.destroy();
  await waitForSettlement(ctx);
  await sleep(2_000);
  return afterLoad;
}

export async function runStreams(ctx: BenchContext): Promise<Record<string, unknown>> {
  const afterLoad = await freshGateway(ctx);
  const n = ctx.cfg.streams;
  const interval = ctx.cfg.streamFrameIntervalMs;
  const fake = { deltas: Array.from({ length: DELTAS }, (_, i) => `tok${i} `), frameIntervalMs: interval, startDelayMs: 0, ending: 'hang' };
  const agents = { post: new http.Agent({ keepAlive: true, maxSockets: 50 }), stream: new http.Agent({ keepAlive: false, maxSockets: Infinity }) };
  const openBefore = await waitForSettlement(ctx);
  const before = readRssMb(ctx.pids.gateway);
  const counters = { open: 0 };
  const sampler = sampleRss(ctx.pids.gateway, () => counters.open);
  const t0 = Date.now();
  const streams: OpenStream[] = [];
  let failedStarts = 0;
  await fanOut(n, 50, async () => {
    try {
      streams.push(await openStream(ctx, agents, counters, fake));
    } catch {
      failedStarts += 1;
    }
  });
  const allOpenAfterMs = counters.open >= n ? Date.now() - t0 : null;
  // Hold the window until the first generations have streamed all their deltas (and at least 3 s).
  await sleep(Math.max(3_000, DELTAS * interval + 500 - (Date.now() - t0)));
  const failedAborts = await abortAll(ctx, streams, agents.post);
  const results = await Promise.all(streams.map((s) => s.done));
  sampler.stop();
  agents.post.destroy();
  const unsettled = (await waitForSettlement(ctx, 30_000)) - openBefore;
  await sleep(1_000);
  const after = readRssMb(ctx.pids.gateway);
  const whileAllOpen = sampler.samples.filter((s) => s.open >= n).map((s) => s.rss);
  const complete = results.filter(Boolean).length;
  ctx.log(`  ${n} streams: all open after ${allOpenAfterMs ?? 'never'} ms; ${whileAllOpen.length} samples with all open; ${complete} ended with a final frame; ${unsettled} unsettled`);
  return {
    rss_mb_1000_streams: whileAllOpen.length > 0 ? round2(Math.max(...whileAllOpen)) : null,
    rss_mb_streams_peak: round2(Math.max(...sampler.samples.map((s) => s.rss))),
    rss_mb_before_streams: before === null ? null : round2(before),
    rss_mb_gateway_after_load: afterLoad === null ? null : round2(afterLoad),
    rss_mb_after_streams: after === null ? null : round2(after),
    streams_started: n - failedStarts,
    streams_all_open_after_ms: allOpenAfterMs,
    streams_samples_all_open: whileAllOpen.length,
    streams_ended_with_final: complete,
    streams_failed_aborts: failedAborts,
    streams_unsettled: unsettled,
  };
}
