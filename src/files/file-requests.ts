// The file routes: an upload that stores a file is admitted (a valid token, a Content-Length, then ONE
// statement that holds it against files_limit) and streamed to LibreChat as it arrives, never buffered;
// LibreChat's answer settles the hold (200: its `bytes`; anything else, or none: given back) before the
// client sees it, so files_used is current when the client reads the answer. A delete is forwarded as it is
// and, on LibreChat's 200, gives back the bytes of the files it named, again before the client sees it.
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { LRUCache } from 'lru-cache';
import type { PendingQuery, Row } from 'postgres';
import { identityInput } from '../admission/admit.ts';
import { principalFromClaims, type Principal } from '../auth/principal.ts';
import type { TokenVerifier } from '../auth/verify-token.ts';
import type { Config } from '../config.ts';
import type { Sql } from '../db/sql.ts';
import { GatewayError, isErrorCode } from '../errors.ts';
import type { Logger } from '../log.ts';
import { readClientBody } from '../proxy/client-body.ts';
import { clientFacts } from '../http/client-address.ts';
import type { UpstreamProxy } from '../proxy/upstream-proxy.ts';
import type { FileRoute } from './file-routes.ts';
import { holdUploadStatement, type UploadDecision } from './hold.ts';
import { readDeletedFileIds, readUploadAnswer, UPLOAD_ANSWER_LIMIT } from './librechat-answers.ts';
import { LIST_ANSWER_LIMIT, readFileList, RECONCILE_EVERY_MS, reconcileFilesStatement } from './reconcile.ts';
import { runFileStatement, sendFileRefusal, storageFull } from './refusal.ts';
import { relayAfter } from './relay.ts';
import { deleteFilesStatement, releaseUploadHold, settleStoredUpload } from './settle.ts';

export interface FileRequestDeps {
  config: Config;
  sql: Sql;
  logger: Logger;
  upstream: UpstreamProxy;
  verifyToken: TokenVerifier;
  instanceId: string;
}

/** What the request's log line records (client-request.ts's record). */
export interface FileRequestRecord {
  request_id: string;
  code?: string;
  tenant_id?: string;
  workspace_id?: string;
}

const CONTENT_LENGTH = /^\d{1,15}$/;
const RETRY_EVERY_MS = 1_000;
const RETRY_FOR_MS = 10 * 60_000;
/** A refused upload up to this size is drained (the client reads its answer on a live connection). */
const DRAIN_LIMIT = 8 * 1024 * 1024;

function declaredLength(req: IncomingMessage): number | undefined {
  const header = req.headers['content-length'];
  return typeof header === 'string' && CONTENT_LENGTH.test(header) ? Number(header) : undefined;
}

function refusalOf(row: UploadDecision, uploadBytes: number): GatewayError {
  if (row.code === 'quota_exceeded') {
    return storageFull({ storedBytes: Number(row.stored_bytes ?? 0), heldBytes: Number(row.held_bytes ?? 0), limitMb: row.files_limit ?? 0, uploadBytes });
  }
  return new GatewayError(isErrorCode(row.code) ? row.code : 'internal');
}

