// Choosing a workspace (DESIGN.md "LibreChat's web client"): GET /_gateway/workspaces lists the caller's
// workspaces, POST /_gateway/workspace sets the geko_workspace cookie after the same checks as a chat, and
// GET /_gateway/workspace is the page a signed-in LibreChat user does it from. Both API routes take LibreChat's
// Bearer token, never the cookie alone: another site can make a browser send its cookies, but not a header,
// so it cannot switch anyone's workspace. Each request runs one read-only statement.
import type { IncomingMessage } from 'node:http';
import { RESPONSE_ALREADY_SENT } from '@hono/node-server/utils/response';
import type { Context, Hono } from 'hono';
import type { AppEnv } from '../http/app-env.ts';
import { identityInput } from '../admission/admit.ts';
import { isUuid, principalFromClaims } from '../auth/principal.ts';
import type { TokenVerifier } from '../auth/verify-token.ts';
import type { Config } from '../config.ts';
import type { Sql } from '../db/sql.ts';
import { GatewayError, isErrorCode } from '../errors.ts';
import type { Logger } from '../log.ts';
import { clientOverHttps } from '../http/client-address.ts';
import { setPageHeaders } from '../http/page-headers.ts';
import { resolveRequestId } from '../http/request-id.ts';
import { sendError, sendJson } from '../http/respond.ts';
import { CHOOSER_CSP, CHOOSER_SCRIPT, CHOOSER_SCRIPT_PATH, CHOOSER_STYLE_PATH, CHOOSER_STYLESHEET, chooserPage } from './chooser-page.ts';
import { CHOOSER_PATH, WORKSPACE_COOKIE, WORKSPACES_PATH } from './chooser-path.ts';
import { listScopeStatement, membershipsStatement, runWebClientStatement, type MembershipRow } from './queries.ts';

export interface ChooserDeps {
  sql: Sql;
  config: Pick<Config, 'trustProxy' | 'dbStatementTimeoutMs'>;
  verifyToken: TokenVerifier;
  logger: Logger;
}

type Ctx = Context<AppEnv>;

/** Failures that mean the caller is not known at all; any workspace-level failure still lists their workspaces. */
const CALLER_FAILURES = new Set(['tenant_ambiguous', 'tenant_inactive', 'user_inactive']);
const BODY_LIMIT = 4 * 1024;
const COOKIE_MAX_AGE = 365 * 24 * 3600;

function toIso(value: Date | null): string | null {
  return value ? new Date(value).toISOString() : null;
}

async function readJson(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > BODY_LIMIT) throw new GatewayError('payload_too_large');
    chunks.push(chunk as Buffer);
  }
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8'));
  } catch {
    throw new GatewayError('invalid_request', 'The body must be JSON with a workspace_id.');
  }
}

/** One statement, cancelled past DB_STATEMENT_TIMEOUT; any failure is the gateway's 503 (fail closed). */
function runBounded<T>(deps: ChooserDeps, query: { cancel(): void } & PromiseLike<T>): Promise<T> {
  return runWebClientStatement(query, { timeoutMs: deps.config.dbStatementTimeoutMs, logger: deps.logger, failure: 'workspace chooser statement failed' });
}

/** Runs a JSON route: its value is answered 200; a GatewayError in the one error shape. */
async function answerJson(c: Ctx, handler: (req: IncomingMessage) => Promise<unknown>): Promise<Response> {
  const requestId = resolveRequestId(c.env.incoming.headers);
  try {
    sendJson(c.env.outgoing, 200, await handler(c.env.incoming), requestId);
  } catch (error) {
    sendError(c.env.outgoing, error instanceof GatewayError ? error : new GatewayError('internal'), requestId);
  }
  return RESPONSE_ALREADY_SENT;
}

function refusal(code: string | null): GatewayError {
  return new GatewayError(isErrorCode(code) ? code : 'internal');
}

export function registerChooserRoutes(app: Hono<AppEnv>, deps: ChooserDeps): void {
  async function caller(req: IncomingMessage) {
    return principalFromClaims(await deps.verifyToken(req.headers.authorization));
  }

  app.get(WORKSPACES_PATH, (c) => answerJson(c, async (req) => {
    const rows: MembershipRow[] = await runBounded(deps, membershipsStatement(deps.sql, identityInput(await caller(req), req, deps.config.trustProxy)));
    const first = rows[0];
    if (!first || first.user_id === null || CALLER_FAILURES.has(first.identity_code ?? '')) throw refusal(first?.identity_code ?? 'user_inactive');
    return {
      selected: first.selected_id,
      workspaces: rows.filter((row) => row.workspace_id !== null).map((row) => ({
        workspace_id: row.workspace_id, name: row.name, role: row.role,
        tokens_limit: row.tokens_limit, tokens_used: row.tokens_used,
        requests_limit: row.requests_limit, requests_used: row.requests_used, reset_at: toIso(row.reset_at),
      })),
    };
  }));

  app.post(CHOOSER_PATH, async (c) => {
    const secure = clientOverHttps(c.env.incoming, deps.config.trustProxy);
    return answerJson(c, async (req) => {
      const principal = await caller(req);
      const body = await readJson(req);
      const given = typeof body === 'object' && body !== null ? (body as { workspace_id?: unknown }).workspace_id : undefined;
      if (typeof given !== 'string' || given.length === 0 || given.length > 255) {
        throw new GatewayError('invalid_request', 'The body must be JSON with a workspace_id.');
      }
      const who = { ...identityInput(principal, req, deps.config.trustProxy), workspaceGiven: true, workspaceId: isUuid(given) ? given.toLowerCase() : null };
      const [row] = await runBounded(deps, listScopeStatement(deps.sql, who));
      if (!row || row.identity_code !== null) throw refusal(row?.identity_code ?? 'internal');
      const chosen = row.workspace_id!;
      // Set only here, after every check passed: a refusal goes out without it.
      c.env.outgoing.setHeader('set-cookie', `${WORKSPACE_COOKIE}=${chosen}; Path=/; Max-Age=${COOKIE_MAX_AGE}; HttpOnly; SameSite=Lax${secure ? '; Secure' : ''}`);
      return { selected: chosen };
    });
  });

  const pageHeaders = (c: Ctx, contentType: string) => {
    c.header('content-type', contentType);
    setPageHeaders(c, CHOOSER_CSP);
  };
  app.get(CHOOSER_PATH, (c) => {
    pageHeaders(c, 'text/html; charset=utf-8');
    return c.body(chooserPage().text);
  });
  app.get(CHOOSER_SCRIPT_PATH, (c) => {
    pageHeaders(c, 'text/javascript; charset=utf-8');
    return c.body(CHOOSER_SCRIPT);
  });
  app.get(CHOOSER_STYLE_PATH, (c) => {
    pageHeaders(c, 'text/css; charset=utf-8');
    return c.body(CHOOSER_STYLESHEET);
  });
}
