# Per-call time of ExecuTorchModel.execute for several .pte files, one round
# at a time on request, so that a driver (benchmarks/bench_int8.py) can
# interleave the engine's rounds with its own measurements in one run.
#
# Each byte read from stdin starts a round ("q" quits): every model runs a
# batch of calls and the round prints one `ROUND {"<file>": us per call, ...}`
# line. Inputs are fixed, shaped as each model's method info says.
#
# Usage: --script res://bench_execute_rounds.gd -- <calls per batch> <model.pte>...
extends SceneTree


func _initialize() -> void:
	var args := OS.get_cmdline_user_args()
	var calls := int(args[0])
	var models := {}
	var inputs := {}
	for path in args.slice(1):
		var model := ExecuTorchModel.new()
		if not model.load_from_file(path):
			printerr("cannot load %s" % path)
			quit(1)
			return
		var shape: PackedInt64Array = model.get_method_info("forward")["inputs"][0]["shape"]
		var numel := 1
		for size in shape:
			numel *= size
		var data := PackedFloat32Array()
		data.resize(numel)
		for i in numel:
			data[i] = float(i % 7) / 7.0
		models[path] = model
		inputs[path] = [ExecuTorchTensor.create(data, shape)]
		for i in 100:  # warm up: the first calls allocate and plan
			model.execute("forward", inputs[path])
	print("READY")
	while true:
		var request := OS.read_buffer_from_stdin(1)
		if request.is_empty() or request[0] == "q".unicode_at(0):
			break
		var round := {}
		for path in models:
			var model: ExecuTorchModel = models[path]
			var tensors: Array = inputs[path]
			var start := Time.get_ticks_usec()
			for i in calls:
				model.execute("forward", tensors)
			round[path.get_file()] = float(Time.get_ticks_usec() - start) / calls
		print("ROUND " + JSON.stringify(round))
	quit(0)
