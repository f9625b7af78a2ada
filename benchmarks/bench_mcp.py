"""Benchmark: MCP tools/call run_inference over loopback HTTP vs the in-process
call_mcp_tool baseline, measured in one run.

    .venv/bin/python benchmarks/bench_mcp.py [--godot bin/godot.linuxbsd.template_debug.x86_64]

Prints p50/p99 round-trip latency from one keep-alive client, calls per second
from 1 and from 8 concurrent clients, and the ratios to the in-process call.
Not a test: nothing is asserted about speed.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))

from model_tools import export_model  # noqa: E402
from tools.godot_project import DEFAULT_ENGINE, create_project, parse_bench_line  # noqa: E402

CALL = {"jsonrpc": "2.0", "id": 1, "method": "tools/call",
        "params": {"name": "run_inference", "arguments": {"inputs": {"input_0": [2.5]}}}}


def _session(port: int) -> tuple[http.client.HTTPConnection, dict]:
    connection = http.client.HTTPConnection("127.0.0.1", port)
    connection.request("POST", "/mcp", body=json.dumps({"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": {
        "protocolVersion": "2025-11-25", "capabilities": {}}}), headers={"Content-Type": "application/json"})
    response = connection.getresponse()
    response.read()
    headers = {"Content-Type": "application/json", "Mcp-Session-Id": response.getheader("Mcp-Session-Id"),
               "MCP-Protocol-Version": "2025-11-25"}
    return connection, headers


def _call(connection: http.client.HTTPConnection, headers: dict, body: str) -> None:
    connection.request("POST", "/mcp", body=body, headers=headers)
    reply = json.loads(connection.getresponse().read())
    if reply["result"]["structuredContent"]["output_0"][0] != 8.0:
        raise SystemExit(f"wrong answer: {reply}")


def latencies(port: int, calls: int) -> list[float]:
    connection, headers = _session(port)
    body = json.dumps(CALL)
    for _ in range(200):
        _call(connection, headers, body)
    samples = []
    for _ in range(calls):
        start = time.perf_counter_ns()
        _call(connection, headers, body)
        samples.append((time.perf_counter_ns() - start) / 1000.0)
    return sorted(samples)


def throughput(port: int, clients: int, seconds: float) -> float:
    counts = [0] * clients
    stop = time.monotonic() + seconds

    def run(index: int) -> None:
        connection, headers = _session(port)
        body = json.dumps(CALL)
        while time.monotonic() < stop:
            _call(connection, headers, body)
            counts[index] += 1

    threads = [threading.Thread(target=run, args=(i,)) for i in range(clients)]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return sum(counts) / (time.monotonic() - started)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--godot", type=Path, default=DEFAULT_ENGINE)
    parser.add_argument("--calls", type=int, default=5000)
    parser.add_argument("--seconds", type=float, default=5.0)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as work:
        project = Path(work)
        create_project(project, (Path(__file__).with_name("mcp_serve.gd"), Path(__file__).with_name("bench_timing.gd")))
        export_model("linear", project / "linear.pte")
        stop = project / "stop"
        engine = subprocess.Popen([str(args.godot), "--headless", "--path", str(project), "--script", "res://mcp_serve.gd"],
                                  stdout=subprocess.PIPE, text=True, env={**os.environ, "BENCH_STOP": str(stop)})
        try:
            baseline = parse_bench_line(next(line for line in engine.stdout if line.startswith("BENCH ")))
            port = baseline["port"]
            samples = latencies(port, args.calls)
            one = throughput(port, 1, args.seconds)
            eight = throughput(port, 8, args.seconds)
        finally:
            stop.touch()
            engine.wait(timeout=30)
    p50 = statistics.median(samples)
    p99 = samples[int(len(samples) * 0.99)]
    in_process = baseline["in_process_call_mcp_tool_us"]
    print(f"MCP tools/call run_inference on the linear model, loopback HTTP, one run ({args.calls} calls):")
    print(f"  in-process call_mcp_tool from GDScript (baseline): {in_process:9.2f} us")
    print(f"  HTTP round trip p50:                               {p50:9.2f} us  ({p50 / in_process:.0f}x baseline)")
    print(f"  HTTP round trip p99:                               {p99:9.2f} us  ({p99 / in_process:.0f}x baseline)")
    print(f"  calls/s, 1 client:                                 {one:9.0f}")
    print(f"  calls/s, 8 clients:                                {eight:9.0f}  ({eight / one:.2f}x one client)")
    print(f"  in-process calls/s equivalent:                     {1e6 / in_process:9.0f}")
    print(json.dumps({"in_process_us": in_process, "p50_us": p50, "p99_us": p99, "calls_per_s_1": one, "calls_per_s_8": eight}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
