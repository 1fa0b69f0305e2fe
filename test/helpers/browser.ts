// The page tests' browser: Debian's headless Chromium (found by system-tools.ts) driven by playwright-core,
// and where their screenshots go: a temporary file, or with UPDATE_SCREENSHOT=1 docs/<name>.png (the README's).
import { mkdir } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { chromium as chromiumTool, toolPath } from './system-tools.ts';

export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: toolPath(chromiumTool),
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
}

/** docs/<name>.png with UPDATE_SCREENSHOT=1, else a temporary file of this process. */
export function screenshotPath(name: string): string {
  return process.env.UPDATE_SCREENSHOT === '1'
    ? path.resolve(new URL(`../../docs/${name}.png`, import.meta.url).pathname)
    : path.join(os.tmpdir(), `geko-${name}-${process.pid}.png`);
}

/** The whole page, as PNG, to `file` (its folder made if need be). */
export async function saveScreenshot(page: Page, file: string): Promise<void> {
  await mkdir(path.dirname(file), { recursive: true });
  await page.screenshot({ path: file, fullPage: true });
}