export function createFileRequests(deps: FileRequestDeps) {
  const { config, logger } = deps;
  const run = <T extends Row>(query: PendingQuery<T[]>, onLateCommit?: (rows: T[]) => void) =>
    runFileStatement<T>(query, { timeoutMs: config.dbStatementTimeoutMs, logger, onLateCommit });

  async function authenticate(req: IncomingMessage): Promise<Principal> {
    return principalFromClaims(await deps.verifyToken(req.headers.authorization));
  }

  /** Reconciles once; a failure is logged (the next list tries again). */
  function settleQuietly(what: string, requestId: string, work: () => Promise<unknown>): Promise<void> {
    return work().then(() => undefined, (error: { code?: string }) => {
      logger.warn('file settlement failed', { request_id: requestId, what, err_code: error.code });
    });
  }

  /**
   * Settles, gives back or deletes: the first attempt is awaited (the client's answer then follows a settled
   * count); if the database failed, it is retried in the background every second for up to RETRY_FOR_MS.
   * Each statement is guarded by the row's status, so a retry after one that did commit changes nothing.
   * Past that (or if the process dies), the upload sweep or a reconciliation corrects the count.
   */
  async function settleOrRetry(what: string, requestId: string, work: () => Promise<unknown>): Promise<void> {
    const failed = (error: { code?: string }) => logger.warn('file settlement failed, retrying', { request_id: requestId, what, err_code: error.code });
    try {
      await work();
      return;
    } catch (error) {
      failed(error as { code?: string });
    }
    const giveUpAt = Date.now() + RETRY_FOR_MS;
    const retry = () => {
      work().then(() => logger.info('file settlement retried', { request_id: requestId, what }), (error: { code?: string }) => {
        if (Date.now() < giveUpAt) setTimeout(retry, RETRY_EVERY_MS).unref();
        else logger.error('file settlement abandoned', { request_id: requestId, what, err_code: error.code });
      });
    };
    setTimeout(retry, RETRY_EVERY_MS).unref();
  }

  async function handleUpload(req: IncomingMessage, res: ServerResponse, record: FileRequestRecord, route: string): Promise<void> {
    const requestId = record.request_id;
    const principal = await authenticate(req);
    const holdBytes = declaredLength(req);
    if (holdBytes === undefined) throw new GatewayError('length_required');
    const uploadId = randomUUID();
    const release = () => settleOrRetry('release', requestId, () => releaseUploadHold(deps.sql, uploadId));
    const [row] = await run(holdUploadStatement(deps.sql, {
      who: identityInput(principal, req, config.trustProxy),
      upload: { uploadId, requestId, route, holdBytes, instanceId: deps.instanceId, ...clientFacts(req, config.trustProxy) },
    }), (rows) => { if (rows[0]?.code === null) void release(); });
    if (!row) throw new GatewayError('internal');
    if (row.code !== null) throw refusalOf(row, holdBytes);
    Object.assign(record, { tenant_id: row.tenant_id, workspace_id: row.workspace_id });
    Object.assign(req.headers, { 'x-tenant-id': row.tenant_id!, 'x-workspace-id': row.workspace_id! });
    deps.upstream.forward(req, res, {
      requestId,
      identityEncoding: true,
      selfHandleResponse: true,
      onUpstreamResponse: (upstreamRes) => relayAfter(upstreamRes, res, UPLOAD_ANSWER_LIMIT, (answer) => {
        if (upstreamRes.statusCode !== 200) return release();
        const stored = readUploadAnswer(answer);
        return settleOrRetry('stored', requestId, () => settleStoredUpload(deps.sql, { uploadId, ...stored }));
      }),
      onFailure: () => void release(),
    });
  }

  async function handleDelete(req: IncomingMessage, res: ServerResponse, record: FileRequestRecord): Promise<void> {
    const requestId = record.request_id;
    const principal = await authenticate(req);
    const raw = await readClientBody(req, config.chatBodyLimit);
    const fileIds = readDeletedFileIds(raw);
    const who = identityInput(principal, req, config.trustProxy);
    deps.upstream.forward(req, res, {
      requestId,
      body: raw,
      identityEncoding: true,
      selfHandleResponse: true,
      onUpstreamResponse: (upstreamRes) => relayAfter(upstreamRes, res, UPLOAD_ANSWER_LIMIT, async () => {
        if (upstreamRes.statusCode !== 200 || fileIds.length === 0) return;
        await settleOrRetry('delete', requestId, () => run(deleteFilesStatement(deps.sql, { who, requestId, fileIds, ...clientFacts(req, config.trustProxy) })));
      }),
    });
  }

  // Who was reconciled lately (by token subject): a client polling its list costs one statement a minute.
  const reconciledLately = new LRUCache<string, true>({ max: 10_000, ttl: RECONCILE_EVERY_MS });

  /** `GET /api/files`: passed on as LibreChat answers, after its list has corrected the count (at most once a minute). */
  async function handleList(req: IncomingMessage, res: ServerResponse, record: FileRequestRecord): Promise<void> {
    const requestId = record.request_id;
    const principal = await authenticate(req);
    if (reconciledLately.has(principal.subjectKey)) return deps.upstream.forward(req, res, { requestId });
    reconciledLately.set(principal.subjectKey, true);
    const who = identityInput(principal, req, config.trustProxy);
    const askedAt = new Date();
    deps.upstream.forward(req, res, {
      requestId,
      identityEncoding: true,
      selfHandleResponse: true,
      onUpstreamResponse: (upstreamRes) => relayAfter(upstreamRes, res, LIST_ANSWER_LIMIT, async (answer) => {
        const listed = upstreamRes.statusCode === 200 ? readFileList(answer) : undefined;
        if (!listed) return;
        await settleQuietly('reconcile', requestId, () =>
          run(reconcileFilesStatement(deps.sql, { who, requestId, listed, askedAt, ...clientFacts(req, config.trustProxy) })));
      }),
    });
  }

  /** Handles a file route; refusals answer with the top-level `message` LibreChat's client shows. */
  return async function handleFileRequest(route: FileRoute, req: IncomingMessage, res: ServerResponse, record: FileRequestRecord): Promise<void> {
    const { kind } = route;
    try {
      if (kind === 'file_upload') await handleUpload(req, res, record, route.path);
      else if (kind === 'file_delete') await handleDelete(req, res, record);
      else await handleList(req, res, record);
    } catch (error) {
      const failure = error instanceof GatewayError ? error : new GatewayError('internal');
      if (!(error instanceof GatewayError)) logger.error('file request failed', { request_id: record.request_id, err: (error as Error).name });
      record.code = failure.code;
      // A refused upload's body is not forwarded. Node reads and drops what is left of it so the connection
      // can serve the next request; past DRAIN_LIMIT (or with no length) closing beats reading gigabytes.
      const length = declaredLength(req);
      const close = failure.code === 'payload_too_large' || (kind === 'file_upload' && (length === undefined || length > DRAIN_LIMIT));
      sendFileRefusal(res, failure, record.request_id, close);
    }
  };
}

export type FileRequests = ReturnType<typeof createFileRequests>;
