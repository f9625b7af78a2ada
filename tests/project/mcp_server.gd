# Serves the linear model over MCP for tests/integration/test_mcp_server.py,
# while racing GDScript inference calls against the MCP clients on the same
# model. Controlled through files in $MCP_CONTROL_DIR:
#   reload -> load the model again (MCP clients get tools/list_changed)
#   stop   -> stop the servers, print the race tally and quit
extends SceneTree

const MODEL := "res://models/linear.pte"

var runtime: ExecuTorchRuntime
var secured: ExecuTorchRuntime
var control_dir := ""
var race_calls := 0
var race_wrong := 0


func _initialize() -> void:
	Engine.max_fps = 200  # headless frames would otherwise spin a whole core
	control_dir = OS.get_environment("MCP_CONTROL_DIR")
	runtime = ExecuTorchRuntime.new()
	runtime.load_model_from_file(MODEL)
	var port := runtime.start_mcp_server(0)
	secured = ExecuTorchRuntime.new()
	secured.load_model_from_file(MODEL)
	var secured_port := secured.start_mcp_server(0, {"token": "s3cret-token", "max_body_bytes": 4096})
	print("MCP_PORTS %d %d" % [port, secured_port])


func _process(_delta: float) -> bool:
	for i in 10:
		var x := float(race_calls % 100) / 10.0 - 5.0
		var result := runtime.run_inference({"input_0": [x]})
		race_calls += 1
		if result.is_empty() or absf(result["output_0"][0] - (2.0 * x + 3.0)) > 1e-4:
			race_wrong += 1
	if FileAccess.file_exists(control_dir.path_join("reload")):
		DirAccess.remove_absolute(control_dir.path_join("reload"))
		runtime.load_model_from_file(MODEL)
	if FileAccess.file_exists(control_dir.path_join("stop")):
		print("RACE calls=%d wrong=%d total_inferences=%d" % [race_calls, race_wrong, runtime.get_total_inferences()])
		runtime.stop_mcp_server()
		print("STOPPED running=%s port=%d" % [runtime.is_mcp_server_running(), runtime.get_mcp_server_port()])
		runtime = null  # freeing the other runtime stops its server too
		secured = null
		quit(0)
	return false
