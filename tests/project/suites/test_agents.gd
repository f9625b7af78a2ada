# Many agents per frame: the steering policy (exported at test time with a
# dynamic batch up to 4,096, tests/integration/conftest.py) evaluated for
# 1,000 agents in one execute gives what 1,000 single calls give, and what
# eager PyTorch gives; the batch bound is an error, not a crash.
extends "res://test_suite.gd"

const OBSERVATIONS := 16
const ACTIONS := 4
# The same network on the same XNNPACK kernels, batched or not, and PyTorch.
const SAME_NETWORK_TOLERANCE := 1e-5


func _cases() -> Dictionary:
	var text := FileAccess.get_file_as_string(MODELS + "policy_cases.json")
	check(not text.is_empty(), "policy_cases.json is there")
	return JSON.parse_string(text)


func _max_error(actual: PackedFloat32Array, expected: PackedFloat32Array) -> float:
	if actual.size() != expected.size():
		return INF
	var worst := 0.0
	for i in actual.size():
		worst = maxf(worst, absf(actual[i] - expected[i]))
	return worst


func test_one_batched_call_equals_one_call_per_agent() -> void:
	var cases := _cases()
	var agents: int = cases["agents"]
	var observations := PackedFloat32Array(cases["observations"])
	var eager := PackedFloat32Array(cases["actions"])
	var model := ExecuTorchModel.new()
	if not check(model.load_from_file(MODELS + "policy.pte"), "policy.pte loads"):
		return
	check_equal(model.get_method_info("forward")["inputs"][0]["shape"], PackedInt64Array([4096, OBSERVATIONS]),
			"the batch bound is 4,096 agents")
	var outputs := model.execute("forward", [ExecuTorchTensor.create(observations, PackedInt64Array([agents, OBSERVATIONS]))])
	if not check(outputs.size() == 1, "1,000 agents in one call"):
		return
	check_equal(outputs[0].get_shape(), PackedInt64Array([agents, ACTIONS]), "one row of actions per agent")
	var batched: PackedFloat32Array = outputs[0].get_data()
	var single := PackedFloat32Array()
	for agent in agents:
		var row := observations.slice(agent * OBSERVATIONS, (agent + 1) * OBSERVATIONS)
		var one := model.execute("forward", [ExecuTorchTensor.create(row, PackedInt64Array([1, OBSERVATIONS]))])
		if not check(one.size() == 1, "agent %d alone" % agent):
			return
		single.append_array(one[0].get_data())
	var batched_vs_single := _max_error(batched, single)
	var batched_vs_eager := _max_error(batched, eager)
	print("  1,000 agents: batched against single calls max error %s, against PyTorch %s" % [
			String.num_scientific(batched_vs_single), String.num_scientific(batched_vs_eager)])
	check(batched_vs_single <= SAME_NETWORK_TOLERANCE, "batched actions are the single calls' actions")
	check(batched_vs_eager <= SAME_NETWORK_TOLERANCE, "batched actions are PyTorch's")


func test_the_batch_bound_is_an_error() -> void:
	var model := ExecuTorchModel.new()
	if not check(model.load_from_file(MODELS + "policy.pte"), "policy.pte loads"):
		return
	var full := PackedFloat32Array()
	full.resize(4096 * OBSERVATIONS)
	check_equal(model.execute("forward", [ExecuTorchTensor.create(full, PackedInt64Array([4096, OBSERVATIONS]))]).size(), 1,
			"4,096 agents, the bound, run")
	var over := PackedFloat32Array()
	over.resize(4097 * OBSERVATIONS)
	check(model.execute("forward", [ExecuTorchTensor.create(over, PackedInt64Array([4097, OBSERVATIONS]))]).is_empty(),
			"4,097 agents are refused with an error")
