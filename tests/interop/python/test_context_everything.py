"""What a handler asks of the client through `Context` (sampling, elicitation, roots), and
cancellation of a running call, driven by the official MCP Python SDK client against the
`everything` example, over stdio and over streamable HTTP. The SDK's own callbacks answer the
server's requests; every message the server sends is validated against the schema.
"""

from __future__ import annotations

import json
from contextlib import asynccontextmanager
from typing import Any, AsyncIterator

import anyio
import pytest

from balanced import BalancedServer
from interop import HttpQuickstart, TapLogs, connect, connect_http, dump, log_messages, mcp_types, tool_call_id

pytestmark = pytest.mark.anyio

ROOTS = ["file:///home/ada/project", "file:///tmp/scratch"]


class Answers:
    """The client side of the server's requests: what was asked, and what to answer."""

    def __init__(self, elicit_action: str = "accept") -> None:
        self.asked: list[tuple[str, dict[str, Any]]] = []
        self.elicit_action = elicit_action

    async def sampling(self, context: Any, params: mcp_types.CreateMessageRequestParams) -> Any:
        self.asked.append(("sampling/createMessage", dump(params)))
        question = params.messages[0].content.text
        return mcp_types.CreateMessageResult(
            role="assistant",
            content=mcp_types.TextContent(type="text", text=f"an answer to {question!r}"),
            model="test-model",
            stop_reason="endTurn",
        )

    async def elicitation(self, context: Any, params: mcp_types.ElicitRequestParams) -> Any:
        self.asked.append(("elicitation/create", dump(params)))
        if self.elicit_action != "accept":
            return mcp_types.ElicitResult(action=self.elicit_action)
        return mcp_types.ElicitResult(action="accept", content={"username": "ada", "email": "ada@example.com"})

    async def roots(self, context: Any) -> Any:
        self.asked.append(("roots/list", {}))
        return mcp_types.ListRootsResult(roots=[mcp_types.Root(uri=u) for u in ROOTS])

    def callbacks(self) -> dict[str, Any]:
        return {
            "sampling_callback": self.sampling,
            "elicitation_callback": self.elicitation,
            "list_roots_callback": self.roots,
        }


@pytest.fixture(params=["stdio", "http", "balanced"])
def transport(request: pytest.FixtureRequest) -> str:
    """stdio; streamable HTTP to one process; or to three replicas behind a round-robin
    balancer, sharing state through Redis (balanced.py)."""
    return request.param


@asynccontextmanager
async def everything(logs: TapLogs, transport: str, answers: Answers) -> AsyncIterator[Any]:
    if transport == "stdio":
        async with connect(logs, example="everything", **answers.callbacks()) as conn:
            yield conn
        return
    server = (BalancedServer if transport == "balanced" else HttpQuickstart)(logs.server_stderr(), example="everything")
    try:
        async with connect_http(logs, server, **answers.callbacks()) as conn:
            yield conn
        status = server.stop()
        assert status == 0, f"the server exited with {status} after SIGTERM:\n{server.stderr()}"
    finally:
        server.kill()


def text(result: Any) -> str:
    return "".join(c["text"] for c in dump(result)["content"] if c["type"] == "text")


async def test_sampling_goes_through_the_clients_callback(logs: TapLogs, transport: str) -> None:
    answers = Answers()
    async with everything(logs, transport, answers) as conn:
        result = await conn.session.call_tool("test_sampling", {"prompt": "What is 6 x 7?"})
    assert not dump(result).get("isError"), dump(result)
    assert text(result) == "LLM response: an answer to 'What is 6 x 7?'"
    [(method, params)] = answers.asked
    assert method == "sampling/createMessage"
    assert params["maxTokens"] == 100
    assert params["messages"] == [{"role": "user", "content": {"type": "text", "text": "What is 6 x 7?"}}]


async def test_elicitation_accepted_sends_a_typed_form(logs: TapLogs, transport: str) -> None:
    answers = Answers()
    async with everything(logs, transport, answers) as conn:
        result = await conn.session.call_tool("test_elicitation", {"message": "Who are you?"})
    [(method, params)] = answers.asked
    assert method == "elicitation/create"
    assert params["message"] == "Who are you?"
    schema = params["requestedSchema"]
    assert schema["required"] == ["username", "email"]
    assert schema["properties"]["email"] == {
        "type": "string",
        "description": "Your email address.",
        "format": "email",
    }
    body = text(result)
    assert body.startswith("User response: action=accept, content="), body
    assert json.loads(body.split("content=", 1)[1]) == {"username": "ada", "email": "ada@example.com"}


@pytest.mark.parametrize("action", ["decline", "cancel"])
async def test_an_elicitation_the_user_declines_or_cancels(logs: TapLogs, transport: str, action: str) -> None:
    answers = Answers(elicit_action=action)
    async with everything(logs, transport, answers) as conn:
        result = await conn.session.call_tool("test_elicitation", {"message": "Who are you?"})
    assert not dump(result).get("isError"), dump(result)
    assert text(result) == f"User response: action={action}"


async def test_roots_come_from_the_client(logs: TapLogs, transport: str) -> None:
    answers = Answers()
    async with everything(logs, transport, answers) as conn:
        result = await conn.session.call_tool("test_roots", {})
    assert text(result).split("\n") == ROOTS
    assert [m for m, _ in answers.asked] == ["roots/list"]


async def test_a_running_call_cancelled_by_the_client_stops(logs: TapLogs, transport: str) -> None:
    answers = Answers()
    async with everything(logs, transport, answers) as conn:
        with anyio.move_on_after(1.0) as scope:
            await conn.session.call_tool("test_cancellation", {})
        assert scope.cancelled_caught, "the call should still be running when abandoned"

        async def cancelled() -> list[str]:
            result = await conn.session.call_tool("test_cancellation_log", {})
            return dump(result)["structuredContent"]["result"]

        log: list[str] = []
        with anyio.fail_after(10):
            while not log:
                log = await cancelled()
                if not log:
                    await anyio.sleep(0.05)
        assert len(log) == 1, log
    call_id = tool_call_id(conn.log, "test_cancellation")
    assert str(call_id) == log[0], "the cancellation reached the call the client abandoned"
    cancels = [m for m in log_messages(conn.log, "C2S") if m.get("method") == "notifications/cancelled"]
    assert [c["params"]["requestId"] for c in cancels] == [call_id]
    answered = [m for m in log_messages(conn.log, "S2C") if m.get("id") == call_id and "method" not in m]
    assert not answered, f"a cancelled call gets no response: {answered}"
