// Helpers for metering tests: wait for a chat's settlement, read its rows, and read a stream as a client.
import http from 'node:http';
import type { Sql } from '../../src/db/sql.ts';

export interface UsageRow {
  usage_id: string;
  status: string;
  prompt_tokens: number;
  completion_tokens: number;
  total_tokens: number;
  hold_tokens: number;
  usage_source: string | null;
  conversation_id: string | null;
  stream_id: string | null;
  details: Record<string, unknown>;
}

export async function waitSettled(sql: Sql, requestId: string, timeoutMs = 8_000): Promise<UsageRow> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const [row] = await sql<UsageRow[]>`SELECT * FROM chat_usage WHERE request_id = ${requestId}`;
    if (row && row.status !== 'reserved') return row;
    if (Date.now() > deadline) throw new Error(`chat ${requestId} not settled within ${timeoutMs} ms (status ${row?.status})`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

/**
 * Waits until a workspace's chats are at rest: no hold `reserved`, and the same rows with the same statuses for
 * `quietMs` (a client that left early closes its socket before the gateway has finished deciding, so the test
 * cannot know when the last statement lands). Throws when they are still moving at the deadline; a hold that
 * is never settled is then reported by the caller's own assertions on the rows.
 */
export async function waitWorkspaceAtRest(sql: Sql, workspaceId: string, opts: { quietMs?: number; timeoutMs?: number } = {}): Promise<void> {
  const quietMs = opts.quietMs ?? 500;
  const deadline = Date.now() + (opts.timeoutMs ?? 15_000);
  let last = '';
  let stableSince = Date.now();
  for (;;) {
    const rows = await sql<{ usage_id: string; status: string; total_tokens: number | null }[]>`
      SELECT usage_id, status, total_tokens FROM chat_usage WHERE workspace_id = ${workspaceId} ORDER BY usage_id`;
    const [quota] = await sql<{ tokens_used: number; requests_used: number }[]>`
      SELECT tokens_used, requests_used FROM workspace_quotas WHERE workspace_id = ${workspaceId}`;
    const state = JSON.stringify([rows, quota]);
    if (state !== last) { last = state; stableSince = Date.now(); }
    const reserved = rows.some((row) => row.status === 'reserved');
    if (!reserved && Date.now() - stableSince >= quietMs) return;
    if (Date.now() > deadline) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

export async function completedAudit(sql: Sql, requestId: string) {
  return sql<{ status: string; resource_id: string | null; error_message: string | null; details: Record<string, unknown> }[]>`
    SELECT status, resource_id, error_message, details FROM audit_logs
    WHERE action = 'chat_completed' AND details ->> 'request_id' = ${requestId}`;
}

export interface StreamRead {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
  frames: Record<string, unknown>[];
  firstByteAt: number;
  endedAt: number;
}

/** Parses `data:` lines of SSE text into JSON frames (skips non-JSON). */
export function parseFrames(text: string): Record<string, unknown>[] {
  const frames: Record<string, unknown>[] = [];
  for (const block of text.split(/\r?\n\r?\n/)) {
    const data = block.split(/\r?\n/).filter((l) => l.startsWith('data:')).map((l) => l.slice(5).trimStart()).join('\n');
    if (!data) continue;
    try {
      frames.push(JSON.parse(data) as Record<string, unknown>);
    } catch {
      // not JSON
    }
  }
  return frames;
}

/** GETs a stream as a client; `stopAfterBytes` disconnects early, `readDelayMs` pauses before reading. */
export function readStream(url: string, token: string, opts: { stopAfterBytes?: number; pauseMs?: number } = {}): Promise<StreamRead> {
  const started = Date.now();
  return new Promise((resolve, reject) => {
    const req = http.get(url, { headers: { authorization: `Bearer ${token}`, accept: 'text/event-stream' } }, (res) => {
      let body = '';
      let firstByteAt = 0;
      const finish = () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body, frames: parseFrames(body), firstByteAt, endedAt: Date.now() - started });
      if (opts.pauseMs) {
        res.pause();
        setTimeout(() => res.resume(), opts.pauseMs);
      }
      res.on('data', (chunk: Buffer) => {
        if (!firstByteAt) firstByteAt = Date.now() - started;
        body += chunk.toString('utf8');
        if (opts.stopAfterBytes !== undefined && body.length >= opts.stopAfterBytes) {
          req.destroy();
          finish();
        }
      });
      res.on('end', finish);
      res.on('error', () => finish());
    });
    // After stopAfterBytes the promise has already resolved, so the error of our own destroy() changes nothing;
    // any earlier error (a reset before the answer) must settle it, or the caller waits forever.
    req.on('error', reject);
  });
}
