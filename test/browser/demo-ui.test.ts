import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { runAxe } from '../helpers/axe';
import { chromium, type Browser, type Page } from 'playwright-core';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const RESULTS = path.join(ROOT, 'test-results');
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

// Flags for a root user in a container with no network: the sandbox needs
// user namespaces, and background services would try to reach Google's hosts.
const CHROMIUM_ARGS = ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];

let demo: ChildProcess | null = null;
let browser: Browser | null = null;

/** Starts `npm run demo` on a free port and resolves with the UI address it prints. */
function startDemo(): Promise<string> {
  const child = spawn(process.execPath, [path.join(ROOT, 'bin/backend-updater.js'), 'demo', '--port', '0'], { cwd: ROOT, env: { ...process.env, BACKEND_UPDATER_LOG_LEVEL: 'warn' } });
  demo = child;
  return new Promise((resolve, reject) => {
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      const match = /demo UI: (http:\/\/127\.0\.0\.1:\d+\/)/.exec(output);
      if (match?.[1]) resolve(match[1]);
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
  const { build } = await import('vite');
  await build({ configFile: path.join(ROOT, 'vite.config.ts'), logLevel: 'warn' });
}, 120_000);

afterEach(async () => {
  await browser?.close();
  browser = null;
  await stopDemo();
});

async function screenshot(page: Page, name: string): Promise<void> {
  await page.screenshot({ path: path.join(RESULTS, name), fullPage: true });
}

describe('demo UI in Chromium', () => {
  it('updates the backend from 2.0.0 to 2.1.0', async () => {
    const url = await startDemo();
    browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
    // The page's CSP forbids injected scripts; axe-core needs one, so the test context bypasses CSP.
    const page = await browser.newPage({ bypassCSP: true });
    await page.goto(url);
    await expect.poll(() => page.getByTestId('backend-version').textContent()).toBe('2.0.0');

    await page.getByRole('button', { name: 'Check for updates' }).click();
    const toast = page.locator('[data-toast-id="update-available-2.1.0"]');
    await toast.waitFor();
    expect(await toast.textContent()).toContain('Backend 2.1.0 is available');
    await screenshot(page, 'toast.png');

    await page.getByRole('button', { name: /View/ }).first().click();
    const dialog = page.getByRole('dialog', { name: 'Backend 2.1.0' });
    await dialog.waitFor();
    expect(await dialog.textContent()).toContain("What's new in 2.1.0");

    const violations = await runAxe(page);
    expect(violations.map((violation) => `${violation.id}: ${violation.nodes.map((node) => node.target.join(' ')).join(', ')}`)).toEqual([]);

    await dialog.getByRole('button', { name: 'Download' }).click();
    const bar = dialog.getByRole('progressbar');
    await bar.waitFor();
    const values: number[] = [];
    while (!(await dialog.getByRole('button', { name: 'Install and restart backend' }).isVisible())) {
      const value = Number(await bar.getAttribute('aria-valuenow').catch(() => null));
      if (Number.isFinite(value) && value !== values.at(-1)) values.push(value);
      if (values.length === 2) await screenshot(page, 'dialog-downloading.png');
      await page.waitForTimeout(50);
    }
    expect(values.length).toBeGreaterThan(1);
    expect([...values].sort((a, b) => a - b)).toEqual(values);

    await dialog.getByRole('button', { name: 'Install and restart backend' }).click();
    await expect.poll(() => page.getByTestId('backend-version').textContent(), { timeout: 20_000 }).toBe('2.1.0');
    await screenshot(page, 'result.png');
  }, 90_000);
});
