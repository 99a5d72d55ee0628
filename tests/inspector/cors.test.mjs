// CORS for the 2026-07-28 revision, from a real browser: a page on one origin calls the
// `everything` example on another (a different port) with the revision's routing headers
// (`Mcp-Method`, `Mcp-Name`, `Mcp-Param-Value`), which makes Chromium send a preflight first.
// Without those headers in `Access-Control-Allow-Headers` the browser refuses the call and
// `fetch` fails with a TypeError.
//
// Run by scripts/test with the other browser tests:  node --test tests/inspector/*.test.mjs
// Needs target/debug/examples/everything (cargo build --examples); CHROMIUM_BIN overrides
// the browser.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createServer } from 'node:http';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

import { chromium } from 'playwright-core';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const EVERYTHING = join(ROOT, 'target', 'debug', 'examples', 'everything');

let browser;
let profile;
let server;
let page;

/** Starts the example over HTTP on a free port; resolves with its endpoint URL. */
function serve() {
  const child = spawn(EVERYTHING, ['--transport', 'http', '--port', '0'], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let log = '';
  return new Promise((resolve, reject) => {
    const lines = createInterface({ input: child.stderr });
    lines.on('line', (line) => {
      log += line + '\n';
      const m = line.match(/(http:\/\/127\.0\.0\.1:\d+\/mcp)/);
      if (m) resolve({ url: m[1], stop: () => child.kill(), log: () => log });
    });
    child.on('exit', (code) => reject(new Error(`the server exited (${code}): ${log}`)));
  });
}

/** A page of its own origin (another port on localhost), for the browser to call from. */
function pageServer() {
  const http = createServer((_, res) => {
    res.writeHead(200, { 'content-type': 'text/html' });
    res.end('<!doctype html><title>cross-origin client</title><p>client</p>');
  });
  return new Promise((resolve) => {
    http.listen(0, '127.0.0.1', () => resolve(http));
  });
}

before(async () => {
  profile = mkdtempSync(join(tmpdir(), 'mcp-cors-chromium-'));
  browser = await chromium.launchPersistentContext(profile, {
    executablePath: process.env.CHROMIUM_BIN || '/usr/bin/chromium',
    headless: true,
    args: [
      '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync',
    ],
  });
  server = await serve();
  page = await pageServer();
});

after(async () => {
  await browser?.close();
  server?.stop();
  page?.close();
  if (profile) rmSync(profile, { recursive: true, force: true });
});

test('a page on another origin calls a tool with the 2026-07-28 headers', async () => {
  const tab = await browser.newPage();
  const origin = `http://localhost:${page.address().port}`;
  await tab.goto(`${origin}/`);
  const outcome = await tab.evaluate(async (url) => {
    const meta = {
      'io.modelcontextprotocol/protocolVersion': '2026-07-28',
      'io.modelcontextprotocol/clientCapabilities': {},
      'io.modelcontextprotocol/clientInfo': { name: 'browser', version: '1' },
    };
    try {
      const response = await fetch(url, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          accept: 'application/json, text/event-stream',
          'mcp-protocol-version': '2026-07-28',
          'mcp-method': 'tools/call',
          'mcp-name': 'test_custom_header',
          'mcp-param-value': 'from-the-browser',
        },
        body: JSON.stringify({
          jsonrpc: '2.0', id: 1, method: 'tools/call',
          params: { name: 'test_custom_header', arguments: { value: 'from-the-browser' }, _meta: meta },
        }),
      });
      return { status: response.status, body: await response.text() };
    } catch (e) {
      return { error: String(e) };
    }
  }, server.url);
  await tab.close();
  assert.equal(outcome.error, undefined, `the browser refused the call: ${outcome.error}\n${server.log()}`);
  assert.equal(outcome.status, 200, outcome.body);
  assert.match(outcome.body, /from-the-browser/);
});

test('a resumption header and the session headers are allowed too', async () => {
  // A preflight asked for what a handshake-revision browser client sends on GET resumption.
  const response = await fetch(server.url, {
    method: 'OPTIONS',
    headers: {
      origin: 'http://localhost:1234',
      'access-control-request-method': 'GET',
      'access-control-request-headers': 'last-event-id, mcp-protocol-version, mcp-session-id, mcp-param-a-b',
    },
  });
  assert.equal(response.status, 204);
  const allowed = response.headers.get('access-control-allow-headers').split(',').map((h) => h.trim());
  for (const h of ['last-event-id', 'mcp-protocol-version', 'mcp-session-id', 'mcp-method', 'mcp-name', 'mcp-param-a-b']) {
    assert.ok(allowed.includes(h), `${h} in ${allowed}`);
  }
});
