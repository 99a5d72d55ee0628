"""The notes example (resources, templates, prompts, completion), driven over stdio by the
official MCP Python SDK client. Every message the server sends is validated against the
negotiated revision's schema when the connection closes (see interop.connect).
"""

from __future__ import annotations

import base64
import json

import anyio
import pytest

from interop import (
    MCPError,
    PNG_SIGNATURE,
    TapLogs,
    connect,
    dump,
    error_code,
    error_message,
    mcp_types,
)

pytestmark = pytest.mark.anyio


def notes(logs: TapLogs, **options):
    return connect(logs, example="notes", **options)


async def read(conn, uri: str) -> list[dict]:
    return dump(await conn.session.read_resource(uri))["contents"]


async def test_capabilities(logs: TapLogs) -> None:
    async with notes(logs) as conn:
        caps = conn.init["capabilities"]
    assert caps["resources"] == {"subscribe": True, "listChanged": True}
    assert caps["prompts"] == {"listChanged": True}
    assert "completions" in caps


async def test_list_resources_and_templates(logs: TapLogs) -> None:
    async with notes(logs) as conn:
        resources = dump(await conn.session.list_resources())["resources"]
        templates = dump(await conn.session.list_resource_templates())["resourceTemplates"]
    assert [r["uri"] for r in resources] == ["images://logo.png", "notes://index"]
    index = resources[1]
    assert index["name"] == "note_index"
    assert index["title"] == "Note index"
    assert index["mimeType"] == "application/json"
    assert resources[0]["size"] == 69
    assert [t["uriTemplate"] for t in templates] == [
        "docs://{+path}",
        "math://sum{/n*}",
        "notes://{name}",
        "search://notes{?q,limit}",
    ]
    note = templates[2]
    assert note["mimeType"] == "text/markdown"
    assert note["annotations"] == {"audience": ["user", "assistant"], "priority": 0.8}
    assert note["description"] == "One note, by name."


async def test_read_text_json_and_binary(logs: TapLogs) -> None:
    async with notes(logs) as conn:
        index = await read(conn, "notes://index")
        logo = await read(conn, "images://logo.png")
    assert index[0]["mimeType"] == "application/json"
    names = [n["name"] for n in json.loads(index[0]["text"])]
    assert names == ["groceries", "ideas", "todo"]
    assert logo[0]["uri"] == "images://logo.png"
    assert logo[0]["mimeType"] == "image/png"
    assert base64.b64decode(logo[0]["blob"]).startswith(PNG_SIGNATURE)


@pytest.mark.parametrize(
    ("uri", "expected"),
    [
        ("notes://ideas", "a Rust MCP framework"),  # {var}
        ("docs://guide/search", "# Search\nUse `search://notes?q=word`."),  # {+var} keeps slashes
        ("math://sum/1/2/39", "42"),  # {/var*} explodes into a list
        ("math://sum", "0"),  # an empty list
    ],
)
async def test_templates_of_each_kind(logs: TapLogs, uri: str, expected: str) -> None:
    async with notes(logs) as conn:
        contents = await read(conn, uri)
    assert contents == [{"uri": uri, "mimeType": contents[0]["mimeType"], "text": expected}]


async def test_query_template(logs: TapLogs) -> None:
    async with notes(logs) as conn:
        everything = json.loads((await read(conn, "search://notes?q=e"))[0]["text"])
        limited = json.loads((await read(conn, "search://notes?q=e&limit=1"))[0]["text"])
    assert everything == ["notes://groceries", "notes://ideas", "notes://todo"]
    assert limited == ["notes://groceries"]


async def test_read_errors(logs: TapLogs) -> None:
    async with notes(logs) as conn:
        with pytest.raises(MCPError) as missing:
            await conn.session.read_resource("notes://nonexistent")
        with pytest.raises(MCPError) as unknown:
            await conn.session.read_resource("nothing://at/all")
        with pytest.raises(MCPError) as bad:
            await conn.session.read_resource("math://sum/1/x")
    assert error_code(missing.value) == -32002
    assert "notes://nonexistent" in error_message(missing.value)
    assert error_code(unknown.value) == -32002
    assert error_code(bad.value) == -32602
    assert "template variable `n`" in error_message(bad.value)


