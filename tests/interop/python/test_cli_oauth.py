"""`mcp-cli --url` against a server nobody here wrote: the official Python SDK's `MCPServer`
protected by the SDK's own authorization-server parts (metadata, dynamic client
registration, the authorize and token endpoints with their PKCE checks, refresh tokens),
with a login page the test's scripted browser fills in.

The browser step: `mcp-cli` prints the authorization URL (`--no-browser`); the test GETs it,
follows the authorization server to its login page, submits the form, and follows the
redirect back to `mcp-cli`'s loopback port. Then:

  * the tokens are kept per server in the configuration directory, readable by the user only,
    sealed under a key the OS keychain keeps (no token in the file);
  * a second command uses them without a browser;
  * once the server has forgotten its access tokens, the next command refreshes;
  * `mcp-cli auth status` tells the login (never the tokens), `auth logout` forgets it.
"""

from __future__ import annotations

import os
import re
import secrets
import socket
import stat
import subprocess
import threading
import time
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

import httpx2
import pytest
import uvicorn
from mcp.server.auth.provider import (
    AccessToken,
    AuthorizationCode,
    AuthorizationParams,
    RefreshToken,
    construct_redirect_uri,
)
from mcp.server.auth.settings import AuthSettings, ClientRegistrationOptions
from mcp.server.mcpserver import MCPServer
from mcp.shared.auth import OAuthClientInformationFull, OAuthToken
from pydantic import AnyHttpUrl
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from interop import ROOT

CLI = Path(os.environ.get("MCP_CLI_BIN") or ROOT / "target" / "debug" / "mcp-cli")


class Provider:
    """An in-memory authorization server behind the SDK's routes: it asks the user to log
    in (a form), issues opaque access tokens and refresh tokens."""

    def __init__(self, issuer: str) -> None:
        self.issuer = issuer
        self.clients: dict[str, OAuthClientInformationFull] = {}
        self.pending: dict[str, tuple[OAuthClientInformationFull, AuthorizationParams]] = {}
        self.codes: dict[str, AuthorizationCode] = {}
        self.tokens: dict[str, AccessToken] = {}
        self.refresh: dict[str, RefreshToken] = {}
        self.logins = 0
        self.refreshed = 0

    async def get_client(self, client_id: str) -> OAuthClientInformationFull | None:
        return self.clients.get(client_id)

    async def register_client(self, client_info: OAuthClientInformationFull) -> None:
        assert client_info.client_id
        self.clients[client_info.client_id] = client_info

    async def authorize(self, client: OAuthClientInformationFull, params: AuthorizationParams) -> str:
        txn = secrets.token_urlsafe(16)
        self.pending[txn] = (client, params)
        return f"{self.issuer}/login?txn={txn}"

    def approve(self, txn: str, user: str) -> str:
        client, params = self.pending.pop(txn)
        self.logins += 1
        code = secrets.token_hex(20)
        self.codes[code] = AuthorizationCode(
            code=code,
            scopes=params.scopes or ["mcp"],
            expires_at=time.time() + 300,
            client_id=client.client_id or "",
            code_challenge=params.code_challenge,
            redirect_uri=params.redirect_uri,
            redirect_uri_provided_explicitly=params.redirect_uri_provided_explicitly,
            resource=params.resource,
            subject=user,
        )
        return construct_redirect_uri(str(params.redirect_uri), code=code, state=params.state)

    def issue(self, client_id: str, scopes: list[str], resource: str | None, subject: str | None) -> OAuthToken:
        token, refresh = secrets.token_hex(24), secrets.token_hex(24)
        self.tokens[token] = AccessToken(
            token=token, client_id=client_id, scopes=scopes, expires_at=int(time.time()) + 3600,
            resource=resource, subject=subject,
        )
        self.refresh[refresh] = RefreshToken(
            token=refresh, client_id=client_id, scopes=scopes, resource=resource, subject=subject,
        )
        return OAuthToken(access_token=token, expires_in=3600, scope=" ".join(scopes), refresh_token=refresh)

    async def load_authorization_code(self, client: OAuthClientInformationFull, code: str) -> AuthorizationCode | None:
        return self.codes.get(code)

    async def exchange_authorization_code(self, client: OAuthClientInformationFull, code: AuthorizationCode) -> OAuthToken:
        del self.codes[code.code]
        return self.issue(code.client_id, code.scopes, code.resource, code.subject)

    async def load_refresh_token(self, client: OAuthClientInformationFull, refresh_token: str) -> RefreshToken | None:
        return self.refresh.get(refresh_token)

    async def exchange_refresh_token(
        self, client: OAuthClientInformationFull, refresh_token: RefreshToken, scopes: list[str]
    ) -> OAuthToken:
        del self.refresh[refresh_token.token]
        self.refreshed += 1
        return self.issue(refresh_token.client_id, scopes or refresh_token.scopes, refresh_token.resource, refresh_token.subject)

    async def load_access_token(self, token: str) -> AccessToken | None:
        return self.tokens.get(token)

    async def revoke_token(self, token: Any) -> None:
        self.tokens.pop(getattr(token, "token", ""), None)


