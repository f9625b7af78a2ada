# handle_mcp_message / ExecuTorchMCPServer.handle_message: the JSON-RPC
# dispatcher in-process, the same path the transports use
# (tests/integration/test_mcp_server.py compares them).
extends "res://test_suite.gd"

const META_2026 := {"io.modelcontextprotocol/protocolVersion": "2026-07-28", "io.modelcontextprotocol/clientCapabilities": {}}


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
	var concept := _rpc(runtime, {"jsonrpc": "2.0", "id": 2, "method": "tools/call",
			"params": {"name": "run_inference", "arguments": {"input_0": [2.5]}}})
	check_equal(concept["result"]["structuredContent"], reply["result"]["structuredContent"], "the concept's call shape over JSON-RPC")


func test_protocol_errors_in_process() -> void:
	var runtime := load_runtime("linear.pte")
	check_equal(JSON.parse_string(runtime.handle_mcp_message("{nope"))["error"]["code"], -32700.0, "parse error")
	check_equal(_rpc(runtime, {"jsonrpc": "2.0", "id": 2, "method": "prompts/list"})["error"]["code"], -32601.0, "unknown method")
	check_equal(_rpc(runtime, {"jsonrpc": "2.0", "method": "notifications/initialized"}), {}, "a notification has no reply")
	var tools: Array = _rpc(runtime, {"jsonrpc": "2.0", "id": 3, "method": "tools/list"})["result"]["tools"]
	check_equal(tools.map(func(tool: Dictionary) -> String: return tool["name"]),
			["get_model_info", "health_check", "list_models", "run_inference", "linear.forward"], "tools/list names")
	var unknown := _rpc(runtime, {"jsonrpc": "2.0", "id": 4, "method": "tools/call", "params": {"name": "nope"}})
	check_equal(unknown["error"]["code"], -32602.0, "unknown tool is a protocol error")


func test_ids_come_back_exactly_as_sent() -> void:
	var runtime := ExecuTorchRuntime.new()
	for id in ["100000.5", "1208925819614629174706176", "0", "-7", "\"a string\"", "1e3"]:
		var reply := runtime.handle_mcp_message('{"jsonrpc": "2.0", "id": %s, "method": "ping"}' % id)
		check(reply.begins_with('{"jsonrpc":"2.0","id":%s,' % id), "id %s echoed exactly: %s" % [id, reply])
	var failed := runtime.handle_mcp_message('{"jsonrpc": "2.0", "id": 1208925819614629174706176, "method": "nope"}')
	check(failed.contains('"id":1208925819614629174706176'), "an error echoes the id too: %s" % failed)


func test_non_finite_outputs_are_valid_json() -> void:
	var runtime := load_runtime("linear.pte")
	var text := runtime.handle_mcp_message(JSON.stringify({"jsonrpc": "2.0", "id": 9, "method": "tools/call",
			"params": {"name": "run_inference", "arguments": {"input_0": [3.0e38]}}}))  # 2x + 3 overflows float32
	var reply = JSON.parse_string(text)
	if check(reply is Dictionary, "the reply parses as JSON: %s" % text):
		check_equal(reply["result"]["structuredContent"]["output_0"], [null], "inf becomes null")
		check(String(reply["result"]["content"][1]["text"]).contains("output_0[0] is inf"), "the text says why: %s" % [reply["result"]["content"]])
	check(not text.contains("inf,") and not text.contains("e99999"), "no non-JSON number in %s" % text)


func test_strings_are_escaped_exactly() -> void:
	# A tool error quotes the model name it was given: quotes, backslashes,
	# control characters and non-ASCII text must come back as sent.
	var runtime := load_runtime("linear.pte")
	var name := "a\"b\\c\nd\te\u0001f é 模型 \U01F600 end"
	var text := runtime.handle_mcp_message(JSON.stringify({"jsonrpc": "2.0", "id": 5, "method": "tools/call",
			"params": {"name": "run_inference", "arguments": {"model": name, "input_0": [1.0]}}}))
	var reply = JSON.parse_string(text)
	if check(reply is Dictionary, "the reply parses as JSON: %s" % text):
		check_equal(reply["result"]["isError"], true, "an unknown model is a tool error")
		var said := String(reply["result"]["content"][0]["text"])
		check(said.contains(name), "the error quotes the name exactly: %s" % said)
	check(text.contains("\\u0001"), "a control character is written as \\u0001: %s" % text)


