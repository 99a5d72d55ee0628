"""Shared helpers of the Python interop tests: launch the quickstart server through tap.py,
talk to it with the official MCP Python SDK (or raw JSON lines), validate the recorded traffic.

Results are compared in their wire form (`dump()` gives camelCase JSON dicts), so the tests read
like the protocol and do not depend on the SDK's attribute naming.
"""

from __future__ import annotations

import json
import os
import queue
import re
import subprocess
import sys
import threading
import time
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, AsyncIterator

import anyio
import pytest

ROOT = Path(__file__).resolve().parents[3]
INTEROP = ROOT / "tests" / "interop"
OUT = INTEROP / "out" / "python"
TAP = INTEROP / "tap.py"

sys.path.insert(0, str(INTEROP))
import validate  # noqa: E402  (tests/interop/validate.py)

from mcp import ClientSession, StdioServerParameters, stdio_client  # noqa: E402
from mcp import types as mcp_types  # noqa: E402
from mcp.shared import exceptions as mcp_exceptions  # noqa: E402

# The SDK's error type: MCPError in mcp 2.x, McpError in 1.x.
MCPError: type[Exception] = getattr(mcp_exceptions, "MCPError", None) or getattr(mcp_exceptions, "McpError")

try:  # mcp 2.x
    from mcp_types.version import HANDSHAKE_PROTOCOL_VERSIONS as CLIENT_VERSIONS
except ImportError:  # mcp 1.x
    CLIENT_VERSIONS = tuple(mcp_types.SUPPORTED_PROTOCOL_VERSIONS)

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
EXPECTED_TOOLS = ["add", "convert_temperature", "divide", "logo", "sleep", "text_stats"]


def quickstart_bin() -> Path:
    path = Path(os.environ.get("MCP_QUICKSTART_BIN") or ROOT / "target" / "debug" / "examples" / "quickstart")
    if not path.is_file() or not os.access(path, os.X_OK):
        pytest.fail(
            f"quickstart server binary not found at {path}; build it with "
            "`cargo build --example quickstart` (or set MCP_QUICKSTART_BIN)",
            pytrace=False,
        )
    return path


def error_code(err: BaseException) -> int | None:
    code = getattr(err, "code", None)
    if isinstance(code, int):
        return code
    error = getattr(err, "error", None)  # mcp 1.x: McpError.error is ErrorData
    return getattr(error, "code", None)


def error_message(err: BaseException) -> str:
    message = getattr(err, "message", None)
    if isinstance(message, str):
        return message
    error = getattr(err, "error", None)
    return getattr(error, "message", None) or str(err)


def dump(model: Any) -> Any:
    """An SDK result model as its JSON wire form."""
    return model.model_dump(by_alias=True, mode="json", exclude_none=True)


def text_of(result: dict[str, Any]) -> str:
    return "\n".join(block.get("text", "") for block in result.get("content", []) if block.get("type") == "text")


def find_key(value: Any, key: str) -> list[str]:
    """JSON paths of every occurrence of `key` in a JSON value."""
    found: list[str] = []

    def walk(v: Any, path: str) -> None:
        if isinstance(v, dict):
            for k, child in v.items():
                if k == key:
                    found.append(f"{path}.{k}")
                walk(child, f"{path}.{k}")
        elif isinstance(v, list):
            for i, child in enumerate(v):
                walk(child, f"{path}[{i}]")

    walk(value, "$")
    return found


# ------------------------------------------------------------------ tap logs


class TapLogs:
    """Hands out one log file per server launch of the current test; validates them all."""

    def __init__(self, nodeid: str) -> None:
        self.stem = re.sub(r"[^A-Za-z0-9_.-]+", "_", nodeid.split("::", 1)[-1])
        self.paths: list[Path] = []
        OUT.mkdir(parents=True, exist_ok=True)

    def server_stderr(self) -> Path:
        """Where a server started by this test writes its stderr."""
        return OUT / f"{self.stem}.server.stderr"

    def new(self) -> Path:
        suffix = "" if not self.paths else f"-{len(self.paths) + 1}"
        path = OUT / f"{self.stem}{suffix}.log"
        path.unlink(missing_ok=True)
        self.paths.append(path)
        return path


