# .pte files are Godot resources; programs are read into memory (files inside
# a .pck through FileAccess; only files on a read-only filesystem are
# memory-mapped, see tests/integration/test_robustness.py); execute() takes and
# returns tensors.
extends "res://test_suite.gd"


func test_load_returns_an_executorch_model() -> void:
	var model = load(MODELS + "linear.pte")
	if not check(model is ExecuTorchModel, "load() returns an ExecuTorchModel: %s" % [model]):
		return
	check(model.is_loaded(), "loaded")
	check(not model.is_memory_mapped(), "with hot reload on (debug builds), a plain file is read into memory")
	ProjectSettings.set_setting("executorch/hot_reload/enabled", false)
	var copied := ExecuTorchModel.new()
	check(copied.load_from_file(MODELS + "linear.pte") and not copied.is_memory_mapped(), "without hot reload too: the file can be rewritten")
	check_near(copied.execute("forward", [[2.5]])[0].get_data()[0], 8.0, "and runs")
	ProjectSettings.set_setting("executorch/hot_reload/enabled", true)
	check_equal(model.get_method_names(), PackedStringArray(["forward"]), "methods")
	var outputs: Array = model.execute("forward", [ExecuTorchTensor.create(PackedFloat32Array([2.5]))])
	if check_equal(outputs.size(), 1, "one output"):
		check(outputs[0] is ExecuTorchTensor, "the output is a tensor")
		check_equal(outputs[0].get_dtype_name(), "float32", "output dtype")
		check_equal(outputs[0].get_shape(), PackedInt64Array([1]), "output shape")
		check_near(outputs[0].get_data()[0], 8.0, "y for x=2.5")
	check_near(model.execute("forward", [PackedFloat32Array([1.0])])[0].get_data()[0], 5.0, "packed array input")
	check_near(model.execute("forward", [[0.0]])[0].get_data()[0], 3.0, "Array input")


func test_threaded_resource_loader() -> void:
	var path := MODELS + "two_io.pte"
	check_equal(ResourceLoader.load_threaded_request(path), OK, "threaded request")
	var status := ResourceLoader.load_threaded_get_status(path)
	while status == ResourceLoader.THREAD_LOAD_IN_PROGRESS:
		OS.delay_msec(5)
		status = ResourceLoader.load_threaded_get_status(path)
	check_equal(status, ResourceLoader.THREAD_LOAD_LOADED, "loaded on a thread")
	var model: ExecuTorchModel = ResourceLoader.load_threaded_get(path)
	var runtime := ExecuTorchRuntime.new()
	check(runtime.load_model(model), "load_model() takes the resource")
	var result := runtime.run_inference({"input_0": [1.0, 2.0, 3.0], "input_1": [10.0, 20.0, 30.0]})
	check_equal(Array(result.get("output_0", [])), [-9.0, -18.0, -27.0], "two_io through load_model")


func test_model_from_a_pck() -> void:
	var pack := OS.get_user_data_dir().path_join("models_test.pck")
	var packer := PCKPacker.new()
	check_equal(packer.pck_start(pack), OK, "pck_start")
	check_equal(packer.add_file("res://packed/linear_in_pack.pte", ProjectSettings.globalize_path(MODELS + "linear.pte")), OK, "add_file")
	check_equal(packer.flush(), OK, "flush")
	check(ProjectSettings.load_resource_pack(pack), "load_resource_pack")
	check(not FileAccess.file_exists(ProjectSettings.globalize_path("res://packed/linear_in_pack.pte")), "the file exists only in the pack")
	var model = load("res://packed/linear_in_pack.pte")
	if check(model is ExecuTorchModel, "load() from the pack: %s" % [model]):
		check(not model.is_memory_mapped(), "a file inside a .pck is read into memory")
		check_near(model.execute("forward", [[2.0]])[0].get_data()[0], 7.0, "y for x=2 from the pack")
	var runtime := ExecuTorchRuntime.new()
	check(runtime.load_model_from_file("res://packed/linear_in_pack.pte"), "load_model_from_file from the pack")
	check_near(runtime.run_inference({"input_0": [-1.0]})["output_0"][0], 1.0, "y for x=-1 from the pack")


