// `mcp-cli dev` across connections and page reloads, in headless Chromium: the history
// paired by connection, results and calls in flight that survive a reload, export as test.
//
// Run by scripts/test:  node --test tests/inspector/*.test.mjs
// Needs target/debug/mcp-cli and the example `quickstart`.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, mkdirSync, writeFileSync, readFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { createServer } from 'node:http';
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

test('the history pairs requests and responses by connection and marks a restarted server', { timeout: TIMEOUT }, async () => {
  const server = await dev(['--', join(EXAMPLES, 'quickstart')]);
  const { page, errors, close } = await open(server.url);
  try {
    const add = async (a, b, want) => {
      await page.click('.tool-item[data-name=add]');
      await page.fill('[data-field=a]', String(a));
      await page.fill('[data-field=b]', String(b));
      await page.click('#tool-run');
      await page.waitForFunction((w) => document.querySelector('#tool-result .result-text')?.textContent === w, String(want));
    };
    await add(1, 2, 3);
    await page.click('#reconnect');
    await page.waitForSelector('#status[data-state=connected][data-attempt="2"]');
    await page.waitForSelector('.tool-item[data-name=add]');
    await add(3, 4, 7);
    await page.click('[data-tab=history]');
    const markers = await page.$$eval('#history tr.marker', (r) => r.map((x) => [x.dataset.conn, x.dataset.restarted]));
    assert.deepEqual(markers, [['2', 'true'], ['1', 'false']]);
    assert.match(await page.textContent('#history tr.marker[data-conn="2"]'), /restarted: whatever it kept in memory is gone/);
    // The second connection reuses the first one's ids: each response still finds its own
    // request, so no round trip is negative.
    const took = await page.$$eval('#history tr.entry[data-kind=response] td.took', (c) => c.map((x) => x.textContent));
    assert.ok(took.length >= 6, took.join(' '));
    for (const t of took) assert.match(t, /^\d/, `a round trip of ${t}`);
    await shot(page, 'history-connections');
    assert.deepEqual(errors, []);
  } finally {
    await close();
    server.stop();
  }
});

test('a call in flight across a page reload shows its result, and results survive reloads', { timeout: TIMEOUT }, async () => {
  const server = await dev(['--', join(EXAMPLES, 'quickstart')]);
  const { page, errors, close } = await open(server.url);
  try {
    await page.click('.tool-item[data-name=sleep]');
    await page.fill('[data-field=ms]', '3000');
    await page.click('#tool-run');
    await page.waitForFunction(() => Number(document.querySelector('#tool-progress')?.value) > 0);
    await page.reload();
    await page.waitForSelector('#status[data-state=connected]');
    // Adopted: still running in the new page, then its result.
    await page.waitForSelector('#tool-run:disabled');
    assert.equal(await page.textContent('#tool-run'), 'Running…');
    await page.waitForFunction(() => document.querySelector('#tool-result .result-text')?.textContent === 'slept 3000 ms');
    assert.equal(await page.$('#tool-run:disabled'), null);
    await page.reload();
    await page.waitForSelector('#status[data-state=connected]');
    await page.waitForFunction(() => document.querySelector('#tool-result .result-text')?.textContent === 'slept 3000 ms');
    assert.deepEqual(errors, []);
  } finally {
    await close();
    server.stop();
  }
});