@pytest.fixture
def protected_server():
    """The SDK's MCPServer with one tool, its OAuth authorization server on the same origin."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    issuer = f"http://127.0.0.1:{port}"
    provider = Provider(issuer)
    mcp = MCPServer(
        "python-sdk-protected",
        auth_server_provider=provider,
        auth=AuthSettings(
            issuer_url=AnyHttpUrl(issuer),
            resource_server_url=AnyHttpUrl(f"{issuer}/mcp"),
            client_registration_options=ClientRegistrationOptions(enabled=True, valid_scopes=["mcp"], default_scopes=["mcp"]),
            required_scopes=["mcp"],
            validate_token_resource=True,
        ),
    )

    @mcp.tool()
    def whoami() -> str:
        """The caller's subject."""
        return "hello from a protected server"

    @mcp.custom_route("/login", methods=["GET", "POST"])
    async def login(request: Request) -> Response:
        if request.method == "GET":
            txn = request.query_params["txn"]
            return HTMLResponse(
                f'<form method="post" action="/login"><input type="hidden" name="txn" value="{txn}">'
                '<input name="user"><button>Log in</button></form>'
            )
        form = await request.form()
        return RedirectResponse(provider.approve(str(form["txn"]), str(form["user"])), status_code=302)

    @mcp.custom_route("/forget-access-tokens", methods=["POST"])
    async def forget(request: Request) -> Response:
        provider.tokens.clear()
        return Response(status_code=204)

    app = mcp.streamable_http_app(host="127.0.0.1")
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not server.started:
        assert time.monotonic() < deadline, "the SDK server did not start"
        time.sleep(0.02)
    try:
        yield f"{issuer}/mcp", provider
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def browser(authorize_url: str) -> None:
    """The user: opens the authorization URL, logs in on the form, and is sent back."""
    with httpx2.Client(follow_redirects=False, timeout=10) as http:
        r = http.get(authorize_url)
        assert r.status_code in (302, 303, 307), r.text
        login = r.headers["location"]
        page = http.get(login)
        txn = re.search(r'name="txn" value="([^"]+)"', page.text)
        assert txn, page.text
        r = http.post(urlparse(login)._replace(query="").geturl(), data={"txn": txn.group(1), "user": "ada"})
        assert r.status_code == 302, r.text
        back = r.headers["location"]
        assert back.startswith("http://127.0.0.1:"), back
        assert "code" in parse_qs(urlparse(back).query)
        done = http.get(back)
        assert done.status_code == 200, done.text


