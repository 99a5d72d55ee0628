// The quickstart example server, driven over stdio by the official MCP TypeScript SDK client.
//
// Run by scripts/test with Node >= 22:  node --test tests/interop/ts/*.test.mjs
// Every test launches the server through tests/interop/tap.py and, once done, validates every
// line the server sent against the official JSON Schema (tests/interop/validate.py, run with
// $MCP_INTEROP_PYTHON, which needs the jsonschema package: scripts/test points it at .cache/venv).
// Logs: tests/interop/out/ts/<test>.log
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { accessSync, constants, existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as delay } from 'node:timers/promises';

import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { McpError, SUPPORTED_PROTOCOL_VERSIONS } from '@modelcontextprotocol/sdk/types.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const INTEROP = join(ROOT, 'tests', 'interop');
const OUT = join(INTEROP, 'out', 'ts');
const TAP = join(INTEROP, 'tap.py');
const VALIDATE = join(INTEROP, 'validate.py');
const VENV_PYTHON = join(ROOT, '.cache', 'venv', 'bin', 'python');
const PYTHON = process.env.MCP_INTEROP_PYTHON || (existsSync(VENV_PYTHON) ? VENV_PYTHON : 'python3');
const BIN = process.env.MCP_QUICKSTART_BIN || join(ROOT, 'target', 'debug', 'examples', 'quickstart');
const EXPECTED_TOOLS = ['add', 'convert_temperature', 'divide', 'logo', 'sleep', 'text_stats'];
const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
const TEST_TIMEOUT = 60_000;

mkdirSync(OUT, { recursive: true });

// ------------------------------------------------------------------ helpers

function logPath(name) {
  const path = join(OUT, `${name.replace(/[^A-Za-z0-9_.-]+/g, '_')}.log`);
  rmSync(path, { force: true });
  return path;
}

/** Parsed JSON messages of one direction ('S2C' or 'C2S') of a tap log. */
function logMessages(log, direction) {
  if (!existsSync(log)) return [];
  const out = [];
  for (const line of readFileSync(log, 'utf8').split('\n')) {
    if (!line.startsWith(`${direction}\t`)) continue;
    try {
      const msg = JSON.parse(line.slice(direction.length + 1));
      if (msg && typeof msg === 'object' && !Array.isArray(msg)) out.push(msg);
    } catch {
      // not JSON: validate.py reports it
    }
  }
  return out;
}

