// The gateway's error contract: every code it can answer, its HTTP status, and the one JSON shape
// `{"error":{"code","message","request_id","details?"}}` (DESIGN.md "Errors").

export const ERROR_STATUS = {
  unauthenticated: 401,
  invalid_request: 400,
  payload_too_large: 413,
  request_timeout: 408,
  length_required: 411,
  model_required: 400,
  tenant_ambiguous: 400,
  tenant_inactive: 403,
  user_inactive: 403,
  workspace_required: 400,
  workspace_not_found: 404,
  workspace_inactive: 403,
  not_a_member: 403,
  role_forbidden: 403,
  model_not_enabled: 403,
  mcp_not_enabled: 403,
  quota_not_configured: 403,
  quota_exceeded: 429,
  not_found: 404,
  upstream_unavailable: 502,
  upstream_timeout: 504,
  database_unavailable: 503,
  shutting_down: 503,
  internal: 500,
} as const;

export type ErrorCode = keyof typeof ERROR_STATUS;

const DEFAULT_MESSAGES: Record<ErrorCode, string> = {
  unauthenticated: 'A valid bearer token is required.',
  invalid_request: 'The request body is not valid JSON.',
  payload_too_large: 'The request body is larger than the gateway accepts.',
  request_timeout: 'The request body did not arrive in time.',
  length_required: 'An upload needs a Content-Length header (the gateway holds its size against the storage quota).',
  model_required: 'The request does not name a model.',
  tenant_ambiguous: 'Your account exists in several organisations; sign in through your organisation\'s address.',
  tenant_inactive: 'This organisation is not active.',
  user_inactive: 'This user is not active in the organisation.',
  workspace_required: 'Choose a workspace (X-Workspace-Id header or geko_workspace cookie).',
  workspace_not_found: 'The workspace does not exist.',
  workspace_inactive: 'The workspace is not active.',
  not_a_member: 'You are not a member of this workspace.',
  role_forbidden: 'Your role in this workspace may not chat.',
  model_not_enabled: 'The model is not enabled for this workspace.',
  mcp_not_enabled: 'An MCP server or tool the chat asks for is not enabled for this workspace.',
  quota_not_configured: 'The workspace has no quota configured.',
  quota_exceeded: 'The workspace quota is used up.',
  not_found: 'Not found.',
  upstream_unavailable: 'LibreChat is not reachable.',
  upstream_timeout: 'LibreChat did not answer in time.',
  database_unavailable: 'The database is not reachable; try again shortly.',
  shutting_down: 'The gateway is shutting down; retry.',
  internal: 'Internal error.',
};

export class GatewayError extends Error {
  readonly status: number;
  /** LibreChat's own error fields, written beside `error` on a refused chat (src/web-client/refusal-fields.ts). */
  librechatFields?: Record<string, unknown>;
  constructor(
    readonly code: ErrorCode,
    message?: string,
    readonly details?: Record<string, unknown>,
    readonly headers?: Record<string, string>,
  ) {
    super(message ?? DEFAULT_MESSAGES[code]);
    this.name = 'GatewayError';
    this.status = ERROR_STATUS[code];
  }
}

export function isErrorCode(value: unknown): value is ErrorCode {
  return typeof value === 'string' && Object.hasOwn(ERROR_STATUS, value);
}

export function errorBody(error: GatewayError, requestId: string): string {
  return JSON.stringify({
    ...error.librechatFields,
    error: {
      code: error.code,
      message: error.message,
      request_id: requestId,
      ...(error.details ? { details: error.details } : {}),
    },
  });
}
