# run_inference_async on the WorkerThreadPool, benchmark(), the thread count
# and the Performance monitors.
extends "res://test_suite.gd"

var received := {}


func _on_completed(request_id: int, result: Dictionary) -> void:
	received[request_id] = result


func test_hundred_requests_in_flight() -> void:
	var runtime := load_runtime("linear.pte")
	runtime.inference_completed.connect(_on_completed)
	var expected := {}
	for i in 100:
		var x := float(i) / 4.0
		var id := runtime.run_inference_async({"input_0": [x]})
		check(id > 0, "request %d gets an id" % i)
		expected[id] = 2.0 * x + 3.0
	check_equal(expected.size(), 100, "100 distinct request ids")
	var deadline := Time.get_ticks_msec() + 20000
	while received.size() < 100 and Time.get_ticks_msec() < deadline:
		await (Engine.get_main_loop() as SceneTree).process_frame
	check_equal(received.size(), 100, "every request delivered")
	var wrong := 0
	for id in expected:
		if not received.has(id) or absf(received[id]["output_0"][0] - expected[id]) > TOLERANCE:
			wrong += 1
	check_equal(wrong, 0, "every async result is right")
	check_equal(runtime.get_pending_requests(), 0, "nothing pending")
	check_equal(runtime.get_total_inferences(), 100, "async inferences are counted")


func test_requests_from_other_threads() -> void:
	var runtime := load_runtime("linear.pte")
	runtime.inference_completed.connect(_on_completed)
	var ids := []
	var threads: Array[Thread] = []
	for t in 4:
		var thread := Thread.new()
		thread.start(func() -> Array:
			var mine := []
			for i in 10:
				mine.append(runtime.run_inference_async({"input_0": [float(t * 10 + i)]}))
			return mine)
		threads.append(thread)
	for thread in threads:
		ids.append_array(thread.wait_to_finish())
	check_equal(ids.size(), 40, "40 requests from 4 threads")
	var deadline := Time.get_ticks_msec() + 10000
	while ids.any(func(id) -> bool: return not received.has(id)) and Time.get_ticks_msec() < deadline:
		await (Engine.get_main_loop() as SceneTree).process_frame
	check(ids.all(func(id) -> bool: return received.has(id) and received[id].has("output_0")), "every request delivered on the main thread")


func test_async_errors_and_freeing_while_running() -> void:
	var runtime := load_runtime("linear.pte")
	runtime.inference_completed.connect(_on_completed)
	var id := runtime.run_inference_async({"input_0": ["bad"]})
	var deadline := Time.get_ticks_msec() + 10000
	while not received.has(id) and Time.get_ticks_msec() < deadline:
		await (Engine.get_main_loop() as SceneTree).process_frame
	check_equal(received.get(id), {}, "a failed request delivers an empty result")
	check_equal(runtime.get_failed_inferences(), 1, "and counts as failed")
	check_equal(ExecuTorchRuntime.new().run_inference_async({"input_0": [1.0]}), -1, "no model: -1")
	# Free a runtime with requests in flight: no crash, no leak (checked at exit).
	var doomed := load_runtime("linear.pte")
	for i in 20:
		doomed.run_inference_async({"input_0": [float(i)]})
	doomed = null
	await (Engine.get_main_loop() as SceneTree).process_frame
	check(true, "freed a runtime with requests in flight")


func test_benchmark_and_threads() -> void:
	var runtime := load_runtime("linear.pte")
	check_equal(runtime.benchmark(10), {}, "no inputs yet")
	runtime.run_inference({"input_0": [1.0]})
	var stats := runtime.benchmark(200)
	check_equal(stats.get("iterations"), 200, "iterations")
	check(stats.get("min_us", -1.0) > 0.0 and stats["min_us"] <= stats["median_us"] and stats["median_us"] <= stats["p90_us"],
			"min <= median <= p90: %s" % stats)
	check_equal(stats.get("stopped_by_time_budget"), false, "200 iterations fit the default budget")
	check_equal(runtime.benchmark(0), {}, "zero iterations")
	check_equal(runtime.benchmark(10, "forward", 0.0), {}, "a zero time budget")
	var started := Time.get_ticks_msec()
	var bounded := runtime.benchmark(1000000000, "forward", 200.0)
	var took := Time.get_ticks_msec() - started
	check(took < 1000, "a billion iterations stop at the 200 ms budget (took %d ms)" % took)
	check(bounded.get("stopped_by_time_budget", false) and bounded["iterations"] > 0 and bounded["iterations"] < 1000000000,
			"the budget stopped it: %s" % bounded)
	var threads := ExecuTorchRuntime.get_thread_count()
	check(threads >= 1, "thread count %d" % threads)
	check(ExecuTorchRuntime.set_thread_count(1), "set_thread_count(1)")
	check_equal(ExecuTorchRuntime.get_thread_count(), 1, "one thread")
	check(ExecuTorchRuntime.set_thread_count(OS.get_processor_count()), "as many threads as processors")
	check(ExecuTorchRuntime.set_thread_count(threads), "restore")
	check(not ExecuTorchRuntime.set_thread_count(0), "zero threads refused")
	check(not ExecuTorchRuntime.set_thread_count(OS.get_processor_count() + 1), "more threads than processors refused")
	check(not ExecuTorchRuntime.set_thread_count(100000), "100000 threads refused")
	check_equal(ExecuTorchRuntime.get_thread_count(), threads, "a refused count changes nothing")


func test_performance_monitors() -> void:
	var runtime := load_runtime("linear.pte")
	var before: float = Performance.get_custom_monitor("ExecuTorch/inferences")
	for i in 3:
		runtime.run_inference({"input_0": [1.0]})
	check_equal(Performance.get_custom_monitor("ExecuTorch/inferences") - before, 3.0, "inferences monitor counts")
	runtime.get_model().execute("forward", [[1.0]])
	check_equal(Performance.get_custom_monitor("ExecuTorch/inferences") - before, 4.0, "execute() counts too")
	var load_ms: float = Performance.get_custom_monitor("ExecuTorch/last_load_ms")
	var model := ExecuTorchModel.new()
	check(model.load_from_file(MODELS + "two_io.pte"), "load a second model")
	check(Performance.get_custom_monitor("ExecuTorch/last_load_ms") != load_ms, "a model's own load sets the load time monitor")
	check(Performance.get_custom_monitor("ExecuTorch/last_inference_ms") > 0.0, "last inference monitor")
	check(Performance.get_custom_monitor("ExecuTorch/mean_inference_ms") > 0.0, "mean inference monitor")
	check(Performance.get_custom_monitor("ExecuTorch/last_load_ms") > 0.0, "load time monitor")
