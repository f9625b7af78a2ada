# The in-process MCP tool table: the same results as the direct calls.
extends "res://test_suite.gd"


func test_lists_the_spec_tools_sorted() -> void:
	var runtime := ExecuTorchRuntime.new()
	var tools := runtime.list_mcp_tools()
	var names := tools.map(func(tool: Dictionary) -> String: return tool["name"])
	check_equal(names, ["get_model_info", "health_check", "run_inference"], "tool names")
	var run: Dictionary = tools[2]
	check_equal(run["inputSchema"]["type"], "object", "run_inference schema type")
	check_equal(run["inputSchema"]["required"], ["inputs"], "run_inference required arguments")
	check(not String(run["description"]).is_empty(), "run_inference has a description")


func test_run_inference_tool_matches_the_concept_table() -> void:
	var runtime := load_runtime("linear.pte")
	for row in [[0.0, 3.0], [1.0, 5.0], [2.0, 7.0], [-1.0, 1.0], [2.5, 8.0]]:
		var via_tool = runtime.call_mcp_tool("run_inference", {"inputs": {"input_0": [row[0]]}})
		var direct := runtime.run_inference({"input_0": [row[0]]})
		check_equal(via_tool, direct, "tool result equals run_inference for x=%s" % row[0])
		if check(via_tool is Dictionary and via_tool.has("output_0"), "tool result has output_0: %s" % [via_tool]):
			check_near(via_tool["output_0"][0], row[1], "tool y for x=%s" % row[0])
	check_equal(runtime.get_total_inferences(), 10, "tool calls count as inferences")


func test_tool_arguments_follow_json_number_rules() -> void:
	var runtime := load_runtime("linear.pte")
	# JSON numbers arrive as float or int; both must work, and method defaults apply.
	var result = runtime.call_mcp_tool("run_inference", {"inputs": {"input_0": [2]}, "method": "forward"})
	check(result is Dictionary and absf(result["output_0"][0] - 7.0) < TOLERANCE, "integer input through the tool: %s" % [result])


func test_info_and_health_tools_match_direct_calls() -> void:
	var runtime := load_runtime("linear.pte")
	check_equal(runtime.call_mcp_tool("get_model_info"), runtime.get_model_info(), "get_model_info tool")
	runtime.run_inference({"input_0": [1.0]})
	var via_tool: Dictionary = runtime.call_mcp_tool("health_check", {})
	var direct := runtime.health_check()
	check_equal(via_tool.keys(), direct.keys(), "health_check keys")
	check_equal(via_tool["total_inferences"], 1, "health_check tool sees the inference")
