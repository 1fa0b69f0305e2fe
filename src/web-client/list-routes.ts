// Which GET answers of LibreChat the gateway filters to the caller's workspace: the lists the web client builds
// its model menu from (client/src/hooks/Endpoint/useEndpoints.ts) and its MCP menus from. Paths are matched as
// LibreChat's Express router matches them (proxy/routes.ts): case-insensitively, one trailing slash ignored.

export type ListRoute = 'models' | 'endpoints' | 'agents' | 'config' | 'mcp_tools' | 'mcp_servers' | 'mcp_status';

const LIST_PATHS: Record<string, ListRoute> = {
  '/api/models': 'models',
  '/api/endpoints': 'endpoints',
  '/api/agents': 'agents',
  '/api/config': 'config',
  '/api/mcp/tools': 'mcp_tools',
  '/api/mcp/servers': 'mcp_servers',
  '/api/mcp/connection/status': 'mcp_status',
};

/** The list a request asks for, or undefined for anything else (a HEAD passes: it has no body to filter). */
export function classifyListRoute(method: string, rawUrl: string): ListRoute | undefined {
  if (method !== 'GET') return undefined;
  const queryAt = rawUrl.indexOf('?');
  const path = (queryAt === -1 ? rawUrl : rawUrl.slice(0, queryAt)).toLowerCase();
  const trimmed = path.length > 1 && path.endsWith('/') ? path.slice(0, -1) : path;
  return Object.hasOwn(LIST_PATHS, trimmed) ? LIST_PATHS[trimmed] : undefined;
}
