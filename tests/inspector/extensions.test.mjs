// `mcp-cli dev` and the extensions, in headless Chromium: an MCP App view (SEP-1865) hosted
// in a sandboxed frame with the postMessage bridge, and the Skills view (SEP-2640).
//
// Run by scripts/test:  node --test tests/inspector/*.test.mjs
// Needs target/debug/mcp-cli and the examples `apps` and `everything`.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

import { chromium } from 'playwright-core';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const CLI = process.env.MCP_CLI_BIN || join(ROOT, 'target', 'debug', 'mcp-cli');
const EXAMPLES = join(ROOT, 'target', 'debug', 'examples');
const SHOTS = process.env.INSPECTOR_SCREENSHOTS;
const TIMEOUT = 90_000;

let browser;
let profile;

before(async () => {
  profile = mkdtempSync(join(tmpdir(), 'mcp-inspector-chromium-'));
  browser = await chromium.launchPersistentContext(profile, {
    executablePath: process.env.CHROMIUM_BIN || '/usr/bin/chromium',
    headless: true,
    viewport: { width: 1280, height: 820 },
    args: [
      '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync',
    ],
  });
});

after(async () => {
  await browser?.close();
  if (profile) rmSync(profile, { recursive: true, force: true });
});

function dev(args) {
  const child = spawn(CLI, ['dev', '--port', '0', ...args], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (c) => (stderr += c));
  return new Promise((resolve, reject) => {
    const lines = createInterface({ input: child.stdout });
    lines.on('line', (line) => {
      const m = line.match(/inspector at (http:\/\/127\.0\.0\.1:\d+\/\?token=[0-9a-f]+)/);
      if (m) resolve({ url: m[1], stop: () => child.kill() });
    });
    child.on('exit', (code) => reject(new Error(`mcp-cli dev exited (${code}): ${stderr}`)));
  });
}

async function open(url) {
  const page = await browser.newPage();
  page.setDefaultTimeout(30_000);
  const errors = [];
  page.on('pageerror', (e) => errors.push(e.message));
  await page.goto(url);
  await page.waitForSelector('#status[data-state=connected]');
  return { page, errors, close: () => page.close() };
}

async function shot(page, name, height = 820) {
  if (!SHOTS) return;
  mkdirSync(SHOTS, { recursive: true });
  await page.setViewportSize({ width: 1280, height });
  await page.$eval('main', (m) => { m.scrollTop = 0; });
  await page.screenshot({ path: join(SHOTS, `${name}.png`) });
  await page.setViewportSize({ width: 1280, height: 820 });
}

