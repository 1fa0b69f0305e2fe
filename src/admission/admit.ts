// Admission as the request handlers use it: builds the identity input from the verified principal and
// the client request, runs the one statement, and turns its decision into an admitted chat or the
// GatewayError of the first failed rule (with Retry-After on 429). A database that cannot be reached,
// or does not answer in time, fails closed with 503 database_unavailable.
import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { PendingQuery } from 'postgres';
import type { Principal } from '../auth/principal.ts';
import { isUuid } from '../auth/principal.ts';
import { isDatabaseUnavailable, type Sql } from '../db/sql.ts';
import { GatewayError, isErrorCode } from '../errors.ts';
import type { Logger } from '../log.ts';
import type { Metrics } from '../ops/metrics.ts';
import { clientHost, type TrustProxy } from '../http/client-address.ts';
import { readCookie } from '../proxy/headers.ts';
import type { ChatRequestFacts } from './chat-request.ts';
import { promptHoldTokens } from './chat-request.ts';
import { isEnabledBy } from './enabled-rule.ts';
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
  /** What the workspace enabled when it admitted the chat: the stream is held to it (DESIGN.md, Admission). */
  enabledModels: unknown;
  enabledMcps: unknown;
  /** Admitted by an enabled saved-agent id, which enables whatever models the agent runs (not its tools). */
  admittedByAgentId: boolean;
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
  /** `tools`: the MCP servers and built-in tools the body asks for (chat-tools.ts readChatTools). */
  admitChat(who: IdentityInput, req: RequestFacts, facts: ChatRequestFacts, tools?: string[]): Promise<AdmittedChat>;
  checkQuota(who: IdentityInput, req: RequestFacts): Promise<DecisionRow>;
  readQuota(who: IdentityInput): Promise<QuotaView>;
  /** Statements waiting for or holding a pooled connection (a metrics gauge). */
  pendingStatements(): number;
}

/** Where the workspace comes from, first present wins: header, cookie, claim (the only membership is SQL's). */
export function identityInput(principal: Principal, clientReq: IncomingMessage, trustProxy: TrustProxy): IdentityInput {
  const header = clientReq.headers['x-workspace-id'];
  const named = (typeof header === 'string' && header.trim() ? header.trim() : undefined)
    ?? readCookie(clientReq.headers, 'geko_workspace') ?? principal.workspaceClaim;
  return {
    tenantClaimed: principal.tenantClaimed,
    tenantId: principal.tenantId,
    userId: principal.userId,
    email: principal.email,
    host: clientHost(clientReq, trustProxy),
    workspaceGiven: named !== undefined,
    workspaceId: isUuid(named) ? named.toLowerCase() : null,
  };
}

function toIso(value: Date | null): string | null {
  return value ? new Date(value).toISOString() : null;
}

/** What the request knew that a refusal names: the prompt's token estimate, and why a name stands alone. */
interface DenialContext {
  promptTokens?: number;
  notes?: Record<string, string>;
}

/** model_not_enabled names the first model not enabled (and, for an agent it stands for, why). */
function modelDenial(model: string, notes: Record<string, string>): GatewayError {
  const note = Object.hasOwn(notes, model) ? notes[model] : undefined;
  const message = note === undefined
    ? `The model ${model} is not enabled for this workspace.`
    : `The agent ${model} is not enabled for this workspace, and the models it runs cannot all be checked (${note}); enable the agent itself to use it.`;
  return new GatewayError('model_not_enabled', message, { model });
}

function denial(row: DecisionRow, context: DenialContext = {}): GatewayError {
  const code = isErrorCode(row.code) ? row.code : 'internal';
  if (code === 'model_not_enabled' && typeof row.denied_model === 'string') return modelDenial(row.denied_model, context.notes ?? {});
  if (code === 'mcp_not_enabled' && row.mcp_name) {
    return new GatewayError(code, `The MCP server or tool "${row.mcp_name}" is not enabled for this workspace.`, { name: row.mcp_name });
  }
  if (code !== 'quota_exceeded') return new GatewayError(code);
  const headers: Record<string, string> = row.retry_after !== null ? { 'retry-after': String(row.retry_after) } : {};
  const resetAt = toIso(row.reset_at);
  // The figures LibreChat's web client shows for its own limits (src/web-client/refusal-fields.ts).
  const details = row.quota_kind === 'requests'
    ? { kind: row.quota_kind, reset_at: resetAt, requests_limit: row.requests_limit, requests_used: row.requests_used }
    : { kind: row.quota_kind, reset_at: resetAt, tokens_limit: row.tokens_limit, tokens_used: row.tokens_used, hold_tokens: row.hold ?? 0, prompt_tokens: context.promptTokens ?? 0 };
  return new GatewayError(
    'quota_exceeded',
    row.quota_kind === 'requests' ? 'The workspace request quota is used up.' : 'The workspace token quota is used up.',
    details,
    headers,
  );
}

