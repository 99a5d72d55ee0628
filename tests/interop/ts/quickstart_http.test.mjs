// The quickstart example served over streamable HTTP (`--transport http`), driven by the official
// MCP TypeScript SDK client (StreamableHTTPClientTransport), in each way the server can answer:
//   sse        sessions; JSON answers, SSE when a request says something before its result
//   json       sessions; --json-response: always JSON
//   stateless  --stateless: no sessions, every POST stands alone
//
// Run by scripts/test with Node >= 22:  node --test tests/interop/ts/*.test.mjs
// The client's fetch is wrapped so that every message it POSTs and every message the server sends
// (JSON bodies and SSE data) is written to a log in the tap format; the log is then validated
// against the official JSON Schema (tests/interop/validate.py, run with $MCP_INTEROP_PYTHON).
// Logs: tests/interop/out/ts/http-<test>.log (and the server's stderr beside it).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { appendFileSync, createWriteStream, existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as delay } from 'node:timers/promises';

import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { McpError } from '@modelcontextprotocol/sdk/types.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const INTEROP = join(ROOT, 'tests', 'interop');
const OUT = join(INTEROP, 'out', 'ts');
const VALIDATE = join(INTEROP, 'validate.py');
const VENV_PYTHON = join(ROOT, '.cache', 'venv', 'bin', 'python');
const PYTHON = process.env.MCP_INTEROP_PYTHON || (existsSync(VENV_PYTHON) ? VENV_PYTHON : 'python3');
const BIN = process.env.MCP_QUICKSTART_BIN || join(ROOT, 'target', 'debug', 'examples', 'quickstart');
const EXPECTED_TOOLS = ['add', 'convert_temperature', 'divide', 'logo', 'sleep', 'text_stats'];
const TEST_TIMEOUT = 60_000;
const MODES = { sse: [], json: ['--json-response'], stateless: ['--stateless'] };

mkdirSync(OUT, { recursive: true });

function stem(name) {
  return join(OUT, `http-${name.replace(/[^A-Za-z0-9_.-]+/g, '_')}`);
}

/** Starts the quickstart on a free port; resolves once it prints its URL. */
async function startServer(name, args) {
  const stderrPath = `${stem(name)}.server.stderr`;
  rmSync(stderrPath, { force: true });
  const proc = spawn(BIN, ['--transport', 'http', '--port', '0', ...args], {
    stdio: ['ignore', 'ignore', 'pipe'],
    env: { ...process.env, RUST_BACKTRACE: '1' },
  });
  const stderrFile = createWriteStream(stderrPath);
  let stderr = '';
  proc.stderr.on('data', (chunk) => {
    stderr += chunk;
    stderrFile.write(chunk);
  });
  const exited = new Promise((resolve) => proc.on('exit', (code, signal) => resolve({ code, signal })));
  const url = await waitFor(() => stderr.match(/MCP server on (http:\/\/\S+?)[ ,]/)?.[1], 'the server to print its URL');
  return {
    url,
    stderr: () => stderr,
    /** SIGTERM; a clean shutdown exits with 0. */
    async stop() {
      proc.kill('SIGTERM');
      const { code, signal } = await exited;
      stderrFile.end();
      assert.equal(code, 0, `the server exited with ${code ?? signal} after SIGTERM:\n${stderr}`);
    },
    kill() {
      if (proc.exitCode === null) proc.kill('SIGKILL');
    },
  };
}

async function waitFor(predicate, what, timeoutMs = 10_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = predicate();
    if (value !== undefined && value !== null && value !== false) return value;
    if (Date.now() > deadline) assert.fail(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await delay(20);
  }
}

