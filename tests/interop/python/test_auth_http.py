"""Identity over streamable HTTP with the official MCP Python SDK:

  * API keys: a key file written here (the documented JSON-lines format, the key's SHA-256
    digest only), the SDK client sending the key as `X-API-Key` and as a bearer token;
  * OAuth: an authorization server built from the SDK's own server parts
    (`mcp.server.auth.routes.create_auth_routes`, dynamic client registration, PKCE), issuing
    opaque tokens that the quickstart introspects (RFC 7662) at an endpoint served beside
    them; the SDK's `OAuthClientProvider` runs the whole flow from the server's 401
    (`WWW-Authenticate: resource_metadata=…`, RFC 9728 metadata, RFC 8707 `resource`).
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import socket
import threading
import time
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

import httpx2
import pytest
import uvicorn
from mcp import ClientSession
from mcp.client.auth import OAuthClientProvider
from mcp.client.streamable_http import streamable_http_client
from mcp.server.auth.provider import (
    AccessToken,
    AuthorizationCode,
    AuthorizationParams,
    RefreshToken,
    construct_redirect_uri,
)
from mcp.server.auth.routes import create_auth_routes
from mcp.server.auth.settings import ClientRegistrationOptions
from mcp.shared.auth import (
    AuthorizationCodeResult,
    OAuthClientInformationFull,
    OAuthClientMetadata,
    OAuthToken,
)
from pydantic import AnyHttpUrl, AnyUrl
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from interop import HttpQuickstart, TapLogs, dump, text_of

pytestmark = pytest.mark.anyio


def key_line(name: str, scopes: list[str]) -> tuple[str, str]:
    """A new API key and its line for the key file, made as `mcp-cli keys create` makes them."""
    key_id = secrets.token_hex(8)
    secret = base64.urlsafe_b64encode(secrets.token_bytes(32)).rstrip(b"=").decode()
    key = f"mcpk_{key_id}_{secret}"
    line = {"id": key_id, "name": name, "sha256": hashlib.sha256(key.encode()).hexdigest(), "scopes": scopes}
    return key, json.dumps(line)


@pytest.fixture
def key_server(logs: TapLogs, tmp_path: Path):
    key, line = key_line("python", [])
    keys = tmp_path / "keys.jsonl"
    keys.write_text(f"# written by the interop test\n{line}\n")
    srv = HttpQuickstart(logs.server_stderr(), "--api-keys", str(keys))
    try:
        yield srv, key
        assert srv.stop() == 0, srv.stderr()
    finally:
        srv.kill()


async def call_add(url: str, client: httpx2.AsyncClient) -> str:
    async with client:
        async with streamable_http_client(url, http_client=client) as (read, write):
            async with ClientSession(read, write, read_timeout_seconds=30) as session:
                await session.initialize()
                tools = dump(await session.list_tools())
                assert "add" in [t["name"] for t in tools["tools"]]
                return text_of(dump(await session.call_tool("add", {"a": 2, "b": 3})))


async def test_api_key_in_x_api_key_and_as_bearer(key_server: tuple[HttpQuickstart, str]) -> None:
    srv, key = key_server
    for headers in ({"X-API-Key": key}, {"Authorization": f"Bearer {key}"}):
        assert await call_add(srv.url, httpx2.AsyncClient(headers=headers, timeout=30)) == "5"
    async with httpx2.AsyncClient(timeout=30) as raw:
        r = await raw.post(
            srv.url,
            headers={"Accept": "application/json, text/event-stream", "X-API-Key": key[:-2] + "xx"},
            json={"jsonrpc": "2.0", "id": 1, "method": "ping"},
        )
        assert r.status_code == 401
        assert 'error="invalid_token"' in r.headers["www-authenticate"]


# ------------------------------------------------------------------ OAuth


class Provider:
    """An authorization server that approves every request at once and issues opaque tokens."""

    def __init__(self) -> None:
        self.clients: dict[str, OAuthClientInformationFull] = {}
        self.codes: dict[str, AuthorizationCode] = {}
        self.tokens: dict[str, AccessToken] = {}
        self.introspected = 0

    async def get_client(self, client_id: str) -> OAuthClientInformationFull | None:
        return self.clients.get(client_id)

    async def register_client(self, client_info: OAuthClientInformationFull) -> None:
        assert client_info.client_id
        self.clients[client_info.client_id] = client_info

    async def authorize(self, client: OAuthClientInformationFull, params: AuthorizationParams) -> str:
        code = secrets.token_hex(20)
        self.codes[code] = AuthorizationCode(
            code=code,
            scopes=params.scopes or [],
            expires_at=time.time() + 300,
            client_id=client.client_id or "",
            code_challenge=params.code_challenge,
            redirect_uri=params.redirect_uri,
            redirect_uri_provided_explicitly=params.redirect_uri_provided_explicitly,
            resource=params.resource,
            subject="user-1",
        )
        return construct_redirect_uri(str(params.redirect_uri), code=code, state=params.state)

    async def load_authorization_code(self, client: OAuthClientInformationFull, code: str) -> AuthorizationCode | None:
        return self.codes.get(code)

    async def exchange_authorization_code(self, client: OAuthClientInformationFull, code: AuthorizationCode) -> OAuthToken:
        del self.codes[code.code]
        token = secrets.token_hex(24)
        self.tokens[token] = AccessToken(
            token=token,
            client_id=code.client_id,
            scopes=code.scopes,
            expires_at=int(time.time()) + 3600,
            resource=code.resource,
            subject=code.subject,
        )
        return OAuthToken(access_token=token, expires_in=3600, scope=" ".join(code.scopes) or None)

    async def load_refresh_token(self, client: OAuthClientInformationFull, refresh_token: str) -> RefreshToken | None:
        return None

    async def exchange_refresh_token(self, *args: Any) -> OAuthToken:
        raise NotImplementedError

    async def load_access_token(self, token: str) -> AccessToken | None:
        return self.tokens.get(token)

    async def revoke_token(self, token: Any) -> None:
        self.tokens.pop(getattr(token, "token", ""), None)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def authorization_server():
    """The SDK's authorization-server routes plus an RFC 7662 introspection endpoint."""
    provider = Provider()
    port = free_port()
    issuer = f"http://127.0.0.1:{port}"

    async def introspect(request: Request) -> JSONResponse:
        provider.introspected += 1
        form = await request.form()
        token = provider.tokens.get(str(form.get("token", "")))
        if token is None or (token.expires_at and token.expires_at < time.time()):
            return JSONResponse({"active": False})
        claims: dict[str, Any] = {
            "active": True,
            "client_id": token.client_id,
            "scope": " ".join(token.scopes),
            "exp": token.expires_at,
            "iss": issuer + "/",
            "sub": token.subject,
            "token_type": "Bearer",
        }
        if token.resource:
            claims["aud"] = token.resource
        return JSONResponse(claims)

    routes = create_auth_routes(
        provider,
        issuer_url=AnyHttpUrl(issuer),
        client_registration_options=ClientRegistrationOptions(enabled=True),
    )
    app = Starlette(routes=[*routes, Route("/introspect", introspect, methods=["POST"])])
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert time.monotonic() < deadline, "the authorization server did not start"
        time.sleep(0.02)
    try:
        yield issuer, provider
    finally:
        server.should_exit = True
        thread.join(timeout=10)


