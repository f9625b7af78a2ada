# handle_mcp_message: the JSON-RPC dispatcher in-process, the same path the
# HTTP transport uses (tests/integration/test_mcp_server.py compares them).
extends "res://test_suite.gd"


func _rpc(runtime: ExecuTorchRuntime, message: Dictionary) -> Dictionary:
	var reply := runtime.handle_mcp_message(JSON.stringify(message))
	return JSON.parse_string(reply) if not reply.is_empty() else {}


func test_tools_call_in_process() -> void:
	var runtime := load_runtime("linear.pte")
	var reply := _rpc(runtime, {"jsonrpc": "2.0", "id": 1, "method": "tools/call",
			"params": {"name": "run_inference", "arguments": {"inputs": {"input_0": [2.5]}}}})
	check_equal(reply["id"], 1.0, "id echoed")
	check_equal(reply["result"]["isError"], false, "isError")
	check_near(reply["result"]["structuredContent"]["output_0"][0], 8.0, "structuredContent")
	print("IN_PROCESS_TOOLS_CALL " + JSON.stringify(reply["result"]))


func test_protocol_errors_in_process() -> void:
	var runtime := load_runtime("linear.pte")
	check_equal(JSON.parse_string(runtime.handle_mcp_message("{nope"))["error"]["code"], -32700.0, "parse error")
	check_equal(_rpc(runtime, {"jsonrpc": "2.0", "id": 2, "method": "prompts/list"})["error"]["code"], -32601.0, "unknown method")
	check_equal(_rpc(runtime, {"jsonrpc": "2.0", "method": "notifications/initialized"}), {}, "a notification has no reply")
	var tools: Array = _rpc(runtime, {"jsonrpc": "2.0", "id": 3, "method": "tools/list"})["result"]["tools"]
	check_equal(tools.map(func(tool: Dictionary) -> String: return tool["name"]),
			["get_model_info", "health_check", "run_inference", "model_forward"], "tools/list names")
	var unknown := _rpc(runtime, {"jsonrpc": "2.0", "id": 4, "method": "tools/call", "params": {"name": "nope"}})
	check_equal(unknown["error"]["code"], -32602.0, "unknown tool is a protocol error")
	# A fractional id comes back as sent, not rounded to a nearby integer.
	var fractional := runtime.handle_mcp_message('{"jsonrpc": "2.0", "id": 100000.5, "method": "ping"}')
	check(fractional.contains('"id":100000.5'), "fractional id echoed exactly: %s" % fractional)


func test_server_lifecycle() -> void:
	var runtime := ExecuTorchRuntime.new()
	check(not runtime.is_mcp_server_running(), "not running at first")
	check_equal(runtime.get_mcp_server_port(), -1, "no port when stopped")
	var port := runtime.start_mcp_server(0)
	check(port > 0, "start_mcp_server(0) binds a free port: %d" % port)
	check(runtime.is_mcp_server_running(), "running after start")
	check_equal(runtime.get_mcp_server_port(), port, "get_mcp_server_port")
	check_equal(runtime.start_mcp_server(0), -1, "a second start is refused")
	var other := ExecuTorchRuntime.new()
	check_equal(other.start_mcp_server(port), -1, "a port in use is refused")
	check_equal(other.start_mcp_server(0, {"colour": "red"}), -1, "an unknown option is refused")
	runtime.stop_mcp_server()
	check(not runtime.is_mcp_server_running(), "stopped")
	runtime.stop_mcp_server()  # stopping twice is harmless
	check(runtime.start_mcp_server(port) == port, "the port can be bound again after stop")
