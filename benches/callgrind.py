"""Instructions per request, counted by callgrind: cost ratios that hold on a loaded machine.

Wall-clock throughput (`cargo bench --bench http`) moves with whatever else the machine runs;
the number of instructions a server executes per request does not (to a fraction of a
percent), so the cost of a feature is measured here as a ratio of instruction counts, all in
one run. Each server runs under `valgrind --tool=callgrind` twice, answering `FEW` and then
`MANY` requests on one keep-alive connection; the difference of the two totals divided by
`MANY - FEW` is the cost of one request, with the start-up and shutdown costs cancelled out.

    scripts/callgrind                  # build, then measure every case
    MCP_CG_BEFORE=path/to/quickstart scripts/callgrind   # also the SSE case on another build

`MCP_CG_QUICKSTART` names the quickstart binary to measure (default: the one just built).
`MCP_CG_BEFORE_BENCH=path/to/bench_add` adds the per-request and sessions cases on that build
(an earlier commit's, to compare a change of the request path in one run).
`MCP_CG_EXAMPLES=DIR` measures the `bench_add`, `raw_http_add` and `quickstart` in DIR instead
(an older build's, for a before-and-after table). `MCP_CG_ONLY=sessions,JWT` measures only the
cases whose names contain one of the words (the first of each group, its baseline, always).
`MCP_CG_KEEP=DIR` keeps each case's callgrind output of the longer run in DIR, for
`callgrind_annotate` (the top frames of a case).

Cases (each a `tools/call add` over HTTP with a session, unless said):

* bare hyper: `examples/raw_http_add.rs`, the baseline;
* stateless: `bench_add --stateless`, no handshake (a fresh session per POST);
* sessions: `bench_add`, no middleware, `RUST_LOG=warn` (the access log off);
* per-request: `bench_add` (sessions enabled) spoken to in 2026-07-28: no handshake, each
  call carrying its `_meta` and the `Mcp-Method`/`Mcp-Name` headers, as the HTTP benchmark
  sends it;
* sessions + access log: `RUST_LOG=info`; the same with `MCP_LOG_FORMAT=json`;
* sessions + metrics + traces: `MCP_BENCH_OBSERVE=1` (Prometheus metrics and the request and
  tool spans, taken by a subscriber: `RUST_LOG=warn,mcp_runtime::request=info`; no exporter);
* sessions + API key: `--api-keys` with the key in `X-API-Key`;
* sessions + JWT: `--oauth-issuer` with an ES256 token checked against a JWKS served here;
* SSE stream: the quickstart's `sleep` (0 ms) with a progress token, answered as an SSE
  stream of progress events and the result; with `MCP_CG_BEFORE`, the same on that build.

Prints a table: instructions per request, and the ratio to the baseline of its group.
Needs valgrind, and PyJWT with `cryptography` for the JWT case (the test venv has both).
"""

import base64
import hashlib
import http.client
import json
import os
import re
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, HTTPServer

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
EXAMPLES = os.environ.get("MCP_CG_EXAMPLES") or os.path.join(ROOT, "target", "release", "examples")
FEW = int(os.environ.get("MCP_CG_FEW", "100"))
MANY = int(os.environ.get("MCP_CG_MANY", "600"))
VERSION = "2025-11-25"
PER_REQUEST = "2026-07-28"
# What a 2026-07-28 client sends in every request (the HTTP benchmark's `_meta`).
PER_REQUEST_META = {
    "io.modelcontextprotocol/protocolVersion": PER_REQUEST,
    "io.modelcontextprotocol/clientCapabilities": {
        "roots": {"listChanged": True}, "sampling": {}, "elicitation": {}},
    "io.modelcontextprotocol/clientInfo": {"name": "callgrind", "version": "0.0.0"},
}


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for_port(port, proc, limit=120):
    deadline = time.time() + limit
    while time.time() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"the server exited with {proc.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError("the server did not listen in time")


