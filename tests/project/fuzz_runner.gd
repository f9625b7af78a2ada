# Loads, describes and executes the mutated .pte programs that tools/fuzz_pte.py
# writes, and reports per case whether the engine refused it with an error,
# ran it, or failed without saying why. A crash or a hang loses the process, so
# every case is bracketed by a start marker and a result line, both flushed,
# for the harness to tell which case took the process down.
#
#   godot --headless --path tests/project --script res://fuzz_runner.gd -- cases.tsv
#
# cases.tsv: one case a line, `id<TAB>path[<TAB>mode]`; mode is how the program
# is loaded: `model` (ExecuTorchModel.load_from_file), `runtime`
# (ExecuTorchRuntime.load_model_from_file, watched by hot reload in debug
# builds), `resource` (ResourceLoader.load) or `all` (the default:
# model, then runtime). Output, on stdout:
#
#   FUZZ START <id>
#   CASE <id> REFUSED|RAN|SILENT errors=<n> methods=<n> executed=<n> failed=<n> skipped=<n> detail=<text>
#   FUZZ BATCH DONE <cases>
extends SceneTree

const START := "FUZZ START "
const DONE := "FUZZ BATCH DONE "
const MODES := ["model", "runtime", "resource", "all"]
# Inputs above this many elements are not built: a corrupt shape must not make
# the runner itself run out of memory (the case is reported as skipped).
const MAX_INPUT_ELEMENTS := 1 << 22


# Counts the errors Godot logs (ERR_PRINT, ExecuTorch's routed errors, script
# errors), from any thread, so a refusal can be told apart from a silent one.
class ErrorCounter:
	extends Logger
	var _mutex := Mutex.new()
	var _errors := 0
	var _last := ""

	func _log_error(function: String, file: String, line: int, code: String, rationale: String,
			_editor_notify: bool, error_type: int, _script_backtraces: Array[ScriptBacktrace]) -> void:
		if error_type == ERROR_TYPE_WARNING:
			return
		_mutex.lock()
		_errors += 1
		_last = rationale if not rationale.is_empty() else "%s (%s:%d %s)" % [code, file.get_file(), line, function]
		_mutex.unlock()

	func _log_message(_message: String, _error: bool) -> void:
		pass

	func errors() -> int:
		_mutex.lock()
		var count := _errors
		_mutex.unlock()
		return count

	func last() -> String:
		_mutex.lock()
		var text := _last
		_mutex.unlock()
		return text


var counter := ErrorCounter.new()


func _initialize() -> void:
	var args := OS.get_cmdline_user_args()
	if args.size() != 1 or not FileAccess.file_exists(args[0]):
		printerr("fuzz_runner.gd: pass the case list after `--` (one `id<TAB>path[<TAB>mode]` a line); got %s" % [args])
		quit(2)
		return
	var cases := []
	for line in FileAccess.get_file_as_string(args[0]).split("\n", false):
		var fields := line.strip_edges().split("\t")
		if fields.size() < 2:
			continue
		var mode := fields[2] if fields.size() > 2 else "all"
		if mode not in MODES:
			printerr("fuzz_runner.gd: case '%s' has mode '%s'; use one of %s" % [fields[0], mode, MODES])
			quit(2)
			return
		cases.append([fields[0], fields[1], mode])
	OS.add_logger(counter)
	for entry in cases:
		print(START + entry[0])
		var result := run_case(entry[1], entry[2])
		print("CASE %s %s errors=%d methods=%d executed=%d failed=%d skipped=%d detail=%s" % [
			entry[0], result["outcome"], result["errors"], result["methods"], result["executed"], result["failed"],
			result["skipped"], String(result["detail"]).replace("\n", " ").left(300)])
	print(DONE + str(cases.size()))
	OS.remove_logger(counter)
	quit(0)


