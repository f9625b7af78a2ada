# Runs the model bank's cases (written by tests/integration/test_model_bank.py
# as JSON) through ExecuTorchModel.execute with typed tensors, and prints each
# case's outputs as one JSON line for pytest to compare with eager PyTorch.
# Usage: --script res://bank_runner.gd -- res://models/bank/cases.json
extends SceneTree


func _initialize() -> void:
	var cases: Array = JSON.parse_string(FileAccess.get_file_as_string(OS.get_cmdline_user_args()[0]))
	for case in cases:
		var model: ExecuTorchModel = load(case["file"])
		var inputs := []
		for spec in case["inputs"]:
			var shape := PackedInt64Array()
			for size in spec["shape"]:
				shape.push_back(int(size))
			inputs.append(ExecuTorchTensor.create(spec["data"], shape, ClassDB.class_get_integer_constant("ExecuTorchTensor", spec["dtype_constant"])))
		var outputs := []
		for output in model.execute(case["method"], inputs):
			if output is ExecuTorchTensor:
				var data = output.get_data()
				outputs.append({"dtype": output.get_dtype_name(), "shape": Array(output.get_shape()), "data": Array(data)})
			else:
				outputs.append({"scalar": output})
		var info := model.get_method_info(case["method"])
		var dynamism := {}
		for kind in ["inputs", "outputs"]:
			dynamism[kind] = info.get(kind, []).map(func(entry: Dictionary) -> String: return entry["dynamism"])
		print("BANK " + JSON.stringify({"id": case["id"], "outputs": outputs, "backends": info.get("backends", []), "dynamism": dynamism}))
	print("BANK DONE")
	quit(0)
