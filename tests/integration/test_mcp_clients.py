"""Real MCP clients against the game's server: the official Python SDK in each
of its modes (auto, legacy, pinned 2026-07-28) over HTTP and its stdio client
launching the engine, the MCP Inspector CLI, and the conformance suites
(0.1.16, and 0.2.0-alpha.12 with the requirements of each revision)."""

from __future__ import annotations

import asyncio
import json
import os
import re
import subprocess
from pathlib import Path

import pytest
import yaml
from mcp import Client
from mcp.client.stdio import StdioServerParameters
from mcp.shared.exceptions import MCPError

from tests.integration.mcp_helpers import CLIENTS, NODE, REPO_ROOT, McpEngine, start_engine
from tools.godot_project import create_project

HERE = Path(__file__).parent
INSPECTOR = CLIENTS / "inspector" / "clients" / "launcher" / "build" / "index.js"
CONFORMANCE_0_2 = CLIENTS / "conformance" / "dist" / "index.js"
CONFORMANCE_0_1 = REPO_ROOT / ".mcp-conformance" / "node_modules" / "@modelcontextprotocol" / "conformance" / "dist" / "index.js"


@pytest.fixture(scope="module")
def engine(godot_bin: Path, test_models: Path, tmp_path_factory) -> McpEngine:
    engine = start_engine(godot_bin, tmp_path_factory.mktemp("mcp-clients"))
    yield engine
    engine.stop()


def _need(*paths: Path) -> None:
    missing = [str(p) for p in paths if not p.is_file()]
    if missing:
        pytest.fail(f"MCP clients are not installed ({', '.join(missing)}); run ./setup.sh")


# --- the official Python SDK -------------------------------------------------------------


async def _sdk_session(server, mode: str) -> dict:
    async with Client(server, mode=mode) as client:
        tools = await client.list_tools()
        concept = await client.call_tool("run_inference", {"model": "linear", "input_0": [2.5]})
        wrapped = await client.call_tool("run_inference", {"model": "linear", "inputs": {"input_0": [2.5]}})
        by_tool = await client.call_tool("linear.forward", {"input_0": [-1.0]})
        unnamed = await client.call_tool("run_inference", {"input_0": [1.0]})
        models = await client.call_tool("list_models", {})
        info = await client.call_tool("get_model_info", {"model": "linear"})
        bad = await client.call_tool("run_inference", {"model": "linear", "input_0": ["two"]})
        with pytest.raises(MCPError) as unknown:
            await client.call_tool("no_such_tool", {})
        resources = await client.list_resources()
        return {"names": [tool.name for tool in tools.tools], "concept": concept, "wrapped": wrapped, "by_tool": by_tool,
                "unnamed": unnamed, "models": models, "info": info, "bad": bad, "unknown": unknown.value,
                "resources": resources, "version": client.protocol_version}


def _check_sdk_session(result: dict, version: str) -> None:
    assert result["version"] == version
    assert result["names"] == ["get_model_info", "health_check", "list_models", "run_inference", "linear.forward", "two_io.forward"]
    for key in ("concept", "wrapped"):
        assert not result[key].is_error, result[key]
        assert result[key].structured_content["output_0"] == pytest.approx([8.0], abs=1e-4)
        assert json.loads(result[key].content[0].text) == result[key].structured_content
    assert result["by_tool"].structured_content["output_0"] == pytest.approx([1.0], abs=1e-4)
    assert result["unnamed"].is_error and "say which with the 'model' argument" in result["unnamed"].content[0].text
    assert [m["name"] for m in result["models"].structured_content["models"]] == ["linear", "two_io"]
    assert result["info"].structured_content["methods"]["forward"]["inputs"][0]["dtype"] == "float32"
    assert result["bad"].is_error and "'input_0'[0] is a String; inputs must be numbers." in result["bad"].content[0].text
    assert result["unknown"].error.code == -32602 and "Unknown MCP tool 'no_such_tool'" in result["unknown"].error.message
    assert [str(r.uri) for r in result["resources"].resources] == ["executorch://models/linear", "executorch://models/two_io"]


