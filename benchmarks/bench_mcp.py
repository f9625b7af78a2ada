"""Benchmark: an MCP tools/call of the linear model's tool, with two models
loaded, over every path an agent can take, measured in one run: a 2025
session over loopback HTTP (the baseline), a stateless 2026-07-28 call over
HTTP, the stdio round trip, and the in-process call_mcp_tool from GDScript.
Each HTTP call is made twice over: with Python's http.client (what a Python
agent uses) and with a bare keep-alive socket that sends prepared bytes and
reads Content-Length bytes back, so the server's latency can be told from
the client library's. Two floor paths make the same exchanges, byte for
byte, with a Python process that does no work: what the machine costs per
loopback round trip and what http.client costs are measured in the same run
instead of being charged to the server. Server cost = a path minus its
floor.

    .venv/bin/python benchmarks/bench_mcp.py [--godot bin/godot.linuxbsd.template_debug.x86_64]

The network paths run interleaved, round by round in rotating order, so drift
of this noisy machine hits them alike; each reports p50/p99 over every call,
its fastest batch, and the median of its per-round ratio to the 2025 path.
Then calls per second from 1 and from 8 concurrent 2025 clients.
Not a test: nothing is asserted about speed.
"""

from __future__ import annotations

import http.client
import json
import os
import socket
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
from tools.godot_project import bench_parser, create_project, parse_bench_line  # noqa: E402

TOOL = "linear.forward"
ARGUMENTS = {"input_0": [2.5]}
META_2026 = {"io.modelcontextprotocol/protocolVersion": "2026-07-28", "io.modelcontextprotocol/clientCapabilities": {}}


class HttpPath:
    """A prepared request over Python's http.client, on one keep-alive connection."""

    def __init__(self, name: str, port: int, headers: dict[str, str], body: str) -> None:
        self.name, self.headers, self.body = name, headers, body
        self.connection = http.client.HTTPConnection("127.0.0.1", port)

    def call(self) -> dict:
        self.connection.request("POST", "/mcp", body=self.body, headers=self.headers)
        return json.loads(self.connection.getresponse().read())

    def close(self) -> None:
        self.connection.close()


HTTP_2025 = "HTTP, 2025 session"


def http_2025(port: int) -> HttpPath:
    """tools/call in a 2025-11-25 session (opened here with initialize)."""
    opening = http.client.HTTPConnection("127.0.0.1", port)
    opening.request("POST", "/mcp", body=json.dumps({"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": {
        "protocolVersion": "2025-11-25", "capabilities": {}}}), headers={"Content-Type": "application/json"})
    response = opening.getresponse()
    response.read()
    opening.close()
    headers = {"Content-Type": "application/json", "Mcp-Session-Id": response.getheader("Mcp-Session-Id"),
               "MCP-Protocol-Version": "2025-11-25"}
    body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {"name": TOOL, "arguments": ARGUMENTS}})
    return HttpPath(HTTP_2025, port, headers, body)


def http_2026(port: int) -> HttpPath:
    """A stateless 2026-07-28 tools/call: no session, the routing headers, _meta."""
    headers = {"Content-Type": "application/json", "MCP-Protocol-Version": "2026-07-28", "Mcp-Method": "tools/call",
               "Mcp-Name": TOOL}
    body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": "tools/call",
                       "params": {"name": TOOL, "arguments": ARGUMENTS, "_meta": META_2026}})
    return HttpPath("HTTP, 2026-07-28 stateless", port, headers, body)


