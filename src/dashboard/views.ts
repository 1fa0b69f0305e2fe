// The dashboard's pages, rendered on the server: sign-in, the usage page (per workspace: quota against
// limits, reset date, daily tokens by model; then the tenant's latest audit rows) and short message pages.
import { CHART_COLOURS, renderDailyChart } from './chart.ts';
import { formatNumber, formatUtc, html, type SafeHtml } from './html.ts';
import type { AuditRow, SessionUser, WorkspaceUsage } from './queries.ts';
import { DASHBOARD_PATH } from './session.ts';

export const STYLESHEET = `
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:0;color:#1b1f24;background:#f5f6f8}
header{display:flex;align-items:center;justify-content:space-between;padding:12px 24px;background:#1b2a41;color:#fff}
header h1{font-size:18px;margin:0}header form{display:inline}header .who{margin-right:12px;opacity:.85}
main{max-width:1000px;margin:0 auto;padding:16px 24px}
section.workspace,section.audit,form.sign-in,.message{background:#fff;border:1px solid #dde1e6;border-radius:8px;padding:16px;margin:0 0 16px}
h2{font-size:16px;margin:0 0 8px}.badge{font-size:12px;background:#eef0f3;border-radius:4px;padding:1px 6px;margin-left:6px}
.figures{display:flex;gap:32px;flex-wrap:wrap;margin-bottom:8px}.figure .label{color:#5b6470;font-size:12px}
meter{width:220px;height:12px;display:block}.chart{margin:8px 0 0}.chart svg{display:block}
.grid{stroke:#e3e6ea;stroke-width:1}.axis{font-size:10px;fill:#5b6470}
.legend{list-style:none;display:flex;flex-wrap:wrap;gap:12px;margin:4px 0 0;padding:0;font-size:12px}
.swatch{display:inline-block;width:10px;height:10px;margin-right:4px;border-radius:2px}
${CHART_COLOURS.map((c, i) => `.swatch-${i}{background:${c}}`).join('')}
table{border-collapse:collapse;width:100%;font-size:12px}th,td{text-align:left;padding:4px 6px;border-bottom:1px solid #eef0f3}
td.failed{color:#b42318}form.sign-in{max-width:360px;margin:48px auto}form.sign-in label{display:block;margin:10px 0 2px}
form.sign-in input{width:100%;box-sizing:border-box;padding:6px}button{padding:6px 14px;margin-top:12px;cursor:pointer}
.error{color:#b42318}.message{max-width:480px;margin:48px auto}header button{margin:0}
`;

function layout(title: string, body: SafeHtml, header: SafeHtml = html``): SafeHtml {
  return html`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="same-origin"><title>${title}</title>
<link rel="stylesheet" href="${DASHBOARD_PATH}/style.css"></head>
<body>${header}<main>${body}</main></body></html>`;
}

export function signInPage(opts: { error?: string; tenant?: string; email?: string } = {}): SafeHtml {
  return layout('Sign in · GEKO usage', html`
<form class="sign-in" method="post" action="${DASHBOARD_PATH}/sign-in">
  <h2>GEKO usage dashboard</h2>
  <p>For tenant owners and admins.</p>
  ${opts.error ? html`<p class="error" role="alert">${opts.error}</p>` : ''}
  <label for="tenant">Organisation (name or id)</label>
  <input id="tenant" name="tenant" required maxlength="255" autocomplete="organization" value="${opts.tenant ?? ''}">
  <label for="email">Email</label>
  <input id="email" name="email" type="email" required maxlength="255" autocomplete="username" value="${opts.email ?? ''}">
  <label for="password">Password</label>
  <input id="password" name="password" type="password" required maxlength="1024" autocomplete="current-password">
  <button type="submit">Sign in</button>
</form>`);
}

export function messagePage(title: string, message: string, link?: { href: string; text: string }): SafeHtml {
  return layout(`${title} · GEKO usage`, html`<div class="message"><h2>${title}</h2><p>${message}</p>
${link ? html`<p><a href="${link.href}">${link.text}</a></p>` : ''}</div>`);
}

function figure(label: string, used: number, limit: number, field: string): SafeHtml {
  return html`<div class="figure" data-field="${field}" data-used="${used}" data-limit="${limit}">
  <div class="label">${label}</div>
  <div><strong class="used">${formatNumber(used)}</strong> / <span class="limit">${formatNumber(limit)}</span></div>
  <meter min="0" max="${Math.max(limit, 1)}" value="${Math.min(used, Math.max(limit, 1))}" high="${Math.max(limit, 1) * 0.8}"></meter>
</div>`;
}

function workspaceSection(w: WorkspaceUsage): SafeHtml {
  const status = w.status && w.status !== 'active' ? html`<span class="badge">${w.status}</span>` : '';
  const quota = w.hasQuota
    ? html`<div class="figures">${figure('Tokens', w.tokensUsed, w.tokensLimit, 'tokens')}${figure('Requests', w.requestsUsed, w.requestsLimit, 'requests')}${figure('Storage (MB)', w.filesUsed, w.filesLimit, 'files')}
  <div class="figure"><div class="label">Next reset</div><div class="reset" data-reset-at="${w.resetAt?.toISOString() ?? ''}">${formatUtc(w.resetAt)}</div></div></div>`
    : html`<p>No quota configured: chats in this workspace are refused (quota_not_configured).</p>`;
  const period = `${w.periodStart.toISOString().slice(0, 10)} – ${w.periodEnd.toISOString().slice(0, 10)}`;
  return html`<section class="workspace" data-workspace-id="${w.workspaceId}">
  <h2>${w.name}${status}</h2>
  ${quota}
  <div class="label">Daily tokens by model, ${period}</div>
  ${renderDailyChart({ periodStart: w.periodStart, periodEnd: w.periodEnd, points: w.daily }, `Daily tokens by model in ${w.name}`)}
</section>`;
}

function auditSection(rows: AuditRow[]): SafeHtml {
  const body = rows.map((r) => html`<tr>
  <td>${formatUtc(r.createdAt)}</td><td>${r.action}</td><td class="${r.status === 'failed' ? 'failed' : ''}">${r.status ?? ''}${r.errorMessage ? html` (${r.errorMessage})` : ''}</td>
  <td>${r.workspaceName ?? ''}</td><td>${r.userEmail ?? (r.source ? `operator (${r.source})` : '')}</td><td>${r.model ?? ''}</td><td>${r.ipAddress ?? ''}</td></tr>`);
  return html`<section class="audit"><h2>Latest activity</h2>
<table><thead><tr><th>Time</th><th>Action</th><th>Status</th><th>Workspace</th><th>User</th><th>Model</th><th>IP</th></tr></thead>
<tbody>${rows.length === 0 ? html`<tr><td colspan="7">No activity yet.</td></tr>` : body}</tbody></table></section>`;
}

export function dashboardPage(opts: { user: SessionUser; csrf: string; workspaces: WorkspaceUsage[]; audit: AuditRow[] }): SafeHtml {
  const header = html`<header><h1>GEKO usage · ${opts.user.tenantName}</h1>
<div><span class="who">${opts.user.email} (${opts.user.role})</span>
<form method="post" action="${DASHBOARD_PATH}/sign-out"><input type="hidden" name="csrf" value="${opts.csrf}"><button type="submit">Sign out</button></form></div></header>`;
  const workspaces = opts.workspaces.length === 0 ? html`<p>This organisation has no workspaces yet.</p>` : opts.workspaces.map(workspaceSection);
  return layout(`${opts.user.tenantName} · GEKO usage`, html`${workspaces}${auditSection(opts.audit)}`, header);
}
