# The MCP tools in-process: a runtime's own (call_mcp_tool, list_mcp_tools) and
# the game's (ExecuTorchMCPServer), with the same results as the direct calls.
extends "res://test_suite.gd"

const SPEC_TOOLS := ["get_model_info", "health_check", "list_models", "run_inference"]


func _names(tools: Array) -> Array:
	return tools.map(func(tool: Dictionary) -> String: return tool["name"])


func test_lists_the_spec_tools_sorted() -> void:
	var runtime := ExecuTorchRuntime.new()
	var tools := runtime.list_mcp_tools()
	check_equal(_names(tools), SPEC_TOOLS, "tool names without a model")
	var run: Dictionary = tools[3]
	check_equal(run["inputSchema"]["type"], "object", "run_inference schema type")
	check(not run["inputSchema"].has("required"), "run_inference requires nothing: the inputs may come at the top level or in 'inputs'")
	check(run["inputSchema"]["properties"].has("model") and run["inputSchema"]["properties"].has("inputs"), "run_inference takes model and inputs")
	check(not String(run["description"]).is_empty(), "run_inference has a description")


func test_a_model_adds_its_method_tools_under_its_name() -> void:
	var runtime := load_runtime("linear.pte")
	check_equal(runtime.model_name, "linear", "model_name defaults to the file's base name")
	check_equal(_names(runtime.list_mcp_tools()), SPEC_TOOLS + ["linear.forward"], "tool names with linear.pte")
	var via_method_tool = runtime.call_mcp_tool("linear.forward", {"input_0": [2.5]})
	check(via_method_tool is Dictionary and absf(via_method_tool["output_0"][0] - 8.0) < TOLERANCE, "linear.forward: %s" % [via_method_tool])
	runtime.model_name = "regression"
	check_equal(runtime.model_name, "regression", "model_name is settable")
	check_equal(_names(runtime.list_mcp_tools()).back(), "regression.forward", "the tool follows the name")


func test_the_concept_call_shape_and_the_inputs_shape_agree() -> void:
	var runtime := load_runtime("linear.pte")
	for row in [[0.0, 3.0], [1.0, 5.0], [2.0, 7.0], [-1.0, 1.0], [2.5, 8.0]]:
		var concept = runtime.call_mcp_tool("run_inference", {"input_0": [row[0]]})
		var wrapped = runtime.call_mcp_tool("run_inference", {"inputs": {"input_0": [row[0]]}})
		var direct := runtime.run_inference({"input_0": [row[0]]})
		check_equal(concept, direct, "the concept's shape equals run_inference for x=%s" % row[0])
		check_equal(wrapped, direct, "the inputs shape equals run_inference for x=%s" % row[0])
		if check(concept is Dictionary and concept.has("output_0"), "tool result has output_0: %s" % [concept]):
			check_near(concept["output_0"][0], row[1], "tool y for x=%s" % row[0])
	check_equal(runtime.get_total_inferences(), 15, "tool calls count as inferences")


func test_tool_arguments_follow_json_number_rules() -> void:
	var runtime := load_runtime("linear.pte")
	# JSON numbers arrive as float or int; both must work, and method defaults apply.
	var result = runtime.call_mcp_tool("run_inference", {"inputs": {"input_0": [2]}, "method": "forward"})
	check(result is Dictionary and absf(result["output_0"][0] - 7.0) < TOLERANCE, "integer input through the tool: %s" % [result])
	result = runtime.call_mcp_tool("run_inference", {"input_0": 2, "model": "linear"})
	check(result is Dictionary and absf(result["output_0"][0] - 7.0) < TOLERANCE, "a bare number and the model's name: %s" % [result])