function toolCallId(log, tool) {
  let found;
  for (const msg of logMessages(log, 'C2S')) {
    if (msg.method === 'tools/call' && msg.params?.name === tool) found = msg.id;
  }
  return found;
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

function validateLog(log) {
  const run = spawnSync(PYTHON, [VALIDATE, log], { encoding: 'utf8' });
  if (run.error) assert.fail(`cannot run ${PYTHON} ${VALIDATE}: ${run.error.message}`);
  assert.equal(run.status, 0, `server sent invalid MCP messages:\n${run.stdout}${run.stderr}`);
}

function textOf(result) {
  return (result.content ?? []).filter((b) => b.type === 'text').map((b) => b.text).join('\n');
}

function assertToolError(result, ...fragments) {
  assert.equal(result.isError, true, `expected a tool execution error (isError: true), got ${JSON.stringify(result)}`);
  const text = textOf(result);
  assert.ok(text, `a tool error must explain itself in a text block: ${JSON.stringify(result)}`);
  for (const fragment of fragments) {
    assert.ok(text.includes(fragment), `error text ${JSON.stringify(text)} does not mention ${JSON.stringify(fragment)}`);
  }
}

function findKey(value, key, path = '$', found = []) {
  if (Array.isArray(value)) value.forEach((v, i) => findKey(v, key, `${path}[${i}]`, found));
  else if (value && typeof value === 'object') {
    for (const [k, v] of Object.entries(value)) {
      if (k === key) found.push(`${path}.${k}`);
      findKey(v, key, `${path}.${k}`, found);
    }
  }
  return found;
}

/**
 * Runs `body(client, log)` against a fresh quickstart (through the tap). When the body succeeds:
 * closes the client, checks the server exited by itself with status 0 once stdin closed, and
 * validates everything it sent.
 */
async function withClient(t, body) {
  try {
    accessSync(BIN, constants.X_OK);
  } catch {
    assert.fail(`quickstart server binary not found at ${BIN}; build it with \`cargo build --example quickstart\` (or set MCP_QUICKSTART_BIN)`);
  }
  const log = logPath(t.name);
  const transport = new StdioClientTransport({
    command: PYTHON,
    args: [TAP, '--log', log, '--', BIN],
    env: { ...process.env, RUST_BACKTRACE: '1' },
    stderr: 'inherit',
  });
  const client = new Client({ name: 'interop-node', version: '0.0.0' });
  await client.connect(transport);
  try {
    await body(client, log);
  } finally {
    await client.close();
  }
  const exitNote = await waitFor(
    () => readFileSync(log, 'utf8').split('\n').findLast((l) => l.startsWith('#') && l.includes('server exited with code')),
    "the tap to record the server's exit",
  );
  assert.ok(!readFileSync(log, 'utf8').includes('forwarding signal'), `the server did not exit after its stdin was closed; the SDK had to signal it (${log})`);
  assert.ok(exitNote.endsWith('server exited with code 0'), `server exit after stdin EOF: ${exitNote} (${log})`);
  validateLog(log);
  return log;
}

// ------------------------------------------------------------------ lifecycle

test('initialize', { timeout: TEST_TIMEOUT }, async (t) => {
  await withClient(t, async (client, log) => {
    const info = client.getServerVersion();
    assert.equal(info.name, 'quickstart');
    assert.equal(info.version, '0.1.0');
    assert.ok(client.getServerCapabilities()?.tools, 'tools capability declared');
    const init = logMessages(log, 'S2C').find((m) => m.id === logMessages(log, 'C2S').find((c) => c.method === 'initialize')?.id);
    assert.ok(SUPPORTED_PROTOCOL_VERSIONS.includes(init.result.protocolVersion), `negotiated ${init.result.protocolVersion}`);
    assert.deepEqual(await client.ping(), {});
  });
});

// ------------------------------------------------------------------ tools/list

test('tools/list', { timeout: TEST_TIMEOUT }, async (t) => {
  let listed;
  await withClient(t, async (client) => {
    listed = await client.listTools();
  });
  assert.deepEqual(listed.tools.map((tool) => tool.name), EXPECTED_TOOLS);
  assert.equal(listed.nextCursor, undefined);
  const tools = Object.fromEntries(listed.tools.map((tool) => [tool.name, tool]));
  for (const tool of listed.tools) {
    assert.equal(tool.inputSchema.type, 'object', `${tool.name}: inputSchema root must be an object`);
    assert.deepEqual(findKey(tool.inputSchema, '$ref'), [], `${tool.name}: $ref in inputSchema`);
  }

  const add = tools.add;
  assert.equal(add.description, 'Add two integers.');
  assert.equal(add.inputSchema.properties.a.type, 'integer');
  assert.equal(add.inputSchema.properties.b.type, 'integer');
  assert.deepEqual([...add.inputSchema.required].sort(), ['a', 'b']);
  assert.equal(add.inputSchema.additionalProperties, false);
  assert.equal(add.outputSchema.type, 'object');
  assert.equal(add.outputSchema.properties.result.type, 'integer');

  const convert = tools.convert_temperature;
  assert.equal(convert.description, 'Convert a temperature between units.');
  assert.equal(convert.inputSchema.properties.value.type, 'number');
  for (const unit of ['from', 'to']) {
    const prop = convert.inputSchema.properties[unit];
    assert.equal(prop.type, 'string', `${unit}: ${JSON.stringify(prop)}`);
    assert.deepEqual([...prop.enum].sort(), ['celsius', 'fahrenheit', 'kelvin']);
  }

  assert.equal(tools.divide.description, 'Divide `a` by `b`.');
  assert.equal(tools.divide.inputSchema.properties.a.type, 'number');
  assert.equal(tools.divide.inputSchema.properties.b.type, 'number');

  assert.equal(tools.logo.inputSchema.type, 'object');
  assert.equal(Object.keys(tools.logo.inputSchema.properties ?? {}).length, 0);

  assert.equal(tools.sleep.inputSchema.properties.ms.type, 'integer');

  const stats = tools.text_stats;
  assert.equal(stats.description, 'Count the words, lines and characters of a text.');
  assert.equal(stats.inputSchema.properties.text.type, 'string');
  assert.equal(stats.inputSchema.properties.text.description, 'The text to analyse.');
  assert.equal(stats.inputSchema.properties.top.type, 'integer');
  assert.equal(stats.inputSchema.properties.top.default, 3);
  assert.ok(stats.inputSchema.required.includes('text'));
  assert.ok(!stats.inputSchema.required.includes('top'));
  assert.equal(stats.outputSchema.type, 'object');
});

// ------------------------------------------------------------------ tools/call
// listTools() first: the SDK then checks structuredContent against each tool's outputSchema.

test('tools/call add', { timeout: TEST_TIMEOUT }, async (t) => {
  await withClient(t, async (client) => {
    await client.listTools();
    const result = await client.callTool({ name: 'add', arguments: { a: 2, b: 3 } });
    assert.ok(!result.isError, JSON.stringify(result));
    assert.equal(result.content.length, 1);
    assert.equal(result.content[0].type, 'text');
    assert.equal(result.content[0].text, '5');
    assert.deepEqual(result.structuredContent, { result: 5 });
    const lax = await client.callTool({ name: 'add', arguments: { a: '2', b: '3' } });
    assert.ok(!lax.isError, `lax coercion of "2" and "3": ${JSON.stringify(lax)}`);
    assert.deepEqual(lax.structuredContent, { result: 5 });
  });
});

test('tools/call convert_temperature and divide', { timeout: TEST_TIMEOUT }, async (t) => {
  await withClient(t, async (client) => {
    await client.listTools();
    const f = await client.callTool({ name: 'convert_temperature', arguments: { value: 100, from: 'celsius', to: 'fahrenheit' } });
    assert.ok(!f.isError, JSON.stringify(f));
    assert.ok(Math.abs(f.structuredContent.result - 212) < 1e-9, JSON.stringify(f));
    const q = await client.callTool({ name: 'divide', arguments: { a: 6, b: 3 } });
    assert.ok(!q.isError, JSON.stringify(q));
    assert.ok(Math.abs(q.structuredContent.result - 2) < 1e-9, JSON.stringify(q));
    assertToolError(await client.callTool({ name: 'divide', arguments: { a: 1, b: 0 } }), 'division by zero');
  });
});

test('tools/call logo', { timeout: TEST_TIMEOUT }, async (t) => {
  await withClient(t, async (client) => {
    const result = await client.callTool({ name: 'logo', arguments: {} });
    assert.ok(!result.isError, JSON.stringify(result));
    assert.equal(result.content.length, 1);
    const [image] = result.content;
    assert.equal(image.type, 'image');
    assert.equal(image.mimeType, 'image/png');
    const bytes = Buffer.from(image.data, 'base64');
    assert.equal(bytes.toString('base64').replace(/=+$/, ''), image.data.replace(/=+$/, ''), 'data is canonical base64');
    assert.ok(bytes.subarray(0, 8).equals(PNG_SIGNATURE), `not a PNG: ${bytes.subarray(0, 16).toString('hex')}`);
  });
});

test('tools/call text_stats', { timeout: TEST_TIMEOUT }, async (t) => {
  const text = 'the cat and the hat\nthe end';
  await withClient(t, async (client) => {
    await client.listTools();
    const result = await client.callTool({ name: 'text_stats', arguments: { text } });
    assert.ok(!result.isError, JSON.stringify(result));
    const stats = result.structuredContent;
    assert.equal(stats.words, 7);
    assert.equal(stats.lines, 2);
    assert.equal(stats.characters, text.length);
    assert.equal(stats.top_words.length, 3, `default top is 3: ${JSON.stringify(stats)}`);
    assert.ok(JSON.stringify(stats.top_words[0]).includes('the'), JSON.stringify(stats.top_words));
    const top1 = await client.callTool({ name: 'text_stats', arguments: { text, top: 1 } });
    assert.equal(top1.structuredContent.top_words.length, 1);
  });
});

test('a slow call does not block a concurrent one', { timeout: TEST_TIMEOUT }, async (t) => {
  const log = await withClient(t, async (client, log) => {
    let sleepDone = false;
    const sleeping = client.callTool({ name: 'sleep', arguments: { ms: 1500 } }).then((r) => {
      sleepDone = true;
      return r;
    });
    await waitFor(() => toolCallId(log, 'sleep') !== undefined, 'the sleep request to be sent');
    const add = await client.callTool({ name: 'add', arguments: { a: 20, b: 22 } });
    const addWhileSleeping = !sleepDone;
    const slept = await sleeping;
    assert.deepEqual(add.structuredContent, { result: 42 });
    assert.ok(addWhileSleeping, 'add completed only after sleep(1500) had returned: calls are serialized');
    assert.equal(textOf(slept), 'slept 1500 ms');
  });
  const sleepId = toolCallId(log, 'sleep');
  const addId = toolCallId(log, 'add');
  const order = logMessages(log, 'S2C').map((m) => m.id).filter((id) => id === sleepId || id === addId);
  assert.deepEqual(order, [addId, sleepId], 'server response order');
});

test('a cancelled call leaves the server responsive and gets no response', { timeout: TEST_TIMEOUT }, async (t) => {
  await withClient(t, async (client, log) => {
    const started = Date.now();
    const abort = new AbortController();
    const sleeping = client.callTool({ name: 'sleep', arguments: { ms: 3000 } }, undefined, { signal: abort.signal });
    const requestId = await waitFor(() => toolCallId(log, 'sleep'), 'the sleep request to be sent');
    abort.abort('interop test');
    await assert.rejects(sleeping);
    await waitFor(
      () => logMessages(log, 'C2S').some((m) => m.method === 'notifications/cancelled' && m.params?.requestId === requestId),
      'the SDK to send notifications/cancelled',
    );
    assert.deepEqual(await client.ping(), {});
    const add = await client.callTool({ name: 'add', arguments: { a: 1, b: 1 } });
    assert.deepEqual(add.structuredContent, { result: 2 });
    assert.ok(Date.now() - started < 2500, 'the server was blocked by the cancelled sleep');
    await delay(Math.max(0, 3500 - (Date.now() - started))); // past the end of the sleep
    await client.ping();
    const late = logMessages(log, 'S2C').filter((m) => m.id === requestId);
    assert.deepEqual(late, [], `the server responded to the cancelled request ${requestId} (SHOULD NOT)`);
  });
});

// ------------------------------------------------------------------ errors

test('unknown tool is a protocol error (-32602)', { timeout: TEST_TIMEOUT }, async (t) => {
  await withClient(t, async (client) => {
    await assert.rejects(client.callTool({ name: 'no_such_tool', arguments: {} }), (err) => {
      assert.ok(err instanceof McpError, `expected McpError, got ${err}`);
      assert.equal(err.code, -32602, err.message);
      assert.ok(err.message.includes('no_such_tool'), err.message);
      return true;
    });
    assert.deepEqual(await client.ping(), {});
  });
});

test('invalid arguments are tool errors', { timeout: TEST_TIMEOUT }, async (t) => {
  await withClient(t, async (client) => {
    assertToolError(await client.callTool({ name: 'add', arguments: { a: 'x', b: 3 } }), '`a`', 'add');
    assertToolError(await client.callTool({ name: 'add', arguments: { a: 1 } }), 'missing', '`b`');
    assertToolError(await client.callTool({ name: 'add', arguments: { a: 1, b: 2, c: 3 } }), 'unknown', '`c`');
    assertToolError(
      await client.callTool({ name: 'convert_temperature', arguments: { value: 1, from: 'rankine', to: 'kelvin' } }),
      '`from`',
    );
  });
});
