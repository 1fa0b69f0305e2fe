-- The chat admission as one function (src/admission/statement.ts calls it: still ONE statement, one
-- round trip). It applies exactly the rules of the admission statement it replaces (identity-ctes.ts's
-- lookups and failures, the enabled models and tools, the hold, the lazy reset, the quota), but as small
-- statements, each with a plan of its own that plpgsql keeps for the connection's life. The one statement
-- with data-modifying CTEs cost PostgreSQL more: every execution set up every CTE's plan (~30 % of its
-- CPU), and when the quota row had changed since its snapshot (a busy workspace) the re-check set up the
-- whole statement again. Measured per admission (bench/README.md, round G): PostgreSQL CPU 460 -> 382 us
-- one at a time, 385 -> 296 us with 16 in flight over 100 workspaces, 576 -> 469 us on one workspace.
--
-- Race-freedom is the statement's: VOLATILE, so each statement inside reads a fresh snapshot, and the
-- quota is only taken by an UPDATE whose WHERE re-tests every limit against the row as locked (the latest
-- committed version, re-read after any wait), so admissions from any number of processes serialise on
-- the quota row and none passes a limit. The usage and audit rows are written in the same transaction,
-- only when the UPDATE took the row.
--
-- Slots: model names to check, each with the enabled_models entries that admit it (statement.ts
-- entriesAdmitting), flattened as (entry, owner slot); tools likewise. A column that is not a JSON array
-- enables nothing.
CREATE FUNCTION geko_admit_chat(
  p_tenant_claimed BOOLEAN, p_tenant_id UUID, p_user_id UUID, p_email TEXT, p_host TEXT,
  p_workspace_given BOOLEAN, p_workspace_id UUID,
  p_slot_names TEXT[], p_slot_entries TEXT[], p_slot_owners INTEGER[], p_first_slot TEXT,
  p_tool_names TEXT[], p_tool_entries TEXT[], p_tool_owners INTEGER[],
  p_prompt_tokens INTEGER, p_body_cap BIGINT, p_usage_id UUID, p_instance_id UUID,
  p_request_id TEXT, p_endpoint TEXT, p_model TEXT, p_conversation_id TEXT, p_ip TEXT, p_user_agent TEXT,
  OUT code TEXT, OUT quota_kind TEXT, OUT tenant_id UUID, OUT workspace_id UUID, OUT user_id UUID,
  OUT tokens_limit INTEGER, OUT tokens_used INTEGER, OUT requests_limit INTEGER, OUT requests_used INTEGER,
  OUT reset_at TIMESTAMP, OUT retry_after DOUBLE PRECISION, OUT hold INTEGER,
  OUT enabled_models JSONB, OUT enabled_mcps JSONB, OUT denied_model TEXT, OUT mcp_name TEXT)