test('export as test writes the session\'s tool calls as a Rust test of their recorded results', { timeout: TIMEOUT }, async () => {
  const server = await dev(['--', join(EXAMPLES, 'quickstart')]);
  const { page, errors, close } = await open(server.url);
  try {
    await page.click('.tool-item[data-name=add]');
    await page.fill('[data-field=a]', '2');
    await page.fill('[data-field=b]', '40');
    await page.click('#tool-run');
    await page.waitForFunction(() => document.querySelector('#tool-result .result-text')?.textContent === '42');
    await page.click('.tool-item[data-name=divide]');
    await page.fill('[data-field=a]', '1');
    await page.fill('[data-field=b]', '0');
    await page.click('#tool-run');
    await page.waitForSelector('#tool-result[data-is-error=true]');
    await page.click('[data-tab=history]');
    await page.click('#export-open');
    const text = await page.inputValue('#export-test');
    assert.match(text, /#\[tokio::test\]\nasync fn recorded_session\(\) \{/);
    assert.match(text, /Command::new\(".*quickstart"\)/);
    assert.match(text, /\.call_tool\("add", json\(r#"\{"a":2,"b":40\}"#\)\)/);
    assert.match(text, /assert_eq!\(r\.structured_content, Some\(json\(r#"\{"result":42\}"#\)\)\);/);
    assert.match(text, /\.call_tool\("divide", json\(r#"\{"a":1,"b":0\}"#\)\)[\s\S]*assert!\(r\.is_error\);/);
    assert.ok(text.indexOf('"add"') < text.indexOf('"divide"'), 'the calls in the order made');
    if (process.env.INSPECTOR_EXPORT) (await import('node:fs')).writeFileSync(process.env.INSPECTOR_EXPORT, text);
    assert.deepEqual(errors, []);
  } finally {
    await close();
    server.stop();
  }
});

/** Starts an example over HTTP on a free port; resolves with its endpoint URL. */
function serveHttp(example) {
  const child = spawn(join(EXAMPLES, example), ['--transport', 'http', '--port', '0'], { stdio: ['ignore', 'ignore', 'pipe'] });
  let log = '';
  return new Promise((resolve, reject) => {
    const lines = createInterface({ input: child.stderr });
    lines.on('line', (line) => {
      log += line + '\n';
      const m = line.match(/(http:\/\/127\.0\.0\.1:\d+\/mcp)/);
      if (m) resolve({ url: m[1], stop: () => child.kill() });
    });
    child.on('exit', (code) => reject(new Error(`the server exited (${code}): ${log}`)));
  });
}

test('the Network view times every request, and over HTTP shows each exchange with its headers', { timeout: TIMEOUT }, async () => {
  const stdio = await dev(['--', join(EXAMPLES, 'quickstart')]);
  let { page, errors, close } = await open(stdio.url);
  try {
    await page.click('.tool-item[data-name=add]');
    await page.fill('[data-field=a]', '1');
    await page.fill('[data-field=b]', '1');
    await page.click('#tool-run');
    await page.waitForSelector('#tool-result');
    await page.click('[data-tab=network]');
    assert.match(await page.textContent('#network-none'), /stdio: no HTTP/);
    await page.waitForSelector('#timings tr.timing[data-method="tools/call"]');
    assert.match(await page.textContent('#timings tr.timing[data-method="tools/call"] td:nth-child(4)'), /ms$/);
    assert.ok(await page.$('#timings tr.timing[data-method=initialize]'));
    assert.deepEqual(errors, []);
  } finally {
    await close();
    stdio.stop();
  }

  const server = await serveHttp('quickstart');
  const remote = await dev(['--url', server.url]);
  ({ page, errors, close } = await open(remote.url));
  try {
    await page.click('[data-tab=network]');
    await page.waitForSelector('#network tr.http-entry[data-method=POST][data-status="200"]');
    const session = await page.$$eval('#network tr.http-entry td.session-id', (c) => c.map((x) => x.textContent).filter(Boolean));
    assert.ok(session.length > 0, 'Mcp-Session-Id is shown');
    // Before 2026-07-28 no routing headers name a POST: the body the inspector sent does.
    const handshake = '#network tr.http-entry[data-method=POST][data-rpc-method=initialize]';
    await page.waitForSelector(handshake);
    assert.equal(await page.textContent(`${handshake} td:nth-child(4)`), 'initialize');
    assert.equal(await page.getAttribute(handshake, 'data-mcp-method'), '');
    await page.click('[data-tab=tools]');
    await page.click('.tool-item[data-name=add]');
    await page.fill('[data-field=a]', '1');
    await page.fill('[data-field=b]', '2');
    await page.click('#tool-run');
    await page.waitForFunction(() => document.querySelector('#tool-result .result-text')?.textContent === '3');
    await page.click('[data-tab=network]');
    const early = '#network tr.http-entry[data-rpc-method="tools/call"]';
    await page.waitForSelector(early);
    assert.equal(await page.textContent(`${early} td:nth-child(4)`), 'tools/call · add');
    assert.match(await page.getAttribute(`${early} td:nth-child(4)`, 'title'), /JSON-RPC body/);
    // 2026-07-28: the routing headers of each POST.
    await page.selectOption('#revision', '2026-07-28');
    await page.waitForSelector('#status[data-state=connected][data-mode=per-request]');
    await page.click('[data-tab=tools]');
    await page.click('.tool-item[data-name=add]');
    await page.fill('[data-field=a]', '2');
    await page.fill('[data-field=b]', '3');
    await page.click('#tool-run');
    await page.waitForFunction(() => document.querySelector('#tool-result .result-text')?.textContent === '5');
    await page.click('[data-tab=network]');
    const row = '#network tr.http-entry[data-mcp-method="tools/call"]';
    await page.waitForSelector(row);
    assert.match(await page.textContent(`${row} td:nth-child(4)`), /tools\/call · add/);
    assert.equal(await page.textContent(`${row} td:nth-child(6)`), '2026-07-28');
    await page.click(row);
    assert.ok(await page.$('table.headers tr.routing'), 'routing headers are highlighted');
    await shot(page, 'network');
    assert.deepEqual(errors, []);
  } finally {
    await close();
    remote.stop();
    server.stop();
  }
});

test('the same call in both eras, side by side, each on a fresh connection', { timeout: TIMEOUT }, async () => {
  const server = await dev(['--', join(EXAMPLES, 'quickstart')]);
  const { page, errors, close } = await open(server.url);
  try {
    await page.click('.tool-item[data-name=add]');
    await page.fill('[data-field=a]', '20');
    await page.fill('[data-field=b]', '22');
    await page.click('#tool-compare');
    await page.waitForSelector('#compare[data-same]');
    const sides = await page.$$eval('#compare .era', (e) => e.map((x) => x.dataset.revision));
    assert.deepEqual(sides, ['2025-11-25', '2026-07-28']);
    for (const r of sides) {
      const text = await page.textContent(`#compare .era[data-revision="${r}"] .era-result`);
      assert.deepEqual(JSON.parse(text).structuredContent, { result: 42 }, r);
    }
    // The wire of each: a handshake for one, server/discover for the other.
    const wire = await page.$$eval('#compare .era', (e) => e.map((x) => x.textContent));
    assert.match(wire[0], /→ initialize/);
    assert.match(wire[1], /→ server\/discover/);
    assert.doesNotMatch(wire[1], /→ initialize/);
    assert.ok(await page.$('#compare-verdict'));
    await shot(page, 'eras', 1000);
    assert.deepEqual(errors, []);
  } finally {
    await close();
    server.stop();
  }
});

test('a call run as a task is followed in the Tasks view until it ends, answered there when it waits for input, and can be cancelled', { timeout: TIMEOUT }, async () => {
  const server = await dev(['--revision', '2026-07-28', '--', join(EXAMPLES, 'everything')]);
  const { page, errors, close } = await open(server.url);
  try {
    await page.click('.tool-item[data-name=slow_compute]');
    await page.fill('[data-field=seconds]', '1');
    await page.check('#tool-as-task');
    await page.click('#tool-run');
    await page.waitForSelector('#tool-result[data-task]');
    const id = await page.getAttribute('#tool-result', 'data-task');
    await page.click('[data-tab=tasks]');
    await page.waitForSelector(`.task[data-task="${id}"][data-status=completed]`);
    assert.match(await page.textContent(`.task[data-task="${id}"]`), /compute: done after 1 s/);

    // A long one, cancelled from the view.
    await page.click('[data-tab=tools]');
    await page.fill('[data-field=seconds]', '60');
    await page.click('#tool-run');
    await page.waitForFunction((first) => { const r = document.querySelector('#tool-result[data-task]'); return r && r.dataset.task !== first; }, id);
    const long = await page.getAttribute('#tool-result', 'data-task');
    await page.click('[data-tab=tasks]');
    await page.waitForSelector(`.task[data-task="${long}"][data-status=working]`);
    assert.match(await page.textContent(`.task[data-task="${long}"] .task-message`), /computing for 60 s/);
    await shot(page, 'tasks');
    await page.click(`.task[data-task="${long}"] .task-cancel`);
    await page.waitForSelector(`.task[data-task="${long}"][data-status=cancelled]`);
    // A task that waits for input: its question is answered from the Tasks view (tasks/update).
    await page.click('[data-tab=tools]');
    await page.click('.tool-item[data-name=confirm_delete]');
    await page.fill('[data-field=filename]', 'notes.txt');
    await page.check('#tool-as-task');
    await page.click('#tool-run');
    await page.waitForFunction((prev) => { const r = document.querySelector('#tool-result[data-task]'); return r && r.dataset.task !== prev; }, long);
    const asking = await page.getAttribute('#tool-result', 'data-task');
    await page.click('[data-tab=tasks]');
    const waiting = `.task[data-task="${asking}"][data-status=input_required]`;
    await page.waitForSelector(`${waiting} .task-input .server-request[data-method="elicitation/create"]`);
    assert.match(await page.textContent(`${waiting} .req-message`), /Delete notes\.txt\?/);
    await page.check(`${waiting} .task-input [data-field=confirm]`);
    // What is typed survives the polls that redraw the view.
    await page.waitForTimeout(1200);
    assert.ok(await page.isChecked(`${waiting} .task-input [data-field=confirm]`));
    await shot(page, 'tasks-input');
    await page.click(`${waiting} .task-input .accept`);
    await page.waitForSelector(`.task[data-task="${asking}"][data-status=completed]`);
    assert.match(await page.textContent(`.task[data-task="${asking}"]`), /Deleted notes\.txt\./);
    await page.click('[data-tab=tools]');
    await page.click('.tool-item[data-name=slow_compute]');
    // Without "Run as task" the same tool answers directly.
    await page.click('[data-tab=tools]');
    await page.uncheck('#tool-as-task');
    await page.fill('[data-field=seconds]', '0');
    await page.click('#tool-run');
    await page.waitForFunction(() => /compute: done after 0 s/.test(document.querySelector('#tool-result')?.textContent || ''));
    assert.equal(await page.getAttribute('#tool-result', 'data-task'), null);
    assert.deepEqual(errors, []);
  } finally {
    await close();
    server.stop();
  }
});

test('each tool, resource and prompt links to its source, which opens in MCP_CLI_EDITOR', { timeout: TIMEOUT }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'mcp-editor-'));
  const log = join(dir, 'opened');
  // The "editor": records what it was asked to open.
  const editor = join(dir, 'editor.sh');
  writeFileSync(editor, `#!/bin/sh\necho "$@" > '${log}'\n`, { mode: 0o755 });
  process.env.MCP_CLI_EDITOR = `${editor} {file} {line}`;
  const server = await dev(['--', join(EXAMPLES, 'notes')]);
  delete process.env.MCP_CLI_EDITOR;
  const { page, errors, close } = await open(server.url);
  try {
    await page.waitForSelector('.tool-item');
    await page.click('.tool-item');
    await page.waitForSelector('#view .source-link');
    const file = await page.getAttribute('#view .source-link', 'data-file');
    const line = Number(await page.getAttribute('#view .source-link', 'data-line'));
    assert.equal(file, 'examples/notes.rs');
    assert.ok(line > 0);
    await page.click('#view .source-link');
    for (let i = 0; i < 100 && !existsSync(log); i++) await new Promise((r) => setTimeout(r, 100));
    assert.equal(readFileSync(log, 'utf8').trim(), `${join(ROOT, 'examples/notes.rs')} ${line}`);
    const src = readFileSync(join(ROOT, 'examples/notes.rs'), 'utf8').split('\n');
    assert.match(src.slice(Math.max(0, line - 3), line + 1).join('\n'), /#\[tool/, 'the line is at the #[tool] item');
    await page.click('[data-tab=prompts]');
    await page.waitForSelector('#view .source-link[data-file="examples/notes.rs"]');
    await page.click('[data-tab=resources]');
    await page.click('.resource-item, .template-item');
    await page.waitForSelector('#view .source-link[data-file="examples/notes.rs"]');
    assert.deepEqual(errors, []);
  } finally {
    await close();
    server.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});

/** Serves the official schemas (`<revision>/schema.json`) from `dir` on a free loopback port, counting the requests. */
function serveSchemas(dir) {
  const served = [];
  const http = createServer((req, res) => {
    const m = req.url.match(/^\/schema\/(\d{4}-\d{2}-\d{2})\/schema\.json$/);
    const file = m && join(dir, m[1], 'schema.json');
    if (!file || !existsSync(file)) { res.writeHead(404).end('not found'); return; }
    served.push(m[1]);
    res.writeHead(200, { 'content-type': 'application/json' }).end(readFileSync(file));
  });
  return new Promise((resolve) => http.listen(0, '127.0.0.1', () => resolve({
    base: `http://127.0.0.1:${http.address().port}/schema`, served, stop: () => new Promise((r) => http.close(r)),
  })));
}

/** Runs `mcp-cli dev` with `env` added to (or, for `undefined` values, removed from) its environment. */
async function devWith(env, args) {
  const saved = {};
  for (const [k, v] of Object.entries(env)) {
    saved[k] = process.env[k];
    if (v === undefined) delete process.env[k]; else process.env[k] = v;
  }
  try {
    return await dev(args);
  } finally {
    for (const [k, v] of Object.entries(saved)) if (v === undefined) delete process.env[k]; else process.env[k] = v;
  }
}

test('every message is checked against the official schema of its revision, with a badge on those that fail', { timeout: TIMEOUT }, async () => {
  // Out of the box: no MCP_SCHEMAS_DIR, so the schema is fetched on first use (here from a
  // local copy standing in for the specification repository) into the user's cache.
  const schemas = process.env.MCP_SCHEMAS_DIR || join(ROOT, '..', 'shared', 'schemas');
  const origin = await serveSchemas(schemas);
  const cache = mkdtempSync(join(tmpdir(), 'mcp-cli-cache-'));
  const env = { MCP_SCHEMAS_DIR: undefined, MCP_SCHEMAS_URL: origin.base, XDG_CACHE_HOME: cache };
  const server = await devWith(env, ['--', join(EXAMPLES, 'quickstart')]);
  const { page, errors, close } = await open(server.url);
  try {
    const call = async (a, b) => {
      await page.click('[data-tab=tools]');
      await page.click('.tool-item[data-name=add]');
      await page.fill('[data-field=a]', String(a));
      await page.fill('[data-field=b]', String(b));
      await page.click('#tool-run');
      await page.waitForFunction((w) => document.querySelector('#tool-result .result-text')?.textContent === w, String(a + b));
      await page.click('[data-tab=history]');
    };
    await call(1, 2);
    await page.waitForSelector('#history tr.entry[data-method=initialize][data-kind=request][data-schema=valid]');
    await page.waitForSelector('#history tr.entry[data-method="tools/call"][data-kind=response][data-schema=valid]');
    assert.equal(await page.$('#history tr.entry[data-schema=invalid]'), null, 'what the runtime sends is valid');
    // At 2026-07-28 too, by that revision's schema.
    await page.selectOption('#revision', '2026-07-28');
    await page.waitForSelector('#status[data-state=connected][data-mode=per-request]');
    await call(2, 3);
    await page.waitForSelector('#history tr.entry[data-method="server/discover"][data-kind=response][data-schema=valid]');
    assert.equal(await page.$('#history tr.entry[data-schema=invalid]'), null);
    // A message that breaks the schema gets the badge and its errors.
    await page.evaluate(() => {
      const conn = S.history.reduce((c, e) => Math.max(c, e.conn || 0), 0);
      // A request as the client sent it (valid), answered by a result that is not.
      const sent = S.history.filter((e) => e.conn === conn && e.dir === 'out' && e.msg.method === 'tools/list').pop();
      onMessage({ seq: 1e9, t: 1, conn, dir: 'out', msg: { ...sent.msg, id: 'bad-1' } });
      onMessage({ seq: 1e9 + 1, t: 2, conn, dir: 'in', msg: { jsonrpc: '2.0', id: 'bad-1', result: { tools: [{ inputSchema: {} }] } } });
    });
    await page.waitForSelector('#history tr.entry[data-method="tools/list"][data-schema=invalid]');
    assert.match(await page.textContent('#schema-failures'), /1 failing their schema/);
    await page.click('#history tr.entry[data-method="tools/list"][data-schema=invalid]');
    assert.match(await page.textContent('.schema-errors'), /Not a valid ListToolsResult[\s\S]*missing required property "name"/);
    await shot(page, 'schema');
    // Each revision's schema was fetched once and kept, verified, in the cache.
    assert.deepEqual(origin.served.sort(), ['2025-11-25', '2026-07-28']);
    const kept = JSON.parse(readFileSync(join(cache, 'mcp-cli', 'schemas', '2025-11-25', 'schema.json'), 'utf8'));
    assert.ok(kept.$defs.CallToolRequest, 'the cached file is the schema');
    assert.deepEqual(errors, []);
  } finally {
    await close();
    server.stop();
  }

  // Offline: the cached schema is used; a revision neither cached nor fetchable says how to get one.
  await origin.stop();
  const offline = await devWith(env, ['--', join(EXAMPLES, 'quickstart')]);
  const again = await open(offline.url);
  try {
    await again.page.click('[data-tab=history]');
    await again.page.waitForSelector('#history tr.entry[data-method=initialize][data-kind=request][data-schema=valid]');
    await again.page.selectOption('#revision', '2025-03-26');
    await again.page.waitForSelector('#status[data-state=connected][data-attempt="2"]');
    await again.page.click('[data-tab=history]');
    await again.page.waitForSelector('#schema-off-why');
    const why = await again.page.textContent('#schema-off-why');
    assert.match(why, /no schema for 2025-03-26/);
    assert.match(why, /MCP_SCHEMAS_DIR/);
    assert.deepEqual(again.errors, []);
  } finally {
    await again.close();
    offline.stop();
    rmSync(cache, { recursive: true, force: true });
  }
});