func test_the_stateless_revision_in_process() -> void:
	var runtime := load_runtime("linear.pte")
	var discover := _rpc(runtime, {"jsonrpc": "2.0", "id": 1, "method": "server/discover", "params": {"_meta": META_2026}})
	check_equal(discover["result"]["resultType"], "complete", "discover resultType")
	check(discover["result"]["supportedVersions"].has("2026-07-28"), "discover lists 2026-07-28")
	check_equal(discover["result"]["_meta"]["io.modelcontextprotocol/serverInfo"]["name"], "godot-executorch", "discover names the server")
	var listed := _rpc(runtime, {"jsonrpc": "2.0", "id": 2, "method": "tools/list", "params": {"_meta": META_2026}})
	check(listed["result"].has("ttlMs") and listed["result"]["cacheScope"] == "private", "tools/list carries cache hints")
	var call := _rpc(runtime, {"jsonrpc": "2.0", "id": 3, "method": "tools/call",
			"params": {"_meta": META_2026, "name": "run_inference", "arguments": {"input_0": [1.0]}}})
	check_near(call["result"]["structuredContent"]["output_0"][0], 5.0, "a stateless tools/call")
	check_equal(call["result"]["resultType"], "complete", "tools/call resultType")
	var ping := _rpc(runtime, {"jsonrpc": "2.0", "id": 4, "method": "ping", "params": {"_meta": META_2026}})
	check_equal(ping["error"]["code"], -32601.0, "ping is gone from 2026-07-28")
	var old := _rpc(runtime, {"jsonrpc": "2.0", "id": 5, "method": "tools/list",
			"params": {"_meta": {"io.modelcontextprotocol/protocolVersion": "2099-01-01", "io.modelcontextprotocol/clientCapabilities": {}}}})
	check_equal(old["error"]["code"], -32022.0, "an unsupported version is -32022")
	check(old["error"]["data"]["supported"].has("2026-07-28") and old["error"]["data"]["requested"] == "2099-01-01", "with data.supported and data.requested")
	check_equal(old["id"], 5.0, "and the request's id")


func test_server_lifecycle() -> void:
	var runtime := ExecuTorchRuntime.new()
	check(not runtime.is_mcp_server_running(), "not running at first")
	check_equal(runtime.get_mcp_server_port(), -1, "no port when stopped")
	var port := runtime.start_mcp_server(0)
	check(port > 0, "start_mcp_server(0) binds a free port: %d" % port)
	check(runtime.is_mcp_server_running(), "running after start")
	check_equal(runtime.get_mcp_server_port(), port, "get_mcp_server_port")
	check(ExecuTorchMCPServer.is_running() and ExecuTorchMCPServer.get_port() == port, "it is the game's one server")
	check_equal(runtime.start_mcp_server(0), -1, "a second start is refused")
	var other := ExecuTorchRuntime.new()
	check(other.is_mcp_server_running(), "every runtime sees the one server")
	check_equal(other.start_mcp_server(port), -1, "starting it again is refused")
	runtime.stop_mcp_server()
	check(not runtime.is_mcp_server_running() and not ExecuTorchMCPServer.is_running(), "stopped")
	check_equal(other.start_mcp_server(0, {"colour": "red"}), -1, "an unknown option is refused")
	check_equal(ExecuTorchMCPServer.start(0, {"idle_timeout_seconds": -1}), -1, "an option out of range is refused")
	runtime.stop_mcp_server()  # stopping twice is harmless
	check(ExecuTorchMCPServer.start(port) == port, "the port can be bound again after stop")
	runtime = null
	check(ExecuTorchMCPServer.is_running(), "the server outlives the runtime that started it")
	ExecuTorchMCPServer.stop()
