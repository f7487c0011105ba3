import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { runAxe } from '../helpers/axe';
import { chromium, type Browser, type Locator, type Page } from 'playwright-core';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const RESULTS = path.join(ROOT, 'test-results');
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

// Flags for a root user in a container with no network: the sandbox needs
// user namespaces, and background services would try to reach Google's hosts.
const CHROMIUM_ARGS = ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];

const DOWNLOAD_HINT = 'Closing this dialog does not stop a download';

let demo: ChildProcess | null = null;
let browser: Browser | null = null;

interface DemoRun {
  url: string;
  /** Id of the throwaway key that signs this run's releases, from the demo's output. */
  keyId: string;
}

/** Starts `npm run demo` on a free port and resolves with the UI address and signing key id it prints. */
function startDemo(): Promise<DemoRun> {
  const child = spawn(process.execPath, [path.join(ROOT, 'bin/backend-updater.js'), 'demo', '--port', '0'], { cwd: ROOT, env: { ...process.env, BACKEND_UPDATER_LOG_LEVEL: 'warn' } });
  demo = child;
  return new Promise((resolve, reject) => {
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      const url = /demo UI: (http:\/\/127\.0\.0\.1:\d+\/)/.exec(output)?.[1];
      if (!url) return;
      const keyId = /Release signing key \(made for this run\): ([0-9A-F]{16})/.exec(output)?.[1];
      if (keyId) resolve({ url, keyId });
      else reject(new Error(`demo printed no signing key id before its UI address: ${output}`));
    });
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.on('exit', (code) => reject(new Error(`demo exited with ${code}: ${output}`)));
  });
}