class Memory:
    def __init__(self) -> None:
        self.tokens: OAuthToken | None = None
        self.client: OAuthClientInformationFull | None = None

    async def get_tokens(self) -> OAuthToken | None:
        return self.tokens

    async def set_tokens(self, tokens: OAuthToken) -> None:
        self.tokens = tokens

    async def get_client_info(self) -> OAuthClientInformationFull | None:
        return self.client

    async def set_client_info(self, client_info: OAuthClientInformationFull) -> None:
        self.client = client_info


async def test_oauth_flow_with_introspected_tokens(logs: TapLogs, authorization_server: tuple[str, Provider]) -> None:
    issuer, provider = authorization_server
    srv = HttpQuickstart(
        logs.server_stderr(),
        "--oauth-issuer",
        issuer + "/",
        "--oauth-introspection",
        f"{issuer}/introspect",
    )
    try:
        redirected: dict[str, str] = {}

        async def redirect_handler(url: str) -> None:
            # The user's browser: the authorization server approves at once and redirects.
            async with httpx2.AsyncClient(timeout=30) as browser:
                r = await browser.get(url, follow_redirects=False)
                assert r.status_code in (302, 303, 307), r.text
                query = parse_qs(urlparse(r.headers["location"]).query)
                redirected.update({k: v[0] for k, v in query.items()})

        async def callback_handler() -> AuthorizationCodeResult:
            return AuthorizationCodeResult(code=redirected["code"], state=redirected.get("state"))

        auth = OAuthClientProvider(
            server_url=srv.url,
            client_metadata=OAuthClientMetadata(
                client_name="interop",
                redirect_uris=[AnyUrl("http://127.0.0.1:9/callback")],
                grant_types=["authorization_code", "refresh_token"],
                response_types=["code"],
            ),
            storage=Memory(),
            redirect_handler=redirect_handler,
            callback_handler=callback_handler,
        )
        assert await call_add(srv.url, httpx2.AsyncClient(auth=auth, timeout=30)) == "5"
        assert provider.introspected >= 1, "the server introspected the token"
        token = next(iter(provider.tokens.values()))
        assert token.resource == srv.url, "the client asked for a token for this server (RFC 8707)"

        # A revoked token is refused at once (after the introspection cache, which is short).
        async with httpx2.AsyncClient(timeout=30) as raw:
            r = await raw.post(
                srv.url,
                headers={"Accept": "application/json, text/event-stream", "Authorization": "Bearer not-issued"},
                json={"jsonrpc": "2.0", "id": 1, "method": "ping"},
            )
            assert r.status_code == 401
            assert "not active" in r.text
            meta = await raw.get(srv.url.replace("/mcp", "/.well-known/oauth-protected-resource/mcp"))
            assert meta.json()["authorization_servers"] == [issuer + "/"]
        assert srv.stop() == 0, srv.stderr()
    finally:
        srv.kill()
