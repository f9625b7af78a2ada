"""The game's MCP server over HTTP, driven with raw requests: one endpoint for
every model of the game, both protocol eras (2025 sessions, 2026-07-28
stateless), hot reload, the transport's rules, a transport that cannot be
starved, and many concurrent clients racing the game's own inference.

The engine runs tests/project/mcp_server.gd: runtimes for linear.pte,
two_io.pte and "hot" (a copy of linear.pte the tests rewrite)."""

from __future__ import annotations

import http.client
import json
import random
import re
import shutil
import socket
import threading
import time
from pathlib import Path

import pytest
import torch
from torch import nn

from model_tools import export_model
from tests.integration.conftest import LEAK_MARKERS
from tests.integration.mcp_helpers import (
    META_2026, PROTOCOL_2025, PROTOCOL_2026, McpEngine, initialize, post, read_event_stream, request, rpc, rpc_2026,
    start_engine,
)

TOKEN = "s3cret-token"


@pytest.fixture(scope="module")
def hot_model(test_models: Path, tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("hot") / "hot.pte"
    shutil.copy(test_models / "linear.pte", path)
    return path


@pytest.fixture(scope="module")
def engine(godot_bin: Path, test_models: Path, hot_model: Path, tmp_path_factory) -> McpEngine:
    engine = start_engine(godot_bin, tmp_path_factory.mktemp("mcp-control"), hot_model=hot_model)
    yield engine
    engine.stop()


@pytest.fixture(scope="module")
def limited(godot_bin: Path, test_models: Path, tmp_path_factory) -> McpEngine:
    """A server with a token, a small body limit and short, few sessions."""
    options = {"token": TOKEN, "max_body_bytes": 4096, "session_idle_seconds": 2, "max_sessions": 3}
    engine = start_engine(godot_bin, tmp_path_factory.mktemp("mcp-limited"), options)
    yield engine
    engine.stop()


AUTH = {"Authorization": f"Bearer {TOKEN}"}


def _tool_names(body) -> list[str]:
    return [tool["name"] for tool in body["result"]["tools"]]


# --- every model of the game -----------------------------------------------------------


def test_every_model_is_listed_under_its_name(engine: McpEngine):
    assert engine.models == ["hot", "linear", "two_io"]
    session = initialize(engine.port)
    names = _tool_names(rpc(engine.port, session, "tools/list")[2])
    assert names == ["get_model_info", "health_check", "list_models", "run_inference",
                     "hot.forward", "linear.forward", "two_io.forward"]
    _, _, listed = rpc(engine.port, session, "tools/call", {"name": "list_models", "arguments": {}})
    models = listed["result"]["structuredContent"]["models"]
    assert [(m["name"], m["path"].split("/")[-1], m["methods"]) for m in models] == [
        ("hot", "hot.pte", ["forward"]), ("linear", "linear.pte", ["forward"]), ("two_io", "two_io.pte", ["forward"])]


def test_models_are_called_by_name_and_by_their_tools(engine: McpEngine):
    session = initialize(engine.port)

    def call(name, arguments):
        return rpc(engine.port, session, "tools/call", {"name": name, "arguments": arguments})[2]["result"]

    concept = call("run_inference", {"model": "linear", "input_0": [2.5]})  # the concept's call shape
    assert concept["structuredContent"] == {"output_0": [8.0]} and not concept["isError"]
    assert call("run_inference", {"model": "linear", "inputs": {"input_0": [2.5]}})["structuredContent"] == {"output_0": [8.0]}
    assert call("linear.forward", {"input_0": [1.0]})["structuredContent"] == {"output_0": [5.0]}
    two = call("two_io.forward", {"input_0": [1.0, 2.0, 3.0], "input_1": [4.0, 5.0, 7.0]})
    assert two["structuredContent"] == {"output_0": [-3.0, -3.0, -4.0], "output_1": [4.0, 10.0, 21.0]}, two
    unnamed = call("run_inference", {"input_0": [1.0]})
    assert unnamed["isError"]
    assert unnamed["content"][0]["text"] == "The game has 3 models loaded (hot, linear, two_io); say which with the 'model' argument."
    unknown = call("run_inference", {"model": "nope", "input_0": [1.0]})
    assert unknown["isError"] and "No model named 'nope'; the game's models are: hot, linear, two_io." in unknown["content"][0]["text"]
    both = call("run_inference", {"model": "linear", "input_0": [1.0], "inputs": {"input_0": [1.0]}})
    assert both["isError"] and "not both" in both["content"][0]["text"]
    info = call("get_model_info", {"model": "two_io"})["structuredContent"]
    assert info["name"] == "two_io" and [i["shape"] for i in info["methods"]["forward"]["inputs"]] == [[3], [3]]
    health = call("health_check", {})["structuredContent"]
    assert health["status"] == "ok" and [m["name"] for m in health["models"]] == ["hot", "linear", "two_io"]


def test_the_run_inference_schema_says_both_shapes(engine: McpEngine):
    session = initialize(engine.port)
    tools = {t["name"]: t for t in rpc(engine.port, session, "tools/list")[2]["result"]["tools"]}
    schema = tools["run_inference"]["inputSchema"]
    assert set(schema["properties"]) == {"model", "method", "inputs"} and "required" not in schema
    assert {"pattern": "^input_[0-9]+$"} in schema["propertyNames"]["anyOf"]
    assert "top-level" in schema["description"] and "inputs" in schema["description"]
    method_schema = tools["linear.forward"]["inputSchema"]
    assert method_schema["required"] == ["input_0"] and method_schema["additionalProperties"] is False


# --- MCP 2026-07-28: stateless -----------------------------------------------------------


def test_stateless_tools_call_needs_no_session(engine: McpEngine):
    status, headers, body = rpc_2026(engine.port, "tools/call", {"name": "linear.forward", "arguments": {"input_0": [2.5]}})
    assert status == 200, body
    assert "Mcp-Session-Id" not in headers
    result = body["result"]
    assert result["structuredContent"] == {"output_0": [8.0]} and result["resultType"] == "complete"
    assert result["_meta"]["io.modelcontextprotocol/serverInfo"]["name"] == "godot-executorch"
    status, _, listed = rpc_2026(engine.port, "tools/list")
    assert status == 200 and listed["result"]["ttlMs"] == 0 and listed["result"]["cacheScope"] == "private"
    assert "linear.forward" in _tool_names(listed)


def test_server_discover(engine: McpEngine):
    status, _, body = rpc_2026(engine.port, "server/discover", request_id="probe-1")
    assert status == 200 and body["id"] == "probe-1"
    result = body["result"]
    assert result["supportedVersions"][0] == PROTOCOL_2026 and PROTOCOL_2025 in result["supportedVersions"]
    assert result["capabilities"]["tools"] == {"listChanged": True}
    assert result["resultType"] == "complete" and result["ttlMs"] == 0 and result["cacheScope"] == "private"
    assert "serverInfo" not in result and result["_meta"]["io.modelcontextprotocol/serverInfo"]["version"]


def test_unsupported_version_echoes_the_readable_id(engine: McpEngine):
    old = {**META_2026, "io.modelcontextprotocol/protocolVersion": "2099-01-01"}
    status, _, body = rpc_2026(engine.port, "tools/list", meta=old, headers={"MCP-Protocol-Version": "2099-01-01"}, request_id="a1")
    assert status == 400 and body["id"] == "a1"
    assert body["error"]["code"] == -32022
    assert body["error"]["data"]["requested"] == "2099-01-01" and PROTOCOL_2026 in body["error"]["data"]["supported"]
    # A 2^80 id comes back digit for digit, also in errors.
    status, _, text = rpc_2026(engine.port, "tools/list", meta=old, headers={"MCP-Protocol-Version": "2099-01-01"},
                               raw_id="1208925819614629174706176")
    assert status == 400 and text["id"] == 1208925819614629174706176


def test_2026_envelope_and_header_rules(engine: McpEngine):
    port = engine.port
    status, _, body = rpc_2026(port, "tools/list", meta={})
    assert (status, body["error"]["code"], body["id"]) == (400, -32602, 7)  # no protocolVersion/clientCapabilities
    status, _, body = rpc_2026(port, "tools/list", headers={"Mcp-Method": "tools/call"})
    assert (status, body["error"]["code"]) == (400, -32020)
    status, _, body = rpc_2026(port, "tools/call", {"name": "linear.forward", "arguments": {"input_0": [1.0]}},
                               headers={"Mcp-Name": "two_io.forward"})
    assert (status, body["error"]["code"]) == (400, -32020)
    status, _, body = rpc_2026(port, "tools/call", {"name": "linear.forward", "arguments": {"input_0": [1.0]}},
                               headers={"Mcp-Name": "=?base64?bGluZWFyLmZvcndhcmQ=?="})  # base64 of the same name
    assert status == 200 and body["result"]["structuredContent"] == {"output_0": [5.0]}
    for removed in ("ping", "logging/setLevel", "initialize", "resources/subscribe"):
        status, _, body = rpc_2026(port, removed, {"level": "info"} if removed == "logging/setLevel" else {})
        assert (status, body["error"]["code"]) == (404, -32601), removed
    status, _, _ = request(port, "GET", headers={"MCP-Protocol-Version": PROTOCOL_2026, "Accept": "text/event-stream"})
    assert status == 405
    status, _, body = post(port, {"jsonrpc": "2.0", "method": "notifications/cancelled", "params": {"requestId": 1}},
                           {"MCP-Protocol-Version": PROTOCOL_2026, "Mcp-Method": "notifications/cancelled"})
    assert status == 202 and body is None
    status, _, body = rpc_2026(port, "resources/read", {"uri": "executorch://models/nope"})
    assert (status, body["error"]["code"], body["error"]["data"]["uri"]) == (400, -32602, "executorch://models/nope")


def test_subscriptions_listen_carries_list_changed(engine: McpEngine):
    body = json.dumps({"jsonrpc": "2.0", "id": "listen:0", "method": "subscriptions/listen", "params": {
        "_meta": META_2026, "notifications": {"toolsListChanged": True, "promptsListChanged": True}}})
    stream = socket.create_connection(("127.0.0.1", engine.port), timeout=10)
    stream.sendall((f"POST /mcp HTTP/1.1\r\nHost: 127.0.0.1:{engine.port}\r\nContent-Type: application/json\r\n"
                    f"Accept: application/json, text/event-stream\r\nMCP-Protocol-Version: {PROTOCOL_2026}\r\n"
                    f"Mcp-Method: subscriptions/listen\r\nContent-Length: {len(body)}\r\n\r\n{body}").encode())
    received = read_event_stream(stream, "notifications/subscriptions/acknowledged")
    assert received.startswith("HTTP/1.1 200") and "text/event-stream" in received
    ack = json.loads(received.split("data: ", 1)[1].split("\n", 1)[0])
    assert ack["params"]["notifications"] == {"toolsListChanged": True}  # prompts: this server has none
    assert ack["params"]["_meta"]["io.modelcontextprotocol/subscriptionId"] == "listen:0"
    (engine.control / "reload").touch()
    received += read_event_stream(stream, "notifications/tools/list_changed")
    changed = [json.loads(line[6:]) for line in received.splitlines() if line.startswith("data: ") and "list_changed" in line]
    assert changed and changed[0]["params"]["_meta"]["io.modelcontextprotocol/subscriptionId"] == "listen:0"
    assert "notifications/resources/list_changed" not in received  # not asked for
    stream.close()


# --- 2025 sessions ----------------------------------------------------------------------


def test_jsonrpc_errors_2025(engine: McpEngine):
    session = initialize(engine.port)
    status, _, body = post(engine.port, b'{"jsonrpc": "2.0", "id": 1, "method": ', session=session)
    assert status == 400 and body["error"]["code"] == -32700
    status, _, body = rpc(engine.port, session, "server/discover")
    assert status == 200 and body["error"]["code"] == -32601  # the 2026 probe, asked as 2025
    status, _, body = post(engine.port, {"jsonrpc": "1.0", "id": 3, "method": "ping"}, session=session)
    assert body["error"]["code"] == -32600 and body["id"] == 3
    status, _, body = rpc(engine.port, session, "tools/call", {"name": 5})
    assert body["error"]["code"] == -32602
    status, _, body = rpc(engine.port, session, "tools/list", {"cursor": "not-a-cursor"})
    assert body["error"]["code"] == -32602
    status, _, body = rpc(engine.port, session, "tools/list", {"cursor": "5"})  # the opaque cursor is an offset
    assert _tool_names(body) == ["linear.forward", "two_io.forward"] and "nextCursor" not in body["result"]
    status, _, body = rpc(engine.port, session, "resources/read", {"uri": "executorch://nope"})
    assert body["error"]["code"] == -32002
    status, _, body = rpc(engine.port, session, "logging/setLevel", {"level": "warning"})
    assert status == 200 and body["result"] == {}
    status, _, body = rpc(engine.port, session, "ping", request_id="string-id")
    assert body == {"jsonrpc": "2.0", "id": "string-id", "result": {}}
    assert "resultType" not in body["result"]  # 2026 fields stay off the 2025 wire


def test_version_negotiation(engine: McpEngine):
    for asked, answered in [("2025-06-18", "2025-06-18"), ("2025-03-26", "2025-03-26"), ("2099-01-01", "2025-11-25")]:
        status, _, body = post(engine.port, {"jsonrpc": "2.0", "id": 1, "method": "initialize",
                                             "params": {"protocolVersion": asked, "capabilities": {}}})
        assert status == 200 and body["result"]["protocolVersion"] == answered


def test_transport_errors_echo_the_request_id(engine: McpEngine):
    status, _, body = post(engine.port, {"jsonrpc": "2.0", "id": 41, "method": "tools/list"})  # no session
    assert (status, body["id"], body["error"]["code"]) == (400, 41, -32600)
    status, _, body = post(engine.port, {"jsonrpc": "2.0", "id": "x", "method": "tools/list"}, session="0123456789abcdef")
    assert (status, body["id"]) == (404, "x")


def test_in_process_and_http_give_identical_results(engine: McpEngine, run_suite):
    session = initialize(engine.port)
    _, _, over_http = rpc(engine.port, session, "tools/call", {"name": "run_inference", "arguments": {"model": "linear", "inputs": {"input_0": [2.5]}}})
    assert over_http["result"]["structuredContent"] == {"output_0": [8.0]}
    run = run_suite("test_mcp_messages.gd")
    line = next(line for line in run.stdout.splitlines() if line.startswith("IN_PROCESS_TOOLS_CALL "))
    assert json.loads(line.split(" ", 1)[1]) == over_http["result"]


def test_sessions_expire_and_are_capped(limited: McpEngine):
    port = limited.port
    first = initialize(port, AUTH)
    assert rpc(port, first, "ping", headers=AUTH)[0] == 200
    time.sleep(3)  # session_idle_seconds is 2
    assert rpc(port, first, "ping", headers=AUTH)[0] == 404, "an idle session expires"
    sessions = [initialize(port, AUTH) for _ in range(3)]
    assert all(rpc(port, s, "ping", headers=AUTH)[0] == 200 for s in sessions)
    time.sleep(0.1)
    assert rpc(port, sessions[1], "ping", headers=AUTH)[0] == 200  # now sessions[0] is the one idle longest
    fourth = initialize(port, AUTH)  # max_sessions is 3: the oldest idle one goes
    assert rpc(port, sessions[0], "ping", headers=AUTH)[0] == 404
    assert all(rpc(port, s, "ping", headers=AUTH)[0] == 200 for s in (sessions[1], sessions[2], fourth))


def test_bearer_token_and_body_limit(limited: McpEngine):
    init = {"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {"protocolVersion": PROTOCOL_2025, "capabilities": {}}}
    status, headers, _ = post(limited.port, init)
    assert status == 401 and headers.get("WWW-Authenticate", "").startswith("Bearer")
    assert post(limited.port, init, {"Authorization": "Bearer wrong"})[0] == 401
    session = initialize(limited.port, AUTH)
    status, _, body = rpc(limited.port, session, "tools/call", {"name": "run_inference", "arguments": {"model": "linear", "input_0": [1.0]}}, headers=AUTH)
    assert status == 200 and body["result"]["structuredContent"] == {"output_0": [5.0]}
    status, _, _ = post(limited.port, {"jsonrpc": "2.0", "id": 1, "method": "ping", "pad": "x" * 5000}, AUTH)
    assert status == 413
    status, _, _ = post(limited.port, b"[" + b"1," * 600000 + b"1]")
    assert status in (401, 413)


# --- the HTTP transport's rules -------------------------------------------------------------


def test_transport_rejections(engine: McpEngine):
    port = engine.port
    ping = {"jsonrpc": "2.0", "id": 1, "method": "ping"}
    assert post(port, ping, {"Origin": "http://evil.example"})[0] == 403
    assert post(port, ping, host="evil.example:80")[0] == 421
    assert post(port, ping, host=f"127.0.0.1:{port + 1 if port < 65535 else port - 1}")[0] == 421, "Host must name this port"
    assert post(port, ping, host="127.0.0.1:1")[0] == 421
    assert post(port, ping, host=f"localhost:{port}")[0] == 400  # ours, but no session
    session = initialize(port)
    assert post(port, ping, {"MCP-Protocol-Version": "1999-01-01"}, session)[0] == 400
    assert post(port, ping, {"Content-Type": "text/plain"}, session)[0] == 415
    assert post(port, ping, {"Origin": f"http://localhost:{port}"}, session)[0] == 200  # a local page is fine
    assert request(port, "PUT", "{}", {"Mcp-Session-Id": session})[0] == 405
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    connection.request("POST", "/elsewhere", body="{}")
    response = connection.getresponse()
    response.read()
    assert response.status == 404
    connection.close()
    # DELETE ends the session; using it afterwards is 404; the server still answers.
    assert request(port, "DELETE", None, {"Mcp-Session-Id": session})[0] == 200
    assert post(port, ping, session=session)[0] == 404
    assert rpc(port, initialize(port), "ping")[2]["result"] == {}


def test_content_length_is_plain_digits(engine: McpEngine):
    body = b'{"jsonrpc": "2.0", "id": 1, "method": "ping"}'
    for length in ("+%d" % len(body), " %d" % len(body), "0x2d", "-1", "%d, %d" % (len(body), len(body))):
        raw = socket.create_connection(("127.0.0.1", engine.port), timeout=10)
        raw.sendall(f"POST /mcp HTTP/1.1\r\nHost: 127.0.0.1:{engine.port}\r\nContent-Type: application/json\r\n"
                    f"Content-Length: {length}\r\n\r\n".encode() + body)
        reply = raw.recv(4096).decode(errors="replace")
        raw.close()
        assert reply.startswith("HTTP/1.1 400"), (length, reply)


def test_non_finite_outputs_are_valid_json(engine: McpEngine):
    status, _, body = rpc_2026(engine.port, "tools/call", {"name": "linear.forward", "arguments": {"input_0": [3.0e38]}})
    assert status == 200 and isinstance(body, dict), body  # json.loads succeeded: valid JSON
    result = body["result"]
    assert result["structuredContent"] == {"output_0": [None]}
    assert result["content"][1]["text"] == "JSON cannot carry these values, so they are null: output_0[0] is inf."


def test_idle_and_slow_sockets_cannot_starve_the_server(engine: McpEngine):
    idle = [socket.create_connection(("127.0.0.1", engine.port)) for _ in range(70)]  # connect, send nothing
    slow = []
    for _ in range(100):  # start a request head and never finish it
        sock = socket.create_connection(("127.0.0.1", engine.port))
        sock.sendall(b"POST /mcp HTTP/1.1\r\nHost: 127.0.0.1\r\n")
        slow.append(sock)
    try:
        started = time.monotonic()
        status, _, body = rpc_2026(engine.port, "tools/call", {"name": "linear.forward", "arguments": {"input_0": [2.0]}})
        elapsed = time.monotonic() - started
        assert status == 200 and body["result"]["structuredContent"] == {"output_0": [7.0]}, body
        assert elapsed < 1.0, f"the real call took {elapsed:.2f} s behind 170 idle connections"
    finally:
        for sock in idle + slow:
            sock.close()


def test_silent_connections_are_closed_after_the_idle_timeout(engine: McpEngine):
    silent = socket.create_connection(("127.0.0.1", engine.port))
    partial = socket.create_connection(("127.0.0.1", engine.port))
    partial.sendall(b"POST /mcp HTTP/1.1\r\n")
    started = time.monotonic()
    for sock in (silent, partial):
        sock.settimeout(15)
        assert sock.recv(1) == b"", "the server closes, without an answer"
    assert 4.0 < time.monotonic() - started < 9.0, "after the 5 s idle timeout"
    silent.close()
    partial.close()


def test_half_a_request_does_not_hold_up_others(engine: McpEngine):
    stalled = socket.create_connection(("127.0.0.1", engine.port))
    stalled.sendall(f"POST /mcp HTTP/1.1\r\nHost: 127.0.0.1:{engine.port}\r\nContent-Length: 100\r\n\r\n{{\"jsonrpc\"".encode())
    started = time.monotonic()
    session = initialize(engine.port)
    assert rpc(engine.port, session, "ping")[2]["result"] == {}
    assert time.monotonic() - started < 5.0
    stalled.close()


def test_event_stream_carries_list_changed(engine: McpEngine):
    session = initialize(engine.port)
    stream = socket.create_connection(("127.0.0.1", engine.port), timeout=10)
    stream.sendall(
        f"GET /mcp HTTP/1.1\r\nHost: 127.0.0.1:{engine.port}\r\nAccept: text/event-stream\r\n"
        f"Mcp-Session-Id: {session}\r\n\r\n".encode()
    )
    received = read_event_stream(stream, "text/event-stream")
    assert received.startswith("HTTP/1.1 200") and "text/event-stream" in received
    (engine.control / "reload").touch()
    received += read_event_stream(stream, '"method":"notifications/message"')
    assert "event: message" in received and "notifications/tools/list_changed" in received
    assert "notifications/resources/list_changed" in received
    assert '"method":"notifications/message"' in received and "Loaded model 'linear'" in received
    stream.close()


def test_get_without_event_stream_accept_is_refused(engine: McpEngine):
    session = initialize(engine.port)
    assert request(engine.port, "GET", None, {"Mcp-Session-Id": session, "Accept": "application/json"})[0] == 406
    assert request(engine.port, "GET")[0] == 400


# --- hot reload ------------------------------------------------------------------------------


def _export_affine(path: Path, weight: float, bias: float) -> None:
    module = nn.Linear(1, 1)
    with torch.no_grad():
        module.weight.fill_(weight)
        module.bias.fill_(bias)
    export_model(module, path, example_inputs=(torch.tensor([2.5]),))


def test_hot_reload_while_a_client_is_connected(engine: McpEngine, hot_model: Path):
    session = initialize(engine.port)
    stream = socket.create_connection(("127.0.0.1", engine.port), timeout=10)
    stream.sendall(f"GET /mcp HTTP/1.1\r\nHost: 127.0.0.1:{engine.port}\r\nAccept: text/event-stream\r\n"
                   f"Mcp-Session-Id: {session}\r\n\r\n".encode())
    received = read_event_stream(stream, "text/event-stream")

    def hot(x: float) -> float:
        _, _, body = rpc(engine.port, session, "tools/call", {"name": "hot.forward", "arguments": {"input_0": [x]}})
        return body["result"]["structuredContent"]["output_0"][0]

    assert hot(0.0) == pytest.approx(3.0)  # y = 2x + 3
    _export_affine(hot_model, 3.0, 1.0)  # y = 3x + 1, written while the game runs
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and hot(0.0) == pytest.approx(3.0):
        time.sleep(0.05)
    assert hot(0.0) == pytest.approx(1.0) and hot(2.0) == pytest.approx(7.0), "the next calls answer with the new model"
    received += read_event_stream(stream, "notifications/tools/list_changed")
    assert "notifications/tools/list_changed" in received and "Reloaded model 'hot'" in received
    assert "RELOADED " + str(hot_model) in engine.text()  # the model_reloaded signal

    # A truncated rewrite (in place, as an editor's save might leave it) keeps the loaded program.
    data = hot_model.read_bytes()
    with hot_model.open("r+b") as handle:
        handle.truncate(len(data) // 2)
    time.sleep(1.5)  # well past the watcher's poll and its wait for the file to hold still
    assert hot(0.0) == pytest.approx(1.0)
    # The reason travels with the report, on its line: the model's load returns it as a value.
    assert re.search(r"Hot reload: '[^']*' changed on disk but does not load, so the program loaded before stays in use: "
                     r"'[^']*' is not a program this engine can run safely", engine.text()), engine.text()[-3000:]
    stream.close()


# --- concurrency, then a clean shutdown --------------------------------------------------


def test_concurrent_clients_racing_gdscript(engine: McpEngine):
    clients, calls = 20, 100
    wrong: list[str] = []

    def client(seed: int) -> None:
        rng = random.Random(seed)
        stateless = seed % 2 == 1  # half the clients speak 2026-07-28, half keep a 2025 session
        session = None if stateless else initialize(engine.port)
        connection = http.client.HTTPConnection("127.0.0.1", engine.port, timeout=30)
        for i in range(calls):
            x = round(rng.uniform(-100, 100), 3)
            tool = rng.choice(["run_inference", "linear.forward"])
            arguments = {"model": "linear", "input_0": [x]} if tool == "run_inference" else {"input_0": [x]}
            params = {"name": tool, "arguments": arguments}
            if stateless:
                params["_meta"] = META_2026
                headers = {"Content-Type": "application/json", "MCP-Protocol-Version": PROTOCOL_2026,
                           "Mcp-Method": "tools/call", "Mcp-Name": tool}
            else:
                headers = {"Content-Type": "application/json", "Mcp-Session-Id": session, "MCP-Protocol-Version": PROTOCOL_2025}
            connection.request("POST", "/mcp", body=json.dumps({"jsonrpc": "2.0", "id": i, "method": "tools/call", "params": params}),
                               headers=headers)
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


def test_freeing_a_runtime_takes_its_model_away(engine: McpEngine):
    session = initialize(engine.port)
    stream = socket.create_connection(("127.0.0.1", engine.port), timeout=10)
    stream.sendall(f"GET /mcp HTTP/1.1\r\nHost: 127.0.0.1:{engine.port}\r\nAccept: text/event-stream\r\n"
                   f"Mcp-Session-Id: {session}\r\n\r\n".encode())
    read_event_stream(stream, "text/event-stream")
    (engine.control / "free_two_io").touch()
    received = read_event_stream(stream, "is gone")
    assert "notifications/tools/list_changed" in received and "Model 'two_io' is gone" in received
    names = _tool_names(rpc(engine.port, session, "tools/list")[2])
    assert "two_io.forward" not in names and "linear.forward" in names
    _, _, body = rpc(engine.port, session, "tools/call", {"name": "two_io.forward", "arguments": {"input_0": [1.0, 2.0, 3.0], "input_1": [1.0, 2.0, 3.0]}})
    assert body["error"]["code"] == -32602, "its tools are gone at once"
    _, _, body = rpc(engine.port, session, "tools/call", {"name": "run_inference", "arguments": {"model": "linear", "input_0": [1.0]}})
    assert body["result"]["structuredContent"] == {"output_0": [5.0]}, "the other model is still served"
    stream.close()


def test_clean_shutdown_and_the_race_tally(engine: McpEngine):
    assert engine.stop() == 0
    time.sleep(0.2)
    output = engine.text()
    race = next(line for line in output.splitlines() if line.startswith("RACE "))
    fields = dict(item.split("=") for item in race.split()[1:])
    assert int(fields["wrong"]) == 0 and int(fields["calls"]) > 0, race
    # Every successful call counted exactly once, from both sides (atomic counters).
    assert int(fields["total_inferences"]) >= int(fields["calls"]) + 20 * 100, race
    assert "STOPPED running=false port=-1" in output
    assert not [line for line in output.splitlines() if any(m in line for m in LEAK_MARKERS)], output[-3000:]