RETURNS record LANGUAGE plpgsql VOLATILE AS $$
-- Working values are v_*; the OUT columns are set at the end, so no query below can mistake a column for
-- one of them (plpgsql's default: an ambiguous name is an error).
DECLARE
  v_now TIMESTAMP := timezone('UTC', now());
  v_n INTEGER := 0; v_n_host INTEGER := 0; v_host_tenant UUID; v_any_tenant UUID; v_chosen UUID;
  v_tenant UUID; v_t_status TEXT; v_t_deleted TIMESTAMP;
  v_user UUID; v_u_status TEXT; v_u_deleted TIMESTAMP;
  v_ws UUID; v_w_status TEXT; v_w_deleted TIMESTAMP;
  v_role TEXT; v_models JSONB; v_mcps JSONB; v_settings JSONB;
  v_quota UUID; v_tokens_limit INTEGER; v_requests_limit INTEGER; v_stored_reset TIMESTAMP;
  v_eff_tokens INTEGER; v_eff_requests INTEGER; v_eff_reset TIMESTAMP;
  v_identity TEXT; v_hold INTEGER; v_denied_model TEXT; v_mcp_denied TEXT; v_decided TEXT; v_code TEXT; v_kind TEXT;
  v_taken BOOLEAN := false; v_new_tokens INTEGER; v_new_requests INTEGER; v_new_reset TIMESTAMP;
BEGIN
  -- The tenant: the claimed one, or among the tenants with a live user of that email, the one serving this
  -- host, else the only one.
  IF p_tenant_claimed THEN
    SELECT count(*)::int, (array_agg(t.tenant_id))[1] INTO v_n, v_any_tenant FROM tenants t WHERE t.tenant_id = p_tenant_id;
    v_chosen := v_any_tenant;
  ELSE
    SELECT count(*)::int, count(*) FILTER (WHERE c.host_match)::int,
           (array_agg(c.tenant_id) FILTER (WHERE c.host_match))[1], (array_agg(c.tenant_id))[1]
      INTO v_n, v_n_host, v_host_tenant, v_any_tenant
      FROM (SELECT t.tenant_id,
                   EXISTS (SELECT 1 FROM jsonb_array_elements_text(
                             CASE WHEN jsonb_typeof(t.metadata -> 'domains') = 'array' THEN t.metadata -> 'domains' ELSE '[]'::jsonb END) d
                           WHERE lower(d) = p_host) AS host_match
            FROM tenants t
            WHERE t.tenant_id IN (SELECT u.tenant_id FROM users u WHERE lower(u.email) = lower(p_email) AND u.deleted_at IS NULL)) c;
    v_chosen := CASE WHEN v_n_host = 1 THEN v_host_tenant WHEN v_n_host = 0 AND v_n = 1 THEN v_any_tenant END;
  END IF;
  SELECT t.tenant_id, t.status, t.deleted_at INTO v_tenant, v_t_status, v_t_deleted FROM tenants t WHERE t.tenant_id = v_chosen;

  -- The user in that tenant: by id, or by email (a live, active row first).
  IF p_user_id IS NOT NULL THEN
    SELECT u.user_id, u.status, u.deleted_at INTO v_user, v_u_status, v_u_deleted
      FROM users u WHERE u.user_id = p_user_id AND u.tenant_id = v_tenant;
  ELSE
    SELECT u.user_id, u.status, u.deleted_at INTO v_user, v_u_status, v_u_deleted
      FROM users u WHERE lower(u.email) = lower(p_email) AND u.tenant_id = v_tenant
      ORDER BY u.deleted_at IS NULL DESC, (u.status = 'active') DESC LIMIT 1;
  END IF;

  -- The workspace in that tenant: the named one, or the user's only active one there.
  IF p_workspace_given THEN
    SELECT w.workspace_id, w.status, w.deleted_at INTO v_ws, v_w_status, v_w_deleted
      FROM workspaces w WHERE w.workspace_id = p_workspace_id AND w.tenant_id = v_tenant;
  ELSE
    SELECT w.workspace_id, w.status, w.deleted_at INTO v_ws, v_w_status, v_w_deleted
      FROM workspaces w
      WHERE w.tenant_id = v_tenant AND w.workspace_id = (
        SELECT CASE WHEN count(*) = 1 THEN (array_agg(aw.workspace_id))[1] END
        FROM workspace_members mm JOIN workspaces aw ON aw.workspace_id = mm.workspace_id
        WHERE mm.user_id = v_user AND aw.tenant_id = v_tenant AND aw.status = 'active' AND aw.deleted_at IS NULL);
  END IF;

  -- The membership, the config and the quota of that workspace, in one read.
  SELECT m.role, cfg.enabled_models, cfg.enabled_mcps, cfg.custom_settings,
         q.quota_id, q.tokens_limit, q.tokens_used, q.requests_limit, q.requests_used, q.reset_at
    INTO v_role, v_models, v_mcps, v_settings,
         v_quota, v_tokens_limit, v_eff_tokens, v_requests_limit, v_eff_requests, v_stored_reset
    FROM (SELECT 1) AS one
    LEFT JOIN workspace_members m ON m.workspace_id = v_ws AND m.user_id = v_user
    LEFT JOIN workspace_config cfg ON cfg.workspace_id = v_ws
    LEFT JOIN workspace_quotas q ON q.workspace_id = v_ws;

  v_identity := CASE
    WHEN p_tenant_claimed AND v_tenant IS NULL THEN 'tenant_inactive'
    WHEN NOT p_tenant_claimed AND v_n = 0 THEN 'user_inactive'
    WHEN NOT p_tenant_claimed AND v_tenant IS NULL THEN 'tenant_ambiguous'
    WHEN v_t_status IS DISTINCT FROM 'active' OR v_t_deleted IS NOT NULL THEN 'tenant_inactive'
    WHEN v_user IS NULL OR v_u_status IS DISTINCT FROM 'active' OR v_u_deleted IS NOT NULL THEN 'user_inactive'
    WHEN v_ws IS NULL THEN CASE WHEN p_workspace_given THEN 'workspace_not_found' ELSE 'workspace_required' END
    WHEN v_w_status IS DISTINCT FROM 'active' OR v_w_deleted IS NOT NULL THEN 'workspace_inactive'
    WHEN v_role IS NULL THEN 'not_a_member'
    WHEN v_role = 'viewer' THEN 'role_forbidden'
  END;

  -- The quota as a due reset leaves it.
  IF v_stored_reset IS NOT NULL AND v_stored_reset <= v_now THEN
    v_eff_tokens := 0;
    v_eff_requests := 0;
    v_eff_reset := geko_next_reset(v_stored_reset, v_now);
  ELSE
    v_eff_reset := v_stored_reset;
  END IF;

  -- Bounded before any cast: an operator's maxTokens of 1e300 or -5 holds 2^31-1 or 0, never an error.
  v_hold := LEAST(2147483647, p_prompt_tokens::bigint + COALESCE(
    CASE jsonb_typeof(v_settings -> 'maxTokens')
      WHEN 'number' THEN GREATEST(0, LEAST(2147483647, ceil((v_settings ->> 'maxTokens')::numeric)))::bigint
      WHEN 'string' THEN CASE WHEN (v_settings ->> 'maxTokens') ~ '^[0-9]{1,12}$' THEN (v_settings ->> 'maxTokens')::bigint END
    END, p_body_cap, 0))::int;

  -- The first slot none of whose names is enabled (one slot, the usual chat, without a query).
  IF jsonb_typeof(v_models) IS DISTINCT FROM 'array' THEN
    v_denied_model := p_first_slot;
  ELSIF cardinality(p_slot_names) = 1 THEN
    IF NOT v_models ?| p_slot_entries THEN v_denied_model := p_slot_names[1]; END IF;
  ELSIF cardinality(p_slot_names) > 1 THEN
    SELECT s.name INTO v_denied_model FROM unnest(p_slot_names) WITH ORDINALITY AS s(name, ord)
      WHERE NOT v_models ?| ARRAY(SELECT e.entry FROM unnest(p_slot_entries, p_slot_owners) AS e(entry, owner) WHERE e.owner = s.ord)
      ORDER BY s.ord LIMIT 1;
  END IF;

  -- The first tool enabled_mcps does not admit.
  IF cardinality(p_tool_names) > 0 THEN
    SELECT t.name INTO v_mcp_denied FROM unnest(p_tool_names) WITH ORDINALITY AS t(name, ord)
      WHERE NOT COALESCE(jsonb_typeof(v_mcps) = 'array' AND v_mcps ?| ARRAY(
              SELECT e.entry FROM unnest(p_tool_entries, p_tool_owners) AS e(entry, owner) WHERE e.owner = t.ord), false)
      ORDER BY t.ord LIMIT 1;
  END IF;

  v_decided := CASE
    WHEN v_identity IS NOT NULL THEN v_identity
    WHEN v_denied_model IS NOT NULL THEN 'model_not_enabled'
    WHEN v_mcp_denied IS NOT NULL THEN 'mcp_not_enabled'
    WHEN v_quota IS NULL THEN 'quota_not_configured'
    WHEN v_eff_requests >= v_requests_limit THEN 'quota_exceeded'
    WHEN v_eff_tokens >= v_tokens_limit OR v_eff_tokens::bigint + v_hold > v_tokens_limit THEN 'quota_exceeded'
  END;
  v_code := v_decided;

  IF v_decided IS NULL THEN
    -- The take: every limit re-tested against the row as locked.
    UPDATE workspace_quotas q SET
      requests_used = (CASE WHEN q.reset_at IS NOT NULL AND q.reset_at <= v_now THEN 0 ELSE q.requests_used END) + 1,
      tokens_used = (CASE WHEN q.reset_at IS NOT NULL AND q.reset_at <= v_now THEN 0 ELSE q.tokens_used END) + v_hold,
      reset_at = CASE WHEN q.reset_at IS NOT NULL AND q.reset_at <= v_now THEN geko_next_reset(q.reset_at, v_now) ELSE q.reset_at END,
      updated_at = v_now
    WHERE q.quota_id = v_quota
      AND (CASE WHEN q.reset_at IS NOT NULL AND q.reset_at <= v_now THEN 0 ELSE q.requests_used END) < q.requests_limit
      AND (CASE WHEN q.reset_at IS NOT NULL AND q.reset_at <= v_now THEN 0 ELSE q.tokens_used END) < q.tokens_limit
      AND (CASE WHEN q.reset_at IS NOT NULL AND q.reset_at <= v_now THEN 0 ELSE q.tokens_used END)::bigint + v_hold <= q.tokens_limit
    RETURNING q.tokens_used, q.requests_used, q.reset_at INTO v_new_tokens, v_new_requests, v_new_reset;
    v_taken := FOUND;
    IF v_taken THEN
      INSERT INTO chat_usage (usage_id, request_id, tenant_id, workspace_id, user_id, endpoint, model, conversation_id,
                              hold_tokens, hold_prompt_tokens, status, quota_reset_at, instance_id, ip_address, user_agent)
      VALUES (p_usage_id, p_request_id, v_tenant, v_ws, v_user, p_endpoint, p_model, p_conversation_id,
              v_hold, LEAST(v_hold, p_prompt_tokens), 'reserved', v_new_reset, p_instance_id, p_ip, p_user_agent);
    ELSE
      -- A snapshot "yes" that the row as locked refused.
      v_code := 'quota_exceeded';
    END IF;
  END IF;

  IF v_decided = 'quota_exceeded' THEN
    v_kind := CASE WHEN v_eff_requests >= v_requests_limit THEN 'requests' ELSE 'tokens' END;
  ELSIF v_decided IS NULL AND NOT v_taken THEN
    v_kind := CASE WHEN v_eff_requests + 1 >= v_requests_limit THEN 'requests' ELSE 'tokens' END;
  END IF;

  IF v_tenant IS NOT NULL THEN
    INSERT INTO audit_logs (log_id, tenant_id, workspace_id, user_id, action, resource, resource_id, details,
                            ip_address, user_agent, status, error_message)
    VALUES (gen_random_uuid(), v_tenant, v_ws, v_user,
            CASE WHEN v_taken THEN 'chat_sent' ELSE 'chat_denied' END, 'conversation', p_conversation_id,
            CASE WHEN v_taken
              THEN jsonb_build_object('request_id', p_request_id, 'endpoint', p_endpoint, 'model', p_model,
                                      'hold_tokens', v_hold, 'usage_id', p_usage_id::text)
              ELSE jsonb_strip_nulls(jsonb_build_object('request_id', p_request_id, 'endpoint', p_endpoint, 'model', p_model,
                                      'code', v_code, 'kind', v_kind, 'name', CASE WHEN v_code = 'mcp_not_enabled' THEN v_mcp_denied END)) END,
            p_ip, p_user_agent, CASE WHEN v_taken THEN 'success' ELSE 'failed' END, CASE WHEN v_taken THEN NULL ELSE v_code END);
  END IF;

  code := v_code;
  quota_kind := v_kind;
  tenant_id := v_tenant;
  workspace_id := v_ws;
  user_id := v_user;
  tokens_limit := v_tokens_limit;
  tokens_used := COALESCE(v_new_tokens, v_eff_tokens);
  requests_limit := v_requests_limit;
  requests_used := COALESCE(v_new_requests, v_eff_requests);
  reset_at := COALESCE(v_new_reset, v_eff_reset);
  retry_after := CASE WHEN v_eff_reset IS NOT NULL THEN GREATEST(0, ceil(extract(epoch FROM v_eff_reset - v_now)))::float8 END;
  hold := v_hold;
  enabled_models := v_models;
  enabled_mcps := v_mcps;
  denied_model := CASE WHEN v_code = 'model_not_enabled' THEN v_denied_model END;
  mcp_name := CASE WHEN v_code = 'mcp_not_enabled' THEN v_mcp_denied END;
END
$$;