def run_cli(args: list[str], config: Path, with_browser: bool = False) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "MCP_CLI_CONFIG_DIR": str(config), "RUST_LOG": "warn"}
    proc = subprocess.Popen(
        [str(CLI), *args], stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        text=True, env=env,
    )
    err_lines: list[str] = []
    opened = threading.Event()

    def read_stderr() -> None:
        assert proc.stderr
        for line in proc.stderr:
            err_lines.append(line)
            url = line.strip()
            if with_browser and url.startswith("http") and "/authorize?" in url and not opened.is_set():
                opened.set()
                threading.Thread(target=browser, args=(url,), daemon=True).start()

    out_parts: list[str] = []

    def read_stdout() -> None:
        assert proc.stdout
        out_parts.append(proc.stdout.read())

    readers = [threading.Thread(target=f, daemon=True) for f in (read_stderr, read_stdout)]
    for t in readers:
        t.start()
    try:
        proc.wait(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    for t in readers:
        t.join(timeout=5)
    out = "".join(out_parts)
    assert with_browser == opened.is_set(), "".join(err_lines)
    return subprocess.CompletedProcess(proc.args, proc.returncode, out, "".join(err_lines))


def test_cli_logs_in_to_the_python_sdk_server_keeps_and_refreshes_its_tokens(protected_server, tmp_path: Path) -> None:
    url, provider = protected_server
    config = tmp_path / "config"

    # Without a login the server refuses, and says how to log in.
    r = run_cli(["list", "tools", "--url", url, "--no-login"], config)
    assert r.returncode == 3, r.stderr
    assert "mcp-cli auth login" in r.stderr, r.stderr

    # The first call logs in through the browser.
    r = run_cli(["call", "whoami", "--url", url, "--no-browser"], config, with_browser=True)
    assert r.returncode == 0, r.stderr
    assert "hello from a protected server" in r.stdout
    assert provider.logins == 1
    assert "logged in (authorization_code" in r.stderr, r.stderr

    files = list((config / "tokens").iterdir())
    assert len(files) == 1
    assert stat.S_IMODE(files[0].stat().st_mode) == 0o600
    assert stat.S_IMODE((config / "tokens").stat().st_mode) == 0o700
    kept = files[0].read_text()
    assert '"sealed"' in kept
    for token in [*provider.tokens, *provider.refresh]:
        assert token not in kept

    # The kept token works without a browser.
    r = run_cli(["list", "tools", "--url", url, "--no-browser"], config)
    assert r.returncode == 0, r.stderr
    assert "whoami" in r.stdout
    assert provider.logins == 1

    # The server forgets its access tokens: the refresh token gets a new one, no browser.
    httpx2.post(url.replace("/mcp", "/forget-access-tokens"))
    r = run_cli(["call", "whoami", "--url", url, "--no-browser"], config)
    assert r.returncode == 0, r.stderr
    assert provider.refreshed == 1 and provider.logins == 1
    assert "logged in (refresh_token" in r.stderr, r.stderr

    r = run_cli(["auth", "status", url], config)
    assert r.returncode == 0, r.stderr
    assert url in r.stdout and "refreshable" in r.stdout
    for token in [*provider.tokens, *provider.refresh]:
        assert token not in r.stdout

    r = run_cli(["auth", "logout", url], config)
    assert r.returncode == 0 and "logged out" in r.stdout
    assert list((config / "tokens").iterdir()) == []
    r = run_cli(["auth", "status"], config)
    assert "no logins kept" in r.stdout


def test_cli_auth_login_then_commands_use_the_login(protected_server, tmp_path: Path) -> None:
    url, provider = protected_server
    config = tmp_path / "config"
    r = run_cli(["auth", "login", url, "--no-browser"], config, with_browser=True)
    assert r.returncode == 0, r.stderr
    assert f"logged in to {url}" in r.stdout, r.stdout
    r = run_cli(["call", "whoami", "--url", url, "--no-browser"], config)
    assert r.returncode == 0, r.stderr
    assert provider.logins == 1
    # Logging out of the last server forgets the keychain's key as well.
    r = run_cli(["auth", "logout", url], config)
    assert r.returncode == 0 and "logged out" in r.stdout
