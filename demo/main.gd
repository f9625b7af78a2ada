# Predicts y = 2x + 3 with a PyTorch model exported to ExecuTorch.
extends SceneTree


func _initialize() -> void:
	var runtime := ExecuTorchRuntime.new()
	if not runtime.load_model_from_file("res://models/linear.pte"):
		quit(1)
		return
	print("Loaded %s (%d bytes); methods: %s" % [
		runtime.get_model().get_source_path(), runtime.get_model().get_file_size(),
		runtime.get_model().get_method_names()])
	for x in [0.0, 1.0, 2.0, -1.0, 2.5]:
		var result := runtime.run_inference({"input_0": [x]})
		print("  x = %5.2f  ->  y = %.4f   (expected %.4f)" % [x, result["output_0"][0], 2.0 * x + 3.0])
	print("Via the MCP tool: %s" % runtime.call_mcp_tool("run_inference", {"inputs": {"input_0": [10.0]}}))
	print("Health: %s" % runtime.health_check())
	quit(0)
