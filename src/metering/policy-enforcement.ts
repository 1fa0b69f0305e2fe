// What happens when a generation runs something the workspace does not enable (stream-policy.ts): the
// chat_policy_violation audit row (retried until it lands, a few times), and the end of the generation
// through LibreChat's abort route with the caller's token (abort-generation.ts). What the generation used
// is settled when LibreChat's aborted final arrives (or the stream ends otherwise): it was used.
import type http from 'node:http';
import type { Sql } from '../db/sql.ts';
import type { Logger } from '../log.ts';
import { postAbort } from './abort-generation.ts';
import type { AdmittedChat } from '../admission/admit.ts';
import type { Generation } from './generation.ts';
import { recordPolicyViolation } from './settle.ts';
import { createStreamPolicy, type PolicyViolation } from './stream-policy.ts';

export interface PolicyEnforcementDeps {
  sql: Sql;
  logger: Logger;
  target: URL;
  agent: http.Agent;
  retryMs: number;
  isStopping: () => boolean;
}

const MAX_AUDIT_ATTEMPTS = 10;
const MAX_ABORT_ATTEMPTS = 3;

/** The audit row's details: the call's model, provider and usage_type, or the tool (and its MCP server). */
export function violationDetails(violation: PolicyViolation): Record<string, string | null> {
  return violation.code === 'model_not_enabled'
    ? { model: violation.model ?? null, provider: violation.provider ?? null, usage_type: violation.usageType ?? null }
    : { tool: violation.tool ?? null, ...(violation.server ? { server: violation.server } : {}) };
}

export function createPolicyEnforcement(deps: PolicyEnforcementDeps) {
  const pause = () => new Promise((resolve) => setTimeout(resolve, deps.retryMs));

  /** Writes the audit row; resolves once it landed or was given up (the settlement waits for it). */
  async function record(usageId: string, conversationId: string | undefined, violation: PolicyViolation): Promise<void> {
    for (let attempt = 1; ; attempt += 1) {
      try {
        return await recordPolicyViolation(deps.sql, { usageId, conversationId, code: violation.code, details: violationDetails(violation) });
      } catch (error) {
        deps.logger.warn('recording a policy violation failed', { usage_id: usageId, attempt, err_code: (error as { code?: string }).code });
        if (deps.isStopping() || attempt >= MAX_AUDIT_ATTEMPTS) return;
        await pause();
      }
    }
  }

  /** Asks LibreChat to abort, again when it could not be reached, while the generation runs. */
  async function abort(generation: Generation, conversationId: string): Promise<void> {
    for (let attempt = 1; attempt <= MAX_ABORT_ATTEMPTS && !generation.ended; attempt += 1) {
      const status = await postAbort({
        target: deps.target, agent: deps.agent, authorization: generation.init.authorization,
        upstreamHeaders: generation.init.upstreamHeaders, streamId: generation.streamId, conversationId,
        generationCreatedAt: generation.init.generationCreatedAt,
      });
      if (status !== undefined && status < 500) {
        // 404: the job already ended (its final settles it); anything else is logged, and metering goes on.
        if (status >= 300 && status !== 404) deps.logger.warn('LibreChat refused the abort', { usage_id: generation.init.admitted.usageId, status });
        return;
      }
      await pause();
    }
  }

  /** A held generation ran something not enabled: audit it and end the generation through LibreChat. */
  function endGeneration(generation: Generation, violation: PolicyViolation): Promise<void> {
    const { admitted } = generation.init;
    const conversationId = generation.tally.conversationId ?? generation.init.conversationId ?? generation.streamId;
    deps.logger.warn('policy violation: ending the generation', {
      request_id: admitted.requestId, usage_id: admitted.usageId, code: violation.code, model: violation.model, tool: violation.tool,
    });
    void abort(generation, conversationId);
    return record(admitted.usageId, conversationId, violation);
  }

  /**
   * The answers that stream on the POST (OpenAI-compatible, assistants) name no model per call (LibreChat's
   * OpenAI-compatible chunks carry the agent id), but they do name the tools called: one the workspace does
   * not enable ends the answer. There is no abort route for them: cutting the connection is how a client
   * stops LibreChat's run (its controller aborts on the request's close). What was used is settled with at
   * least the prompt estimate, after the audit row (`recorded`).
   */
  function watchAnswer(admitted: AdmittedChat, cut: () => void) {
    const policy = createStreamPolicy(admitted);
    let recorded: Promise<void> = Promise.resolve();
    const watch = {
      violation: undefined as PolicyViolation | undefined,
      inspect(data: string): void {
        if (watch.violation) return;
        const violation = policy.inspect(data);
        if (!violation) return;
        watch.violation = violation;
        deps.logger.warn('policy violation: cutting the answer', { request_id: admitted.requestId, code: violation.code, tool: violation.tool });
        recorded = record(admitted.usageId, undefined, violation);
        cut();
      },
      recorded: () => recorded,
    };
    return watch;
  }

  return { endGeneration, record, watchAnswer };
}