/** A fetch that records every JSON-RPC message both ways into `log` (tap format). */
function tappingFetch(log, exchanges) {
  const write = (line) => appendFileSync(log, `${line}\n`);
  const message = (direction, text) => {
    let line;
    try {
      line = JSON.stringify(JSON.parse(text));
    } catch {
      line = text.replace(/\n/g, '\\n');
    }
    write(`${direction}\t${line}`);
  };
  return async (url, init = {}) => {
    const method = init.method ?? 'GET';
    const headers = new Headers(init.headers);
    let rpc = {};
    if (typeof init.body === 'string') {
      message('C2S', init.body);
      try {
        rpc = JSON.parse(init.body);
      } catch {
        rpc = {};
      }
    }
    const response = await fetch(url, init);
    const type = response.headers.get('content-type') ?? '';
    exchanges.push({
      method,
      rpc: rpc.method,
      tool: rpc.params?.name,
      status: response.status,
      type,
      session: response.headers.get('mcp-session-id'),
      requestSession: headers.get('mcp-session-id'),
      lastEventId: headers.get('last-event-id'),
    });
    write(`# ${method}${headers.get('last-event-id') ? ` (Last-Event-ID ${headers.get('last-event-id')})` : ''} -> ${response.status} ${type || '-'}`);
    if (!response.body || response.status === 202) return response;
    if (type.startsWith('text/event-stream')) {
      const [mine, theirs] = response.body.tee();
      (async () => {
        const reader = mine.pipeThrough(new TextDecoderStream()).getReader();
        let buffer = '';
        try {
          for (;;) {
            const { value, done } = await reader.read();
            if (done) break;
            buffer += value.replace(/\r\n/g, '\n');
            let end;
            while ((end = buffer.indexOf('\n\n')) >= 0) {
              const event = buffer.slice(0, end);
              buffer = buffer.slice(end + 2);
              const data = event
                .split('\n')
                .filter((l) => l.startsWith('data:'))
                .map((l) => l.slice(5).replace(/^ /, ''))
                .join('\n');
              if (data) message('S2C', data);
            }
          }
        } catch {
          // the client went away: what came is recorded
        }
      })();
      return new Response(theirs, { status: response.status, statusText: response.statusText, headers: response.headers });
    }
    const text = await response.clone().text();
    if (text.trim()) message('S2C', text);
    return response;
  };
}

function validateLog(log) {
  const run = spawnSync(PYTHON, [VALIDATE, log], { encoding: 'utf8' });
  if (run.error) assert.fail(`cannot run ${PYTHON} ${VALIDATE}: ${run.error.message}`);
  assert.equal(run.status, 0, `server sent invalid MCP messages:\n${run.stdout}${run.stderr}`);
}

/**
 * Runs `body(client, ctx)` against a fresh quickstart over HTTP with `args`; then stops the
 * server (it must exit cleanly) and validates everything it sent.
 */
async function withHttpClient(t, args, body) {
  const server = await startServer(t.name, args);
  const log = `${stem(t.name)}.log`;
  rmSync(log, { force: true });
  const exchanges = [];
  try {
    const transport = new StreamableHTTPClientTransport(new URL(server.url), {
      fetch: tappingFetch(log, exchanges),
      reconnectionOptions: { initialReconnectionDelay: 50, maxReconnectionDelay: 500, reconnectionDelayGrowFactor: 1.5, maxRetries: 5 },
    });
    const client = new Client({ name: 'interop-node-http', version: '0.0.0' });
    await client.connect(transport);
    try {
      await body(client, { transport, exchanges, log, server });
    } finally {
      await client.close();
    }
    await delay(50); // let the tee finish recording
    await server.stop();
  } finally {
    server.kill();
  }
  validateLog(log);
  return { exchanges, log };
}

function textOf(result) {
  return (result.content ?? []).filter((b) => b.type === 'text').map((b) => b.text).join('\n');
}

