// The dashboard shows each workspace's file storage used against its limit, as the gateway counts it: an
// upload through the gateway raises the figure by its bytes rounded up to whole MB.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { request, seedDashboardTenant, signInCookie, type DashboardTenant } from './helpers/dashboard.ts';
import { upload } from './helpers/files.ts';
import { startHarness, type Harness } from './helpers/harness.ts';
import { librechatToken } from './helpers/jwt.ts';

let h: Harness;
let tenant: DashboardTenant;
beforeAll(async () => {
  h = await startHarness();
  tenant = await seedDashboardTenant(h.db.sql, { workspaceNames: ['Files'], days: 2 });
});
afterAll(async () => { await h?.close(); });

describe('dashboard storage figure', () => {
  it('shows files_used against files_limit (MB) for each workspace, current after an upload', async () => {
    const ws = tenant.workspaces[0]!;
    await h.db.sql`UPDATE workspace_quotas SET files_limit = 250 WHERE workspace_id = ${ws.id}`;
    const up = await upload(h.gw.url, { token: await librechatToken(tenant.member), fileBytes: 3_500_000 });
    expect(up.status, up.text).toBe(200);
    const page = await request(h.gw.url, '/_gateway/dashboard', { cookie: await signInCookie(h.gw.url, { tenant: tenant.name, email: tenant.owner }) });
    expect(page.status).toBe(200);
    const section = page.text.slice(page.text.indexOf(`data-workspace-id="${ws.id}"`));
    const part = section.slice(0, section.indexOf('</section>'));
    expect(part).toContain('data-field="files" data-used="4" data-limit="250"');
    expect(part).toContain('Storage (MB)');
  });
});
