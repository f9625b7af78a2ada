# Bad input never crashes and never yields output. Each case below makes the
# engine print an error; tests/integration/test_engine.py checks the texts.
extends "res://test_suite.gd"


func test_no_model_loaded() -> void:
	var runtime := ExecuTorchRuntime.new()
	check(not runtime.is_model_loaded(), "nothing loaded at start")
	check_equal(runtime.run_inference({"input_0": [1.0]}), {}, "run_inference without a model")
	check_equal(runtime.get_model_info(), {}, "get_model_info without a model")
	check_equal(runtime.health_check()["status"], "no_model", "health status without a model")
	check_equal(runtime.get_failed_inferences(), 1, "the failed call is counted")
	check_equal(runtime.get_total_inferences(), 0, "no successful inference")


func test_bad_files_are_refused() -> void:
	var runtime := ExecuTorchRuntime.new()
	for file in ["does_not_exist.pte", "not_a_pte.pte", "truncated.pte", "empty.pte"]:
		check(not runtime.load_model_from_file(MODELS + file), "%s is refused" % file)
		check(not runtime.is_model_loaded(), "nothing loaded after %s" % file)
	check(not runtime.load_model_from_file(""), "an empty path is refused")


func test_a_failed_load_keeps_the_loaded_model() -> void:
	var runtime := load_runtime("linear.pte")
	check(not runtime.load_model_from_file(MODELS + "truncated.pte"), "truncated.pte is refused")
	check(runtime.is_model_loaded(), "linear.pte is still loaded")
	check_near(runtime.run_inference({"input_0": [2.0]})["output_0"][0], 7.0, "and still predicts")


func test_bad_inputs_yield_no_output() -> void:
	var runtime := load_runtime("linear.pte")
	var cases := {
		"wrong input name": {"x": [1.0]},
		"index out of range": {"input_0": [1.0], "input_1": [1.0]},
		"missing input": {},
		"too many values": {"input_0": [1.0, 2.0]},
		"no values": {"input_0": []},
		"non-numeric value": {"input_0": ["a"]},
		"value is a string": {"input_0": "2.5"},
		"value is a dictionary": {"input_0": {"a": 1}},
	}
	for name in cases:
		check_equal(runtime.run_inference(cases[name]), {}, name)
	check_equal(runtime.run_inference({"input_0": [1.0]}, "no_such_method"), {}, "unknown method")
	check_equal(runtime.get_total_inferences(), 0, "no bad call counted as an inference")
	check_equal(runtime.get_failed_inferences(), cases.size() + 1, "every bad call counted as failed")
	check_near(runtime.run_inference({"input_0": [2.5]})["output_0"][0], 8.0, "a good call still works afterwards")


func test_data_dependent_errors_are_reported_not_crashed() -> void:
	# An id past the embedding table (16 rows) is only known at run time: the
	# kernel refuses it, ExecuTorch says why, and the call fails cleanly.
	var model: ExecuTorchModel = load(MODELS + "embedding.pte")
	var ids := ExecuTorchTensor.create(PackedInt64Array([0, 1, 2, 3, 99]))
	check_equal(model.execute("forward", [ids]), [], "an out-of-range id fails the call")
	var good := ExecuTorchTensor.create(PackedInt64Array([0, 1, 2, 3, 15]))
	check_equal(model.execute("forward", [good]).size(), 1, "and the next good call works")


func test_bad_tool_calls_return_null() -> void:
	var runtime := load_runtime("linear.pte")
	check(runtime.call_mcp_tool("no_such_tool", {}) == null, "unknown tool")
	check(runtime.call_mcp_tool("run_inference", {}) == null, "missing required argument")
	check(runtime.call_mcp_tool("run_inference", {"inputs": "2.5"}) == null, "argument of the wrong type")
	check(runtime.call_mcp_tool("run_inference", {"inputs": {"input_0": [1.0]}, "bogus": 1}) == null, "unknown argument")
	check(runtime.call_mcp_tool("run_inference", {"inputs": {"input_0": ["a"]}}) == null, "inference error through the tool")


func test_model_resource_errors() -> void:
	var model := ExecuTorchModel.new()
	check(not model.is_loaded(), "a new model is not loaded")
	check_equal(model.get_method_info("forward"), {}, "get_method_info before loading")
	check(model.load_from_file(MODELS + "linear.pte"), "loads linear.pte")
	check_equal(model.get_method_info("nope"), {}, "get_method_info of an unknown method")
	check_equal(model.get_method_info()["inputs"].size(), 1, "get_method_info() defaults to forward")
