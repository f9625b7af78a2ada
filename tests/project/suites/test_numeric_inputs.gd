# Every number the API takes is checked: shapes whose element count or byte
# size overflows, dtypes outside the enum, NaN and infinities into integer
# dtypes, non-finite or negative budgets and counts, ports beyond 16 bits.
# Each returns the documented null / {} / false / -1 and prints an error
# (tests/integration/test_engine.py checks the messages).
extends "res://test_suite.gd"

const BIG := 9223372036854775807  # 2^63 - 1


func test_shapes_that_overflow_are_refused() -> void:
	check(ExecuTorchTensor.create(PackedFloat32Array(), PackedInt64Array([1 << 32, 1 << 32])) == null, "[2^32, 2^32] (2^64 elements wrapped to 0)")
	check(ExecuTorchTensor.create(PackedFloat32Array(), PackedInt64Array([1 << 62, 4])) == null, "[2^62, 4]")
	check(ExecuTorchTensor.create(PackedFloat32Array(), PackedInt64Array([1 << 31, 0])) == null, "a dimension over int32, even with a 0 beside it")
	check(ExecuTorchTensor.create(PackedByteArray(), PackedInt64Array([1 << 40, 1 << 30]), ExecuTorchTensor.DTYPE_UINT8) == null, "2^70 bytes")
	var dims := PackedInt64Array()
	dims.resize(17)
	dims.fill(1)
	check(ExecuTorchTensor.create(PackedFloat32Array([1.0]), dims) == null, "17 dimensions")
	dims.resize(16)
	check(ExecuTorchTensor.create(PackedFloat32Array([1.0]), dims) != null, "16 dimensions of 1 are fine")
	var empty := ExecuTorchTensor.create(PackedFloat32Array(), PackedInt64Array([0, 1 << 20]))
	check(empty != null and empty.numel() == 0, "a zero dimension makes an empty tensor")


func test_dtypes_outside_the_enum_are_refused() -> void:
	var huge = BIG  # untyped: passed as the enum without a cast
	check(ExecuTorchTensor.create([1.0], PackedInt64Array(), huge) == null, "dtype 2^63 - 1 (became DTYPE_AUTO)")
	var below = -2
	check(ExecuTorchTensor.create([1.0], PackedInt64Array(), below) == null, "dtype -2")
	var just_past = ExecuTorchTensor.DTYPE_BOOL + 1
	check(ExecuTorchTensor.create([1.0], PackedInt64Array(), just_past) == null, "dtype DTYPE_BOOL + 1")


func test_non_finite_numbers_into_integer_dtypes_are_refused() -> void:
	for dtype in [ExecuTorchTensor.DTYPE_INT8, ExecuTorchTensor.DTYPE_INT16, ExecuTorchTensor.DTYPE_INT32, ExecuTorchTensor.DTYPE_INT64, ExecuTorchTensor.DTYPE_UINT8]:
		check(ExecuTorchTensor.create([1.0, NAN], PackedInt64Array(), dtype) == null, "NaN into dtype %d" % dtype)
		check(ExecuTorchTensor.create(PackedFloat32Array([INF]), PackedInt64Array(), dtype) == null, "inf into dtype %d" % dtype)
		check(ExecuTorchTensor.create(PackedFloat64Array([-INF]), PackedInt64Array(), dtype) == null, "-inf into dtype %d" % dtype)
		check(ExecuTorchTensor.create([1e30], PackedInt64Array(), dtype) == null, "1e30 into dtype %d" % dtype)
	# Floats convert as PyTorch converts them: truncated toward zero, then wrapped to the width.
	check_equal(ExecuTorchTensor.create([-2.7, 300.0], PackedInt64Array(), ExecuTorchTensor.DTYPE_INT8).get_data(), PackedByteArray([254, 44]), "-2.7 and 300.0 into int8")
	check_equal(ExecuTorchTensor.create([-9.2e18], PackedInt64Array(), ExecuTorchTensor.DTYPE_INT64).get_data(), PackedInt64Array([-9200000000000000000]), "a float near the int64 limit")
	# Float dtypes keep them, and bool takes any number.
	var floats: PackedFloat32Array = ExecuTorchTensor.create([NAN, INF], PackedInt64Array(), ExecuTorchTensor.DTYPE_FLOAT32).get_data()
	check(is_nan(floats[0]) and is_inf(floats[1]), "NaN and inf stay in float32")
	check_equal(ExecuTorchTensor.create([NAN, 0.0], PackedInt64Array(), ExecuTorchTensor.DTYPE_BOOL).get_data(), PackedByteArray([1, 0]), "NaN is true in bool")


func test_non_finite_model_inputs_into_integer_inputs_are_refused() -> void:
	var runtime := load_runtime("embedding.pte")  # int64 token ids
	check_equal(runtime.run_inference({"input_0": [1, 2, NAN, 3, 4]}), {}, "NaN as a token id")
	check_equal(runtime.run_inference({"input_0": PackedFloat64Array([1, 2, INF, 3, 4])}), {}, "inf as a token id")
	check_equal(runtime.get_failed_inferences(), 2, "both count as failed")
	check(runtime.run_inference({"input_0": [1, 2, 3.9, 3, 4]}).has("output_0"), "a finite float truncates, as before")
	var model: ExecuTorchModel = load(MODELS + "embedding.pte")
	check_equal(model.execute("forward", [[0, 1, 2, 3, -INF]]), [], "execute() refuses -inf too")


func test_budgets_and_counts() -> void:
	var runtime := load_runtime("linear.pte")
	runtime.run_inference({"input_0": [1.0]})
	var started := Time.get_ticks_msec()
	check_equal(runtime.benchmark(BIG, "forward", INF), {}, "an infinite time budget (it never returned)")
	check_equal(runtime.benchmark(BIG, "forward", NAN), {}, "a NaN time budget")
	check_equal(runtime.benchmark(10, "forward", -5.0), {}, "a negative time budget")
	check_equal(runtime.benchmark(-BIG, "forward", 10.0), {}, "a negative count")
	check(Time.get_ticks_msec() - started < 5000, "refused at once")
	var bounded := runtime.benchmark(BIG, "forward", 20.0)
	check(bounded.get("stopped_by_time_budget", false), "2^63 - 1 iterations stop at a finite budget")
	check(not ExecuTorchRuntime.set_thread_count(BIG), "2^63 - 1 threads")
	check(not ExecuTorchRuntime.set_thread_count(-1), "-1 threads")
	check(not ExecuTorchRuntime.set_thread_count(0), "0 threads")
	check(ExecuTorchRuntime.get_thread_count() >= 1, "the pool is untouched")


func test_ports_beyond_16_bits_are_refused() -> void:
	var runtime := ExecuTorchRuntime.new()
	# (1 << 32) + 80 was cut to port 80.
	check_equal(runtime.start_mcp_server((1 << 32) + 80), -1, "port 2^32 + 80")
	check_equal(runtime.start_mcp_server(-1), -1, "port -1")
	check_equal(runtime.start_mcp_server(65536), -1, "port 65536")
	check(not runtime.is_mcp_server_running(), "no server was started")
	check_equal(ExecuTorchMCPServer.start((1 << 33) + 1), -1, "ExecuTorchMCPServer.start refuses it too")