func test_execute_rejects_bad_inputs() -> void:
	var model: ExecuTorchModel = load(MODELS + "linear.pte")
	check_equal(model.execute("forward", []), [], "too few inputs")
	check_equal(model.execute("forward", [[1.0], [2.0]]), [], "too many inputs")
	check_equal(model.execute("nope", [[1.0]]), [], "unknown method")
	check_equal(model.execute("forward", [ExecuTorchTensor.create(PackedInt64Array([1]))]), [], "wrong dtype")
	check_equal(model.execute("forward", [ExecuTorchTensor.create(PackedFloat32Array([1.0]), PackedInt64Array([1, 1]))]), [], "wrong rank")
	check_equal(model.execute("forward", [[1.0, 2.0]]), [], "wrong element count")
	var runtime := ExecuTorchRuntime.new()
	check(not runtime.load_model(null), "load_model(null) is refused")
	check(not runtime.load_model(ExecuTorchModel.new()), "load_model of an unloaded model is refused")


func test_run_inference_takes_tensors() -> void:
	var runtime := load_runtime("linear.pte")
	var result := runtime.run_inference({"input_0": ExecuTorchTensor.create(PackedFloat32Array([2.5]))})
	check_near(result.get("output_0", [0.0])[0], 8.0, "a tensor value in run_inference")


# execute() refills an output tensor of the previous call only when nobody
# holds it any more: what a caller keeps never changes under it.
func test_execute_reuses_only_outputs_nobody_holds() -> void:
	var model: ExecuTorchModel = load(MODELS + "linear.pte")
	var kept: ExecuTorchTensor = model.execute("forward", [[1.0]])[0]
	var next: ExecuTorchTensor = model.execute("forward", [[2.0]])[0]
	check(kept != next, "a held output is not reused")
	check_near(kept.get_data()[0], 5.0, "the held output keeps its value")
	check_near(next.get_data()[0], 7.0, "the next output has the new value")
	next = null
	var dropped_id: int = model.execute("forward", [[0.0]])[0].get_instance_id()
	var reused: ExecuTorchTensor = model.execute("forward", [[-1.0]])[0]
	check_equal(reused.get_instance_id(), dropped_id, "an output nobody holds is refilled by the next call")
	check_near(reused.get_data()[0], 1.0, "the refilled output has the new value")

	# bool outputs hand out their bytes; data and shape taken from a dropped
	# tensor are copies on write, untouched by the refill.
	var mask: ExecuTorchModel = load(MODELS + "bool_mask.pte")
	var first_mask: PackedByteArray = mask.execute("forward", [PackedFloat32Array([1, -1, 1, -1, 1, -1])])[0].get_data()
	var second_mask: PackedByteArray = mask.execute("forward", [PackedFloat32Array([-1, 1, -1, 1, -1, 1])])[0].get_data()
	check_equal(first_mask, PackedByteArray([1, 0, 1, 0, 1, 0]), "bytes kept from a dropped output")
	check_equal(second_mask, PackedByteArray([0, 1, 0, 1, 0, 1]), "bytes of the next call")


# A dynamic batch dimension may change from call to call, in both directions.
func test_execute_follows_a_changing_batch() -> void:
	var model: ExecuTorchModel = load(MODELS + "dynamic_batch.pte")
	var two := ExecuTorchTensor.create(PackedFloat32Array([1, 2, 3, 4, 5, 6]), PackedInt64Array([2, 3]))
	var five := ExecuTorchTensor.create(PackedFloat32Array(range(15)), PackedInt64Array([5, 3]))
	var shape_of_two: PackedInt64Array = model.execute("forward", [two])[0].get_shape()
	var first: PackedFloat32Array = model.execute("forward", [two])[0].get_data()
	var shape_of_five: PackedInt64Array = model.execute("forward", [five])[0].get_shape()
	var again: ExecuTorchTensor = model.execute("forward", [two])[0]
	check_equal(shape_of_two, PackedInt64Array([2, 2]), "shape kept from batch 2")
	check_equal(shape_of_five, PackedInt64Array([5, 2]), "batch 5")
	check_equal(again.get_shape(), PackedInt64Array([2, 2]), "back to batch 2")
	check_equal(again.get_data(), first, "batch 2 gives the same result after batch 5")
