# Load time of .pte programs with the pre-validator's share of it, as the
# Performance monitors report them: ExecuTorch/last_load_ms (the whole
# load_from_file) and ExecuTorch/last_check_ms (the checks). The programs load
# in turn, round by round, with hot reload off.
# Usage: --script res://bench_load_checks.gd -- <rounds> <path> [<path> ...]
extends SceneTree


func _initialize() -> void:
	ProjectSettings.set_setting("executorch/hot_reload/enabled", false)  # memory-map plain files
	var arguments := OS.get_cmdline_user_args()
	var rounds := int(arguments[0])
	var paths := arguments.slice(1)
	var samples := {}
	for path in paths:
		samples[path] = {"load_ms": [], "check_ms": [], "mapped": false}
	for round in rounds:
		for path in paths:
			var model := ExecuTorchModel.new()
			if not model.load_from_file(path):
				print("BENCH " + JSON.stringify({"error": "cannot load " + path}))
				quit(1)
				return
			samples[path]["load_ms"].append(Performance.get_custom_monitor("ExecuTorch/last_load_ms"))
			samples[path]["check_ms"].append(Performance.get_custom_monitor("ExecuTorch/last_check_ms"))
			samples[path]["mapped"] = model.is_memory_mapped()
			samples[path]["file_mb"] = model.get_file_size() / 1048576.0
	print("BENCH " + JSON.stringify(samples))
	quit(0)
