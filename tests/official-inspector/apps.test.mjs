// The official MCP Inspector's CLI probes the apps example's MCP App metadata (--app-info):
// each app tool names its `ui://` view, the view is `text/html;profile=mcp-app` with its
// policy (read from the read result's `_meta`), an app-only tool is listed only to a client
// advertising the MCP Apps extension, and a tool without a view is reported as having none. Needs the example built (cargo build --examples).

import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import path from "node:path";

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, "../..");
const cli = path.join(here, "node_modules/@modelcontextprotocol/inspector/clients/cli/build/index.js");
const example = (name) => path.join(root, "target/debug/examples", name);

function inspector(args) {
  const r = spawnSync(process.execPath, [cli, ...args], { encoding: "utf8", timeout: 60_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

test("the inspector finds the apps example's views", () => {
  // Advertising the MCP Apps extension: the server lists its app-only tool too.
  const r = inspector(["--method", "tools/list", "--app-info", "--advertise-apps", example("apps")]);
  assert.equal(r.code, 0, r.stderr);
  const tools = r.stdout.trim().split("\n").map((l) => JSON.parse(l));
  assert.deepEqual(tools, [
    {
      hasApp: true,
      toolName: "increment",
      resourceUri: "ui://counter/view.html",
      visibility: ["app"],
      prefersBorder: true,
      resourceMimeType: "text/html;profile=mcp-app",
    },
    {
      hasApp: true,
      toolName: "show_counter",
      resourceUri: "ui://counter/view.html",
      prefersBorder: true,
      resourceMimeType: "text/html;profile=mcp-app",
    },
  ]);
});

test("a client not advertising MCP Apps does not get the app-only tool", () => {
  const r = inspector(["--method", "tools/list", "--app-info", example("apps")]);
  assert.equal(r.code, 0, r.stderr);
  const names = r.stdout.trim().split("\n").map((l) => JSON.parse(l).toolName);
  assert.deepEqual(names, ["show_counter"]);
});

test("the inspector reports a tool without a view", () => {
  const r = inspector(["--method", "tools/call", "--tool-name", "add", "--app-info", example("quickstart")]);
  assert.equal(r.code, 2, `${r.stdout}\n${r.stderr}`);
});