export interface AdmissionDeps {
  sql: Sql;
  instanceId: string;
  logger: Logger;
  /** How long a request may wait for its statement (pool queue included) before it gets a 503. */
  statementTimeoutMs: number;
  /** How many statements may be waiting or running at once; past it, requests get a 503 at once. */
  maxPending: number;
  /** Gives back a hold whose statement committed after its request had already been answered 503. */
  releaseHold: (usageId: string, reason: string) => void;
  metrics?: Pick<Metrics, 'countDecision' | 'observeAdmission'>;
}

export function createAdmission(deps: AdmissionDeps): Admission {
  let pending = 0;

  /**
   * Runs one statement with a bounded wait: a full queue answers 503 at once (no pile-up behind an
   * exhausted pool), and a statement still running at the deadline is cancelled. If it committed anyway
   * (the cancel came too late), its hold is given back, since the client was told 503.
   */
  async function runBounded(query: PendingQuery<DecisionRow[]>, usageId: string | undefined): Promise<DecisionRow[]> {
    if (pending >= deps.maxPending) throw new GatewayError('database_unavailable', 'The database is saturated; try again shortly.');
    pending += 1;
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<'timeout'>((resolve) => { timer = setTimeout(() => resolve('timeout'), deps.statementTimeoutMs); });
    const settled = query.then((rows) => { pending -= 1; return rows; }, (error: unknown) => { pending -= 1; throw error; });
    try {
      const outcome = await Promise.race([settled, deadline]);
      if (outcome !== 'timeout') return outcome;
    } finally {
      clearTimeout(timer);
    }
    query.cancel();
    void settled.then((rows) => {
      if (usageId && rows[0]?.code === null) deps.releaseHold(usageId, 'admission answered 503 after its deadline');
    }, () => undefined);
    throw new GatewayError('database_unavailable', 'The database did not answer in time; try again shortly.');
  }

  async function decide(query: PendingQuery<DecisionRow[]>, usageId?: string, context?: DenialContext): Promise<DecisionRow> {
    let rows: DecisionRow[];
    const started = performance.now();
    try {
      rows = await runBounded(query, usageId);
    } catch (error) {
      deps.metrics?.countDecision('database_unavailable');
      if (error instanceof GatewayError) throw error;
      if (!isDatabaseUnavailable(error)) deps.logger.error('admission statement failed', { err_code: (error as { code?: string }).code });
      throw new GatewayError('database_unavailable');
    }
    deps.metrics?.observeAdmission((performance.now() - started) / 1000);
    const row = rows[0];
    if (!row) throw new GatewayError('internal');
    deps.metrics?.countDecision(row.code ?? 'admitted');
    if (row.code !== null) throw denial(row, context);
    return row;
  }

  return {
    async admitChat(who, req, facts, tools = []) {
      const usageId = randomUUID();
      const promptTokens = promptHoldTokens(facts.promptText);
      const row = await decide(admitChatStatement(deps.sql, {
        who, req, slots: facts.slots, promptTokens, bodyOutputCap: facts.bodyOutputCap, usageId, instanceId: deps.instanceId, tools,
      }), usageId, { promptTokens, notes: facts.refusalNotes });
      const quotaHeaders: Record<string, string> = {
        'x-quota-tokens-remaining': String(Math.max(0, (row.tokens_limit ?? 0) - (row.tokens_used ?? 0))),
        'x-quota-requests-remaining': String(Math.max(0, (row.requests_limit ?? 0) - (row.requests_used ?? 0))),
      };
      const resetAt = toIso(row.reset_at);
      if (resetAt) quotaHeaders['x-quota-reset'] = resetAt;
      return {
        usageId, requestId: req.requestId, tenantId: row.tenant_id!, workspaceId: row.workspace_id!, userId: row.user_id!,
        endpoint: req.endpoint, model: facts.model, hold: row.hold ?? 0, promptTokens: Math.min(promptTokens, row.hold ?? 0), quotaHeaders,
        enabledModels: row.enabled_models ?? null, enabledMcps: row.enabled_mcps ?? null,
        admittedByAgentId: facts.agentIds.some((agentId) => isEnabledBy(row.enabled_models, agentId)),
      };
    },
    checkQuota: (who, req) => decide(checkQuotaStatement(deps.sql, { who, req })),
    pendingStatements: () => pending,
    async readQuota(who) {
      const row = await decide(readQuotaStatement(deps.sql, who));
      return {
        tenant_id: row.tenant_id!, workspace_id: row.workspace_id!,
        tokens_limit: row.tokens_limit!, tokens_used: row.tokens_used!,
        requests_limit: row.requests_limit!, requests_used: row.requests_used!,
        reset_at: toIso(row.reset_at),
      };
    },
  };
}
