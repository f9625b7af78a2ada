# Per-call cost of the GDScript paths into the module vs the same method run by
# benchmark() in C++ (inputs prepared once). Prints one JSON line.
#
# This machine's speed drifts by 10-20% over seconds, more than the differences
# measured here, so the paths are not timed one after the other. Each round
# times a batch of calls of every path, in an order that rotates from round to
# round, and compares them within the round; the medians over the rounds are
# reported. Each path is a plain loop, as a game would write it.
#
# Usage: --script res://bench_execute.gd -- <model.pte> <input numel> <rounds> <calls per batch>
extends SceneTree


const Timing := preload("res://bench_timing.gd")
const PATHS := ["cpp_benchmark", "execute_tensor", "execute_packed", "run_inference_packed"]


func _batch_us(path: String, runtime: ExecuTorchRuntime, model: ExecuTorchModel, inputs: Dictionary,
		tensor_list: Array, packed_list: Array, calls: int) -> float:
	if path == "cpp_benchmark":
		return runtime.benchmark(calls)["mean_us"]
	var start := Time.get_ticks_usec()
	match path:
		"execute_tensor":
			for i in calls:
				model.execute("forward", tensor_list)
		"execute_packed":
			for i in calls:
				model.execute("forward", packed_list)
		"run_inference_packed":
			for i in calls:
				runtime.run_inference(inputs)
	return float(Time.get_ticks_usec() - start) / calls


func _initialize() -> void:
	var args := OS.get_cmdline_user_args()
	var path: String = args[0]
	var numel := int(args[1])
	var rounds := int(args[2])
	var calls := int(args[3])
	var data := PackedFloat32Array()
	data.resize(numel)
	for i in numel:
		data[i] = float(i % 7) / 7.0
	var model: ExecuTorchModel = load(path)
	var runtime := ExecuTorchRuntime.new()
	runtime.load_model(model)
	var tensor := ExecuTorchTensor.create(data, model.get_method_info()["inputs"][0]["shape"])
	var inputs := {"input_0": data}
	var tensor_list := [tensor]
	var packed_list := [data]
	for i in 200:  # warm up: the first calls allocate and plan
		runtime.run_inference(inputs)
		model.execute("forward", tensor_list)
		model.execute("forward", packed_list)

	var per_call := {}
	for name in PATHS:
		per_call[name] = [] as Array[float]
	# ExecuTorch's share of run_inference, from the module's monitors: the time
	# inside Module::execute alone while GDScript drives the calls.
	var execute_only_ms := 0.0
	var execute_only_count := 0.0
	for round in rounds:
		for j in PATHS.size():
			var name: String = PATHS[(round + j) % PATHS.size()]
			var count_before: float = Performance.get_custom_monitor("ExecuTorch/inferences")
			var total_before: float = Performance.get_custom_monitor("ExecuTorch/mean_inference_ms") * count_before
			per_call[name].append(_batch_us(name, runtime, model, inputs, tensor_list, packed_list, calls))
			if name == "run_inference_packed":
				var count_after: float = Performance.get_custom_monitor("ExecuTorch/inferences")
				execute_only_ms += Performance.get_custom_monitor("ExecuTorch/mean_inference_ms") * count_after - total_before
				execute_only_count += count_after - count_before

	var result := {"model": path.get_file(), "rounds": rounds, "calls_per_batch": calls,
			"run_inference_execute_only_mean_us": execute_only_ms / execute_only_count * 1000.0}
	for name in PATHS:
		var ratios: Array[float] = []
		var overheads: Array[float] = []
		for round in rounds:
			ratios.append(per_call[name][round] / per_call["cpp_benchmark"][round])
			overheads.append(per_call[name][round] - per_call["cpp_benchmark"][round])
		result[name] = {
			"min_us": per_call[name].min(),
			"median_us": Timing.median(per_call[name]),
			"ratio_to_cpp": Timing.quartiles(ratios),
			"overhead_us": Timing.quartiles(overheads),
		}
	print("BENCH " + JSON.stringify(result))
	quit(0)
