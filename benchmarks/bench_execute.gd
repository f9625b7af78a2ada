# Per-call cost of the GDScript paths into the module vs the same method run by
# benchmark() in C++ (inputs prepared once). Prints one JSON line per model.
# Usage: --script res://bench_execute.gd -- <model.pte> <input numel> <calls>
extends SceneTree


const Timing := preload("res://bench_timing.gd")


# Batches of 50 for long runs; 5 where there are few calls (slow models).
func _time(callable: Callable, calls: int) -> float:
	return Timing.per_call_us(callable, calls, 50 if calls >= 1000 else 5)


func _initialize() -> void:
	var args := OS.get_cmdline_user_args()
	var path: String = args[0]
	var numel := int(args[1])
	var calls := int(args[2])
	var data := PackedFloat32Array()
	data.resize(numel)
	for i in numel:
		data[i] = float(i % 7) / 7.0
	var model: ExecuTorchModel = load(path)
	var runtime := ExecuTorchRuntime.new()
	runtime.load_model(model)
	var tensor := ExecuTorchTensor.create(data, model.get_method_info()["inputs"][0]["shape"])
	var packed_inputs := {"input_0": data}
	var tensor_list := [tensor]
	var packed_list := [data]
	for i in mini(calls, 200):  # warm up (first calls allocate)
		runtime.run_inference(packed_inputs)
		model.execute("forward", tensor_list)
	# ExecuTorch's share of run_inference, from the module's monitors: the time
	# inside Module::execute alone while GDScript drives the calls.
	var count_before: float = Performance.get_custom_monitor("ExecuTorch/inferences")
	var total_before: float = Performance.get_custom_monitor("ExecuTorch/mean_inference_ms") * count_before
	var run_inference_us := _time(func() -> void: runtime.run_inference(packed_inputs), calls)
	var count_after: float = Performance.get_custom_monitor("ExecuTorch/inferences")
	var total_after: float = Performance.get_custom_monitor("ExecuTorch/mean_inference_ms") * count_after
	var result := {
		"model": path.get_file(),
		"run_inference_packed_us": run_inference_us,
		"run_inference_execute_only_mean_us": (total_after - total_before) / (count_after - count_before) * 1000.0,
		"execute_tensor_us": _time(func() -> void: model.execute("forward", tensor_list), calls),
		"execute_packed_us": _time(func() -> void: model.execute("forward", packed_list), calls),
		"cpp_benchmark": runtime.benchmark(calls),
	}
	print("BENCH " + JSON.stringify(result))
	quit(0)
