# Benchmark game for bench_mcp.py: two models loaded, the game's MCP server on
# HTTP (unless BENCH_NO_HTTP; the stdio copy of this game serves stdio only),
# and the in-process baseline (call_mcp_tool from GDScript) as one JSON line.
extends SceneTree

const Timing := preload("res://bench_timing.gd")

var runtimes: Array[ExecuTorchRuntime] = []


func _initialize() -> void:
	Engine.max_fps = 60
	for file in ["res://linear.pte", "res://two_io.pte"]:
		var runtime := ExecuTorchRuntime.new()
		runtime.load_model_from_file(file)
		runtimes.append(runtime)
	var arguments := {"input_0": [2.5]}
	var per_call: Array[float] = []
	for batch in 200:
		var start := Time.get_ticks_usec()
		for i in 50:
			runtimes[0].call_mcp_tool("linear.forward", arguments)
		per_call.append(float(Time.get_ticks_usec() - start) / 50.0)
	var port := -1 if OS.has_environment("BENCH_NO_HTTP") else ExecuTorchMCPServer.start(0)
	print("BENCH " + JSON.stringify({"port": port, "models": runtimes.size(), "in_process_call_mcp_tool_us": Timing.median(per_call)}))


func _process(_delta: float) -> bool:
	if FileAccess.file_exists(OS.get_environment("BENCH_STOP")):
		runtimes.clear()
		quit(0)
	return false
