// Admission as the request handlers use it: builds the identity input from the verified principal and
// the client request, runs the one statement, and turns its decision into an admitted chat or the
// GatewayError of the first failed rule (with Retry-After on 429). A database that cannot be reached
// fails closed with 503 database_unavailable.
import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { Principal } from '../auth/principal.ts';
import { isUuid } from '../auth/principal.ts';
import { isDatabaseUnavailable, type Sql } from '../db/sql.ts';
import { GatewayError, isErrorCode } from '../errors.ts';
import type { Logger } from '../log.ts';
import { clientHost, readCookie } from '../proxy/headers.ts';
import type { ChatRequestFacts } from './chat-request.ts';
import { promptHoldTokens } from './chat-request.ts';
import {
  admitChatStatement, checkQuotaStatement, readQuotaStatement,
  type DecisionRow, type IdentityInput, type RequestFacts,
} from './statement.ts';

export interface AdmittedChat {
  usageId: string;
  requestId: string;
  tenantId: string;
  workspaceId: string;
  userId: string;
  endpoint: string;
  model: string;
  hold: number;
  promptTokens: number;
  quotaHeaders: Record<string, string>;
}

export interface QuotaView {
  tenant_id: string;
  workspace_id: string;
  tokens_limit: number;
  tokens_used: number;
  requests_limit: number;
  requests_used: number;
  reset_at: string | null;
}

export interface Admission {
  admitChat(who: IdentityInput, req: RequestFacts, facts: ChatRequestFacts): Promise<AdmittedChat>;
  checkQuota(who: IdentityInput, req: RequestFacts): Promise<DecisionRow>;
  readQuota(who: IdentityInput): Promise<QuotaView>;
}

/** Where the workspace comes from, first present wins: header, cookie, claim (the only membership is SQL's). */
export function identityInput(principal: Principal, clientReq: IncomingMessage, trustProxy: boolean): IdentityInput {
  const header = clientReq.headers['x-workspace-id'];
  const named = (typeof header === 'string' && header.trim() ? header.trim() : undefined)
    ?? readCookie(clientReq.headers, 'geko_workspace') ?? principal.workspaceClaim;
  return {
    tenantClaimed: principal.tenantClaimed,
    tenantId: principal.tenantId,
    userId: principal.userId,
    email: principal.email,
    host: clientHost(clientReq.headers, trustProxy),
    workspaceGiven: named !== undefined,
    workspaceId: isUuid(named) ? named.toLowerCase() : null,
  };
}

function toIso(value: Date | null): string | null {
  return value ? new Date(value).toISOString() : null;
}

function denial(row: DecisionRow): GatewayError {
  const code = isErrorCode(row.code) ? row.code : 'internal';
  if (code !== 'quota_exceeded') return new GatewayError(code);
  const headers: Record<string, string> = row.retry_after !== null ? { 'retry-after': String(row.retry_after) } : {};
  return new GatewayError(
    'quota_exceeded',
    row.quota_kind === 'requests' ? 'The workspace request quota is used up.' : 'The workspace token quota is used up.',
    { kind: row.quota_kind, reset_at: toIso(row.reset_at) },
    headers,
  );
}

export function createAdmission(deps: { sql: Sql; instanceId: string; logger: Logger }): Admission {
  async function decide(query: () => Promise<DecisionRow[]>): Promise<DecisionRow> {
    let rows: DecisionRow[];
    try {
      rows = await query();
    } catch (error) {
      if (isDatabaseUnavailable(error)) throw new GatewayError('database_unavailable');
      deps.logger.error('admission statement failed', { err_code: (error as { code?: string }).code }); if (process.env.GEKO_DEBUG) console.error(error);
      throw new GatewayError('database_unavailable');
    }
    const row = rows[0];
    if (!row) throw new GatewayError('internal');
    if (row.code !== null) throw denial(row);
    return row;
  }

  return {
    async admitChat(who, req, facts) {
      const usageId = randomUUID();
      const promptTokens = promptHoldTokens(facts.promptText);
      const row = await decide(() => admitChatStatement(deps.sql, {
        who, req, slots: facts.slots, promptTokens, bodyOutputCap: facts.bodyOutputCap, usageId, instanceId: deps.instanceId,
      }));
      const quotaHeaders: Record<string, string> = {
        'x-quota-tokens-remaining': String(Math.max(0, (row.tokens_limit ?? 0) - (row.tokens_used ?? 0))),
        'x-quota-requests-remaining': String(Math.max(0, (row.requests_limit ?? 0) - (row.requests_used ?? 0))),
      };
      const resetAt = toIso(row.reset_at);
      if (resetAt) quotaHeaders['x-quota-reset'] = resetAt;
      return {
        usageId, requestId: req.requestId, tenantId: row.tenant_id!, workspaceId: row.workspace_id!, userId: row.user_id!,
        endpoint: req.endpoint, model: facts.model, hold: row.hold ?? 0, promptTokens: Math.min(promptTokens, row.hold ?? 0), quotaHeaders,
      };
    },
    checkQuota: (who, req) => decide(() => checkQuotaStatement(deps.sql, { who, req })),
    async readQuota(who) {
      const row = await decide(() => readQuotaStatement(deps.sql, who));
      return {
        tenant_id: row.tenant_id!, workspace_id: row.workspace_id!,
        tokens_limit: row.tokens_limit!, tokens_used: row.tokens_used!,
        requests_limit: row.requests_limit!, requests_used: row.requests_used!,
        reset_at: toIso(row.reset_at),
      };
    },
  };
}
