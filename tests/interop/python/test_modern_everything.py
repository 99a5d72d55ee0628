"""One server, both eras: the official MCP Python SDK's high-level `Client` against the
`everything` example in `auto` mode (it probes `server/discover`, then speaks 2026-07-28: no
handshake, per-request `_meta`, `input_required` results) and in `legacy` mode (the initialize
handshake), over stdio and over streamable HTTP. Every message the server sends is validated
against the schema of the revision spoken.
"""

from __future__ import annotations

from contextlib import asynccontextmanager
from typing import Any, AsyncIterator

import anyio
import httpx2
import pytest
from mcp import Client, StdioServerParameters
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.subscriptions import ToolsListChanged

import validate
from balanced import BalancedServer
from interop import HttpQuickstart, HttpTap, TapLogs, TappingTransport, dump, mcp_types, tap_command

pytestmark = pytest.mark.anyio


@pytest.fixture(params=["stdio", "http", "balanced"])
def transport(request: pytest.FixtureRequest) -> str:
    """stdio; streamable HTTP to one process; or to three replicas behind a round-robin
    balancer, sharing state through Redis (balanced.py)."""
    return request.param


@pytest.fixture(params=["auto", "legacy"])
def mode(request: pytest.FixtureRequest) -> str:
    return request.param


class User:
    """Answers the server's questions as a user named Ada who likes teal would."""

    def __init__(self) -> None:
        self.asked: list[str] = []

    async def elicitation(self, context: Any, params: mcp_types.ElicitRequestParams) -> Any:
        self.asked.append(params.message)
        fields = dump(params)["requestedSchema"]["properties"]
        content = {"name": "Ada"} if "name" in fields else {"color": "teal"}
        return mcp_types.ElicitResult(action="accept", content=content)

    async def sampling(self, context: Any, params: mcp_types.CreateMessageRequestParams) -> Any:
        return mcp_types.CreateMessageResult(
            role="assistant",
            content=mcp_types.TextContent(type="text", text="Paris"),
            model="test-model",
            stop_reason="endTurn",
        )


@asynccontextmanager
async def everything(logs: TapLogs, transport: str, mode: str, user: User) -> AsyncIterator[Client]:
    options = {"mode": mode, "elicitation_callback": user.elicitation, "sampling_callback": user.sampling}
    log = logs.new()
    if transport == "stdio":
        command = tap_command(log, "everything")
        params = StdioServerParameters(command=command[0], args=command[1:])
        async with Client(params, read_timeout_seconds=30, **options) as client:
            yield client
        validate.assert_log_valid(log)
        return
    server = (BalancedServer if transport == "balanced" else HttpQuickstart)(logs.server_stderr(), example="everything")
    tap = HttpTap(log)
    try:
        http_client = httpx2.AsyncClient(transport=TappingTransport(tap), timeout=httpx2.Timeout(30, read=300))
        async with http_client:
            async with Client(
                streamable_http_client(server.url, http_client=http_client), read_timeout_seconds=30, **options
            ) as client:
                yield client
        tap.close()
        validate.assert_log_valid(log)
        status = server.stop()
        assert status == 0, f"the server exited with {status} after SIGTERM:\n{server.stderr()}"
    finally:
        tap.close()
        server.kill()


def text(result: Any) -> str:
    return "".join(c["text"] for c in dump(result)["content"] if c["type"] == "text")


async def test_the_mode_decides_the_revision(logs: TapLogs, transport: str, mode: str) -> None:
    async with everything(logs, transport, mode, User()) as client:
        assert client.protocol_version == ("2026-07-28" if mode == "auto" else "2025-11-25")
        assert client.server_info is not None and client.server_info.name == "mcp-conformance-test-server"
        tools = [t.name for t in (await client.list_tools()).tools]
        assert "test_simple_text" in tools
        assert text(await client.call_tool("test_simple_text", {})) == "This is a simple text response for testing."


async def test_an_elicitation_round_trip_in_either_era(logs: TapLogs, transport: str, mode: str) -> None:
    user = User()
    async with everything(logs, transport, mode, user) as client:
        result = await client.call_tool("test_input_required_result_multi_round", {})
    assert text(result) == "Ada likes teal."
    assert user.asked == ["Step 1: What is your name?", "Step 2: What is your favorite color?"]


async def test_several_questions_at_once(logs: TapLogs, transport: str, mode: str) -> None:
    user = User()
    async with everything(logs, transport, mode, user) as client:
        result = await client.call_tool("test_input_required_result_elicitation", {})
        sampled = await client.call_tool("test_input_required_result_sampling", {})
    assert text(result) == "Hello, Ada!"
    assert text(sampled) == "The model says: Paris"


async def test_subscriptions_listen_hears_a_list_change(logs: TapLogs, transport: str) -> None:
    async with everything(logs, transport, "auto", User()) as client:
        async with client.listen(tools_list_changed=True) as subscription:
            assert subscription.honored.tools_list_changed
            await client.call_tool("test_trigger_tool_change", {})
            with anyio.fail_after(10):
                event = await subscription.__anext__()
            assert isinstance(event, ToolsListChanged), repr(event)
            # Put the tool back for the next test.
            await client.call_tool("test_trigger_tool_change", {})