for (const [mode, args] of Object.entries(MODES)) {
  test(`http ${mode}: initialize, list and call tools`, { timeout: TEST_TIMEOUT }, async (t) => {
    const { exchanges } = await withHttpClient(t, args, async (client, { transport }) => {
      assert.equal(client.getServerVersion().name, 'quickstart');
      assert.deepEqual(await client.ping(), {});
      const listed = await client.listTools();
      assert.deepEqual(listed.tools.map((tool) => tool.name), EXPECTED_TOOLS);
      const add = await client.callTool({ name: 'add', arguments: { a: 2, b: 3 } });
      assert.deepEqual(add.structuredContent, { result: 5 });
      const divided = await client.callTool({ name: 'divide', arguments: { a: 1, b: 0 } });
      assert.equal(divided.isError, true);
      assert.ok(textOf(divided).includes('division by zero'));
      await assert.rejects(client.callTool({ name: 'no_such_tool', arguments: {} }), (err) => {
        assert.ok(err instanceof McpError, `expected McpError, got ${err}`);
        assert.equal(err.code, -32602);
        return true;
      });
      if (mode === 'stateless') {
        assert.equal(transport.sessionId, undefined);
      } else {
        assert.match(transport.sessionId, /^[\x21-\x7e]{32,}$/);
        assert.equal(transport.protocolVersion, '2025-11-25');
      }
    });
    const get = exchanges.find((e) => e.method === 'GET');
    // The SDK opens the GET stream after `initialized`; a stateless server declines with 405.
    assert.equal(get?.status, mode === 'stateless' ? 405 : 200, JSON.stringify(exchanges));
  });

  test(`http ${mode}: progress streams unless answers are JSON only`, { timeout: TEST_TIMEOUT }, async (t) => {
    const seen = [];
    const { exchanges } = await withHttpClient(t, args, async (client) => {
      const result = await client.callTool({ name: 'sleep', arguments: { ms: 200 } }, undefined, {
        onprogress: (p) => seen.push(p.progress),
      });
      assert.equal(textOf(result), 'slept 200 ms');
    });
    const call = exchanges.find((e) => e.tool === 'sleep');
    if (mode === 'json') {
      assert.deepEqual(seen, []);
      assert.equal(call.type, 'application/json');
    } else {
      assert.deepEqual(seen, [50, 100, 150, 200]);
      assert.equal(call.type, 'text/event-stream');
    }
  });
}

test('http sse: a cancelled call leaves the session responsive', { timeout: TEST_TIMEOUT }, async (t) => {
  await withHttpClient(t, [], async (client) => {
    const started = Date.now();
    const abort = new AbortController();
    const sleeping = client.callTool({ name: 'sleep', arguments: { ms: 3000 } }, undefined, { signal: abort.signal });
    await delay(200);
    abort.abort('interop test');
    await assert.rejects(sleeping);
    const add = await client.callTool({ name: 'add', arguments: { a: 1, b: 1 } });
    assert.deepEqual(add.structuredContent, { result: 2 });
    assert.ok(Date.now() - started < 2500, 'the cancelled sleep blocked the session');
  });
});

test('http sse: a terminated session is gone', { timeout: TEST_TIMEOUT }, async (t) => {
  const { exchanges } = await withHttpClient(t, [], async (client, { transport }) => {
    await client.listTools();
    const session = transport.sessionId;
    await transport.terminateSession();
    assert.equal(transport.sessionId, undefined);
    const gone = await fetch(transport._url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream', 'mcp-session-id': session },
      body: JSON.stringify({ jsonrpc: '2.0', id: 99, method: 'tools/list' }),
    });
    assert.equal(gone.status, 404);
    assert.equal((await gone.json()).id, 99);
  });
  assert.deepEqual(
    exchanges.filter((e) => e.method === 'DELETE').map((e) => e.status),
    [204],
  );
});

test('http sse: a stream closed early is resumed with Last-Event-ID', { timeout: TEST_TIMEOUT }, async (t) => {
  const seen = [];
  const { exchanges } = await withHttpClient(t, ['--sse-close-after', '150', '--sse-retry', '50'], async (client) => {
    const result = await client.callTool({ name: 'sleep', arguments: { ms: 800 } }, undefined, {
      onprogress: (p) => seen.push(p.progress),
    });
    assert.equal(textOf(result), 'slept 800 ms');
  });
  assert.deepEqual(seen, [200, 400, 600, 800]);
  const resumed = exchanges.filter((e) => e.method === 'GET' && e.lastEventId);
  assert.ok(resumed.length > 0 && resumed.every((e) => e.status === 200), JSON.stringify(exchanges));
});
