// `mcp-cli dev --url` against a protected server, in headless Chromium: the login panel shows
// the OAuth flow's steps (challenge, discovery, registration, the authorization page to open),
// the browser authorizes on the authorization server's page and comes back to mcp-cli's
// loopback port, and the page connects and shows the token step; no token reaches the page,
// and the kept tokens are sealed (the OS keychain holds their key).
//
// Run by scripts/test:  node --test tests/inspector/*.test.mjs
// Needs target/debug/mcp-cli.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { createServer } from 'node:http';
import { existsSync, mkdtempSync, rmSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

import { chromium } from 'playwright-core';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const CLI = process.env.MCP_CLI_BIN || join(ROOT, 'target', 'debug', 'mcp-cli');
const TIMEOUT = 90_000;

let browser;
let profile;

before(async () => {
  profile = mkdtempSync(join(tmpdir(), 'mcp-inspector-login-chromium-'));
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

const b64url = (buf) => buf.toString('base64url');

/** An MCP endpoint at /mcp that wants a bearer token, and its authorization server on the
 * same origin: metadata, dynamic registration, an authorization page with an Approve button,
 * and a token endpoint that checks PKCE. */
function guarded() {
  const clients = new Map();
  const pending = new Map();
  const codes = new Map();
  const issued = new Set();
  let origin = '';
  const json = (res, status, body, headers = {}) => {
    res.writeHead(status, { 'content-type': 'application/json', ...headers });
    res.end(JSON.stringify(body));
  };
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      const url = new URL(req.url, origin);
      const path = url.pathname;
      if (req.method === 'GET' && path.startsWith('/.well-known/oauth-protected-resource')) {
        return json(res, 200, { resource: `${origin}/mcp`, authorization_servers: [origin], scopes_supported: ['mcp'] });
      }
      if (req.method === 'GET' && path === '/.well-known/oauth-authorization-server') {
        return json(res, 200, {
          issuer: origin,
          authorization_endpoint: `${origin}/authorize`,
          token_endpoint: `${origin}/token`,
          registration_endpoint: `${origin}/register`,
          response_types_supported: ['code'],
          grant_types_supported: ['authorization_code', 'refresh_token'],
          code_challenge_methods_supported: ['S256'],
          token_endpoint_auth_methods_supported: ['none'],
        });
      }
      if (req.method === 'POST' && path === '/register') {
        const meta = JSON.parse(body || '{}');
        const id = 'client-' + b64url(randomBytes(6));
        clients.set(id, meta);
        return json(res, 201, { ...meta, client_id: id, token_endpoint_auth_method: 'none' });
      }
      if (req.method === 'GET' && path === '/authorize') {
        const p = Object.fromEntries(url.searchParams);
        const client = clients.get(p.client_id);
        if (!client || !(client.redirect_uris || []).includes(p.redirect_uri) || p.code_challenge_method !== 'S256') {
          return json(res, 400, { error: 'invalid_request' });
        }
        const txn = b64url(randomBytes(9));
        pending.set(txn, p);
        res.writeHead(200, { 'content-type': 'text/html' });
        return res.end(`<!doctype html><title>Authorize</title><p>Let ${p.client_id} use ${p.resource}?</p>
<form method="post" action="/approve"><input type="hidden" name="txn" value="${txn}"><button id="approve">Approve</button></form>`);
      }
      if (req.method === 'POST' && path === '/approve') {
        const p = pending.get(new URLSearchParams(body).get('txn'));
        if (!p) return json(res, 400, { error: 'unknown transaction' });
        const code = b64url(randomBytes(12));
        codes.set(code, p);
        const back = new URL(p.redirect_uri);
        back.searchParams.set('code', code);
        back.searchParams.set('state', p.state);
        back.searchParams.set('iss', origin);
        res.writeHead(302, { location: back.toString() });
        return res.end();
      }
      if (req.method === 'POST' && path === '/token') {
        const f = new URLSearchParams(body);
        const p = codes.get(f.get('code'));
        const verifier = f.get('code_verifier') || '';
        if (f.get('grant_type') !== 'authorization_code' || !p
          || b64url(createHash('sha256').update(verifier).digest()) !== p.code_challenge
          || f.get('redirect_uri') !== p.redirect_uri || f.get('client_id') !== p.client_id) {
          return json(res, 400, { error: 'invalid_grant' });
        }
        codes.delete(f.get('code'));
        const access = 'at-' + b64url(randomBytes(18));
        const refresh = 'rt-' + b64url(randomBytes(18));
        issued.add(access); issued.add(refresh);
        return json(res, 200, { access_token: access, token_type: 'Bearer', expires_in: 3600, refresh_token: refresh, scope: 'mcp' },
          { 'cache-control': 'no-store' });
      }
      if (path === '/mcp') {
        const auth = req.headers.authorization || '';
        if (!issued.has(auth.replace(/^Bearer /, ''))) {
          return json(res, 401, { error: 'unauthorized' }, {
            'www-authenticate': `Bearer resource_metadata="${origin}/.well-known/oauth-protected-resource/mcp", scope="mcp"`,
          });
        }
        if (req.method === 'GET') { res.writeHead(405); return res.end(); }
        if (req.method === 'DELETE') { res.writeHead(200); return res.end(); }
        const m = JSON.parse(body);
        if (m.id === undefined) { res.writeHead(202); return res.end(); }
        const reply = (result) => json(res, 200, { jsonrpc: '2.0', id: m.id, result }, { 'mcp-session-id': 'guarded-1' });
        switch (m.method) {
          case 'initialize':
            return reply({ protocolVersion: m.params.protocolVersion, capabilities: { tools: {} }, serverInfo: { name: 'guarded', version: '1.0.0' } });
          case 'tools/list':
            return reply({ tools: [{ name: 'guarded_tool', description: 'Only for those logged in', inputSchema: { type: 'object', properties: {} } }] });
          case 'ping':
            return reply({});
          default:
            return json(res, 200, { jsonrpc: '2.0', id: m.id, error: { code: -32601, message: `no ${m.method}` } });
        }
      }
      json(res, 404, {});
    });
  });
  return new Promise((resolve) => {
    server.listen(0, '127.0.0.1', () => {
      origin = `http://127.0.0.1:${server.address().port}`;
      resolve({ url: `${origin}/mcp`, origin, issued, stop: () => new Promise((r) => { server.closeAllConnections(); server.close(() => r()); }) });
    });
  });
}

