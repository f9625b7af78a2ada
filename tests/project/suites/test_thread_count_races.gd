# set_thread_count at any time, from any thread, while inferences run: this
# runtime's async requests, another runtime's, and calls on other threads. It
# once destroyed ExecuTorch's thread pool under running XNNPACK work (heap
# corruption, crashes in pthreadpool, a main thread that never returned) and
# left every XNNPACK method loaded before it with a dangling pool.
# tests/integration/test_robustness.py also runs this suite in several fresh
# engines, as the races did not fail every time.
extends "res://test_suite.gd"

const MODEL := "mlp_xnnpack.pte"
const REQUESTS := 120
const ROUNDS := 60

var received := {}


func _on_completed(request_id: int, result: Dictionary) -> void:
	received[request_id] = result


func cleanup() -> void:
	ExecuTorchRuntime.set_thread_count(_max_threads())


func _max_threads() -> int:
	return mini(OS.get_processor_count(), 63)


# A seeded input and the output it gives with the pool untouched.
func _inputs(count: int) -> Array:
	var rng := RandomNumberGenerator.new()
	rng.seed = 7
	var inputs := []
	for i in count:
		var values := PackedFloat32Array()
		values.resize(256)
		for j in 256:
			values[j] = rng.randf_range(-1.0, 1.0)
		inputs.append(values)
	return inputs


func _same(a: PackedFloat32Array, b: PackedFloat32Array) -> bool:
	if a.size() != b.size():
		return false
	for i in a.size():
		if absf(a[i] - b[i]) > 1e-5:
			return false
	return true


func _references(runtime: ExecuTorchRuntime, inputs: Array) -> Array:
	var references := []
	for values in inputs:
		references.append(runtime.run_inference({"input_0": values})["output_0"])
	return references


func _cycle_thread_count(step: int) -> void:
	ExecuTorchRuntime.set_thread_count(1 + step % _max_threads())


func _await_all(ids: Array, seconds: float) -> void:
	var deadline := Time.get_ticks_msec() + int(seconds * 1000)
	while ids.any(func(id) -> bool: return not received.has(id)) and Time.get_ticks_msec() < deadline:
		_cycle_thread_count(Time.get_ticks_msec())
		await (Engine.get_main_loop() as SceneTree).process_frame


func test_count_changes_while_requests_of_two_runtimes_run() -> void:
	var first := load_runtime(MODEL)
	var second := load_runtime(MODEL)
	first.inference_completed.connect(_on_completed)
	second.inference_completed.connect(_on_completed)
	var inputs := _inputs(8)
	var references := _references(first, inputs)
	var expected := {}
	for i in REQUESTS:
		var runtime := first if i % 2 == 0 else second
		expected[runtime.run_inference_async({"input_0": inputs[i % inputs.size()]})] = references[i % inputs.size()]
		_cycle_thread_count(i)  # requests are already running and queued by now
	var ids := expected.keys()
	await _await_all(ids, 60.0)
	var wrong := 0
	for id in ids:
		if not received.has(id) or not _same(received[id].get("output_0", PackedFloat32Array()), expected[id]):
			wrong += 1
	check_equal(wrong, 0, "every request of both runtimes delivered with the right result")
	check_equal(first.get_pending_requests() + second.get_pending_requests(), 0, "nothing pending")


func test_count_changes_while_another_thread_executes() -> void:
	var model: ExecuTorchModel = ExecuTorchModel.new()
	check(model.load_from_file(MODELS + MODEL), "the model loads")
	var inputs := _inputs(4)
	var references := []
	for values in inputs:
		references.append(model.execute("forward", [ExecuTorchTensor.create(values, PackedInt64Array([1, 256]))])[0].get_data())
	var worker := Thread.new()
	worker.start(func() -> int:
		var wrong := 0
		for i in ROUNDS * 4:
			var out := model.execute("forward", [ExecuTorchTensor.create(inputs[i % 4], PackedInt64Array([1, 256]))])
			if out.size() != 1 or not _same(out[0].get_data(), references[i % 4]):
				wrong += 1
		return wrong)
	var step := 0
	while worker.is_alive():
		_cycle_thread_count(step)
		step += 1
	check_equal(worker.wait_to_finish(), 0, "every execute() on the other thread is right")
	check(step > 0, "the count changed while the other thread ran (%d changes)" % step)
	print("  %d thread-count changes during %d execute() calls on another thread" % [step, ROUNDS * 4])


func test_count_changes_from_other_threads_while_main_thread_runs() -> void:
	var runtime := load_runtime(MODEL)
	var inputs := _inputs(4)
	var references := _references(runtime, inputs)
	var changers: Array[Thread] = []
	var until := Time.get_ticks_msec() + 500
	for t in 2:
		var changer := Thread.new()
		changer.start(func() -> void:
			var i := t
			while Time.get_ticks_msec() < until:
				ExecuTorchRuntime.set_thread_count(1 + i % _max_threads())
				i += 1)
		changers.append(changer)
	var wrong := 0
	var calls := 0
	while changers.any(func(thread: Thread) -> bool: return thread.is_alive()):
		var out := runtime.run_inference({"input_0": inputs[calls % 4]})
		if not _same(out.get("output_0", PackedFloat32Array()), references[calls % 4]):
			wrong += 1
		calls += 1
	for changer in changers:
		changer.wait_to_finish()
	check_equal(wrong, 0, "every call on the main thread is right (%d calls)" % calls)
	print("  %d run_inference calls on the main thread while two threads changed the count for 0.5 s" % calls)


func test_count_is_what_was_set_and_models_loaded_before_still_run() -> void:
	var runtime := load_runtime(MODEL)
	var before: PackedFloat32Array = runtime.run_inference({"input_0": _inputs(1)[0]})["output_0"]
	for count in range(1, _max_threads() + 1):
		check(ExecuTorchRuntime.set_thread_count(count), "set_thread_count(%d) succeeds" % count)
		check_equal(ExecuTorchRuntime.get_thread_count(), count, "get_thread_count() after set_thread_count(%d)" % count)
		# The method was loaded with the pool as it was before: it must keep working.
		check(_same(runtime.run_inference({"input_0": _inputs(1)[0]})["output_0"], before), "same result with %d thread(s)" % count)