def example_bin(name: str) -> Path:
    """The binary of an example server, built by `cargo build --examples`."""
    if name == "quickstart":
        return quickstart_bin()
    path = ROOT / "target" / "debug" / "examples" / name
    if not path.is_file() or not os.access(path, os.X_OK):
        pytest.fail(f"example server {name!r} not found at {path}; build it with `cargo build --example {name}`", pytrace=False)
    return path


def tap_command(log: Path, example: str = "quickstart") -> list[str]:
    return [sys.executable, str(TAP), "--log", str(log), "--", str(example_bin(example))]


def log_messages(log: Path, direction: str) -> list[dict[str, Any]]:
    out = []
    for entry in validate.read_log(log):
        if entry.direction == direction:
            try:
                msg = json.loads(entry.raw)
            except ValueError:
                continue
            if isinstance(msg, dict):
                out.append(msg)
    return out


def tool_call_id(log: Path, tool: str) -> Any:
    """The JSON-RPC id of the (last) tools/call request for `tool` the client sent, or None."""
    found = None
    for msg in log_messages(log, "C2S"):
        if msg.get("method") == "tools/call" and (msg.get("params") or {}).get("name") == tool:
            found = msg["id"]
    return found


async def wait_for(predicate: Any, what: str, timeout: float = 10.0) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value is not None and value is not False:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        await anyio.sleep(0.02)


def server_exit_note(log: Path) -> str | None:
    for line in reversed(log.read_text(encoding="utf-8", errors="replace").splitlines()):
        if line.startswith("#") and "server exited with code" in line:
            return line
    return None


# ------------------------------------------------------------------ SDK session


@dataclass
class Conn:
    session: ClientSession
    init: dict[str, Any]  # InitializeResult, wire form
    log: Path


@asynccontextmanager
async def connect(
    logs: TapLogs, *, check_clean_exit: bool = True, example: str = "quickstart", **session_options: Any
) -> AsyncIterator[Conn]:
    """An initialized SDK session with an example server, the quickstart by default (through the tap).
    `session_options` go to `ClientSession` (a `message_handler`, say).

    On a clean exit of the `async with` body: closes the session, then checks that the server
    exited by itself with status 0 once its stdin closed, and validates every message it sent.
    """
    log = logs.new()
    command = tap_command(log, example)
    params = StdioServerParameters(
        command=command[0], args=command[1:], env={"RUST_BACKTRACE": "1", **_passthrough_env()}
    )
    async with stdio_client(params) as (read, write):
        async with ClientSession(read, write, read_timeout_seconds=30, **session_options) as session:
            init = dump(await session.initialize())
            yield Conn(session=session, init=init, log=log)
    if check_clean_exit:
        note = await wait_for(lambda: server_exit_note(log), "the tap to record the server's exit", 10)
        assert "forwarding signal" not in log.read_text(encoding="utf-8", errors="replace"), (
            f"the server did not exit after its stdin was closed; the SDK had to signal it ({log})"
        )
        assert note.endswith("server exited with code 0"), f"server exit after stdin EOF: {note} ({log})"
    validate.assert_log_valid(log)


def _passthrough_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if k.startswith(("RUST_", "MCP_"))}


# ------------------------------------------------------------------ raw JSON lines


