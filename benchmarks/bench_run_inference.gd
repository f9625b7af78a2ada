# Times run_inference on the linear model from GDScript: 10,000 calls in
# batches of 50 (Time.get_ticks_usec() ticks in whole microseconds, too coarse
# for one ~µs call), reporting the median per-call time over the batches.
# A no-op bound call (get_total_inferences) is timed the same way as the floor
# of any GDScript -> module call. Each is a plain loop, as a game writes it.
# Prints one JSON line.
extends SceneTree

const CALLS := 10000
const BATCH := 50


const Timing := preload("res://bench_timing.gd")


func _batches(runtime: ExecuTorchRuntime, inputs: Variant) -> float:
	var per_call: Array[float] = []
	for b in CALLS / BATCH:
		var start := Time.get_ticks_usec()
		if inputs == null:
			for i in BATCH:
				runtime.get_total_inferences()
		else:
			for i in BATCH:
				runtime.run_inference(inputs)
		per_call.append(float(Time.get_ticks_usec() - start) / BATCH)
	return Timing.median(per_call)


func _initialize() -> void:
	var runtime := ExecuTorchRuntime.new()
	if not runtime.load_model_from_file("res://linear.pte"):
		quit(1)
		return
	var inputs := {"input_0": [2.5]}
	var packed_inputs := {"input_0": PackedFloat32Array([2.5])}
	for i in 1000:  # warm up
		runtime.run_inference(inputs)
	var result := {
		"run_inference_array_us": _batches(runtime, inputs),
		"run_inference_packed_us": _batches(runtime, packed_inputs),
		"bound_call_floor_us": _batches(runtime, null),
		"execute_only_last_ms": runtime.get_last_inference_time(),
		"calls": CALLS,
		"prediction": runtime.run_inference(inputs)["output_0"][0],
	}
	print("BENCH " + JSON.stringify(result))
	quit(0)