class Client:
    """One keep-alive connection speaking MCP over HTTP, checking every answer."""

    def __init__(self, port, headers, session):
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
        self.per_request = session == "per-request"
        self.headers = {
            "Content-Type": "application/json",
            "Accept": "application/json, text/event-stream",
            "MCP-Protocol-Version": PER_REQUEST if self.per_request else VERSION,
            **headers,
        }
        if self.per_request:
            self.headers.update({"Mcp-Method": "tools/call", "Mcp-Name": "add"})
        self.next_id = 1
        if session is True:
            init = {
                "jsonrpc": "2.0", "id": 0, "method": "initialize",
                "params": {"protocolVersion": VERSION, "capabilities": {},
                           "clientInfo": {"name": "callgrind", "version": "1"}},
            }
            status, hdrs, _ = self.post(init)
            assert status == 200, status
            self.headers["Mcp-Session-Id"] = hdrs["mcp-session-id"]
            status, _, _ = self.post({"jsonrpc": "2.0", "method": "notifications/initialized"})
            assert status == 202, status

    def post(self, message):
        self.conn.request("POST", "/mcp", body=json.dumps(message), headers=self.headers)
        r = self.conn.getresponse()
        body = r.read().decode()
        return r.status, {k.lower(): v for k, v in r.getheaders()}, body

    def add(self):
        i = self.next_id
        self.next_id += 1
        params = {"name": "add", "arguments": {"a": i, "b": 1}}
        if self.per_request:
            params["_meta"] = PER_REQUEST_META
        status, _, body = self.post({"jsonrpc": "2.0", "id": i, "method": "tools/call",
                                     "params": params})
        assert status == 200, (status, body)
        result = json.loads(body)["result"]
        assert result["structuredContent"]["result"] == i + 1, body
        assert result.get("resultType") == ("complete" if self.per_request else None), body

    def sse(self):
        i = self.next_id
        self.next_id += 1
        status, hdrs, body = self.post({
            "jsonrpc": "2.0", "id": i, "method": "tools/call",
            "params": {"name": "sleep", "arguments": {"ms": 0}, "_meta": {"progressToken": i}},
        })
        assert status == 200 and hdrs["content-type"].startswith("text/event-stream"), (status, body)
        assert body.count("notifications/progress") == 4, body
        assert f'"id":{i},"result"' in body, body


def callgrind_total(path):
    with open(path) as f:
        for line in f:
            m = re.match(r"(summary|totals): (\d+)", line)
            if m:
                return int(m.group(2))
    raise RuntimeError(f"no total in {path}")


def run_once(binary, args, env, headers, session, requests, work, keep=None):
    port = free_port()
    out = keep or tempfile.mktemp(prefix="mcp-callgrind-", suffix=".out")
    proc = subprocess.Popen(
        ["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}", "--quiet",
         binary, *[a.replace("{port}", str(port)) for a in args]],
        env={**os.environ, "RUST_LOG": "warn", **env},
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    try:
        wait_for_port(port, proc)
        client = Client(port, headers, session)
        for _ in range(requests):
            getattr(client, work)()
        client.conn.close()
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=120)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    total = callgrind_total(out)
    if not keep:
        os.unlink(out)
    return total


def per_request(binary, args=(), env=None, headers=None, session=True, work="add", keep=None):
    env, headers = env or {}, headers or {}
    few = run_once(binary, args, env, headers, session, FEW, work)
    many = run_once(binary, args, env, headers, session, MANY, work, keep)
    return (many - few) / (MANY - FEW)


def b64(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def api_key(directory):
    """A key file of one key, as `mcp keys create` writes it; the key."""
    key_id = secrets.token_hex(8)
    key = f"mcpk_{key_id}_{b64(secrets.token_bytes(32))}"
    line = {"id": key_id, "name": "bench", "sha256": hashlib.sha256(key.encode()).hexdigest()}
    path = os.path.join(directory, "keys.jsonl")
    with open(path, "w") as f:
        f.write(json.dumps(line) + "\n")
    return path, key


def jwt_setup():
    """A JWKS served on loopback, and an ES256 token it verifies: (flags, token)."""
    import jwt
    from cryptography.hazmat.primitives.asymmetric import ec

    private = ec.generate_private_key(ec.SECP256R1())
    numbers = private.public_key().public_numbers()
    jwks = json.dumps({"keys": [{
        "kty": "EC", "crv": "P-256", "kid": "bench", "alg": "ES256",
        "x": b64(numbers.x.to_bytes(32, "big")), "y": b64(numbers.y.to_bytes(32, "big")),
    }]}).encode()

    class Jwks(BaseHTTPRequestHandler):
        def do_GET(self):
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(jwks)))
            self.end_headers()
            self.wfile.write(jwks)

        def log_message(self, *_):
            pass

    server = HTTPServer(("127.0.0.1", 0), Jwks)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    issuer = f"http://127.0.0.1:{server.server_address[1]}"
    resource = "http://bench.invalid/mcp"
    token = jwt.encode({"iss": issuer, "aud": resource, "sub": "bench",
                        "exp": int(time.time()) + 86400},
                       private, algorithm="ES256", headers={"kid": "bench"})
    flags = ["--oauth-issuer", issuer, "--oauth-jwks-uri", f"{issuer}/jwks",
             "--oauth-resource", resource]
    return flags, token