async def test_subscribe_and_receive_an_update(logs: TapLogs) -> None:
    updates: list[str] = []

    async def on_message(message) -> None:
        if isinstance(message, mcp_types.ResourceUpdatedNotification):
            updates.append(str(message.params.uri))

    async with notes(logs, message_handler=on_message) as conn:
        assert dump(await conn.session.subscribe_resource("notes://todo")) == {}
        result = dump(await conn.session.call_tool("write_note", {"name": "todo", "text": "ship it"}))
        assert not result.get("isError"), result
        with anyio.fail_after(10):
            while "notes://todo" not in updates:
                await anyio.sleep(0.02)
        assert (await read(conn, "notes://todo"))[0]["text"] == "ship it"
        await conn.session.unsubscribe_resource("notes://todo")
        await conn.session.call_tool("write_note", {"name": "todo", "text": "again"})
        await conn.session.send_ping()
    assert updates == ["notes://todo"], "one update before unsubscribing, none after"


async def test_list_prompts(logs: TapLogs) -> None:
    async with notes(logs) as conn:
        prompts = {p["name"]: p for p in dump(await conn.session.list_prompts())["prompts"]}
    assert list(prompts) == ["discuss_note", "review_code", "summarize_notes"]
    assert prompts["summarize_notes"]["title"] == "Summarize notes"
    assert prompts["summarize_notes"].get("arguments", []) == []
    assert prompts["review_code"]["arguments"] == [
        {"name": "code", "description": "The code to review.", "required": True},
        {"name": "language", "description": "The language it is written in.", "required": True},
        {"name": "focus", "description": "What to look at most (default: correctness).", "required": False},
    ]


async def test_prompts_with_and_without_arguments(logs: TapLogs) -> None:
    async with notes(logs) as conn:
        summary = dump(await conn.session.get_prompt("summarize_notes"))
        review = dump(await conn.session.get_prompt("review_code", {"code": "fn main() {}", "language": "rust"}))
        discuss = dump(await conn.session.get_prompt("discuss_note", {"name": "ideas"}))
    assert summary["description"] == "Summarize every note in a few bullet points."
    assert summary["messages"][0]["role"] == "user"
    assert "## groceries" in summary["messages"][0]["content"]["text"]
    assert [m["role"] for m in review["messages"]] == ["user", "assistant"]
    assert "```rust\nfn main() {}\n```" in review["messages"][0]["content"]["text"]
    assert "correctness" in review["messages"][0]["content"]["text"]
    assert discuss["description"] == "A discussion of notes://ideas"
    embedded = discuss["messages"][0]["content"]
    assert embedded["type"] == "resource"
    assert embedded["resource"] == {"uri": "notes://ideas", "mimeType": "text/markdown", "text": "a Rust MCP framework"}


async def test_prompt_errors_name_the_argument(logs: TapLogs) -> None:
    async with notes(logs) as conn:
        with pytest.raises(MCPError) as missing:
            await conn.session.get_prompt("review_code", {"code": "x"})
        with pytest.raises(MCPError) as unknown:
            await conn.session.get_prompt("no_such_prompt")
        with pytest.raises(MCPError) as failed:
            await conn.session.get_prompt("discuss_note", {"name": "nope"})
    assert error_code(missing.value) == -32602
    assert "missing required argument `language`" in error_message(missing.value)
    assert error_code(unknown.value) == -32602
    assert error_code(failed.value) == -32603
    assert "there is no note named `nope`" in error_message(failed.value)


async def test_completion(logs: TapLogs) -> None:
    async with notes(logs) as conn:
        language = dump(
            await conn.session.complete(
                mcp_types.PromptReference(type="ref/prompt", name="review_code"),
                {"name": "language", "value": "py"},
                context_arguments={"code": "print(1)"},
            )
        )
        note = dump(
            await conn.session.complete(
                mcp_types.ResourceTemplateReference(type="ref/resource", uri="notes://{name}"),
                {"name": "name", "value": "g"},
            )
        )
        path = dump(
            await conn.session.complete(
                mcp_types.ResourceTemplateReference(type="ref/resource", uri="docs://{+path}"),
                {"name": "path", "value": "guide/"},
            )
        )
        nothing = dump(
            await conn.session.complete(
                mcp_types.PromptReference(type="ref/prompt", name="review_code"),
                {"name": "code", "value": ""},
            )
        )
    assert language["completion"]["values"] == ["python"]
    assert note["completion"]["values"] == ["groceries"]
    assert path["completion"]["values"] == ["guide/intro", "guide/search"]
    assert nothing["completion"]["values"] == []