@pytest.mark.parametrize("mode, version", [("legacy", "2025-11-25"), ("auto", "2026-07-28"), ("2026-07-28", "2026-07-28")])
def test_official_sdk_over_http(engine: McpEngine, mode: str, version: str):
    _check_sdk_session(asyncio.run(_sdk_session(engine.url, mode)), version)


async def _legacy_ping(url: str) -> None:
    async with Client(url, mode="legacy") as client:
        await client.send_ping()


def test_official_sdk_legacy_ping(engine: McpEngine):
    asyncio.run(_legacy_ping(engine.url))


@pytest.fixture(scope="module")
def stdio_game(test_models: Path, tmp_path_factory) -> Path:
    """A game with a main scene that loads two models and keeps running."""
    game = create_project(tmp_path_factory.mktemp("stdio") / "game", (test_models / "linear.pte", test_models / "two_io.pte"))
    (game / "project.godot").write_text('config_version=5\n\n[application]\n\nrun/main_scene="res://main.tscn"\n')
    (game / "main.gd").write_text(
        "extends Node\n"
        "var runtimes := []\n"
        "func _ready() -> void:\n"
        "\tfor file in ['res://linear.pte', 'res://two_io.pte']:\n"
        "\t\tvar runtime := ExecuTorchRuntime.new()\n"
        "\t\truntime.load_model_from_file(file)\n"
        "\t\truntimes.append(runtime)\n"
        "\tprint('the game prints to stdout as usual')\n"
    )
    (game / "main.tscn").write_text('[gd_scene load_steps=2 format=3]\n\n[ext_resource type="Script" path="res://main.gd" id="1"]\n\n'
                                    '[node name="Main" type="Node"]\nscript = ExtResource("1")\n')
    return game


@pytest.mark.parametrize("mode, version", [("legacy", "2025-11-25"), ("auto", "2026-07-28")])
def test_official_sdk_stdio_client_launches_the_game(godot_bin: Path, stdio_game: Path, mode: str, version: str):
    server = StdioServerParameters(command=str(godot_bin), args=["--headless", "--path", str(stdio_game), "--", "--executorch-mcp-stdio"],
                                   env={"HOME": os.environ.get("HOME", "/root")})
    _check_sdk_session(asyncio.run(_sdk_session(server, mode)), version)


