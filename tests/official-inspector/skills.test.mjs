// The official MCP Inspector's CLI (pinned in package.json) against the everything example:
// it lists the example's skills and verifies every file's digest and size, over stdio and
// streamable HTTP, in both protocol eras. Run by scripts/test (node --test); needs the example
// built (cargo build --examples) and `npm ci` here.

import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
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

/** Starts the everything example over HTTP on a free port; resolves to its URL and a stop. */
function serveHttp() {
  return new Promise((resolve, reject) => {
    const child = spawn(example("everything"), ["--transport", "http", "--port", "0"], {
      stdio: ["ignore", "ignore", "pipe"],
    });
    let log = "";
    const timer = setTimeout(() => {
      child.kill();
      reject(new Error(`the server did not start:\n${log}`));
    }, 20_000);
    child.stderr.on("data", (d) => {
      log += d;
      const m = log.match(/MCP server on (http:\/\/\S+?)[ ,]/);
      if (m) {
        clearTimeout(timer);
        resolve({ url: m[1], stop: () => child.kill("SIGTERM") });
      }
    });
    child.on("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`the server exited (${code}):\n${log}`));
    });
  });
}

function checkVerified(r) {
  assert.equal(r.code, 0, `exit ${r.code}\n${r.stdout}\n${r.stderr}`);
  const reports = r.stdout.trim().split("\n").map((l) => JSON.parse(l));
  assert.deepEqual(
    reports.map((s) => s.name),
    ["pdf-processing", "release-notes"],
  );
  for (const s of reports) {
    assert.equal(s.ok, true, JSON.stringify(s));
    assert.equal(s.outcome, "verified", JSON.stringify(s));
    assert.deepEqual(s.conformance, [], JSON.stringify(s));
    assert.deepEqual(s.frontmatter, [], JSON.stringify(s));
    for (const f of s.files) {
      assert.equal(f.status, "verified", JSON.stringify(f));
      assert.equal(f.actualDigest, f.expectedDigest);
    }
  }
  assert.equal(reports[0].files.length, 3);
}

test("the inspector verifies the example's skills over stdio", () => {
  checkVerified(inspector(["--method", "skills/list", "--verify", "--require-digests", example("everything")]));
});

test("the inspector verifies the example's skills over streamable HTTP, in both eras", async () => {
  const { url, stop } = await serveHttp();
  try {
    checkVerified(inspector(["--method", "skills/list", "--verify", "--require-digests", url]));
    checkVerified(
      inspector(["--method", "skills/list", "--verify", "--require-digests", "--protocol-era", "modern", url]),
    );
    const one = inspector([
      "--method", "skills/get", "--uri", "skill://release-notes/SKILL.md", "--verify", "--require-digests", url,
    ]);
    assert.equal(one.code, 0, one.stderr);
    assert.equal(JSON.parse(one.stdout.trim()).outcome, "verified");
    const dir = inspector(["--method", "resources/directory/read", "--uri", "skill://pdf-processing", url]);
    assert.equal(dir.code, 0, dir.stderr);
    const kinds = JSON.parse(dir.stdout).resources.map((r) => [r.name, r.mimeType]);
    assert.deepEqual(kinds, [
      ["SKILL.md", "text/markdown"],
      ["references", "inode/directory"],
      ["scripts", "inode/directory"],
    ]);
  } finally {
    stop();
  }
});

test("the inspector reports a server without skills as failing", () => {
  const r = inspector(["--method", "skills/list", "--verify", "--require-digests", example("quickstart")]);
  assert.notEqual(r.code, 0, r.stdout);
});
