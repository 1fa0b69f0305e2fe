// The usage dashboard in a real headless Chromium (Debian's, driven by playwright-core): a failed and a
// successful sign-in, the page's numbers against the database, the cookie as the browser stored it, the
// screenshot (written to a temporary file; with UPDATE_SCREENSHOT=1 to docs/dashboard.png, the README's),
// sign-out, and a member refused. Skipped, and named at the end of the run, where Chromium is not installed
// (test/helpers/system-tools.ts: CHROMIUM_PATH, else /usr/bin/chromium or chromium on PATH); fails under CI.
import { readFile } from 'node:fs/promises';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { launchChromium, saveScreenshot, screenshotPath } from './helpers/browser.ts';
import { PASSWORD, seedDashboardTenant, type DashboardTenant } from './helpers/dashboard.ts';
import { startHarness, type Harness } from './helpers/harness.ts';
import { chromium as chromiumTool, describeWith } from './helpers/system-tools.ts';

const SCREENSHOT = screenshotPath('dashboard');

let h: Harness;
let browser: Browser;
let acme: DashboardTenant;
let other: DashboardTenant;

beforeAll(async () => {
  h = await startHarness();
  acme = await seedDashboardTenant(h.db.sql, { name: 'Acme Corp', workspaceNames: ['Sales', 'Support'], models: ['gpt-4o', 'claude-sonnet-4', 'o3-mini'], days: 14 });
  other = await seedDashboardTenant(h.db.sql, { name: 'Umbrella Inc', workspaceNames: ['Umbrella Research'], models: ['umbrella-model'] });
  const [sales, support] = acme.workspaces;
  await h.db.sql`
    INSERT INTO audit_logs (log_id, tenant_id, workspace_id, user_id, action, resource, details, ip_address, status, error_message, created_at)
    SELECT gen_random_uuid(), ${acme.tenantId}, a.ws::uuid, u.user_id, a.action, 'conversation', jsonb_build_object('model', a.model), '192.0.2.10',
           a.status, a.error, timezone('UTC', now()) - make_interval(mins => a.ago)
    FROM (VALUES ('chat_completed', 'gpt-4o', 'success', NULL, 3, ${sales!.id}), ('chat_sent', 'gpt-4o', 'success', NULL, 4, ${sales!.id}),
                 ('chat_denied', 'o1', 'failed', 'model_not_enabled', 9, ${support!.id}),
                 ('chat_completed', 'claude-sonnet-4', 'success', NULL, 15, ${support!.id}), ('chat_sent', 'claude-sonnet-4', 'success', NULL, 16, ${support!.id}))
         AS a(action, model, status, error, ago, ws)
    CROSS JOIN (SELECT user_id FROM users WHERE email = ${acme.member}) u`;
  browser = await launchChromium();
}, 60_000);

afterAll(async () => {
  await browser?.close();
  await h?.close();
});

async function signIn(page: Page, tenant: string, email: string, password: string): Promise<number> {
  await page.goto(`${h.gw.url}/_gateway/dashboard/sign-in`);
  await page.fill('#tenant', tenant);
  await page.fill('#email', email);
  await page.fill('#password', password);
  const [response] = await Promise.all([
    page.waitForResponse((r) => r.url().endsWith('/_gateway/dashboard/sign-in') && r.request().method() === 'POST'),
    page.click('button[type=submit]'),
  ]);
  await page.waitForLoadState('load');
  return response.status();
}

/** Width and height from a PNG's IHDR chunk. */
function pngSize(png: Buffer): { width: number; height: number } {
  expect(png.subarray(0, 8).toString('hex')).toBe('89504e470d0a1a0a');
  return { width: png.readUInt32BE(16), height: png.readUInt32BE(20) };
}

