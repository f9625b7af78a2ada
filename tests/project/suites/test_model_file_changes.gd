# A loaded model's file rewritten with another program, truncated, replaced
# or deleted: the loaded program goes on as it was. With hot reload off (as in
# release builds) nothing reloads it, so these calls read only what was loaded.
# When the file was memory-mapped, a truncation raised SIGBUS and a rewrite
# aborted in ExecuTorch's asserts: ExecuTorch reads the program lazily.
extends "res://test_suite.gd"

const DIRECTORY := "user://file_changes/"

var hot_reload_was: bool


func _init() -> void:
	hot_reload_was = ProjectSettings.get_setting("executorch/hot_reload/enabled", true)
	ProjectSettings.set_setting("executorch/hot_reload/enabled", false)
	DirAccess.make_dir_recursive_absolute(DIRECTORY)


func cleanup() -> void:
	ProjectSettings.set_setting("executorch/hot_reload/enabled", hot_reload_was)
	for file in DirAccess.get_files_at(DIRECTORY):
		DirAccess.remove_absolute(DIRECTORY + file)


func _copy(model_file: String, to: String) -> void:
	var bytes := FileAccess.get_file_as_bytes(MODELS + model_file)
	var file := FileAccess.open(to, FileAccess.WRITE)
	file.store_buffer(bytes)
	file.close()


# A model and a runtime loaded from a private copy of linear.pte (y = 2x + 3),
# then `change` applied to the file, then every call checked.
func _survives(name: String, change: Callable) -> void:
	var path := DIRECTORY + name + ".pte"
	_copy("linear.pte", path)
	var model := ExecuTorchModel.new()
	check(model.load_from_file(path), "%s: the model loads" % name)
	check(not model.is_memory_mapped(), "%s: a file that can be rewritten is read into memory" % name)
	var runtime := ExecuTorchRuntime.new()
	check(runtime.load_model_from_file(path), "%s: the runtime loads" % name)
	check_near(runtime.run_inference({"input_0": [1.0]})["output_0"][0], 5.0, "%s: runs before" % name)
	change.call(path)
	for x in [2.5, -1.0]:
		check_near(model.execute("forward", [[x]])[0].get_data()[0], 2.0 * x + 3.0, "%s: execute(%s) after" % [name, x])
		check_near(runtime.run_inference({"input_0": [x]})["output_0"][0], 2.0 * x + 3.0, "%s: run_inference(%s) after" % [name, x])
	check_equal(model.get_method_names(), PackedStringArray(["forward"]), "%s: get_method_names() after" % name)
	check_equal(model.get_method_info()["inputs"][0]["shape"], PackedInt64Array([1]), "%s: get_method_info() after" % name)
	check(runtime.benchmark(5, "forward", 1000.0).get("iterations", 0) >= 1, "%s: benchmark() after" % name)
	check_equal(runtime.get_model_info()["methods"].keys(), ["forward"], "%s: get_model_info() after" % name)


func test_rewritten_with_another_program() -> void:
	_survives("rewritten", func(path: String) -> void:
		# In place, same inode: what a game saving a downloaded update does.
		var other := FileAccess.get_file_as_bytes(MODELS + "embedding.pte")
		var file := FileAccess.open(path, FileAccess.READ_WRITE)
		file.store_buffer(other)
		file.close())


func test_truncated() -> void:
	_survives("truncated", func(path: String) -> void:
		var file := FileAccess.open(path, FileAccess.WRITE)  # truncates to 0 bytes
		file.store_buffer(PackedByteArray([1, 2, 3]))
		file.close())


func test_overwritten_with_garbage() -> void:
	_survives("garbage", func(path: String) -> void:
		var size := FileAccess.get_file_as_bytes(path).size()
		var noise := PackedByteArray()
		noise.resize(size)
		noise.fill(0xFF)
		var file := FileAccess.open(path, FileAccess.READ_WRITE)
		file.store_buffer(noise)
		file.close())


func test_deleted() -> void:
	_survives("deleted", func(path: String) -> void:
		check_equal(DirAccess.remove_absolute(path), OK, "the file is deleted"))


func test_replaced_by_rename() -> void:
	_survives("replaced", func(path: String) -> void:
		_copy("two_io.pte", path + ".new")
		check_equal(DirAccess.rename_absolute(path + ".new", path), OK, "another program is renamed over the file"))


func test_loading_again_reads_the_new_file() -> void:
	var path := DIRECTORY + "again.pte"
	_copy("linear.pte", path)
	var runtime := ExecuTorchRuntime.new()
	check(runtime.load_model_from_file(path), "linear loads")
	_copy("two_io.pte", path)
	check(runtime.load_model_from_file(path), "the rewritten file loads when asked to")
	check_equal(runtime.get_model_info()["methods"]["forward"]["inputs"].size(), 2, "and is the new program (two inputs)")