function dev(args, env) {
  const child = spawn(CLI, ['dev', '--port', '0', ...args], { cwd: ROOT, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (c) => (stderr += c));
  return new Promise((resolve, reject) => {
    const lines = createInterface({ input: child.stdout });
    lines.on('line', (line) => {
      const m = line.match(/inspector at (http:\/\/127\.0\.0\.1:\d+\/\?token=[0-9a-f]+)/);
      if (m) resolve({ url: m[1], stderr: () => stderr, stop: () => child.kill() });
    });
    child.on('exit', (code) => reject(new Error(`mcp-cli dev exited (${code}): ${stderr}`)));
  });
}

test('the login panel shows the OAuth steps and the page connects once the browser authorized', { timeout: TIMEOUT }, async () => {
  const server = await guarded();
  const config = mkdtempSync(join(tmpdir(), 'mcp-inspector-login-config-'));
  const env = { MCP_CLI_CONFIG_DIR: config };
  const inspector = await dev(['--url', server.url, '--no-browser'], env);
  const page = await browser.newPage();
  page.setDefaultTimeout(30_000);
  const errors = [];
  page.on('pageerror', (e) => errors.push(e.message));
  try {
    await page.goto(inspector.url);
    await page.waitForSelector('#login-panel[data-state=waiting] #login-open');
    const kinds = await page.$$eval('#login-steps li', (lis) => lis.map((li) => li.dataset.kind));
    for (const kind of ['challenged', 'discovery', 'registered', 'authorize']) {
      assert.ok(kinds.includes(kind), `the ${kind} step is shown: ${kinds}`);
    }
    const steps = await page.textContent('#login-steps');
    assert.match(steps, /the server asks for authorization \(401, scope mcp\)/);
    assert.match(steps, /\(dynamic\)/);
    const href = await page.getAttribute('#login-open', 'href');
    assert.ok(href.startsWith(`${server.origin}/authorize?`), href);
    assert.equal(new URL(href).searchParams.get('code_challenge_method'), 'S256');
    assert.equal(await page.textContent('#login-url'), href);
    assert.notEqual(await page.getAttribute('#status', 'data-state'), 'connected');

    // The user opens the page, approves, and the browser goes back to mcp-cli's loopback port.
    const [popup] = await Promise.all([browser.waitForEvent('page'), page.click('#login-open')]);
    await popup.waitForSelector('#approve');
    await Promise.all([popup.waitForURL(/^http:\/\/127\.0\.0\.1:\d+\/callback\?/), popup.click('#approve')]);
    await popup.close();

    await page.waitForSelector('#status[data-state=connected]');
    await page.waitForSelector('#login-panel[data-state=logged-in]');
    assert.match(await page.textContent('#login-steps'), /logged in \(authorization_code, scope mcp\)/);
    await page.waitForSelector('.tool-item[data-name=guarded_tool]');
    const all = await page.content();
    assert.ok(server.issued.size >= 2);
    for (const token of server.issued) assert.ok(!all.includes(token), 'no token reaches the page');

    // A page opened later sees the same steps.
    await page.reload();
    await page.waitForSelector('#login-panel[data-state=logged-in]');
    assert.ok((await page.$$('#login-steps li[data-kind=token]')).length === 1);
    assert.deepEqual(errors, []);
  } catch (e) {
    e.message += `\nmcp-cli dev's stderr:\n${inspector.stderr()}`;
    throw e;
  } finally {
    await page.close();
    inspector.stop();
    await server.stop();
  }
  try {
    // The login was kept sealed: the file names the server, never a token.
    assert.ok(existsSync(join(config, 'tokens')), `no tokens kept; mcp-cli dev's stderr:\n${inspector.stderr()}`);
    const files = readdirSync(join(config, 'tokens')).filter((f) => f.endsWith('.json'));
    assert.equal(files.length, 1);
    const kept = readFileSync(join(config, 'tokens', files[0]), 'utf8');
    assert.match(kept, /"sealed"/);
    for (const token of server.issued) assert.ok(!kept.includes(token), 'the file holds no token in clear');
    const status = spawnSync(CLI, ['auth', 'status', server.url], { env: { ...process.env, ...env }, encoding: 'utf8' });
    assert.equal(status.status, 0, status.stderr);
    assert.match(status.stdout, /refreshable/);
  } finally {
    // Logging out forgets the file and the keychain's key.
    const out = spawnSync(CLI, ['auth', 'logout', server.url], { env: { ...process.env, ...env }, encoding: 'utf8' });
    rmSync(config, { recursive: true, force: true });
    assert.equal(out.status, 0, out.stderr);
  }
});