def test_stdio_stdout_carries_only_protocol_messages(godot_bin: Path, stdio_game: Path):
    messages = [
        {"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {"protocolVersion": "2025-11-25", "capabilities": {}}},
        {"jsonrpc": "2.0", "method": "notifications/initialized"},
        {"jsonrpc": "2.0", "id": 2, "method": "tools/call", "params": {"name": "linear.forward", "arguments": {"input_0": [2.5]}}},
        {"jsonrpc": "2.0", "id": 3, "method": "tools/list", "params": {"_meta": {
            "io.modelcontextprotocol/protocolVersion": "2026-07-28", "io.modelcontextprotocol/clientCapabilities": {}}}},
    ]
    run = subprocess.run([str(godot_bin), "--headless", "--path", str(stdio_game), "--", "--executorch-mcp-stdio"],
                         input="".join(json.dumps(m) + "\n" for m in messages), capture_output=True, text=True, timeout=60)
    lines = run.stdout.splitlines()
    replies = [json.loads(line) for line in lines]  # every stdout line is JSON-RPC
    assert [r.get("id") for r in replies] == [1, 2, 3], run.stdout
    assert replies[1]["result"]["structuredContent"] == {"output_0": [8.0]}
    assert replies[2]["result"]["resultType"] == "complete"  # the same process answers both eras
    assert "Godot Engine v4.6.3" in run.stderr and "the game prints to stdout as usual" in run.stderr
    assert "the client closed stdin; quitting" in run.stderr and run.returncode == 0


# --- the MCP Inspector CLI -----------------------------------------------------------------


def _inspector(engine: McpEngine, *args: str) -> subprocess.CompletedProcess:
    _need(NODE, INSPECTOR)
    return subprocess.run([str(NODE), str(INSPECTOR), "--cli", engine.url, "--transport", "http", *args],
                          capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize("era", ["legacy", "auto", "modern"])
def test_inspector_cli(engine: McpEngine, era: str):
    listed = _inspector(engine, "--protocol-era", era, "--method", "tools/list")
    assert listed.returncode == 0, listed.stdout[-2000:] + listed.stderr[-2000:]
    assert "linear.forward" in [tool["name"] for tool in json.loads(listed.stdout)["tools"]]
    called = _inspector(engine, "--protocol-era", era, "--method", "tools/call", "--tool-name", "linear.forward",
                        "--tool-arg", "input_0=[2.5]")
    assert called.returncode == 0, called.stdout[-2000:] + called.stderr[-2000:]
    assert json.loads(called.stdout)["structuredContent"] == {"output_0": [8.0]}


# --- the conformance suites -----------------------------------------------------------------


def test_conformance_0_1_16(engine: McpEngine):
    _need(NODE, CONFORMANCE_0_1)
    run = subprocess.run(
        [str(NODE), str(CONFORMANCE_0_1), "server", "--url", engine.url, "--suite", "all",
         "--expected-failures", str(HERE / "mcp_conformance_expected_failures.yml")],
        capture_output=True, text=True, timeout=300,
    )
    # Exit 0 means: every scenario not listed as expected passed, and every listed one still fails.
    assert run.returncode == 0, run.stdout[-6000:] + run.stderr[-2000:]
    for scenario in ("server-initialize", "ping", "tools-list", "logging-set-level", "resources-list", "dns-rebinding-protection"):
        assert scenario in run.stdout, scenario


EXPECTED_0_2 = yaml.safe_load((HERE / "mcp_conformance_0.2_expected_failures.yml").read_text())
for _revision, _entries in EXPECTED_0_2.items():  # every expected failure says why
    assert all(entry.get("reason") and entry.get("checks") for entry in _entries.values()), _revision


def _failed_checks(output_dir: Path) -> dict[str, set[str]]:
    """scenario -> ids of its checks that failed, from the suite's checks.json files."""
    failed: dict[str, set[str]] = {}
    for checks in output_dir.glob("*/checks.json"):
        scenario = _scenario_of(checks.parent.name)
        for check in json.loads(checks.read_text()):
            if check.get("status") == "FAILURE":
                failed.setdefault(scenario, set()).add(check["id"])
    return failed


def _scenario_of(folder: str) -> str:
    # "server-json-schema-2020-12-2026-12-01T20-30-44-486Z" -> "json-schema-2020-12"
    return re.sub(r"-\d{4}-\d\d-\d\dT[\d-]+Z$", "", folder.removeprefix("server-"))


def _required_scenarios(revision: str) -> set[str]:
    """The server scenarios the revision requires (`list --server --requirements`)."""
    listed = subprocess.run([str(NODE), str(CONFORMANCE_0_2), "list", "--server", "--requirements", revision],
                            capture_output=True, text=True, timeout=60, check=True).stdout
    server_part = listed.split("Server scenarios", 1)[1].split("Client scenarios", 1)[0]
    return {line.strip()[2:] for line in server_part.splitlines() if line.strip().startswith("- ")}


@pytest.mark.parametrize("revision", ["2025-11-25", "2026-07-28"])
def test_conformance_0_2_requirements(engine: McpEngine, revision: str, tmp_path: Path):
    """Every check the revision requires passes, but those listed, each with its
    reason, in mcp_conformance_0.2_expected_failures.yml (missing fixture tools,
    resources and prompts; features this server does not offer). A listed check
    that starts passing must leave the list."""
    _need(NODE, CONFORMANCE_0_2)
    required = _required_scenarios(revision)
    assert "tools-list" in required and "dns-rebinding-protection" in required, required
    run = subprocess.run([str(NODE), str(CONFORMANCE_0_2), "server", "--url", engine.url, "--requirements", revision,
                          "-o", str(tmp_path)], capture_output=True, text=True, timeout=900)
    assert "Total:" in run.stdout, run.stdout[-3000:] + run.stderr[-2000:]
    failed = {s: checks for s, checks in _failed_checks(tmp_path).items() if s in required}
    ran = {_scenario_of(p.name) for p in tmp_path.iterdir()}
    assert required <= ran, f"scenarios that did not run: {sorted(required - ran)}"
    expected = {scenario: set(entry["checks"]) for scenario, entry in EXPECTED_0_2[revision].items()}
    unexpected = {s: sorted(c - expected.get(s, set())) for s, c in failed.items() if c - expected.get(s, set())}
    assert not unexpected, f"failing checks not in the expected list (protocol errors?): {unexpected}\n{run.stdout[-4000:]}"
    passing = {s: sorted(c - failed.get(s, set())) for s, c in expected.items() if c - failed.get(s, set())}
    assert not passing, f"expected failures that now pass; remove them from the list: {passing}"
    for scenario in ("tools-list", "dns-rebinding-protection", "server-stateless" if revision == "2026-07-28" else "server-initialize"):
        assert scenario not in failed or scenario in expected, scenario


# --- the README's client configurations, run as the clients would -------------------------

TOKEN = "change-me"  # the README's example token


def _readme_configs() -> list[dict]:
    """The JSON client configurations in README.md's MCP section, in order."""
    readme = (REPO_ROOT / "README.md").read_text()
    start = readme.index("### Client configurations")
    section = readme[start:readme.index("\n## ", start)]  # up to the next section
    blocks = [block.split("```", 1)[0] for block in section.split("```json\n")[1:]]
    return [json.loads(block) for block in blocks]


@pytest.fixture(scope="module")
def token_engine(godot_bin: Path, test_models: Path, tmp_path_factory) -> McpEngine:
    engine = start_engine(godot_bin, tmp_path_factory.mktemp("mcp-token"), {"token": TOKEN})
    yield engine
    engine.stop()


async def _list_and_call(client_source) -> tuple[list[str], dict]:
    async with Client(client_source) as client:
        tools = [tool.name for tool in (await client.list_tools()).tools]
        result = await client.call_tool("linear.forward", {"input_0": [2.5]})
        return tools, result.structured_content


def test_readme_claude_desktop_stdio_configuration(godot_bin: Path, stdio_game: Path):
    config = _readme_configs()[0]["mcpServers"]["my-godot-game"]
    arguments = [str(stdio_game) if a == "/path/to/my_game" else a for a in config["args"]]
    assert config["command"].endswith("godot.linuxbsd.editor.x86_64")  # the editor binary runs games headless too
    server = StdioServerParameters(command=str(godot_bin), args=arguments, env={"HOME": os.environ.get("HOME", "/root")})
    tools, result = asyncio.run(_list_and_call(server))
    assert "linear.forward" in tools and result == {"output_0": [8.0]}


def test_readme_vscode_and_cursor_http_configurations(token_engine: McpEngine):
    from mcp.client.streamable_http import create_mcp_http_client, streamable_http_client

    vscode, cursor = _readme_configs()[1]["servers"]["my-godot-game"], _readme_configs()[2]["mcpServers"]["my-godot-game"]
    assert vscode["type"] == "http"
    for config in (vscode, cursor):
        url = config["url"].replace("8765", str(token_engine.port))
        transport = streamable_http_client(url, http_client=create_mcp_http_client(headers=config["headers"]))
        tools, result = asyncio.run(_list_and_call(transport))
        assert "linear.forward" in tools and result == {"output_0": [8.0]}


def test_mcp_remote_bridges_a_stdio_client_to_the_running_game(token_engine: McpEngine):
    bridge = CLIENTS.parent / "mcp-remote" / "dist" / "proxy.js"
    _need(NODE, bridge)
    server = StdioServerParameters(
        command=str(NODE),
        args=[str(bridge), token_engine.url, "--header", f"Authorization: Bearer {TOKEN}", "--transport", "http-only"],
        env={"HOME": os.environ.get("HOME", "/root"), "PATH": os.environ["PATH"]},
    )
    tools, result = asyncio.run(_list_and_call(server))
    assert "linear.forward" in tools and result == {"output_0": [8.0]}
