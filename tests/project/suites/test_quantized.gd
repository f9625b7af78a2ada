# int8 programs (PT2E with XNNPACKQuantizer, exported at test time by the
# fixtures): they load, run, and give what ExecuTorch's own Python runtime
# gives for the same program, and eager PyTorch's float32 outputs within the
# quantization error. models/quantized_cases.json holds the inputs and both
# references (tests/integration/conftest.py).
extends "res://test_suite.gd"

# The same program on the same XNNPACK kernels: only summation order may differ.
const SAME_PROGRAM_TOLERANCE := 1e-4
# int8 against float32: the quantization error, as a share of the largest output.
const QUANTIZATION_TOLERANCE := 0.05


func _cases() -> Dictionary:
	var text := FileAccess.get_file_as_string(MODELS + "quantized_cases.json")
	check(not text.is_empty(), "quantized_cases.json is there")
	return JSON.parse_string(text)


func _max_error(actual: PackedFloat32Array, expected: Array) -> float:
	if actual.size() != expected.size():
		return INF
	var worst := 0.0
	for i in actual.size():
		worst = maxf(worst, absf(actual[i] - float(expected[i])))
	return worst


func _largest(values: Array) -> float:
	var largest := 0.0
	for value in values:
		largest = maxf(largest, absf(float(value)))
	return largest


func _check_program(stem: String, entry: Dictionary) -> void:
	var model := ExecuTorchModel.new()
	if not check(model.load_from_file(MODELS + stem + ".pte"), "%s (%s) loads" % [stem, entry["quantize"]]):
		return
	check(model.get_method_info("forward")["backends"].has("XnnpackBackend"), "%s runs on XNNPACK" % stem)
	var shape := PackedInt64Array(entry["shape"])
	var runtime := ExecuTorchRuntime.new()
	check(runtime.load_model(model), "an ExecuTorchRuntime takes %s" % stem)
	for row in entry["cases"]:
		var input := PackedFloat32Array(row["input"])
		var outputs := model.execute("forward", [ExecuTorchTensor.create(input, shape)])
		if not check(outputs.size() == 1, "%s executes" % stem):
			return
		var actual: PackedFloat32Array = outputs[0].get_data()
		var same := _max_error(actual, row["executorch"])
		check(same <= SAME_PROGRAM_TOLERANCE, "%s gives ExecuTorch's own output (max error %s)" % [stem, String.num_scientific(same)])
		var quantization := _max_error(actual, row["eager"])
		var bound := QUANTIZATION_TOLERANCE * _largest(row["eager"])
		check(quantization <= bound, "%s is within the quantization error of eager float32 (max error %s, bound %s)" % [stem, String.num_scientific(quantization), String.num_scientific(bound)])
		print("  %s: max error against ExecuTorch %s, against eager float32 %s (largest output %.3f)" % [stem, String.num_scientific(same), String.num_scientific(quantization), _largest(row["eager"])])
		# run_inference's arrays in and out reach the same result.
		var keyed := runtime.run_inference({"input_0": input})
		check(keyed.has("output_0") and _max_error(keyed["output_0"], row["executorch"]) <= SAME_PROGRAM_TOLERANCE,
				"%s through run_inference" % stem)


func test_dynamic_int8_mlp() -> void:
	var cases := _cases()
	_check_program("mlp_int8", cases["mlp_int8"])


func test_static_int8_mlp() -> void:
	var cases := _cases()
	_check_program("mlp_int8_static", cases["mlp_int8_static"])


func test_static_int8_cnn() -> void:
	var cases := _cases()
	_check_program("cnn_int8_static", cases["cnn_int8_static"])


func test_int8_as_resources() -> void:
	var model: ExecuTorchModel = load(MODELS + "mlp_int8_static.pte")
	check(model != null and model.is_loaded(), "load() returns an int8 program as an ExecuTorchModel")