func test_info_and_health_tools_match_direct_calls() -> void:
	var runtime := load_runtime("linear.pte")
	check_equal(runtime.call_mcp_tool("get_model_info"), runtime.get_model_info(), "get_model_info tool")
	check_equal(runtime.get_model_info()["name"], "linear", "get_model_info names the model")
	runtime.run_inference({"input_0": [1.0]})
	var via_tool: Dictionary = runtime.call_mcp_tool("health_check", {})
	var direct := runtime.health_check()
	check_equal(via_tool.keys(), direct.keys(), "health_check keys")
	check_equal(via_tool["total_inferences"], 1, "health_check tool sees the inference")
	var listed: Dictionary = runtime.call_mcp_tool("list_models")
	check_equal(listed["models"].size(), 1, "list_models on a runtime lists its own model")
	check_equal(listed["models"][0]["name"], "linear", "list_models name")
	check_equal(listed["models"][0]["methods"], PackedStringArray(["forward"]), "list_models methods")


func test_the_game_server_sees_every_model_under_a_unique_name() -> void:
	var first := load_runtime("linear.pte")
	var second := load_runtime("linear.pte")
	var other := load_runtime("two_io.pte")
	check_equal(first.model_name, "linear", "the first keeps the file's name")
	check_equal(second.model_name, "linear_2", "a clash gets a numeric suffix")
	check_equal(ExecuTorchMCPServer.get_model_names(), PackedStringArray(["linear", "linear_2", "two_io"]), "the game's models")
	var names := _names(ExecuTorchMCPServer.list_tools())
	for tool in SPEC_TOOLS + ["linear.forward", "linear_2.forward", "two_io.forward"]:
		check(names.has(tool), "the game lists %s" % tool)
	check(ExecuTorchMCPServer.call_tool("run_inference", {"input_0": [1.0]}) == null, "without 'model', several models are an error")
	var by_name = ExecuTorchMCPServer.call_tool("run_inference", {"model": "linear_2", "input_0": [1.0]})
	check(by_name is Dictionary and absf(by_name["output_0"][0] - 5.0) < TOLERANCE, "run_inference by model name: %s" % [by_name])
	var by_tool = ExecuTorchMCPServer.call_tool("linear.forward", {"input_0": [2.0]})
	check(by_tool is Dictionary and absf(by_tool["output_0"][0] - 7.0) < TOLERANCE, "linear.forward on the game: %s" % [by_tool])
	check(ExecuTorchMCPServer.call_tool("run_inference", {"model": "nope", "input_0": [1.0]}) == null, "an unknown model is an error")
	var health: Dictionary = ExecuTorchMCPServer.call_tool("health_check")
	check_equal(health["models"].size(), 3, "health_check covers the whole game")
	check_equal(health["total_inferences"], 2, "and counts every model's inferences")
	second.unload_model()
	check_equal(ExecuTorchMCPServer.get_model_names(), PackedStringArray(["linear", "two_io"]), "an unloaded model is gone")
	other = null
	check_equal(ExecuTorchMCPServer.get_model_names(), PackedStringArray(["linear"]), "a freed runtime's model is gone at once")
	var only = ExecuTorchMCPServer.call_tool("run_inference", {"input_0": [0.0]})
	check(only is Dictionary and absf(only["output_0"][0] - 3.0) < TOLERANCE, "with one model left, 'model' may be omitted: %s" % [only])


func test_renaming_keeps_names_unique() -> void:
	var first := load_runtime("linear.pte")
	var second := load_runtime("linear.pte")
	second.model_name = "linear"
	check_equal(second.model_name, "linear_2", "asking for a taken name gives a suffix")
	first.model_name = "left"
	check_equal(ExecuTorchMCPServer.get_model_names(), PackedStringArray(["left", "linear_2"]), "renamed")
	var named := ExecuTorchRuntime.new()
	named.model_name = "chosen"
	check(named.load_model_from_file(MODELS + "linear.pte"), "loads with a name set beforehand")
	check_equal(named.model_name, "chosen", "a name set before loading is used")
	named.model_name = "has space"
	check_equal(named.model_name, "chosen", "a name agents cannot use is refused")
