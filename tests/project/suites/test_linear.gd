# The original concept's case: y = 2x + 3 exported by model_tools, run through
# every path GDScript has into the module.
extends "res://test_suite.gd"

const TABLE := [[0.0, 3.0], [1.0, 5.0], [2.0, 7.0], [-1.0, 1.0], [2.5, 8.0]]


func test_predicts_the_concept_table() -> void:
	var runtime := load_runtime("linear.pte")
	check(runtime.is_model_loaded(), "is_model_loaded() after loading")
	for row in TABLE:
		var result := runtime.run_inference({"input_0": [row[0]]})
		if check(result.has("output_0"), "run_inference(%s) has output_0, got %s" % [row[0], result]):
			check_equal(result["output_0"].size(), 1, "output_0 size for x=%s" % row[0])
			check_near(result["output_0"][0], row[1], "y for x=%s" % row[0])


func test_accepts_packed_arrays_and_a_bare_number() -> void:
	var runtime := load_runtime("linear.pte")
	for value in [PackedFloat32Array([2.5]), PackedFloat64Array([2.5]), [2.5], 2.5]:
		var result := runtime.run_inference({"input_0": value})
		check(result.has("output_0") and absf(result["output_0"][0] - 8.0) < TOLERANCE,
				"%s input gives 8.0, got %s" % [type_string(typeof(value)), result])
	var ints := runtime.run_inference({"input_0": PackedInt32Array([2])})
	check(ints.has("output_0") and absf(ints["output_0"][0] - 7.0) < TOLERANCE, "PackedInt32Array([2]) gives 7.0, got %s" % ints)


func test_outputs_are_packed_float32_arrays() -> void:
	var runtime := load_runtime("linear.pte")
	var result := runtime.run_inference({"input_0": [1.0]}, "forward")
	check_equal(typeof(result["output_0"]), TYPE_PACKED_FLOAT32_ARRAY, "type of output_0")
	check_equal(result.keys(), ["output_0"], "output keys")


func test_model_info_comes_from_method_metadata() -> void:
	var runtime := load_runtime("linear.pte")
	var info := runtime.get_model_info()
	check(info["path"].ends_with("linear.pte"), "path ends with linear.pte: %s" % info["path"])
	check_equal(info["file_size"], FileAccess.get_file_as_bytes(MODELS + "linear.pte").size(), "file_size equals the file's size")
	check_equal(info["methods"].keys(), ["forward"], "method names")
	var forward: Dictionary = info["methods"]["forward"]
	check_equal(forward["inputs"].size(), 1, "forward input count")
	check_equal(forward["outputs"].size(), 1, "forward output count")
	check_equal(forward["inputs"][0]["dtype"], "float32", "input dtype")
	check_equal(forward["inputs"][0]["numel"], 1, "input numel")
	check_equal(forward["outputs"][0]["dtype"], "float32", "output dtype")
	check_equal(runtime.get_model().get_method_names(), PackedStringArray(["forward"]), "ExecuTorchModel.get_method_names()")


func test_counters_and_health_check() -> void:
	var runtime := load_runtime("linear.pte")
	check_equal(runtime.get_total_inferences(), 0, "total before any call")
	check_equal(runtime.get_last_inference_time(), 0.0, "last time before any call")
	for i in 5:
		runtime.run_inference({"input_0": [float(i)]})
	check_equal(runtime.get_total_inferences(), 5, "total after 5 calls")
	var last := runtime.get_last_inference_time()
	check(last > 0.0 and last < 1000.0, "last inference time is a plausible number of ms: %s" % last)
	var health := runtime.health_check()
	check_equal(health["status"], "ok", "health status")
	check_equal(health["model_loaded"], true, "health model_loaded")
	check_equal(health["total_inferences"], 5, "health total_inferences")
	check(String(health["executorch_version"]).begins_with("1."), "executorch_version: %s" % health["executorch_version"])
	# Built from source and linked in: the version names the source, e.g. "1.5.0 (tarball 0702a2d9f719 of cff6f4dd32e6, static)".
	check(String(health["executorch_version"]).ends_with(", static)"), "executorch_version names its source: %s" % health["executorch_version"])
	runtime.reset_performance_stats()
	check_equal(runtime.get_total_inferences(), 0, "total after reset")
	check_equal(runtime.get_last_inference_time(), 0.0, "last time after reset")


func test_model_loaded_signal() -> void:
	var runtime := ExecuTorchRuntime.new()
	var seen: Array[String] = []
	runtime.model_loaded.connect(func(path: String) -> void: seen.append(path))
	runtime.load_model_from_file(MODELS + "linear.pte")
	check_equal(seen, [MODELS + "linear.pte"] as Array[String], "model_loaded emitted once with the path")


func test_two_inputs_keep_their_order() -> void:
	# two_io: (a - b, a * b) on shape [3] inputs; a - b tells a swap apart.
	var runtime := load_runtime("two_io.pte")
	var result := runtime.run_inference({"input_0": [1.0, 2.0, 3.0], "input_1": [10.0, 20.0, 30.0]})
	check_equal(result.keys(), ["output_0", "output_1"], "two outputs")
	if result.size() == 2:
		check_equal(Array(result["output_0"]), [-9.0, -18.0, -27.0], "a - b")
		check_equal(Array(result["output_1"]), [10.0, 40.0, 90.0], "a * b")


func test_unload_and_reload() -> void:
	var runtime := load_runtime("linear.pte")
	runtime.unload_model()
	check(not runtime.is_model_loaded(), "not loaded after unload_model()")
	check(runtime.get_model() == null, "get_model() is null after unload")
	check(runtime.load_model_from_file(MODELS + "linear.pte"), "loads again")
	check_near(runtime.run_inference({"input_0": [1.0]})["output_0"][0], 5.0, "y for x=1 after reload")
