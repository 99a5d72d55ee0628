// `mcp-cli dev` end to end: the inspector page in headless Chromium (Debian's /usr/bin/chromium,
// driven by playwright-core) against the examples.
//
// Run by scripts/test:  node --test tests/inspector/*.test.mjs
// Needs target/debug/mcp-cli and the examples (cargo build --workspace --examples), or
// MCP_CLI_BIN; CHROMIUM_BIN overrides the browser. With INSPECTOR_SCREENSHOTS=DIR the tests
// also save the screenshots used by docs/inspector.md.
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

/** One Chromium with a fresh profile; each test opens its own pages (fresh sessionStorage). */
let browser;
let profile;

before(async () => {
  profile = mkdtempSync(join(tmpdir(), 'mcp-inspector-chromium-'));
  // Chromium on a machine without network: nothing may phone home, or startup stalls.
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

/** Starts `mcp-cli dev --port 0 ARGS`; resolves with its URL and a stop function. */
function dev(args, { cwd = ROOT } = {}) {
  const child = spawn(CLI, ['dev', '--port', '0', ...args], { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
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

/** A fresh page on the inspector, once the server is connected. */
async function open(url) {
  const page = await browser.newPage();
  page.setDefaultTimeout(30_000);
  const errors = [];
  page.on('pageerror', (e) => errors.push(e.message));
  await page.goto(url);
  await page.waitForSelector('#status[data-state=connected]');
  return { page, errors, close: () => page.close() };
}

/** Saves a screenshot for the docs (with INSPECTOR_SCREENSHOTS), `height` pixels tall. */
async function shot(page, name, height = 820) {
  if (!SHOTS) return;
  mkdirSync(SHOTS, { recursive: true });
  await page.setViewportSize({ width: 1280, height });
  await page.$eval('main', (m) => { m.scrollTop = 0; });
  await page.screenshot({ path: join(SHOTS, `${name}.png`) });
  await page.setViewportSize({ width: 1280, height: 820 });
}

test('fill a tool form, call it and see the result, checked against its output schema', { timeout: TIMEOUT }, async () => {
  const server = await dev(['--', join(EXAMPLES, 'quickstart')]);
  const { page, errors, close } = await open(server.url);
  try {
    assert.match(await page.textContent('#server-name'), /quickstart/);
    await page.click('.tool-item[data-name=add]');
    await page.fill('[data-field=a]', '2');
    await page.fill('[data-field=b]', '40');
    await page.click('#tool-run');
    await page.waitForSelector('#tool-result');
    assert.equal(await page.getAttribute('#tool-result', 'data-is-error'), 'false');
    assert.match(await page.textContent('#tool-result .result-text'), /^42$/);
    assert.equal(await page.getAttribute('#schema-check', 'data-valid'), 'true');
    assert.deepEqual(JSON.parse(await page.textContent('#structured')), { result: 42 });

    // An enum becomes a select; a tool error is shown as one.
    await page.click('.tool-item[data-name=convert_temperature]');
    await page.fill('[data-field=value]', '100');
    await page.selectOption('[data-field=from]', { label: 'celsius' });
    await page.selectOption('[data-field=to]', { label: 'fahrenheit' });
    await page.click('#tool-run');
    await page.waitForFunction(() => document.querySelector('#tool-result .result-text')?.textContent === '212.0');
    await page.click('.tool-item[data-name=divide]');
    await page.fill('[data-field=a]', '1');
    await page.fill('[data-field=b]', '0');
    await page.click('#tool-run');
    await page.waitForSelector('#tool-result[data-is-error=true]');
    assert.match(await page.textContent('#tool-result'), /division by zero/);

    // The raw-JSON mode sends exactly what is typed.
    await page.click('.tool-item[data-name=add]');
    await page.click('[data-mode=raw]');
    assert.deepEqual(JSON.parse(await page.inputValue('[data-raw="tool:add"]')), { a: 2, b: 40 });
    await page.fill('[data-raw="tool:add"]', '{"a": 5, "b": 6}');
    await page.click('#tool-run');
    await page.waitForFunction(() => document.querySelector('#tool-result .result-text')?.textContent === '11');

    // Every message is in the history, with the round trip's time.
    await page.click('[data-tab=history]');
    await page.waitForSelector('#history tr.entry[data-kind=response][data-method="tools/call"]');
    const took = await page.textContent('#history tr.entry[data-kind=response][data-method="tools/call"] td.took');
    assert.match(took, /ms/);
    assert.ok(await page.$('#history tr.entry[data-kind=request][data-method=initialize]'));
    await shot(page, 'history');
    assert.deepEqual(errors, []);
  } finally {
    await close();
    server.stop();
  }
});

test('lists show a loading state until they arrive, and tools carry their annotations as badges', { timeout: TIMEOUT }, async () => {
  const server = await dev(['--', join(EXAMPLES, 'quickstart')]);
  const page = await browser.newPage();
  page.setDefaultTimeout(30_000);
  const errors = [];
  page.on('pageerror', (e) => errors.push(e.message));
  // Hold the first tools/list back, so the page is seen before the list arrives.
  let release;
  const held = new Promise((r) => (release = r));
  await page.route('**/api/rpc', async (route) => {
    const body = route.request().postDataJSON() || {};
    if (body.method === 'tools/list') await held;
    await route.continue();
  });
  try {
    await page.goto(server.url);
    await page.waitForSelector('#status[data-state=connected]');
    await page.waitForSelector('.list .empty.loading');
    assert.equal(await page.textContent('.list .empty.loading'), 'Loading…');
    assert.match(await page.textContent('#view'), /Loading tools…/);
    assert.doesNotMatch(await page.textContent('#view'), /No tools\./);
    release();
    await page.waitForSelector('.tool-item[data-name=add]');
    assert.equal(await page.$('.loading'), null, 'the loading state is gone');
    const badges = await page.$$eval('.tool-item[data-name=add] .badges .badge', (b) => b.map((x) => x.textContent));
    assert.deepEqual(badges, ['read-only', 'idempotent']);
    assert.deepEqual(errors, []);
  } finally {
    await page.close();
    server.stop();
  }
});

test('a progress bar moves while a tool reports progress', { timeout: TIMEOUT }, async () => {
  const server = await dev(['--', join(EXAMPLES, 'quickstart')]);
  const { page, errors, close } = await open(server.url);
  try {
    await page.click('.tool-item[data-name=sleep]');
    await page.fill('[data-field=ms]', '2400');
    await page.click('#tool-run');
    await page.waitForFunction(() => Number(document.querySelector('#tool-progress')?.value) > 0);
    const firstValue = await page.$eval('#tool-progress', (p) => p.value);
    assert.equal(await page.$eval('#tool-progress', (p) => p.max), 2400);
    await shot(page, 'progress');
    await page.waitForFunction((v) => Number(document.querySelector('#tool-progress')?.value) > v, firstValue);
    await page.waitForFunction(() => document.querySelector('#tool-result .result-text')?.textContent === 'slept 2400 ms');
    await page.click('[data-tab=notifications]');
    assert.ok((await page.$$('#notifications tr')).length >= 5, 'four progress notifications and a header');

    // Cancel sends notifications/cancelled; the call ends as cancelled.
    await page.click('[data-tab=tools]');
    await page.fill('[data-field=ms]', '8000');
    await page.click('#tool-run');
    await page.waitForFunction(() => Number(document.querySelector('#tool-progress')?.value) > 0);
    await page.click('#tool-cancel');
    await page.waitForSelector('#tool-result');
    assert.match(await page.textContent('#tool-result'), /cancelled/);
    await page.click('[data-tab=history]');
    await page.waitForSelector('#history tr.entry[data-method="notifications/cancelled"]');
    assert.deepEqual(errors, []);
  } finally {
    await close();
    server.stop();
  }
});

test('read a resource, and a template filled in with completion suggestions', { timeout: TIMEOUT }, async () => {
  const server = await dev(['--', join(EXAMPLES, 'notes')]);
  const { page, errors, close } = await open(server.url);
  try {
    await page.click('[data-tab=resources]');
    await page.click('.resource-item[data-uri="notes://index"]');
    await page.click('#resource-read');
    await page.waitForSelector('#resource-result .resource-contents');
    const index = JSON.parse(await page.textContent('#resource-result .json-text'));
    assert.ok(Array.isArray(index) && index.length > 0, JSON.stringify(index));

    // Subscribed, the page marks what it read as stale when the server says it changed.
    await page.click('#resource-subscribe');
    await page.waitForSelector('#resource-subscribe:has-text("Unsubscribe")');
    await page.click('[data-tab=tools]');
    await page.click('.tool-item[data-name=write_note]');
    await page.fill('[data-field=name]', 'fresh');
    await page.fill('[data-field=text]', 'a new note');
    await page.click('#tool-run');
    await page.waitForSelector('#tool-result');
    await page.click('[data-tab=resources]');
    await page.waitForSelector('#resource-updated');

    await page.click('.template-item[data-template="notes://{name}"]');
    await page.click('[data-var=name]');
    await page.waitForSelector('.suggestion');
    await shot(page, 'resources');
    const suggestions = await page.$$eval('.suggestion', (b) => b.map((x) => x.textContent));
    assert.ok(suggestions.includes(index[0].name), `${suggestions} should offer ${index[0].name}`);
    await page.click(`.suggestion >> text="${index[0].name}"`);
    assert.equal(await page.textContent('#template-uri'), `notes://${index[0].name}`);
    await page.click('#template-read');
    await page.waitForFunction((uri) => document.querySelector('#resource-result .resource-contents .kind')?.textContent.startsWith(uri), `notes://${index[0].name}`);

    // Prompts: an argument form, and the rendered messages.
    await page.click('[data-tab=prompts]');
    await page.click('.prompt-item[data-name=review_code]');
    await page.fill('[data-arg=code]', 'fn main() {}');
    await page.fill('[data-arg=language]', 'rust');
    await page.click('#prompt-get');
    await page.waitForSelector('#prompt-result .msg-row');
    assert.match(await page.textContent('#prompt-result'), /fn main\(\) \{\}/);
    assert.deepEqual(errors, []);
  } finally {
    await close();
    server.stop();
  }
});

test('answer an elicitation and a sampling request of the server', { timeout: TIMEOUT }, async () => {
  const server = await dev(['--', join(EXAMPLES, 'inspector_demo')]);
  const { page, errors, close } = await open(server.url);
  try {
    await page.click('.tool-item[data-name=book_table]');
    await page.fill('[data-field=restaurant]', 'Chez Rust');
    await page.click('#tool-run');
    const card = '.server-request[data-method="elicitation/create"]';
    await page.waitForSelector(card);
    assert.match(await page.textContent(card), /Book a table at Chez Rust/);
    await page.fill(`${card} [data-field=name]`, 'Ferris');
    await page.fill(`${card} [data-field=guests]`, '4');
    await page.selectOption(`${card} [data-field=seating]`, { index: 2 });
    await page.selectOption(`${card} [data-field=reminder]`, 'true');
    await shot(page, 'elicitation');
    await page.click(`${card} .accept`);
    await page.waitForSelector('#tool-result');
    assert.match(await page.textContent('#tool-result .result-text'), /Booked Chez Rust for Ferris \(4 guests, Terrace, with a reminder\)/);
    assert.equal(await page.$(card), null, 'the answered request is gone');

    // Declining is an answer too.
    await page.click('#tool-run');
    await page.waitForSelector(card);
    await page.click(`${card} .decline`);
    await page.waitForFunction(() => document.querySelector('#tool-result .result-text')?.textContent === 'The user declined to book.');

    const sampling = '.server-request[data-method="sampling/createMessage"]';
    await page.click('.tool-item[data-name=haiku]');
    await page.fill('[data-field=topic]', 'borrowing');
    await page.click('#tool-run');
    await page.waitForSelector(sampling);
    assert.match(await page.textContent(sampling), /Write a haiku about borrowing/);
    await page.fill(`${sampling} [data-field=reply]`, 'a reference lives / no longer than its owner / the checker is pleased');
    await page.click(`${sampling} .accept`);
    await page.waitForFunction(() => /the checker is pleased \(by mcp-cli-dev\)/.test(document.querySelector('#tool-result .result-text')?.textContent ?? ''));
    assert.deepEqual(errors, []);
  } finally {
    await close();
    server.stop();
  }
});

test('nested forms, every content kind, and inputs kept across a revision switch', { timeout: TIMEOUT }, async () => {
  const server = await dev(['--', join(EXAMPLES, 'inspector_demo')]);
  const { page, errors, close } = await open(server.url);
  try {
    await page.click('.tool-item[data-name=plan_trip]');
    await page.fill('[data-field=traveller]', 'Ann');
    await page.click('[data-add=stops]');
    await page.fill('[data-field="stops[0].city"]', 'Lyon');
    await page.fill('[data-field="stops[0].nights"]', '2');
    await page.click('[data-add=stops]');
    await page.fill('[data-field="stops[1].city"]', 'Turin');
    await page.fill('[data-field="stops[1].nights"]', '3');
    assert.equal(await page.inputValue('[data-field=mode]') !== '', true, 'the default mode is chosen');
    await page.click('#tool-run');
    await page.waitForSelector('#schema-check[data-valid=true]');
    assert.deepEqual(JSON.parse(await page.textContent('#structured')), { route: ['Lyon', 'Turin'], nights: 5, mode: 'train', rail_pass: true });
    await shot(page, 'tools', 1480);

    // Switch revision: the server restarts, the page reconnects, the form keeps its inputs.
    await page.selectOption('#revision', '2025-03-26');
    await page.waitForSelector('#status[data-state=connected]:has-text("2025-03-26")');
    await page.waitForSelector('[data-field="stops[1].city"]');
    assert.equal(await page.inputValue('[data-field=traveller]'), 'Ann');
    assert.equal(await page.inputValue('[data-field="stops[1].city"]'), 'Turin');
    await page.click('[data-tab=server]');
    assert.match(await page.textContent('#negotiated'), /2025-03-26/);
    await page.selectOption('#revision', '2025-11-25');
    await page.waitForSelector('#status[data-state=connected]:has-text("2025-11-25")');

    await page.click('[data-tab=tools]');
    await page.click('.tool-item[data-name=showcase]');
    await page.click('#tool-run');
    await page.waitForSelector('#tool-result [data-type=resource]');
    for (const kind of ['text', 'image', 'audio', 'resource_link', 'resource']) {
      assert.ok(await page.$(`#tool-result [data-type=${kind}]`), `a ${kind} block`);
    }
    assert.ok(await page.$eval('#tool-result [data-type=image] img', (img) => img.naturalWidth === 8), 'the image decodes');
    await shot(page, 'content', 1180);
    await page.click('#tool-result [data-type=resource_link] button');
    await page.waitForSelector('#resource-result .resource-contents');
    assert.match(await page.textContent('#resource-result'), /Inspector demo/);
    assert.deepEqual(errors, []);
  } finally {
    await close();
    server.stop();
  }
});

test('log messages follow the level chosen in the page', { timeout: TIMEOUT }, async () => {
  const server = await dev(['--', join(EXAMPLES, 'inspector_demo')]);
  const { page, errors, close } = await open(server.url);
  try {
    await page.click('[data-tab=notifications]');
    await page.selectOption('#log-level', 'warning');
    await page.click('[data-tab=history]');
    await page.waitForSelector('#history tr.entry[data-kind=response][data-method="logging/setLevel"]');
    await page.click('[data-tab=tools]');
    await page.click('.tool-item[data-name=countdown]');
    await page.fill('[data-field=from]', '2');
    await page.click('#tool-run');
    await page.waitForFunction(() => document.querySelector('#tool-result .result-text')?.textContent === 'lift-off');
    await page.click('[data-tab=notifications]');
    const levels = await page.$$eval('#notifications .lvl', (l) => l.map((x) => x.textContent));
    assert.deepEqual(levels, ['warning'], 'info messages are below the level');
    assert.equal((await page.$$('#notifications progress')).length, 2, 'two progress notifications');
    assert.deepEqual(errors, []);
  } finally {
    await close();
    server.stop();
  }
});

test('build errors are shown in the page, and the page needs the token', { timeout: TIMEOUT }, async () => {
  const server = await dev(['--example', 'no_such_example']);
  const page = await browser.newPage();
  try {
    await page.goto(server.url);
    await page.waitForSelector('#build-error');
    assert.match(await page.textContent('#build-error'), /no example target named `no_such_example`/);
    const bare = server.url.replace(/\?token=.*/, '');
    const response = await page.goto(bare);
    assert.equal(response.status(), 403);
    assert.match(await page.textContent('body'), /needs its session token/);
  } finally {
    await page.close();
    server.stop();
  }
});

test('--watch restarts the server when a watched file changes and the page reconnects', { timeout: TIMEOUT }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'mcp-inspector-watch-'));
  const { writeFileSync } = await import('node:fs');
  writeFileSync(join(dir, 'server.txt'), 'one');
  const server = await dev(['--watch', '--', join(EXAMPLES, 'quickstart')], { cwd: dir });
  const { page, errors, close } = await open(server.url);
  try {
    await page.click('.tool-item[data-name=add]');
    await page.fill('[data-field=a]', '7');
    await page.click('header .brand'); // nothing keeps the form on screen but the saved inputs
    writeFileSync(join(dir, 'server.txt'), 'two, longer');
    await page.waitForSelector('#status[data-state=connected][data-attempt="2"]');
    await page.waitForSelector('[data-field=a]');
    assert.equal(await page.inputValue('[data-field=a]'), '7');
    await page.click('[data-tab=console]');
    assert.match(await page.textContent('#console'), /server\.txt changed: restarting/);
    assert.deepEqual(errors, []);
  } finally {
    await close();
    server.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('revision 2026-07-28: no handshake, and an elicitation arrives as input_required and is answered in the page', { timeout: TIMEOUT }, async () => {
  const server = await dev(['--', join(EXAMPLES, 'inspector_demo')]);
  const { page, errors, close } = await open(server.url);
  try {
    assert.ok(await page.$('#revision option[value="2026-07-28"]'), 'the menu offers 2026-07-28');
    assert.match(await page.textContent('#revision option[value="2026-07-28"]'), /per-request/);
    await page.selectOption('#revision', '2026-07-28');
    await page.waitForSelector('#status[data-state=connected][data-mode=per-request]:has-text("2026-07-28")');
    await page.click('[data-tab=server]');
    assert.match(await page.textContent('#negotiated'), /2026-07-28/);
    assert.match(await page.textContent('#mode'), /per-request/);
    assert.match(await page.textContent('#view'), /Inspector demo|inspector_demo/);

    // The elicitation comes back as an inputRequest; the page shows the same form.
    await page.click('[data-tab=tools]');
    await page.click('.tool-item[data-name=book_table]');
    await page.fill('[data-field=restaurant]', 'Chez Rust');
    await page.click('#tool-run');
    const card = '.server-request[data-method="elicitation/create"]';
    await page.waitForSelector(card);
    assert.match(await page.textContent(card), /Book a table at Chez Rust/);
    await page.fill(`${card} [data-field=name]`, 'Ferris');
    await page.fill(`${card} [data-field=guests]`, '2');
    await page.selectOption(`${card} [data-field=seating]`, { index: 1 });
    await page.click(`${card} .accept`);
    await page.waitForSelector('#tool-result');
    assert.match(await page.textContent('#tool-result .result-text'), /Booked Chez Rust for Ferris \(2 guests/);

    // The log level is the page's: it goes in the _meta of later requests.
    await page.click('[data-tab=notifications]');
    await page.selectOption('#log-level', 'warning');
    await page.click('[data-tab=tools]');
    await page.click('.tool-item[data-name=countdown]');
    await page.fill('[data-field=from]', '2');
    await page.click('#tool-run');
    await page.waitForFunction(() => document.querySelector('#tool-result .result-text')?.textContent === 'lift-off');
    await page.click('[data-tab=notifications]');
    const levels = await page.$$eval('#notifications .lvl', (l) => l.map((x) => x.textContent));
    assert.deepEqual(levels, ['warning'], 'info messages are below the level');

    // The history: server/discover, no initialize since; the call went twice, the second time
    // with the answer and the server's requestState.
    await page.click('[data-tab=history]');
    const sent = await page.evaluate(() => S.history.filter((e) => e.dir === 'out').map((e) => e.msg));
    const since = sent.map((m) => m.method).lastIndexOf('server/discover');
    assert.ok(since >= 0, 'server/discover was sent');
    const modern = sent.slice(since);
    assert.ok(!modern.some((m) => m.method === 'initialize' || m.method === 'logging/setLevel'), JSON.stringify(modern.map((m) => m.method)));
    const bookings = modern.filter((m) => m.method === 'tools/call' && m.params.name === 'book_table');
    assert.equal(bookings.length, 2, 'the call, and its retry with the answer');
    assert.equal(bookings[0].params._meta['io.modelcontextprotocol/protocolVersion'], '2026-07-28');
    const [answer] = Object.values(bookings[1].params.inputResponses);
    assert.equal(answer.action, 'accept');
    assert.equal(answer.content.name, 'Ferris');
    assert.equal(typeof bookings[1].params.requestState, 'string');
    assert.deepEqual(errors, []);
  } finally {
    await close();
    server.stop();
  }
});

test('dev --revision 2026-07-28: a resource subscription is a subscriptions/listen', { timeout: TIMEOUT }, async () => {
  const server = await dev(['--revision', '2026-07-28', '--', join(EXAMPLES, 'notes')]);
  const { page, errors, close } = await open(server.url);
  try {
    await page.waitForSelector('#status[data-mode=per-request]:has-text("2026-07-28")');
    assert.equal(await page.inputValue('#revision'), '2026-07-28');
    await page.click('[data-tab=resources]');
    await page.click('.resource-item[data-uri="notes://index"]');
    await page.click('#resource-read');
    await page.waitForSelector('#resource-result .resource-contents');
    await page.click('#resource-subscribe');
    await page.waitForSelector('#resource-subscribe:has-text("Unsubscribe")');
    await page.click('[data-tab=tools]');
    await page.click('.tool-item[data-name=write_note]');
    await page.fill('[data-field=name]', 'fresh');
    await page.fill('[data-field=text]', 'a new note');
    await page.click('#tool-run');
    await page.waitForSelector('#tool-result');
    await page.click('[data-tab=resources]');
    await page.waitForSelector('#resource-updated');
    const listens = await page.evaluate(() => S.history.filter((e) => e.dir === 'out' && e.msg.method === 'subscriptions/listen').map((e) => e.msg.params.notifications));
    assert.ok(listens.some((n) => (n.resourceSubscriptions || []).includes('notes://index')), JSON.stringify(listens));
    assert.deepEqual(errors, []);
  } finally {
    await close();
    server.stop();
  }
});