class RawSocket:
    """Prepared request bytes over a bare keep-alive socket: no header building
    or parsing in Python beyond finding Content-Length."""

    def __init__(self, name: str, port: int, request: bytes) -> None:
        self.name, self.request, self.pending = name, request, b""
        self.socket = socket.create_connection(("127.0.0.1", port))
        self.socket.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    @classmethod
    def sending(cls, port: int, http_path: HttpPath) -> RawSocket:
        """The same request as `http_path`, byte for byte what a client sends."""
        body = http_path.body.encode()
        headers = {"Host": f"127.0.0.1:{port}", "Content-Length": str(len(body)), **http_path.headers}
        request = ("POST /mcp HTTP/1.1\r\n" + "".join(f"{k}: {v}\r\n" for k, v in headers.items()) + "\r\n").encode() + body
        return cls(http_path.name.replace("HTTP", "raw socket"), port, request)

    def call(self) -> dict:
        self.socket.sendall(self.request)
        while True:
            head_end = self.pending.find(b"\r\n\r\n")
            if head_end >= 0:
                head = self.pending[:head_end].decode("latin-1").lower()
                length = int(head.split("content-length:", 1)[1].split("\r\n", 1)[0])
                end = head_end + 4 + length
                if len(self.pending) >= end:
                    self.last_response, self.pending = self.pending[:end], self.pending[end:]
                    return json.loads(self.last_response[head_end + 4:])
            received = self.socket.recv(65536)
            if not received:
                raise SystemExit(f"{self.name}: the server closed the connection")
            self.pending += received

    def close(self) -> None:
        self.socket.close()


# A server that does no work: it answers every HTTP request it reads (head,
# then Content-Length bytes of body) with the response bytes read from stdin.
FLOOR_SERVER = r"""
import socket, sys
response = sys.stdin.buffer.read()
listener = socket.create_server(("127.0.0.1", 0))
print(listener.getsockname()[1], flush=True)
connection, _ = listener.accept()
connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
pending = b""
while data := connection.recv(65536):
    pending += data
    while (head_end := pending.find(b"\r\n\r\n")) >= 0:
        length = int(pending[:head_end].lower().split(b"content-length:", 1)[1].split(b"\r\n", 1)[0])
        if len(pending) < head_end + 4 + length:
            break
        pending = pending[head_end + 4 + length:]
        connection.sendall(response)
"""


