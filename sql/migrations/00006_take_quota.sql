-- The admission's quota take as a function of its own (src/admission/statement.ts, `took`).
-- Inside one statement, an UPDATE whose row another chat changed after the statement's snapshot is
-- re-checked by EvalPlanQual, and PostgreSQL's EvalPlanQual sets up every subplan of the statement again:
-- for the admission statement, the whole identity join, on nearly every chat of a busy workspace (perf,
-- issue 18: 11 % of PostgreSQL's CPU with 16 chats in flight on one workspace). A VOLATILE plpgsql
-- function's UPDATE takes a fresh snapshot and has a plan of its own, so a re-check there sets up only this
-- UPDATE. The rule is the statement's: the limits are tested against the row as locked (the latest
-- committed version), and a period that is due is reset first. Returns the row as taken, or nothing.
CREATE FUNCTION geko_take_quota(p_quota_id UUID, p_hold INTEGER, p_now TIMESTAMP,
                                OUT tokens_limit INTEGER, OUT tokens_used INTEGER,
                                OUT requests_limit INTEGER, OUT requests_used INTEGER, OUT reset_at TIMESTAMP)
RETURNS SETOF record LANGUAGE plpgsql VOLATILE AS $$
#variable_conflict use_column
BEGIN
  UPDATE workspace_quotas q SET
    requests_used = (CASE WHEN q.reset_at IS NOT NULL AND q.reset_at <= p_now THEN 0 ELSE q.requests_used END) + 1,
    tokens_used = (CASE WHEN q.reset_at IS NOT NULL AND q.reset_at <= p_now THEN 0 ELSE q.tokens_used END) + p_hold,
    reset_at = CASE WHEN q.reset_at IS NOT NULL AND q.reset_at <= p_now THEN geko_next_reset(q.reset_at, p_now) ELSE q.reset_at END,
    updated_at = p_now
  WHERE q.quota_id = p_quota_id
    AND (CASE WHEN q.reset_at IS NOT NULL AND q.reset_at <= p_now THEN 0 ELSE q.requests_used END) < q.requests_limit
    AND (CASE WHEN q.reset_at IS NOT NULL AND q.reset_at <= p_now THEN 0 ELSE q.tokens_used END) < q.tokens_limit
    AND (CASE WHEN q.reset_at IS NOT NULL AND q.reset_at <= p_now THEN 0 ELSE q.tokens_used END)::bigint + p_hold <= q.tokens_limit
  RETURNING q.tokens_limit, q.tokens_used, q.requests_limit, q.requests_used, q.reset_at
  INTO tokens_limit, tokens_used, requests_limit, requests_used, reset_at;
  IF FOUND THEN
    RETURN NEXT;
  END IF;
END
$$;