class RawServer:
    """The quickstart through the tap, driven with hand-written lines."""

    def __init__(self, log: Path) -> None:
        self.log = log
        self.proc = subprocess.Popen(
            tap_command(log),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            env={**os.environ, "RUST_BACKTRACE": "1"},
        )
        self._lines: queue.Queue[bytes | None] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self._lines.put(line)
        self._lines.put(None)

    def send(self, message: dict[str, Any] | str) -> None:
        line = message if isinstance(message, str) else json.dumps(message)
        assert self.proc.stdin is not None
        self.proc.stdin.write(line.encode() + b"\n")
        self.proc.stdin.flush()

    def recv(self, timeout: float = 10.0) -> dict[str, Any]:
        try:
            line = self._lines.get(timeout=timeout)
        except queue.Empty:
            raise AssertionError(f"no message from the server within {timeout}s ({self.log})") from None
        if line is None:
            raise AssertionError(f"the server closed its stdout (exit status {self.proc.poll()}) ({self.log})")
        try:
            return json.loads(line)
        except ValueError:
            raise AssertionError(f"the server wrote a non-JSON line: {line!r}") from None

    def initialize(self, protocol_version: str = "2025-11-25") -> dict[str, Any]:
        self.send(
            {
                "jsonrpc": "2.0",
                "id": 1,
                "method": "initialize",
                "params": {
                    "protocolVersion": protocol_version,
                    "capabilities": {},
                    "clientInfo": {"name": "interop-raw", "version": "0.0.0"},
                },
            }
        )
        response = self.recv()
        assert response.get("id") == 1 and "result" in response, f"initialize failed: {response}"
        self.send({"jsonrpc": "2.0", "method": "notifications/initialized"})
        return response

    def close_stdin(self) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.close()

    def wait(self, timeout: float) -> int:
        return self.proc.wait(timeout=timeout)

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


# ------------------------------------------------------------------ streamable HTTP


import httpx2  # noqa: E402
from mcp.client.streamable_http import streamable_http_client  # noqa: E402


class HttpQuickstart:
    """An example server (the quickstart by default) serving streamable HTTP on a free port
    (`--transport http --port 0`)."""

    def __init__(self, stderr_path: Path, *args: str, example: str = "quickstart") -> None:
        self.stderr_path = stderr_path
        self._stderr = open(self.stderr_path, "wb")
        self.proc = subprocess.Popen(
            [str(example_bin(example)), "--transport", "http", "--port", "0", *args],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=self._stderr,
            env={**os.environ, "RUST_BACKTRACE": "1"},
        )
        deadline = time.monotonic() + 20
        while True:
            text = self.stderr_path.read_text(encoding="utf-8", errors="replace")
            match = re.search(r"MCP server on (http://\S+?)[ ,]", text)
            if match:
                self.url = match.group(1)
                break
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(f"the {example} example did not start serving HTTP: {text}")
            time.sleep(0.02)

    def stderr(self) -> str:
        return self.stderr_path.read_text(encoding="utf-8", errors="replace")

    def stop(self) -> int:
        """SIGTERM, then the exit status (a clean shutdown is 0)."""
        if self.proc.poll() is None:
            self.proc.terminate()
        try:
            return self.proc.wait(timeout=15)
        finally:
            self._stderr.close()

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        self._stderr.close()


class HttpTap:
    """Records HTTP traffic in the tap log format validate.py reads: each JSON-RPC message the
    client POSTs (`C2S`), each message the server sends, as a JSON body or as SSE data (`S2C`),
    and a `#` note per HTTP exchange."""

    def __init__(self, log: Path) -> None:
        self.log = log
        self._file = open(log, "a", encoding="utf-8")
        self.exchanges: list[dict[str, Any]] = []

    def note(self, text: str) -> None:
        self._file.write(f"# {text}\n")
        self._file.flush()

    def message(self, direction: str, raw: bytes | str) -> None:
        text = raw.decode("utf-8", errors="replace") if isinstance(raw, bytes) else raw
        try:
            line = json.dumps(json.loads(text), separators=(",", ":"), ensure_ascii=False)
        except ValueError:
            line = text.replace("\n", "\\n")
        self._file.write(f"{direction}\t{line}\n")
        self._file.flush()

    def close(self) -> None:
        self._file.close()


