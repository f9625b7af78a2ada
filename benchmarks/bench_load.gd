# Load time and resident-memory growth of loading one .pte.
# Usage: --script res://bench_load.gd -- <path to load>
extends SceneTree


func _rss_kib() -> int:
	var output := []
	OS.execute("cat", ["/proc/%d/status" % OS.get_process_id()], output)
	for line in String(output[0]).split("\n"):
		if line.begins_with("VmRSS:"):
			return int(line.split(":")[1].strip_edges().split(" ")[0])
	return -1


func _initialize() -> void:
	var path: String = OS.get_cmdline_user_args()[0]
	if path.ends_with(".pck"):
		ProjectSettings.load_resource_pack(path)
		path = "res://packed/big.pte"
	var before := _rss_kib()
	var start := Time.get_ticks_usec()
	var model := ExecuTorchModel.new()
	var ok := model.load_from_file(path)
	var load_ms := (Time.get_ticks_usec() - start) / 1000.0
	var after := _rss_kib()
	var outputs := model.execute("forward", [ExecuTorchTensor.create(PackedInt64Array([1, 2, 3, 4]))])
	var after_run := _rss_kib()
	print("BENCH " + JSON.stringify({"path": path, "ok": ok and outputs.size() == 1, "memory_mapped": model.is_memory_mapped(),
			"file_mb": model.get_file_size() / 1048576.0, "load_ms": load_ms, "rss_growth_mb": (after - before) / 1024.0,
			"rss_growth_after_run_mb": (after_run - before) / 1024.0}))
	quit(0)
