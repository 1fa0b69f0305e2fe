// The workspace chooser in a real headless Chromium (Debian's, driven by playwright-core), as a LibreChat user
// meets it: signed in to (the fake) LibreChat through the gateway, they open /_gateway/workspace, see both
// workspaces with their quota, choose one, and a chat sent from that origin counts against it. The screenshot
// goes to a temporary file, or with UPDATE_SCREENSHOT=1 to docs/workspace-chooser.png (the README's).
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { launchChromium, saveScreenshot, screenshotPath } from './helpers/browser.ts';
import { startHarness, type Harness } from './helpers/harness.ts';
import { addMember, createWorkspace, quotaRow, seedWorkspace, type SeededWorkspace } from './helpers/seed.ts';
import { chromium as chromiumTool, describeWith } from './helpers/system-tools.ts';

const SCREENSHOT = screenshotPath('workspace-chooser');

let h: Harness;
let browser: Browser;
let ws: SeededWorkspace;
let research: string;

beforeAll(async () => {
  h = await startHarness();
  ws = await seedWorkspace(h.db.sql, { email: 'dana@acme.example', models: ['gpt-4o', 'gpt-4o-mini'], tokensLimit: 200_000, requestsLimit: 1000, resetAt: '2099-01-01 00:00:00' });
  research = await createWorkspace(h.db.sql, ws.tenantId, ws.userId, { models: ['claude-*', 'gemini-*'], tokensLimit: 50_000, requestsLimit: 200, resetAt: '2099-01-15 00:00:00' });
  await addMember(h.db.sql, research, ws.userId, 'admin');
  await h.db.sql`UPDATE workspaces SET name = 'Support desk' WHERE workspace_id = ${ws.workspaceId}`;
  await h.db.sql`UPDATE workspaces SET name = 'Research' WHERE workspace_id = ${research}`;
  await h.db.sql`UPDATE workspace_quotas SET tokens_used = 152_340, requests_used = 612 WHERE workspace_id = ${ws.workspaceId}`;
  await h.db.sql`UPDATE workspace_quotas SET tokens_used = 8_950, requests_used = 31 WHERE workspace_id = ${research}`;
  browser = await launchChromium();
}, 60_000);

afterAll(async () => {
  await browser?.close();
  await h?.close();
});

describeWith(chromiumTool)('workspace chooser in Chromium', () => {
  it('a LibreChat user sees both workspaces with their quota, chooses one, and their next chat counts against it', async () => {
    const context = await browser.newContext({ viewport: { width: 900, height: 720 }, deviceScaleFactor: 1 });
    const page = await context.newPage();
    const consoleErrors: string[] = [];
    page.on('console', (message) => { if (message.type() === 'error') consoleErrors.push(message.text()); });

    // Not signed in yet: the page says so and links to LibreChat's sign-in.
    await page.goto(`${h.gw.url}/_gateway/workspace`);
    await page.waitForSelector('#signin:not([hidden])');
    expect(await page.getAttribute('#signin a', 'href')).toBe('/login');

    // Sign in to LibreChat through the gateway, as its login page does: the refresh cookie lands in the browser.
    const signedIn = await page.evaluate(async (email) => {
      const res = await fetch('/api/auth/login', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ email, password: 'secret' }) });
      return res.status;
    }, ws.email);
    expect(signedIn).toBe(200);
    expect((await context.cookies()).map((c) => c.name)).toEqual(['refreshToken']);

    await page.goto(`${h.gw.url}/_gateway/workspace`);
    await page.waitForSelector('li.workspace >> nth=1');
    expect(await page.textContent('#who')).toContain(ws.email);
    const cards = page.locator('li.workspace');
    expect(await cards.locator('.name').allTextContents()).toEqual(['Research', 'Support desk']);
    const support = page.locator(`li[data-workspace-id="${ws.workspaceId}"]`);
    expect(await support.locator('.tokens .used').textContent()).toBe('152,340');
    expect(await support.locator('.tokens .limit').textContent()).toBe('200,000');
    expect(await support.locator('.tokens .left').textContent()).toBe('47,660');
    expect(await support.locator('.requests .left').textContent()).toBe('388');
    expect(await support.locator('.reset').textContent()).toBe('2099-01-01 00:00 UTC');
    expect(await page.textContent('#status')).toContain('No workspace is chosen');

    // The stylesheet loaded under the CSP: the button has its green background.
    const button = page.locator(`li[data-workspace-id="${research}"] button`);
    expect(await button.evaluate((b) => getComputedStyle(b).backgroundColor)).toBe('rgb(16, 163, 127)');
    await button.click();
    await page.waitForSelector(`li.selected[data-workspace-id="${research}"]`);
    expect(await page.textContent('#status')).toContain('now count against Research');
    const chosen = (await context.cookies()).find((c) => c.name === 'geko_workspace');
    expect(chosen).toMatchObject({ value: research, path: '/', httpOnly: true, sameSite: 'Lax', secure: false });

    await saveScreenshot(page, SCREENSHOT);

    // A chat from this origin, as LibreChat's client sends it (Bearer from its refresh); the cookie picks the workspace.
    const [researchBefore, supportBefore] = [await quotaRow(h.db.sql, research), await quotaRow(h.db.sql, ws.workspaceId)];
    const chat = await page.evaluate(async () => {
      const session = await (await fetch('/api/auth/refresh', { method: 'POST' })).json() as { token: string };
      const res = await fetch('/api/agents/chat/anthropic', {
        method: 'POST',
        headers: { authorization: `Bearer ${session.token}`, 'content-type': 'application/json' },
        body: JSON.stringify({ text: 'Hello from the browser', model: 'claude-sonnet-4-5', endpoint: 'anthropic', conversationId: null }),
      });
      return { status: res.status, requestsRemaining: res.headers.get('x-quota-requests-remaining') };
    });
    expect(chat.status).toBe(200);
    expect((await quotaRow(h.db.sql, research)).requests_used).toBe(researchBefore.requests_used + 1);
    expect((await quotaRow(h.db.sql, ws.workspaceId)).requests_used).toBe(supportBefore.requests_used);
    expect(chat.requestsRemaining).toBe(String(200 - researchBefore.requests_used - 1));
    expect(consoleErrors).toEqual([]);
    await context.close();
  }, 60_000);
});
