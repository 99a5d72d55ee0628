// mcp-cli (the runtime's streamable HTTP client) against a server of the official MCP TypeScript
// SDK (McpServer + StreamableHTTPServerTransport on node:http), with sessions. That server
// answers every request, `initialize` included, with an SSE stream, and checks the session and
// protocol-version headers: the client must handle all of it.
//
// Run by scripts/test with Node >= 22:  node --test tests/interop/ts/*.test.mjs
// Needs target/debug/mcp-cli (cargo build --workspace), or MCP_CLI_BIN.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { accessSync, constants } from 'node:fs';
import http from 'node:http';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { isInitializeRequest } from '@modelcontextprotocol/sdk/types.js';
import { z } from 'zod';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const CLI = process.env.MCP_CLI_BIN || join(ROOT, 'target', 'debug', 'mcp-cli');
const TEST_TIMEOUT = 60_000;

function sdkServer() {
  const server = new McpServer({ name: 'ts-sdk-server', version: '1.0.0' });
  server.registerTool(
    'add',
    { description: 'Add two numbers.', inputSchema: { a: z.number(), b: z.number() } },
    async ({ a, b }) => ({ content: [{ type: 'text', text: String(a + b) }] }),
  );
  server.registerTool(
    'fail',
    { description: 'Always fails.' },
    async () => ({ isError: true, content: [{ type: 'text', text: 'it failed' }] }),
  );
  return server;
}

/** Serves the SDK server on a free port; returns its URL, what it saw, and a way to stop it. */
async function listen() {
  const transports = new Map();
  const seen = [];
  const httpServer = http.createServer(async (req, res) => {
    let body = '';
    for await (const chunk of req) body += chunk;
    const parsed = body ? JSON.parse(body) : undefined;
    const session = req.headers['mcp-session-id'];
    seen.push({ method: req.method, session, version: req.headers['mcp-protocol-version'], rpc: parsed?.method });
    let transport = session ? transports.get(session) : undefined;
    if (!transport) {
      if (req.method !== 'POST' || !isInitializeRequest(parsed)) {
        res.writeHead(session ? 404 : 400).end();
        return;
      }
      transport = new StreamableHTTPServerTransport({
        sessionIdGenerator: () => randomUUID(),
        onsessioninitialized: (id) => transports.set(id, transport),
      });
      transport.onclose = () => transport.sessionId && transports.delete(transport.sessionId);
      await sdkServer().connect(transport);
    }
    await transport.handleRequest(req, res, parsed);
  });
  await new Promise((resolve) => httpServer.listen(0, '127.0.0.1', resolve));
  const { port } = httpServer.address();
  return {
    url: `http://127.0.0.1:${port}/mcp`,
    seen,
    close: () =>
      new Promise((resolve) => {
        httpServer.closeAllConnections();
        httpServer.close(resolve);
      }),
  };
}

/** Runs mcp-cli without blocking this process, which serves its requests. */
function cli(args) {
  return new Promise((resolve) => {
    const child = spawn(CLI, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c) => (stdout += c));
    child.stderr.on('data', (c) => (stderr += c));
    child.on('exit', (code) => resolve({ code, stdout, stderr }));
  });
}

test('mcp-cli lists and calls the tools of an SDK server over HTTP', { timeout: TEST_TIMEOUT }, async () => {
  try {
    accessSync(CLI, constants.X_OK);
  } catch {
    assert.fail(`mcp-cli not found at ${CLI}; build it with \`cargo build -p mcp-cli\` (or set MCP_CLI_BIN)`);
  }
  const server = await listen();
  try {
    const tools = await cli(['list', 'tools', '--json', '--url', server.url]);
    assert.equal(tools.code, 0, tools.stderr);
    assert.deepEqual(JSON.parse(tools.stdout).map((t) => t.name), ['add', 'fail']);

    const added = await cli(['call', 'add', 'a=2', 'b=40', '--json', '--url', server.url]);
    assert.equal(added.code, 0, added.stderr);
    assert.deepEqual(JSON.parse(added.stdout).content, [{ type: 'text', text: '42' }]);

    const failed = await cli(['call', 'fail', '--json', '--url', server.url]);
    assert.equal(failed.code, 1, failed.stderr);
    assert.equal(JSON.parse(failed.stdout).isError, true);

    // After `initialize`, every request carried the session and the negotiated revision, and
    // each session was ended with DELETE.
    const after = server.seen.filter((r) => r.rpc !== 'initialize');
    assert.ok(after.length > 0);
    for (const r of after) {
      assert.ok(r.session, `no session id on ${JSON.stringify(r)}`);
      assert.equal(r.version, '2025-11-25', JSON.stringify(r));
    }
    assert.equal(server.seen.filter((r) => r.method === 'DELETE').length, 3, JSON.stringify(server.seen));
  } finally {
    await server.close();
  }
});
