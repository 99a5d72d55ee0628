// The quickstart over streamable HTTP with API keys (`--api-keys FILE`), driven by the official
// MCP TypeScript SDK client (StreamableHTTPClientTransport) sending the key as a bearer token
// and as `X-API-Key`; without a key the SDK sees the 401.
//
// Run by scripts/test with Node >= 22:  node --test tests/interop/ts/*.test.mjs
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as delay } from 'node:timers/promises';

import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const BIN = process.env.MCP_QUICKSTART_BIN || join(ROOT, 'target', 'debug', 'examples', 'quickstart');

/** A new key and its line for the key file (the documented format: the digest, not the key). */
function newKey(name) {
  const id = randomBytes(8).toString('hex');
  const key = `mcpk_${id}_${randomBytes(32).toString('base64url')}`;
  const sha256 = createHash('sha256').update(key).digest('hex');
  return { key, line: JSON.stringify({ id, name, sha256, scopes: [] }) };
}

async function startServer(args) {
  const proc = spawn(BIN, ['--transport', 'http', '--port', '0', ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  proc.stderr.on('data', (chunk) => (stderr += chunk));
  const deadline = Date.now() + 20_000;
  let url;
  while (!(url = stderr.match(/MCP server on (http:\/\/\S+?)[ ,]/)?.[1])) {
    if (Date.now() > deadline) assert.fail(`the server did not start: ${stderr}`);
    await delay(20);
  }
  return { url, stderr: () => stderr, proc };
}

async function callAdd(url, headers) {
  const client = new Client({ name: 'interop-ts', version: '1.0.0' });
  const transport = new StreamableHTTPClientTransport(new URL(url), { requestInit: { headers } });
  await client.connect(transport);
  try {
    const { tools } = await client.listTools();
    assert.ok(tools.some((t) => t.name === 'add'));
    const result = await client.callTool({ name: 'add', arguments: { a: 2, b: 3 } });
    return result.content[0].text;
  } finally {
    await client.close();
  }
}

test('API keys as a bearer token and in X-API-Key', { timeout: 60_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'mcp-ts-keys-'));
  const { key, line } = newKey('ts');
  const file = join(dir, 'keys.jsonl');
  writeFileSync(file, `${line}\n`);
  const server = await startServer(['--api-keys', file]);
  try {
    assert.equal(await callAdd(server.url, { Authorization: `Bearer ${key}` }), '5');
    assert.equal(await callAdd(server.url, { 'X-API-Key': key }), '5');
    await assert.rejects(callAdd(server.url, {}), (e) => /Unauthorized/.test(String(e?.message ?? e)) && /401|Unauthorized/.test(String(e?.code ?? e?.message)));
  } finally {
    server.proc.kill('SIGTERM');
    rmSync(dir, { recursive: true, force: true });
  }
});
