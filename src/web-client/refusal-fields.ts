// LibreChat's own error fields for a refused chat, written beside the gateway's `error` object so LibreChat's
// web client renders the refusal as one of its own (DESIGN.md "LibreChat's web client"). The client renders
// a failed chat start by the body's top-level `code`, else `type` (v0.8.x client/src/components/Messages/
// Content/Error.tsx; main Error/index.tsx and Error/registry.ts), so these fields never include a `code`.
// - model_not_enabled: `illegal_model_request` + `info: "<endpoint>|<model>"` (ModelError.tsx on main):
//   "The model … is not available for …; select a different one".
// - quota_exceeded: `message_limit` (LimitError.tsx: the cap, and a countdown to `resetAt`) or
//   `token_balance` (BalanceError.tsx: balance, cost, prompt tokens).
// - every other refusal: `google_error` + `info`, our own sentence. It is the one v0.8.x type whose text
//   is shown as sent; main shows it under its provider-error headline, in the details (ProviderError.tsx).
// The client finds the JSON with extractJson (client/src/utils/json.ts), which counts braces inside strings
// too, so no sentence or name written here may hold `{` or `}`.
import type { ErrorCode, GatewayError } from '../errors.ts';
import { CHOOSER_PATH } from './chooser-path.ts';

export interface RefusalContext {
  /** The endpoint as the chat posted it (URL segment or body), when the body was read. */
  endpoint?: string | undefined;
  /** Milliseconds since the epoch (windowInMinutes is counted from it). */
  now: number;
}

const CHOOSE = `Choose one of your workspaces at ${CHOOSER_PATH}, then send the message again.`;

/** What the person in the chat reads for each refusal LibreChat has no type of its own for. */
const SENTENCES: Partial<Record<ErrorCode | string, string>> = {
  unauthenticated: 'Your sign-in is not valid for this service any more. Reload the page and sign in again.',
  invalid_request: 'The gateway could not read this message. Reload the page and send it again.',
  payload_too_large: 'This message is larger than the gateway accepts. Shorten it, or attach the long text as a file.',
  model_required: 'This message names no model. Choose a model in the model menu and send it again.',
  tenant_ambiguous: 'Your account belongs to several organisations. Open LibreChat through your own organisation\'s address and sign in there.',
  tenant_inactive: 'Your organisation\'s access is paused. Ask your organisation\'s administrator to reactivate it.',
  user_inactive: 'Your account is not active in this organisation. Ask your organisation\'s administrator to add or reactivate it.',
  workspace_required: `You belong to several workspaces and none is chosen yet. ${CHOOSE}`,
  workspace_not_found: `The workspace chosen for this browser does not exist any more. ${CHOOSE}`,
  workspace_inactive: `The workspace chosen for this browser is archived. ${CHOOSE}`,
  not_a_member: `You are not a member of the workspace chosen for this browser. ${CHOOSE}`,
  role_forbidden: `Your role in this workspace is viewer, which may read but not chat. Ask a workspace admin for member access, or choose another workspace at ${CHOOSER_PATH}.`,
  model_not_enabled: 'The model you chose is not enabled for your workspace. Choose another one in the model menu.',
  quota_exceeded: 'Your workspace has used up its quota. Ask your workspace admin, or wait for the next reset.',
  request_timeout: 'This message took too long to reach the service. Check your connection and send it again.',
  quota_not_configured: 'This workspace has no usage quota set up yet, so chats are paused. Ask your workspace admin to set one.',
  database_unavailable: 'The service cannot check your workspace\'s quota right now. Wait a minute and send the message again.',
  shutting_down: 'The service is restarting. Send the message again in a moment.',
  upstream_unavailable: 'The chat service could not be reached. Wait a moment and send the message again.',
  upstream_timeout: 'The chat service did not answer in time. Send the message again.',
  internal: 'Something went wrong on our side. Send the message again; if it keeps happening, tell your administrator.',
};

/** Braces would make extractJson cut the body short (it counts them inside strings too); `|` splits `info`. */
function plain(text: string): string {
  return text.replace(/[{}]/g, '');
}

function numberOr(value: unknown, fallback: number): number {
  return typeof value === 'number' && Number.isFinite(value) ? value : fallback;
}

function quotaFields(error: GatewayError, now: number): Record<string, unknown> {
  const details = error.details ?? {};
  const resetAtMs = typeof details.reset_at === 'string' ? Date.parse(details.reset_at) : Number.NaN;
  if (details.kind === 'requests') {
    const fields: Record<string, unknown> = { type: 'message_limit', max: numberOr(details.requests_limit, 0) };
    if (Number.isFinite(resetAtMs)) {
      fields.windowInMinutes = Math.max(1, Math.ceil((resetAtMs - now) / 60_000));
      fields.resetAt = resetAtMs;
    }
    return fields;
  }
  const limit = numberOr(details.tokens_limit, 0);
  return {
    type: 'token_balance',
    balance: Math.max(0, limit - numberOr(details.tokens_used, limit)),
    tokenCost: numberOr(details.hold_tokens, 0),
    promptTokens: numberOr(details.prompt_tokens, 0),
  };
}

/** The top-level fields for a refused chat; `type` always, never `code` or `error`. */
export function librechatFields(error: GatewayError, context: RefusalContext): Record<string, unknown> {
  const model = error.details?.model;
  if (error.code === 'model_not_enabled' && typeof model === 'string') {
    const endpoint = plain(context.endpoint ?? '').replace(/\|/g, '');
    return { type: 'illegal_model_request', info: `${endpoint}|${plain(model)}` };
  }
  if (error.code === 'quota_exceeded' && (error.details?.kind === 'requests' || error.details?.kind === 'tokens')) {
    return quotaFields(error, context.now);
  }
  const tool = error.details?.name;
  if (error.code === 'mcp_not_enabled' && typeof tool === 'string') {
    return { type: 'google_error', info: plain(`The tool or MCP server "${tool}" is not enabled for your workspace. Turn it off for this chat, or ask your workspace admin to enable it.`) };
  }
  return { type: 'google_error', info: plain(SENTENCES[error.code] ?? error.message) };
}