/** The frame of the app view. */
async function viewFrame(page) {
  await page.waitForSelector('#app-frame');
  for (let i = 0; i < 100; i++) {
    const f = page.frames().find((x) => x.url().includes('/view/'));
    if (f) return f;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error('no view frame');
}

test('a tool with an MCP App view: the view is framed, sandboxed, gets the result and calls a tool back', { timeout: TIMEOUT }, async () => {
  const server = await dev(['--', join(EXAMPLES, 'apps')]);
  const { page, errors, close } = await open(server.url);
  try {
    await page.waitForSelector('.tool-item[data-name=show_counter]');
    const badges = (name) => page.$$eval(`.tool-item[data-name=${name}] .badges .badge`, (b) => b.map((x) => x.textContent));
    assert.deepEqual(await badges('show_counter'), ['read-only', 'app']);
    assert.deepEqual(await badges('increment'), ['app only']);

    await page.click('.tool-item[data-name=show_counter]');
    const served = page.waitForResponse((r) => r.url().includes('/view/'));
    await page.click('#tool-run');
    const response = await served;
    const policy = response.headers()['content-security-policy'];
    assert.match(policy, /sandbox allow-scripts/);
    assert.match(policy, /connect-src 'none'/);
    assert.equal(await page.getAttribute('#app-frame', 'sandbox'), 'allow-scripts');

    const frame = await viewFrame(page);
    const view = page.frameLocator('#app-frame');
    // The tool's result reaches the view after ui/initialize and ui/notifications/initialized.
    await view.locator('#count').filter({ hasText: /^0$/ }).waitFor();
    await page.waitForSelector('#app-state.ok');
    // An opaque origin, and no network: the view cannot reach the inspector's API.
    assert.equal(await frame.evaluate(() => self.origin), 'null');
    assert.equal(await frame.evaluate(async () => {
      try { await fetch('/api/rpc', { method: 'POST', body: '{}' }); return 'reached'; } catch (_) { return 'blocked'; }
    }), 'blocked');

    // tools/call from the view waits for the developer: denied, allowed once, always allowed.
    await view.locator('#increment').click();
    await page.waitForSelector('.app-ask[data-kind=tool][data-name=increment]');
    await shot(page, 'apps', 1100);
    await page.click('.app-ask [data-answer=deny]');
    await view.locator('#status').filter({ hasText: /The host refused: The user denied the call to increment/ }).waitFor();
    await view.locator('#increment').click();
    await page.click('.app-ask [data-answer=once]');
    await view.locator('#count').filter({ hasText: /^1$/ }).waitFor();
    await view.locator('#increment').click();
    await page.click('.app-ask [data-answer=always]');
    await view.locator('#count').filter({ hasText: /^2$/ }).waitFor();
    await view.locator('#increment').click();
    await view.locator('#count').filter({ hasText: /^3$/ }).waitFor();
    assert.equal(await page.$('.app-ask'), null, 'an allowed tool is not asked again');

    // A tool the server does not have is refused; resources/read is proxied.
    const unknown = await frame.evaluate(() => new Promise((resolve) => {
      addEventListener('message', (e) => { if (e.data && e.data.id === 'x1') resolve(e.data); });
      parent.postMessage({ jsonrpc: '2.0', id: 'x1', method: 'tools/call', params: { name: 'nope', arguments: {} } }, '*');
    }));
    assert.equal(unknown.error.code, -32602);
    const read = await frame.evaluate(() => new Promise((resolve) => {
      addEventListener('message', (e) => { if (e.data && e.data.id === 'x2') resolve(e.data); });
      parent.postMessage({ jsonrpc: '2.0', id: 'x2', method: 'resources/read', params: { uri: 'ui://counter/view.html' } }, '*');
    }));
    assert.equal(read.result.contents[0].mimeType, 'text/html;profile=mcp-app');

    // ui/open-link asks first; a dismissed link is an error to the view.
    const link = frame.evaluate(() => new Promise((resolve) => {
      addEventListener('message', (e) => { if (e.data && e.data.id === 'x3') resolve(e.data); });
      parent.postMessage({ jsonrpc: '2.0', id: 'x3', method: 'ui/open-link', params: { url: 'https://example.com/docs' } }, '*');
    }));
    await page.waitForSelector('.app-ask[data-kind=link]');
    assert.match(await page.textContent('.app-ask[data-kind=link]'), /https:\/\/example\.com\/docs/);
    await page.click('.app-ask [data-answer=dismiss]');
    assert.match((await link).error.message, /did not open/);

    // The view's size changes resize its frame: the counter reports its own.
    assert.ok(await page.$('#app-log tr[data-method="ui/notifications/size-changed"]'));
    assert.notEqual(await page.$eval('#app-frame', (f) => f.style.height), '');
    await frame.evaluate(() => parent.postMessage({ jsonrpc: '2.0', method: 'ui/notifications/size-changed', params: { width: 400, height: 333 } }, '*'));
    await page.waitForFunction(() => document.querySelector('#app-frame').style.height === '333px');

    // Every bridge message is logged; the server saw the view's calls.
    for (const m of ['ui/initialize', 'ui/notifications/initialized', 'ui/notifications/tool-input', 'ui/notifications/tool-result', 'tools/call']) {
      assert.ok(await page.$(`#app-log tr[data-method="${m}"]`), `${m} is in the bridge log`);
    }
    await page.click('[data-tab=history]');
    await page.waitForSelector('#history tr.entry[data-method="tools/call"]');
    assert.deepEqual(errors, []);
  } finally {
    await close();
    server.stop();
  }
});

test('the Skills view lists skills with their front matter and verifies their files', { timeout: TIMEOUT }, async () => {
  const server = await dev(['--', join(EXAMPLES, 'everything')]);
  const { page, errors, close } = await open(server.url);
  try {
    await page.click('[data-tab=skills]');
    await page.waitForSelector('.skill-item[data-uri$="pdf-processing/SKILL.md"]');
    await page.click('.skill-item[data-uri$="pdf-processing/SKILL.md"]');
    const fm = await page.textContent('#skill-frontmatter');
    assert.match(fm, /name\s*pdf-processing/);
    assert.match(fm, /description/);
    const files = await page.$$eval('#skill-files tr.skill-file', (r) => r.map((x) => x.dataset.uri));
    assert.ok(files.some((u) => u.endsWith('references/FORMS.md')), files.join(' '));
    assert.ok(files.some((u) => u.endsWith('scripts/extract.py')), files.join(' '));
    // Nothing is read before the developer asks.
    assert.match(await page.textContent('#skill-files'), /not read/);
    await page.click('#skill-verify');
    await page.waitForSelector('#skill-verdict');
    assert.equal(await page.textContent('#skill-verdict'), 'all files verified');
    const statuses = await page.$$eval('#skill-files tr.skill-file td:last-child', (c) => c.map((x) => x.textContent));
    assert.ok(statuses.length >= 3 && statuses.every((s) => s === '✓ verified'), statuses.join(' | '));
    await page.click('#skill-files tr.skill-file[data-uri$="references/FORMS.md"]');
    await page.waitForSelector('#skill-file-preview');
    await shot(page, 'skills');
    assert.deepEqual(errors, []);
  } finally {
    await close();
    server.stop();
  }
});

test('a server without the skills extension says so in the Skills view', { timeout: TIMEOUT }, async () => {
  const server = await dev(['--', join(EXAMPLES, 'quickstart')]);
  const { page, errors, close } = await open(server.url);
  try {
    await page.waitForSelector('.tool-item');
    await page.click('[data-tab=skills]');
    await page.waitForSelector('#skills-none');
    assert.match(await page.textContent('#skills-none'), /does not declare the skills extension/);
    assert.deepEqual(errors, []);
  } finally {
    await close();
    server.stop();
  }
});
