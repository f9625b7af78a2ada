# The MCP JSON path in-process: ExecuTorchMCPServer.handle_message (parse the
# request, dispatch, write the response) against call_tool (the same tool call
# with no JSON), for each model's <model>.forward tool, round by round.
# Usage: --script res://bench_mcp_json.gd -- <rounds> <batch> <path> [<path> ...]
extends SceneTree

const META_2026 := {"io.modelcontextprotocol/protocolVersion": "2026-07-28", "io.modelcontextprotocol/clientCapabilities": {}}


func _per_call_us(batch: int, call: Callable) -> float:
	var start := Time.get_ticks_usec()
	for i in batch:
		call.call()
	return float(Time.get_ticks_usec() - start) / batch


func _initialize() -> void:
	var arguments := OS.get_cmdline_user_args()
	var rounds := int(arguments[0])
	var batch := int(arguments[1])
	var runtimes: Array[ExecuTorchRuntime] = []
	var results := {}
	for path in arguments.slice(2):
		var runtime := ExecuTorchRuntime.new()
		if not runtime.load_model_from_file(path):
			print("BENCH " + JSON.stringify({"error": "cannot load " + path}))
			quit(1)
			return
		runtimes.append(runtime)
		var tool: String = runtime.model_name + ".forward"
		var arguments_of_call := {"input_0": [2.5]}
		var params := {"name": tool, "arguments": arguments_of_call}
		var message_2025 := JSON.stringify({"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": params})
		var message_2026 := JSON.stringify({"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": params.merged({"_meta": META_2026})})
		var paths := {
			"call_tool": func() -> void: ExecuTorchMCPServer.call_tool(tool, arguments_of_call),
			"handle_message 2025": func() -> void: ExecuTorchMCPServer.handle_message(message_2025),
			"handle_message 2026": func() -> void: ExecuTorchMCPServer.handle_message(message_2026),
		}
		var samples := {}
		for name in paths:
			samples[name] = [] as Array[float]
			_per_call_us(batch, paths[name])  # warm up
		var names := paths.keys()
		for round in rounds:
			for offset in names.size():  # rotating order: drift hits every path alike
				var name: String = names[(round + offset) % names.size()]
				samples[name].append(_per_call_us(batch, paths[name]))
		var response_chars := ExecuTorchMCPServer.handle_message(message_2025).length()
		results[runtime.model_name] = {"samples": samples, "response_chars": response_chars}
	print("BENCH " + JSON.stringify(results))
	runtimes.clear()
	quit(0)
