// The headers every page the gateway serves itself carries (the usage dashboard, the workspace chooser): the
// request id, never cached, the page's own Content-Security-Policy, no MIME sniffing, never framed, and the
// Referer kept to this origin.
import type { Context } from 'hono';
import type { AppEnv } from './app-env.ts';
import { resolveRequestId } from './request-id.ts';

export function setPageHeaders(c: Context<AppEnv>, contentSecurityPolicy: string): void {
  c.header('x-request-id', resolveRequestId(c.env.incoming.headers));
  c.header('cache-control', 'no-store');
  c.header('content-security-policy', contentSecurityPolicy);
  c.header('x-content-type-options', 'nosniff');
  c.header('x-frame-options', 'DENY');
  c.header('referrer-policy', 'same-origin');
}
