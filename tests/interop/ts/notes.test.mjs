// The notes example (resources, templates, prompts, completion), driven over stdio by the
// official MCP TypeScript SDK client. Every line the server sends is validated against the
// official JSON Schema afterwards (tests/interop/validate.py). Logs: tests/interop/out/ts/.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { accessSync, constants, existsSync, mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as delay } from 'node:timers/promises';

import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { McpError, ResourceUpdatedNotificationSchema } from '@modelcontextprotocol/sdk/types.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const INTEROP = join(ROOT, 'tests', 'interop');
const OUT = join(INTEROP, 'out', 'ts');
const VENV_PYTHON = join(ROOT, '.cache', 'venv', 'bin', 'python');
const PYTHON = process.env.MCP_INTEROP_PYTHON || (existsSync(VENV_PYTHON) ? VENV_PYTHON : 'python3');
const BIN = join(ROOT, 'target', 'debug', 'examples', 'notes');
const TEST_TIMEOUT = 60_000;

mkdirSync(OUT, { recursive: true });

/** Runs `body(client)` against a fresh notes server, then validates what it sent. */
async function withNotes(t, body) {
  try {
    accessSync(BIN, constants.X_OK);
  } catch {
    assert.fail(`notes server binary not found at ${BIN}; build it with \`cargo build --example notes\``);
  }
  const log = join(OUT, `notes-${t.name.replace(/[^A-Za-z0-9_.-]+/g, '_')}.log`);
  rmSync(log, { force: true });
  const transport = new StdioClientTransport({
    command: PYTHON,
    args: [join(INTEROP, 'tap.py'), '--log', log, '--', BIN],
    env: { ...process.env, RUST_BACKTRACE: '1' },
    stderr: 'inherit',
  });
  const client = new Client({ name: 'interop-node', version: '0.0.0' });
  await client.connect(transport);
  try {
    await body(client);
  } finally {
    await client.close();
  }
  const run = spawnSync(PYTHON, [join(INTEROP, 'validate.py'), log], { encoding: 'utf8' });
  assert.equal(run.status, 0, `server sent invalid MCP messages:\n${run.stdout}${run.stderr}`);
}

async function rpcError(promise) {
  try {
    await promise;
  } catch (e) {
    assert.ok(e instanceof McpError, `expected an McpError, got ${e}`);
    return e;
  }
  assert.fail('expected the request to fail');
}

test('capabilities, resources and templates are listed', { timeout: TEST_TIMEOUT }, async (t) => {
  await withNotes(t, async (client) => {
    const caps = client.getServerCapabilities();
    assert.deepEqual(caps.resources, { subscribe: true, listChanged: true });
    assert.deepEqual(caps.prompts, { listChanged: true });
    assert.ok(caps.completions);
    const { resources } = await client.listResources();
    assert.deepEqual(resources.map((r) => r.uri), ['images://logo.png', 'notes://index']);
    const { resourceTemplates } = await client.listResourceTemplates();
    assert.deepEqual(resourceTemplates.map((r) => r.uriTemplate), [
      'docs://{+path}',
      'math://sum{/n*}',
      'notes://{name}',
      'search://notes{?q,limit}',
    ]);
  });
});

test('text, JSON and binary reads, and templates of each kind', { timeout: TEST_TIMEOUT }, async (t) => {
  await withNotes(t, async (client) => {
    const index = await client.readResource({ uri: 'notes://index' });
    assert.equal(index.contents[0].mimeType, 'application/json');
    assert.deepEqual(JSON.parse(index.contents[0].text).map((n) => n.name), ['groceries', 'ideas', 'todo']);
    const logo = await client.readResource({ uri: 'images://logo.png' });
    assert.equal(logo.contents[0].mimeType, 'image/png');
    assert.equal(Buffer.from(logo.contents[0].blob, 'base64').subarray(1, 4).toString(), 'PNG');
    const read = async (uri) => (await client.readResource({ uri })).contents[0].text;
    assert.equal(await read('notes://groceries'), 'eggs, flour, milk');
    assert.equal(await read('docs://guide/intro'), '# Introduction\nNotes are plain text.');
    assert.equal(await read('math://sum/10/20/12'), '42');
    assert.deepEqual(JSON.parse(await read('search://notes?q=rust&limit=5')), ['notes://ideas']);
    const missing = await rpcError(client.readResource({ uri: 'notes://missing' }));
    assert.equal(missing.code, -32002);
  });
});

test('a subscriber hears about an update', { timeout: TEST_TIMEOUT }, async (t) => {
  await withNotes(t, async (client) => {
    const updates = [];
    client.setNotificationHandler(ResourceUpdatedNotificationSchema, (n) => {
      updates.push(n.params.uri);
    });
    await client.subscribeResource({ uri: 'notes://ideas' });
    await client.callTool({ name: 'write_note', arguments: { name: 'ideas', text: 'more ideas' } });
    for (let i = 0; i < 500 && !updates.includes('notes://ideas'); i++) await delay(20);
    assert.deepEqual(updates, ['notes://ideas']);
    const note = await client.readResource({ uri: 'notes://ideas' });
    assert.equal(note.contents[0].text, 'more ideas');
  });
});

test('prompts with and without arguments', { timeout: TEST_TIMEOUT }, async (t) => {
  await withNotes(t, async (client) => {
    const { prompts } = await client.listPrompts();
    assert.deepEqual(prompts.map((p) => p.name), ['discuss_note', 'review_code', 'summarize_notes']);
    const review = prompts.find((p) => p.name === 'review_code');
    assert.deepEqual(review.arguments.map((a) => [a.name, a.required]), [['code', true], ['language', true], ['focus', false]]);
    const summary = await client.getPrompt({ name: 'summarize_notes' });
    assert.match(summary.messages[0].content.text, /## todo/);
    const rendered = await client.getPrompt({ name: 'review_code', arguments: { code: 'x = 1', language: 'python', focus: 'style' } });
    assert.deepEqual(rendered.messages.map((m) => m.role), ['user', 'assistant']);
    assert.match(rendered.messages[0].content.text, /mostly at style/);
    const missing = await rpcError(client.getPrompt({ name: 'review_code', arguments: { code: 'x' } }));
    assert.equal(missing.code, -32602);
    assert.match(missing.message, /missing required argument `language`/);
  });
});

test('completion of prompt arguments and template variables', { timeout: TEST_TIMEOUT }, async (t) => {
  await withNotes(t, async (client) => {
    const lang = await client.complete({
      ref: { type: 'ref/prompt', name: 'review_code' },
      argument: { name: 'language', value: 'ty' },
    });
    assert.deepEqual(lang.completion.values, ['typescript']);
    const note = await client.complete({
      ref: { type: 'ref/resource', uri: 'notes://{name}' },
      argument: { name: 'name', value: '' },
    });
    assert.deepEqual(note.completion.values, ['groceries', 'ideas', 'todo']);
  });
});