async function stopDemo(): Promise<void> {
  const child = demo;
  demo = null;
  if (!child || child.exitCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGINT');
  await exited;
}

beforeAll(async () => {
  fs.mkdirSync(RESULTS, { recursive: true });
  // The demo serves dist/renderer; building first keeps the page in step with src/.
  // Vitest sets NODE_ENV=test, and Vite would then bundle React's development
  // build, so the build runs with NODE_ENV=production like `npm run build`.
  const { build } = await import('vite');
  const nodeEnv = process.env.NODE_ENV;
  process.env.NODE_ENV = 'production';
  try {
    await build({ configFile: path.join(ROOT, 'vite.config.ts'), logLevel: 'warn', mode: 'production' });
  } finally {
    process.env.NODE_ENV = nodeEnv;
  }
}, 120_000);

afterEach(async () => {
  await browser?.close();
  browser = null;
  await stopDemo();
});

async function screenshot(page: Page, name: string): Promise<void> {
  await page.screenshot({ path: path.join(RESULTS, name), fullPage: true });
}

/** Opens the demo's UI in a new Chromium and waits until it shows 2.0.0 installed. */
async function openPage(url: string): Promise<Page> {
  browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
  // The page's CSP forbids injected scripts; axe-core needs one, so the test context bypasses CSP.
  const page = await browser.newPage({ bypassCSP: true });
  await page.goto(url);
  await expect.poll(() => page.getByTestId('backend-version').textContent()).toBe('2.0.0');
  return page;
}

/** Starts the demo and opens its UI with 2.0.0 installed. */
async function openDemo(): Promise<{ page: Page; keyId: string }> {
  const { url, keyId } = await startDemo();
  return { page: await openPage(url), keyId };
}

/** Formats axe violations as `rule: targets`, so a failure names the nodes. */
function describeViolations(violations: Awaited<ReturnType<typeof runAxe>>): string[] {
  return violations.map((violation) => `${violation.id}: ${violation.nodes.map((node) => node.target.join(' ')).join(', ')}`);
}

/** Returns the focused element as `tag "text"`, for failure messages. */
function describeFocus(page: Page): Promise<string> {
  return page.evaluate(() => {
    const element = document.activeElement;
    return element ? `${element.tagName.toLowerCase()} "${element.textContent?.trim() ?? ''}"` : 'nothing';
  });
}

/** Waits up to 2 s for the element to have keyboard focus. Radix moves focus from timers, so a single read can come too early. */
async function expectFocus(page: Page, locator: Locator, name: string): Promise<void> {
  const deadline = Date.now() + 2000;
  const isFocused = () => locator.evaluate((element) => element === document.activeElement, undefined, { timeout: 2000 }).catch(() => false);
  while (!(await isFocused())) {
    if (Date.now() > deadline) expect.fail(`expected focus on ${name}, found it on ${await describeFocus(page)}`);
    await page.waitForTimeout(25);
  }
}

/** Sends a POST to the demo's Update API from the page, as a second client would, without waiting for the result. */
async function postFromPage(page: Page, route: string): Promise<void> {
  await page.evaluate((target) => {
    const token = document.querySelector<HTMLMetaElement>('meta[name="backend-updater-token"]')?.content ?? '';
    void fetch(target, { method: 'POST', headers: { authorization: `Bearer ${token}` } });
  }, route);
}

describe('demo UI in Chromium', () => {
  it('updates 2.0.0 to 2.1.0 by keyboard', async () => {
    const { page, keyId } = await openDemo();
    const checkButton = page.getByRole('button', { name: /Check(ing)? for updates/ });
    const toasts = page.locator('[data-toast-id]');
    const updatesCard = page.getByRole('region', { name: 'Updates' });

    await page.keyboard.press('Tab');
    await expectFocus(page, checkButton, 'Check for updates');
    await page.keyboard.press('Enter');
    const toast = page.locator('[data-toast-id="update-available-2.1.0"]');
    await toast.waitFor();
    expect(await toast.textContent()).toContain('Backend 2.1.0 is available');
    const view = toast.getByRole('button', { name: 'View' });
    await expectFocus(page, view, 'View in the toast');
    await screenshot(page, 'toast.png');

    await page.keyboard.press('Enter');
    const dialog = page.getByRole('dialog', { name: 'Backend 2.1.0' });
    await dialog.waitFor();
    await dialog.getByRole('heading', { name: "What's new in 2.1.0" }).waitFor();
    expect(await toasts.count()).toBe(0);
    await expectFocus(page, dialog.getByRole('button', { name: 'Download' }), 'Download');
    expect(await dialog.textContent()).not.toContain(DOWNLOAD_HINT);
    expect(await dialog.getByText(`Signed by a trusted key (${keyId})`, { exact: true }).isVisible()).toBe(true);
    expect(await dialog.getByRole('note').count()).toBe(0);
    await screenshot(page, 'dialog.png');
    expect(describeViolations(await runAxe(page))).toEqual([]);

    // The toast that opened the dialog is gone, so focus returns to the button that started the check.
    await page.keyboard.press('Escape');
    await dialog.waitFor({ state: 'hidden' });
    await expectFocus(page, checkButton, 'Check for updates');
    expect(await toasts.count()).toBe(0);

    const viewUpdate = updatesCard.getByRole('button', { name: 'View update' });
    await page.keyboard.press('Tab');
    await expectFocus(page, viewUpdate, 'View update');
    await page.keyboard.press('Enter');
    await dialog.waitFor();
    await page.keyboard.press('Escape');
    await dialog.waitFor({ state: 'hidden' });
    await expectFocus(page, viewUpdate, 'View update');

    await page.keyboard.press('Enter');
    await dialog.waitFor();
    await expectFocus(page, dialog.getByRole('button', { name: 'Download' }), 'Download');
    await page.keyboard.press('Enter');
    const bar = dialog.getByRole('progressbar');
    await bar.waitFor();
    // Download disappears once the download runs; focus moves to Close, which leaves the download running.
    await expectFocus(page, dialog.getByRole('button', { name: 'Close' }), 'Close');
    expect(await dialog.textContent()).toContain(DOWNLOAD_HINT);
    const values: number[] = [];
    while (!(await dialog.getByRole('button', { name: 'Install and restart backend' }).isVisible())) {
      // The bar leaves the page when the download ends, so a missing attribute is no reading, not 0.
      const attribute = await bar.getAttribute('aria-valuenow', { timeout: 1000 }).catch(() => null);
      const value = attribute === null ? NaN : Number(attribute);
      if (Number.isFinite(value) && value !== values.at(-1)) values.push(value);
      if (values.length === 2) await screenshot(page, 'dialog-downloading.png');
      await page.waitForTimeout(50);
    }
    expect(values.length).toBeGreaterThan(1);
    expect([...values].sort((a, b) => a - b), `progress values ${values.join(", ")}`).toEqual(values);
    expect(await dialog.textContent()).not.toContain(DOWNLOAD_HINT);

    await page.keyboard.press('Shift+Tab');
    const install = dialog.getByRole('button', { name: 'Install and restart backend' });
    await expectFocus(page, install, 'Install and restart backend');
    await page.keyboard.press('Enter');
    await expect.poll(() => page.getByTestId('backend-version').textContent(), { timeout: 20_000 }).toBe('2.1.0');
    await dialog.getByText('Backend 2.1.0 is running. It replaced 2.0.0.').waitFor();
    const result = await dialog.textContent();
    expect(result).not.toContain('No update is being offered');
    expect(result).not.toContain(DOWNLOAD_HINT);
    expect(await toasts.count()).toBe(0);
    await screenshot(page, 'result.png');

    await page.keyboard.press('Escape');
    await dialog.waitFor({ state: 'hidden' });
    await expectFocus(page, checkButton, 'Check for updates');
    expect(await updatesCard.textContent()).not.toContain('available');
    expect(await updatesCard.getByRole('button').allTextContents()).toEqual(['Check for updates']);
    await screenshot(page, 'after-install.png');
  }, 90_000);

  it('closes a toast that is no longer current', async () => {
    const { page } = await openDemo();
    const toast = page.locator('[data-toast-id="update-available-2.1.0"]');
    const updatesCard = page.getByRole('region', { name: 'Updates' });

    // Opening the update from the main screen closes the toast about it.
    await page.getByRole('button', { name: 'Check for updates' }).click();
    await toast.waitFor();
    await updatesCard.getByRole('button', { name: 'View update' }).click();
    const dialog = page.getByRole('dialog', { name: 'Backend 2.1.0' });
    await dialog.waitFor();
    expect(await toast.count()).toBe(0);
    await dialog.getByRole('button', { name: 'Close' }).click();
    await dialog.waitFor({ state: 'hidden' });

    // A check that the user starts shows the toast again. A download that another client starts outdates it.
    await page.getByRole('button', { name: 'Check for updates' }).click();
    await toast.waitFor();
    await postFromPage(page, '/api/updates/download');
    await toast.waitFor({ state: 'detached' });
    await updatesCard.getByText(/Downloading backend 2\.1\.0/).waitFor();

    await postFromPage(page, '/api/updates/cancel');
    await updatesCard.getByText('Backend 2.1.0 is available.').waitFor();
  }, 90_000);

  it('runs under its CSP without console errors', async () => {
    const { url } = await startDemo();
    browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
    const page = await browser.newPage();
    const errors: string[] = [];
    page.on('console', (message) => {
      if (message.type() === 'error') errors.push(message.text());
    });

    await page.goto(url);
    await page.getByRole('button', { name: 'Check for updates' }).click();
    await page.locator('[data-toast-id="update-available-2.1.0"]').waitFor();

    expect(errors).toEqual([]);
  }, 60_000);

  it('fits a small window', async () => {
    const { url } = await startDemo();
    const page = await openPage(url);
    await page.setViewportSize({ width: 700, height: 480 });
    const toast = page.locator('[data-toast-id="update-available-2.1.0"]');
    const viewUpdate = page.getByRole('region', { name: 'Updates' }).getByRole('button', { name: 'View update' });

    await page.getByRole('button', { name: 'Check for updates' }).click();
    await toast.waitFor();
    // The page reserves room for the toast below its content, so scrolling to the end uncovers every button.
    await page.evaluate(() => window.scrollTo(0, document.documentElement.scrollHeight));
    await screenshot(page, 'small-toast.png');
    await page.screenshot({ path: path.join(RESULTS, 'small-toast-viewport.png') });
    // The element at the button's centre is the button itself, not the toast above it.
    const box = await viewUpdate.boundingBox();
    expect(box).not.toBeNull();
    const hit = await page.evaluate(({ x, y }) => document.elementFromPoint(x, y)?.textContent ?? null, { x: box!.x + box!.width / 2, y: box!.y + box!.height / 2 });
    expect(hit).toBe('View update');
    expect(await toast.isVisible()).toBe(true);
    await viewUpdate.click({ timeout: 2000 });

    const dialog = page.getByRole('dialog', { name: 'Backend 2.1.0' });
    await dialog.waitFor();
    await dialog.getByRole('heading', { name: "What's new in 2.1.0" }).waitFor();
    const dialogBox = await dialog.boundingBox();
    expect(dialogBox).not.toBeNull();
    expect(dialogBox!.y).toBeGreaterThanOrEqual(0);
    expect(dialogBox!.y + dialogBox!.height).toBeLessThanOrEqual(480);
    await page.screenshot({ path: path.join(RESULTS, 'small-dialog.png') });

    const close = dialog.getByRole('button', { name: 'Close' });
    await close.scrollIntoViewIfNeeded();
    const closeBox = await close.boundingBox();
    expect(closeBox).not.toBeNull();
    expect(closeBox!.y).toBeGreaterThanOrEqual(dialogBox!.y);
    expect(closeBox!.y + closeBox!.height).toBeLessThanOrEqual(Math.min(480, dialogBox!.y + dialogBox!.height));
    expect(closeBox!.x + closeBox!.width).toBeLessThanOrEqual(700);
    await page.screenshot({ path: path.join(RESULTS, 'small-dialog-close.png') });
    await close.click({ timeout: 2000 });
    await dialog.waitFor({ state: 'hidden' });
  }, 90_000);

  it('shows the unsigned warning legibly', async () => {
    const { url } = await startDemo();
    const check = await fetch(new URL('api/updates/check', url));
    expect(check.status).toBe(200);
    expect(await check.json()).toMatchObject({ update_available: true, latest_version: '2.1.0' });
    const page = await openPage(url);
    // The demo trusts its key, so it never offers an unsigned update. The page's
    // one state read is rewritten to the unsigned form that an updater without
    // trusted keys sends. The higher seq keeps the verified copy, which the
    // event stream sends too, from replacing it.
    await page.route('**/api/updates/state', async (route) => {
      const state = (await (await route.fetch()).json()) as { seq: number; update?: { signature: unknown } };
      if (!state.update) return route.fulfill({ json: state });
      state.update.signature = { status: 'unsigned', keyId: null };
      return route.fulfill({ json: { ...state, seq: state.seq + 1_000 } });
    });
    await page.reload();

    await page.getByRole('region', { name: 'Updates' }).getByRole('button', { name: 'View update' }).click();
    const dialog = page.getByRole('dialog', { name: 'Backend 2.1.0' });
    const warning = dialog.getByRole('note', { name: 'This release is not signature-checked.' });
    await warning.waitFor();
    expect(await warning.textContent()).toContain('nothing proves who published it');
    expect(await dialog.textContent()).not.toContain('Signed by');
    await screenshot(page, 'dialog-unsigned.png');
    expect(describeViolations(await runAxe(page))).toEqual([]);

    // The stylesheet has a second palette for dark mode; its contrast is checked too.
    await page.emulateMedia({ colorScheme: 'dark' });
    await screenshot(page, 'dialog-unsigned-dark.png');
    expect(describeViolations(await runAxe(page))).toEqual([]);
  }, 90_000);
});