class _TeeStream(httpx2.AsyncByteStream):
    """A response body passed through unchanged, its JSON-RPC messages recorded on the way."""

    def __init__(self, inner: httpx2.AsyncByteStream, tap: HttpTap, sse: bool) -> None:
        self.inner = inner
        self.tap = tap
        self.sse = sse
        self.buffer = b""

    async def __aiter__(self):  # type: ignore[override]
        async for chunk in self.inner:
            self.buffer += chunk
            if self.sse:
                self._events()
            yield chunk
        if not self.sse and self.buffer.strip():
            self.tap.message("S2C", self.buffer)

    def _events(self) -> None:
        data = self.buffer.replace(b"\r\n", b"\n")
        while b"\n\n" in data:
            event, data = data.split(b"\n\n", 1)
            payload = [line[5:].lstrip(b" ") for line in event.split(b"\n") if line.startswith(b"data:")]
            if payload and any(payload):
                self.tap.message("S2C", b"\n".join(payload))
        self.buffer = data

    async def aclose(self) -> None:
        await self.inner.aclose()


class TappingTransport(httpx2.AsyncBaseTransport):
    """httpx2 transport that records every exchange into an HttpTap."""

    def __init__(self, tap: HttpTap) -> None:
        self.inner = httpx2.AsyncHTTPTransport()
        self.tap = tap

    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
        body = await request.aread()
        rpc: dict[str, Any] = {}
        if body:
            self.tap.message("C2S", body)
            try:
                rpc = json.loads(body)
            except ValueError:
                rpc = {}
        response = await self.inner.handle_async_request(request)
        content_type = response.headers.get("content-type", "")
        session = response.headers.get("mcp-session-id")
        self.tap.exchanges.append(
            {
                "method": request.method,
                "rpc": rpc.get("method"),
                "tool": (rpc.get("params") or {}).get("name") if isinstance(rpc.get("params"), dict) else None,
                "status": response.status_code,
                "content_type": content_type,
                "session": session,
                "request_session": request.headers.get("mcp-session-id"),
                "protocol_version": request.headers.get("mcp-protocol-version"),
                "last_event_id": request.headers.get("last-event-id"),
            }
        )
        self.tap.note(
            f"{request.method}"
            + (f" (Last-Event-ID {request.headers['last-event-id']})" if "last-event-id" in request.headers else "")
            + f" -> {response.status_code} {content_type or '-'}"
            + (f" mcp-session-id={session}" if session else "")
        )
        if response.status_code == 202:
            return response
        sse = content_type.startswith("text/event-stream")
        return httpx2.Response(
            status_code=response.status_code,
            headers=response.headers,
            stream=_TeeStream(response.stream, self.tap, sse),
            extensions=response.extensions,
        )

    async def aclose(self) -> None:
        await self.inner.aclose()


@dataclass
class HttpConn:
    session: ClientSession
    init: dict[str, Any]
    log: Path
    tap: HttpTap


@asynccontextmanager
async def connect_http(logs: TapLogs, server: HttpQuickstart, **session_options: Any) -> AsyncIterator[HttpConn]:
    """An initialized SDK session over streamable HTTP, every message recorded; on a clean exit
    of the body, everything the server sent is validated against the schema. `session_options`
    go to `ClientSession` (callbacks, say)."""
    log = logs.new()
    tap = HttpTap(log)
    tap.note(f"streamable HTTP client of {server.url}")
    http_client = httpx2.AsyncClient(
        transport=TappingTransport(tap), timeout=httpx2.Timeout(30, read=300)
    )
    try:
        async with http_client:
            async with streamable_http_client(server.url, http_client=http_client) as (read, write):
                async with ClientSession(read, write, read_timeout_seconds=30, **session_options) as session:
                    init = dump(await session.initialize())
                    yield HttpConn(session=session, init=init, log=log, tap=tap)
    finally:
        tap.close()
    validate.assert_log_valid(log)