def main():
    ours = os.path.join(EXAMPLES, "bench_add")
    bare = os.path.join(EXAMPLES, "raw_http_add")
    quickstart = os.environ.get("MCP_CG_QUICKSTART", os.path.join(EXAMPLES, "quickstart"))
    http_args = ["--transport", "http", "--port", "{port}"]
    before_bench = os.environ.get("MCP_CG_BEFORE_BENCH")
    rows = []
    only = [w for w in os.environ.get("MCP_CG_ONLY", "").split(",") if w]
    keep_dir = os.environ.get("MCP_CG_KEEP")
    groups = set()

    def measure(group, name, run):
        first = group not in groups
        groups.add(group)
        if only and not first and name != "sessions" and not any(w in name for w in only):
            return
        keep = None
        if keep_dir:
            os.makedirs(keep_dir, exist_ok=True)
            keep = os.path.join(keep_dir, re.sub(r"[^A-Za-z0-9]+", "-", f"{group} {name}") + ".out")
        value = run(keep)
        rows.append((group, name, value))
        print(f"  {name}: {value:,.0f} instructions/request", file=sys.stderr, flush=True)

    measure("http", "bare hyper",
            lambda k: per_request(bare, ["--port", "{port}"], session=False, keep=k))
    measure("http", "stateless",
            lambda k: per_request(ours, [*http_args, "--stateless"], session=False, keep=k))
    measure("http", "sessions", lambda k: per_request(ours, http_args, keep=k))
    measure("http", "per-request (2026-07-28)",
            lambda k: per_request(ours, http_args, session="per-request", keep=k))
    if before_bench:
        measure("http", "per-request (MCP_CG_BEFORE_BENCH)", lambda k: per_request(
            before_bench, http_args, session="per-request", keep=k))
        measure("http", "sessions (MCP_CG_BEFORE_BENCH)",
                lambda k: per_request(before_bench, http_args, keep=k))
    measure("http", "sessions + access log",
            lambda k: per_request(ours, http_args, {"RUST_LOG": "info"}, keep=k))
    measure("http", "sessions + JSON access log", lambda k: per_request(
        ours, http_args, {"RUST_LOG": "info", "MCP_LOG_FORMAT": "json"}, keep=k))
    measure("http", "sessions + metrics + traces", lambda k: per_request(
        ours, http_args,
        {"MCP_BENCH_OBSERVE": "1", "RUST_LOG": "warn,mcp_runtime::request=info"}, keep=k))
    with tempfile.TemporaryDirectory() as d:
        path, key = api_key(d)
        measure("auth", "sessions", lambda k: per_request(ours, http_args, keep=k))
        measure("auth", "sessions + API key", lambda k: per_request(
            ours, [*http_args, "--api-keys", path], headers={"X-API-Key": key}, keep=k))
        flags, token = jwt_setup()
        measure("auth", "sessions + JWT", lambda k: per_request(
            ours, [*http_args, *flags], headers={"Authorization": f"Bearer {token}"}, keep=k))
    measure("sse", "SSE stream (this build)",
            lambda k: per_request(quickstart, http_args, work="sse", keep=k))
    before = os.environ.get("MCP_CG_BEFORE")
    if before:
        measure("sse", "SSE stream (MCP_CG_BEFORE)",
                lambda k: per_request(before, http_args, work="sse", keep=k))

    print(f"\ninstructions per request (callgrind; {MANY} - {FEW} requests)\n")
    print(f"| case | instructions/request | ratio to the first of its group |")
    print(f"|---|---:|---:|")
    base = {}
    for group, name, value in rows:
        base.setdefault(group, value)
        print(f"| {name} | {value:,.0f} | {value / base[group]:.3f} |")


if __name__ == "__main__":
    main()
