# Many agents per frame: the steering policy for 1,000 agents as one batched
# execute against 1,000 single calls, in alternating rounds (each path as a
# game writes it: the observations packed, the tensor made, the actions read
# back); then what run_inference_async costs the main thread per request, and
# the longest frame while 100 requests are in flight. Prints one BENCH line.
#
# Usage: --script res://bench_agents.gd -- <policy.pte> <agents> <rounds>
extends SceneTree

const Timing := preload("res://bench_timing.gd")
const OBSERVATIONS := 16
const IN_FLIGHT := 100

var runtime := ExecuTorchRuntime.new()
var observations := PackedFloat32Array()
var result := {}
var async_started_usec := 0
var async_done := 0
var async_failed := 0
var frames_in_flight := 0
var longest_frame_usec := 0
var last_frame_usec := 0


func _batched(model: ExecuTorchModel, agents: int) -> float:
	var start := Time.get_ticks_usec()
	var tensor := ExecuTorchTensor.create(observations, PackedInt64Array([agents, OBSERVATIONS]))
	var actions: PackedFloat32Array = model.execute("forward", [tensor])[0].get_data()
	var elapsed := Time.get_ticks_usec() - start
	assert(actions.size() == agents * 4)
	return float(elapsed)


func _single(model: ExecuTorchModel, agents: int) -> float:
	var start := Time.get_ticks_usec()
	var shape := PackedInt64Array([1, OBSERVATIONS])
	for agent in agents:
		var row := observations.slice(agent * OBSERVATIONS, (agent + 1) * OBSERVATIONS)
		var actions: PackedFloat32Array = model.execute("forward", [ExecuTorchTensor.create(row, shape)])[0].get_data()
	return float(Time.get_ticks_usec() - start)


func _initialize() -> void:
	var args := OS.get_cmdline_user_args()
	var model := ExecuTorchModel.new()
	if not model.load_from_file(args[0]):
		quit(1)
		return
	var agents := int(args[1])
	var rounds := int(args[2])
	observations.resize(agents * OBSERVATIONS)
	for i in observations.size():
		observations[i] = sin(float(i) * 0.37)
	for i in 20:  # warm up both paths
		_batched(model, agents)
		_single(model, 50)
	var batched: Array[float] = []
	var single: Array[float] = []
	var ratios: Array[float] = []
	for r in rounds:
		var one_call: float
		var per_agent: float
		if r % 2 == 0:
			one_call = _batched(model, agents)
			per_agent = _single(model, agents)
		else:
			per_agent = _single(model, agents)
			one_call = _batched(model, agents)
		batched.append(one_call)
		single.append(per_agent)
		ratios.append(per_agent / one_call)
	result = {"agents": agents, "rounds": rounds,
		"batched_us": {"min": batched.min(), "median": Timing.median(batched)},
		"single_us": {"min": single.min(), "median": Timing.median(single)},
		"single_over_batched": Timing.quartiles(ratios)}
	runtime.load_model(model)
	runtime.inference_completed.connect(_on_completed)


func _on_completed(_request_id: int, outputs: Dictionary) -> void:
	async_done += 1
	if not outputs.has("output_0"):
		async_failed += 1


func _process(_delta: float) -> bool:
	var now := Time.get_ticks_usec()
	if async_started_usec == 0:
		# The main thread's share of a request: packing its inputs and queueing it.
		# One agent: a [1, 16] tensor (the policy's batch is dynamic; plain
		# numbers would have to fill its upper bound, [4096, 16]).
		var row := ExecuTorchTensor.create(observations.slice(0, OBSERVATIONS), PackedInt64Array([1, OBSERVATIONS]))
		var start := Time.get_ticks_usec()
		for i in IN_FLIGHT:
			runtime.run_inference_async({"input_0": row})
		var queued := Time.get_ticks_usec()
		result["async_us_per_request"] = float(queued - start) / IN_FLIGHT
		async_started_usec = queued
		last_frame_usec = queued
		return false
	longest_frame_usec = maxi(longest_frame_usec, now - last_frame_usec)
	last_frame_usec = now
	frames_in_flight += 1
	if async_done < IN_FLIGHT:
		return false
	if async_failed > 0:
		printerr("%d of %d async requests failed (errors above)" % [async_failed, IN_FLIGHT])
		return true
	result["async_in_flight"] = IN_FLIGHT
	result["async_frames"] = frames_in_flight
	result["async_longest_frame_ms"] = longest_frame_usec / 1000.0
	result["async_all_done_ms"] = (now - async_started_usec) / 1000.0
	print("BENCH " + JSON.stringify(result))
	return true