# The outcome of one case; every object it makes is local, so nothing of one
# program outlives its case.
func run_case(path: String, mode: String) -> Dictionary:
	var before := counter.errors()
	var tally := {"loads": 0, "refused": 0, "silent": 0, "methods": 0, "executed": 0, "failed": 0, "skipped": 0, "detail": ""}
	if mode == "model" or mode == "all":
		var model := ExecuTorchModel.new()
		var mark := counter.errors()
		_tally_load(tally, mark, model.load_from_file(path), model, null)
	if mode == "runtime" or mode == "all":
		var runtime := ExecuTorchRuntime.new()
		var mark := counter.errors()
		_tally_load(tally, mark, runtime.load_model_from_file(path), null, runtime)
		runtime.unload_model()
	if mode == "resource":
		var mark := counter.errors()
		var model := ResourceLoader.load(path, "", ResourceLoader.CACHE_MODE_IGNORE) as ExecuTorchModel
		_tally_load(tally, mark, model != null and model.is_loaded(), model, null)
	var errors := counter.errors() - before
	var outcome := "RAN"
	if tally["silent"] > 0:
		outcome = "SILENT"
	elif tally["refused"] == tally["loads"]:
		outcome = "REFUSED"
	var detail: String = tally["detail"]
	if detail.is_empty() and errors > 0:
		detail = counter.last()
	elif detail.is_empty() and outcome == "RAN" and tally["methods"] == 0:
		detail = "loaded, but the program has no methods"
	return {"outcome": outcome, "errors": errors, "methods": tally["methods"], "executed": tally["executed"],
		"failed": tally["failed"], "skipped": tally["skipped"], "detail": detail}


# Records one load and, when it succeeded, describes and runs every method.
# A step that fails must have logged an error; one that did not is SILENT.
func _tally_load(tally: Dictionary, mark: int, loaded: bool, model: ExecuTorchModel, runtime: ExecuTorchRuntime) -> void:
	tally["loads"] += 1
	if not loaded:
		tally["refused"] += 1
		if counter.errors() == mark:
			_silent(tally, "load returned false with no error")
		return
	if runtime != null:
		var methods: Dictionary = runtime.get_model_info().get("methods", {})
		for method in methods:
			_run_method(tally, method, methods[method], func(inputs: Array) -> int:
				var keyed := {}
				for index in inputs.size():
					keyed["input_%d" % index] = inputs[index]["values"]
				return runtime.run_inference(keyed, method).size())
		return
	for method in model.get_method_names():
		mark = counter.errors()
		var info := model.get_method_info(method)
		if info.is_empty():
			tally["methods"] += 1
			tally["failed"] += 1
			if counter.errors() == mark:
				_silent(tally, "get_method_info('%s') empty with no error" % method)
			continue
		_run_method(tally, method, info, func(inputs: Array) -> int:
			return model.execute(method, inputs.map(func(input: Dictionary): return input["tensor"])).size())


# Builds the inputs a method declares and calls `call` with them (it returns the
# number of outputs; none means failure unless the method declares none). A
# failed call must have logged an error.
func _run_method(tally: Dictionary, method: String, info: Dictionary, call: Callable) -> void:
	tally["methods"] += 1
	var inputs := []
	for entry in info.get("inputs", []):
		var input := _make_input(entry)
		if input.is_empty():
			tally["skipped"] += 1
			return
		inputs.append(input)
	var mark := counter.errors()
	var produced: int = call.call(inputs)
	tally["executed"] += 1
	if produced == 0 and (not info.get("outputs", []).is_empty() or counter.errors() > mark):
		tally["failed"] += 1
		if counter.errors() == mark:
			_silent(tally, "'%s' failed with no error" % method)


# {"tensor": what execute() takes, "values": what run_inference() takes}, or {}
# when the declared shape cannot be built (negative or too many elements).
func _make_input(entry: Dictionary) -> Dictionary:
	var dtype := String(entry.get("dtype", ""))
	var shape := PackedInt64Array(entry.get("shape", PackedInt64Array()))
	if shape.is_empty():  # a scalar input is listed by its tag ("bool" is also a tensor dtype)
		match dtype:
			"int":
				return {"tensor": 1, "values": 1}
			"float":
				return {"tensor": 0.5, "values": 0.5}
			"bool":
				return {"tensor": false, "values": false}
	var numel := 1
	for size in shape:
		if size < 0 or (size > 0 and numel > MAX_INPUT_ELEMENTS / size):
			return {}
		numel *= size
	var constant := "DTYPE_" + dtype.to_upper()
	if not ClassDB.class_has_integer_constant("ExecuTorchTensor", constant):
		# A dtype GDScript tensors cannot carry: let execute() say so.
		return {"tensor": PackedFloat32Array(), "values": PackedFloat32Array()}
	var values := PackedFloat32Array()
	values.resize(numel)
	values.fill(1.0 if dtype != "bool" else 0.0)
	var tensor := ExecuTorchTensor.create(values, shape, ClassDB.class_get_integer_constant("ExecuTorchTensor", constant))
	return {"tensor": tensor, "values": values}


func _silent(tally: Dictionary, what: String) -> void:
	tally["silent"] += 1
	if tally["detail"].is_empty():
		tally["detail"] = what
