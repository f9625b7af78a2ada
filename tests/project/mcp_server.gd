# A game for tests/integration/test_mcp_server.py: two runtimes with two
# models (linear and two_io), plus a third, "hot", whose .pte the tests rewrite
# (hot reload), served by the game's one MCP server while the game races its own
# inference on the linear model against the agents.
#
# Environment: MCP_CONTROL_DIR (files the tests drop there), MCP_OPTIONS
# (ExecuTorchMCPServer.start's options as JSON), MCP_HOT_MODEL (an absolute
# path to the "hot" model, optional). Control files:
#   free_two_io -> free the second runtime (its model's tools go away)
#   reload      -> load linear.pte again (clients get list_changed)
#   stop        -> stop the server, print the race tally and quit
extends SceneTree

const MODEL := "res://models/linear.pte"

var runtime: ExecuTorchRuntime
var second: ExecuTorchRuntime
var hot: ExecuTorchRuntime
var control_dir := ""
var race_calls := 0
var race_wrong := 0


func _initialize() -> void:
	Engine.max_fps = 200  # headless frames would otherwise spin a whole core
	control_dir = OS.get_environment("MCP_CONTROL_DIR")
	runtime = ExecuTorchRuntime.new()
	runtime.load_model_from_file(MODEL)
	second = ExecuTorchRuntime.new()
	second.load_model_from_file("res://models/two_io.pte")
	var hot_path := OS.get_environment("MCP_HOT_MODEL")
	if not hot_path.is_empty():
		hot = ExecuTorchRuntime.new()
		hot.model_name = "hot"
		hot.model_reloaded.connect(func(path: String) -> void: print("RELOADED ", path))
		hot.load_model_from_file(hot_path)
	var options = JSON.parse_string(OS.get_environment("MCP_OPTIONS")) if not OS.get_environment("MCP_OPTIONS").is_empty() else {}
	var port := ExecuTorchMCPServer.start(0, options)
	print("MCP_PORT %d %s" % [port, ",".join(ExecuTorchMCPServer.get_model_names())])


func _process(_delta: float) -> bool:
	for i in 10:
		var x := float(race_calls % 100) / 10.0 - 5.0
		var result := runtime.run_inference({"input_0": [x]})
		race_calls += 1
		if result.is_empty() or absf(result["output_0"][0] - (2.0 * x + 3.0)) > 1e-4:
			race_wrong += 1
	if _take("free_two_io"):
		second = null
		print("FREED two_io: models now %s" % ",".join(ExecuTorchMCPServer.get_model_names()))
	if _take("reload"):
		runtime.load_model_from_file(MODEL)
	if _take("stop"):
		print("RACE calls=%d wrong=%d total_inferences=%d" % [race_calls, race_wrong, runtime.get_total_inferences()])
		ExecuTorchMCPServer.stop()
		print("STOPPED running=%s port=%d" % [ExecuTorchMCPServer.is_running(), ExecuTorchMCPServer.get_port()])
		runtime = null
		second = null
		hot = null
		quit(0)
	return false


func _take(name: String) -> bool:
	var path := control_dir.path_join(name)
	if not FileAccess.file_exists(path):
		return false
	DirAccess.remove_absolute(path)
	return true