def start_floor(response: bytes) -> tuple[subprocess.Popen, int]:
    """A do-nothing server (one connection) answering every request with
    `response`; returns the process and its port."""
    process = subprocess.Popen([sys.executable, "-c", FLOOR_SERVER], stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    process.stdin.write(response)
    process.stdin.close()
    return process, int(process.stdout.readline())


def floor_paths(raw_path: RawSocket, http_path: HttpPath) -> list:
    """The raw socket's and http.client's exchanges, byte for byte, against a
    do-nothing server answering what the engine answered: what the machine
    (loopback, two processes, the scheduler) and the client library cost."""
    raw_path.call()
    raw_process, raw_port = start_floor(raw_path.last_response)
    http_process, http_port = start_floor(raw_path.last_response)
    raw = RawSocket("floor: raw socket to a no-op server", raw_port, raw_path.request)
    client = HttpPath("floor: http.client to a no-op server", http_port, http_path.headers, http_path.body)
    raw.process, client.process = raw_process, http_process
    return [raw, client]


class Stdio:
    name = "stdio"

    def __init__(self, process: subprocess.Popen) -> None:
        self.process = process
        self.line = (json.dumps({"jsonrpc": "2.0", "id": 1, "method": "tools/call",
                                 "params": {"name": TOOL, "arguments": ARGUMENTS, "_meta": META_2026}}) + "\n").encode()

    def call(self) -> dict:
        self.process.stdin.write(self.line)
        self.process.stdin.flush()
        return json.loads(self.process.stdout.readline())


def _checked(path, reply: dict) -> None:
    if reply["result"]["structuredContent"]["output_0"][0] != 8.0:
        raise SystemExit(f"{path.name}: wrong answer {reply}")


def interleaved(paths: list, rounds: int, batch: int) -> dict[str, dict]:
    """Per path: every call's latency (us) and each round's batch mean."""
    for path in paths:  # warm up connections, caches and the models
        for _ in range(200):
            _checked(path, path.call())
    samples = {path.name: [] for path in paths}
    batches = {path.name: [] for path in paths}
    for round_index in range(rounds):
        order = paths[round_index % len(paths):] + paths[:round_index % len(paths)]
        for path in order:
            started_batch = time.perf_counter_ns()
            for _ in range(batch):
                start = time.perf_counter_ns()
                reply = path.call()
                samples[path.name].append((time.perf_counter_ns() - start) / 1000.0)
            batches[path.name].append((time.perf_counter_ns() - started_batch) / 1000.0 / batch)
            _checked(path, reply)
    return {name: {"samples": sorted(samples[name]), "batches": batches[name]} for name in samples}


def throughput(port: int, clients: int, seconds: float) -> float:
    counts = [0] * clients
    stop = time.monotonic() + seconds

    def run(index: int) -> None:
        path = http_2025(port)
        while time.monotonic() < stop:
            _checked(path, path.call())
            counts[index] += 1

    threads = [threading.Thread(target=run, args=(i,)) for i in range(clients)]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return sum(counts) / (time.monotonic() - started)


def main() -> int:
    parser = bench_parser(__doc__, rounds=40)
    parser.add_argument("--batch", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=5.0)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as work:
        project = Path(work)
        create_project(project, (Path(__file__).with_name("mcp_serve.gd"), Path(__file__).with_name("bench_timing.gd")))
        export_model("linear", project / "linear.pte")
        export_model("two_io", project / "two_io.pte")
        stop = project / "stop"
        environment = {**os.environ, "BENCH_STOP": str(stop)}
        command = [str(args.godot), "--headless", "--path", str(project), "--script", "res://mcp_serve.gd"]
        engine = subprocess.Popen(command, stdout=subprocess.PIPE, text=True, env=environment)
        stdio = subprocess.Popen(command + ["--", "--executorch-mcp-stdio"], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                 stderr=subprocess.DEVNULL, env={**environment, "BENCH_NO_HTTP": "1"})
        try:
            baseline = parse_bench_line(next(line for line in engine.stdout if line.startswith("BENCH ")))
            port = baseline["port"]
            session, stateless = http_2025(port), http_2026(port)
            raw_2025 = RawSocket.sending(port, session)
            floors = floor_paths(raw_2025, session)
            paths = [session, stateless, raw_2025, RawSocket.sending(port, stateless), Stdio(stdio), *floors]
            measured = interleaved(paths, args.rounds, args.batch)
            for floor in floors:
                floor.close()
                floor.process.wait(timeout=10)  # the floor exits when its one connection closes
            one = throughput(port, 1, args.seconds)
            eight = throughput(port, 8, args.seconds)
        finally:
            stop.touch()
            stdio.stdin.close()
            engine.wait(timeout=30)
            stdio.wait(timeout=30)
    base = HTTP_2025
    in_process = baseline["in_process_call_mcp_tool_us"]
    print(f"MCP tools/call {TOOL} with {baseline['models']} models loaded, one run "
          f"({args.rounds} rounds x {args.batch} calls per path, interleaved):")
    print(f"  {'path':36s} {'p50 us':>9s} {'p99 us':>9s} {'fastest batch':>14s} {'ratio to 2025 (median of rounds)':>34s}")
    report = {"in_process_us": in_process, "models": baseline["models"]}
    for name, data in measured.items():
        samples = data["samples"]
        p50, p99 = statistics.median(samples), samples[int(len(samples) * 0.99)]
        ratio = statistics.median(b / base_batch for b, base_batch in zip(data["batches"], measured[base]["batches"]))
        print(f"  {name:36s} {p50:9.1f} {p99:9.1f} {min(data['batches']):14.1f} {ratio:34.2f}")
        report[name] = {"p50_us": p50, "p99_us": p99, "fastest_batch_us": min(data["batches"]), "ratio_to_2025": ratio}
    print(f"  {'in-process call_mcp_tool':36s} {in_process:9.2f}   (GDScript, the floor)")
    print(f"  calls/s, 1 client: {one:.0f};  8 clients: {eight:.0f} ({eight / one:.2f}x one client)")
    report.update(calls_per_s_1=one, calls_per_s_8=eight)
    print(json.dumps(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