describeWith(chromiumTool)('dashboard in Chromium', () => {
  it('refuses a wrong password, then signs the owner in and shows the database\'s numbers', async () => {
    const context = await browser.newContext({ viewport: { width: 1100, height: 900 }, deviceScaleFactor: 1 });
    const page = await context.newPage();
    await page.goto(`${h.gw.url}/_gateway/dashboard`);
    expect(new URL(page.url()).pathname).toBe('/_gateway/dashboard/sign-in');

    expect(await signIn(page, 'Acme Corp', acme.owner, 'wrong password')).toBe(401);
    expect(await page.textContent('.error')).toBe('Wrong organisation, email or password.');
    expect(await context.cookies()).toHaveLength(0);

    expect(await signIn(page, 'acme corp', acme.owner, PASSWORD)).toBe(303);
    expect(new URL(page.url()).pathname).toBe('/_gateway/dashboard');
    expect(await page.textContent('h1')).toBe('GEKO usage · Acme Corp');
    const [cookie] = await context.cookies();
    expect(cookie).toMatchObject({ name: 'geko_dashboard', path: '/_gateway/dashboard', httpOnly: true, secure: true, sameSite: 'Strict' });
    // The stylesheet loaded (CSP allows 'self' only): the header has its dark background.
    expect(await page.evaluate(() => getComputedStyle(document.querySelector('header')!).backgroundColor)).toBe('rgb(27, 42, 65)');

    for (const ws of acme.workspaces) {
      const [q] = await h.db.sql<{ tokens_used: number; tokens_limit: number; requests_used: number; requests_limit: number; reset_at: Date }[]>`
        SELECT tokens_used, tokens_limit, requests_used, requests_limit, reset_at FROM workspace_quotas WHERE workspace_id = ${ws.id}`;
      const section = page.locator(`section[data-workspace-id="${ws.id}"]`);
      expect(await section.locator('h2').textContent()).toBe(ws.name);
      expect(await section.locator('[data-field=tokens] .used').textContent()).toBe(q!.tokens_used.toLocaleString('en-US'));
      expect(await section.locator('[data-field=tokens] .limit').textContent()).toBe(q!.tokens_limit.toLocaleString('en-US'));
      expect(await section.locator('[data-field=requests] .used').textContent()).toBe(q!.requests_used.toLocaleString('en-US'));
      expect(await section.locator('[data-field=requests] .limit').textContent()).toBe(q!.requests_limit.toLocaleString('en-US'));
      expect(await section.locator('.reset').textContent()).toBe(`${q!.reset_at.toISOString().slice(0, 16).replace('T', ' ')} UTC`);
      const models = await h.db.sql<{ model: string }[]>`
        SELECT model FROM chat_usage WHERE workspace_id = ${ws.id} GROUP BY model ORDER BY sum(total_tokens) DESC, model`;
      expect(await section.locator('.legend li').allTextContents()).toEqual(models.map((m) => m.model));
      expect(await section.locator('svg rect').count()).toBe(14 * 3);
      const box = await section.locator('svg').boundingBox();
      expect(box!.width).toBeGreaterThan(500);
      expect(box!.height).toBeGreaterThan(100);
    }
    const [audit] = await h.db.sql<{ n: number }[]>`SELECT count(*)::int AS n FROM audit_logs WHERE tenant_id = ${acme.tenantId}`;
    expect(await page.locator('section.audit tbody tr').count()).toBe(Math.min(50, audit!.n));
    expect(await page.locator('section.audit tbody tr').first().locator('td').nth(1).textContent()).toBe('user_login');
    const text = await page.textContent('body');
    for (const secret of [other.name, 'Umbrella Research', 'umbrella-model', other.owner]) expect(text).not.toContain(secret);

    await saveScreenshot(page, SCREENSHOT);
    const png = await readFile(SCREENSHOT);
    const size = pngSize(png);
    expect(size.width).toBe(1100);
    expect(size.height).toBeGreaterThan(900);
    expect(png.length).toBeLessThan(400_000);

    await Promise.all([page.waitForURL('**/_gateway/dashboard/sign-in'), page.click('header button[type=submit]')]);
    expect(await page.isVisible('form.sign-in')).toBe(true);
    expect(await context.cookies()).toHaveLength(0);
    await page.goto(`${h.gw.url}/_gateway/dashboard`);
    expect(new URL(page.url()).pathname).toBe('/_gateway/dashboard/sign-in');
    await context.close();
  }, 60_000);

  it('refuses a member with the right password', async () => {
    const context = await browser.newContext();
    const page = await context.newPage();
    expect(await signIn(page, 'Acme Corp', acme.member, PASSWORD)).toBe(403);
    expect(await page.textContent('.message p')).toBe('Only owners and admins of an organisation can use the usage dashboard.');
    expect(await context.cookies()).toHaveLength(0);
    await page.goto(`${h.gw.url}/_gateway/dashboard`);
    expect(new URL(page.url()).pathname).toBe('/_gateway/dashboard/sign-in');
    await context.close();
  }, 60_000);
});
