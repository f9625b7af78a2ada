# Benchmark server for bench_mcp.py: serves linear.pte over MCP and reports
# the in-process baseline (call_mcp_tool from GDScript) as one JSON line.
extends SceneTree

const Timing := preload("res://bench_timing.gd")

var runtime: ExecuTorchRuntime


func _initialize() -> void:
	Engine.max_fps = 60
	runtime = ExecuTorchRuntime.new()
	runtime.load_model_from_file("res://linear.pte")
	var arguments := {"inputs": {"input_0": [2.5]}}
	var per_call: Array[float] = []
	for batch in 200:
		var start := Time.get_ticks_usec()
		for i in 50:
			runtime.call_mcp_tool("run_inference", arguments)
		per_call.append(float(Time.get_ticks_usec() - start) / 50.0)
	var port := runtime.start_mcp_server(0)
	print("BENCH " + JSON.stringify({"port": port, "in_process_call_mcp_tool_us": Timing.median(per_call)}))


func _process(_delta: float) -> bool:
	if FileAccess.file_exists(OS.get_environment("BENCH_STOP")):
		runtime = null
		quit(0)
	return false
