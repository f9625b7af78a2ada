# A trained model in the engine: the digits CNN (trained on scikit-learn's 8x8
# digits and exported at test time, tests/integration/conftest.py) classifies
# the held-out digits given as Images, as a game would (Image -> from_image ->
# execute), and agrees with eager PyTorch; its int8 export too, within the
# accuracy model_tools reported for it.
extends "res://test_suite.gd"

# The same float32 network on XNNPACK against PyTorch: summation order only.
const SAME_MODEL_TOLERANCE := 1e-4


func _cases() -> Dictionary:
	var text := FileAccess.get_file_as_string(MODELS + "digits_cases.json")
	check(not text.is_empty(), "digits_cases.json is there")
	return JSON.parse_string(text)


func _image(bytes: Array) -> Image:
	return Image.create_from_data(8, 8, false, Image.FORMAT_L8, PackedByteArray(bytes))


func _argmax(values: PackedFloat32Array) -> int:
	var best := 0
	for i in values.size():
		if values[i] > values[best]:
			best = i
	return best


# Classifies every held-out image; returns [right answers, agreements with eager, worst probability error].
func _classify(file: String, cases: Dictionary) -> Array:
	var model := ExecuTorchModel.new()
	if not check(model.load_from_file(MODELS + file), "%s loads" % file):
		return [0, 0, INF]
	var right := 0
	var agree := 0
	var worst := 0.0
	for i in cases["images"].size():
		var tensor := ExecuTorchTensor.from_image(_image(cases["images"][i]), 1)
		var outputs := model.execute("forward", [tensor])
		if not check(outputs.size() == 1, "%s classifies held-out image %d" % [file, i]):
			return [0, 0, INF]
		var probabilities: PackedFloat32Array = outputs[0].get_data()
		var eager: Array = cases["eager"][i]
		for k in 10:
			worst = maxf(worst, absf(probabilities[k] - float(eager[k])))
		var predicted := _argmax(probabilities)
		right += int(predicted == int(cases["labels"][i]))
		agree += int(predicted == _argmax(PackedFloat32Array(eager)))
	return [right, agree, worst]


func test_the_trained_model_classifies_held_out_images_as_pytorch_does() -> void:
	var cases := _cases()
	var count: int = cases["images"].size()
	check(count > 300, "a real held-out set (%d images)" % count)
	var result := _classify("digits.pte", cases)
	var accuracy := float(result[0]) / count
	print("  digits.pte in the engine: %d of %d right (%.2f%%; PyTorch %.2f%%), %d agree with PyTorch, largest probability difference %s" % [
			result[0], count, 100.0 * accuracy, 100.0 * float(cases["eager_accuracy"]), result[1], String.num_scientific(result[2])])
	check_equal(result[1], count, "every prediction is PyTorch's")
	check(result[2] <= SAME_MODEL_TOLERANCE, "probabilities within %s of PyTorch's" % SAME_MODEL_TOLERANCE)
	check(absf(accuracy - float(cases["eager_accuracy"])) < 1e-9, "the engine's accuracy is PyTorch's")
	check(accuracy > 0.9, "the model learned (%.2f%% held-out)" % (100.0 * accuracy))


func test_the_int8_export_keeps_its_reported_accuracy() -> void:
	var cases := _cases()
	var count: int = cases["images"].size()
	var result := _classify("digits_int8.pte", cases)
	var accuracy := float(result[0]) / count
	print("  digits_int8.pte in the engine: %.2f%% (model_tools reported %.2f%%, float32 %.2f%%), %d of %d agree with float32 PyTorch" % [
			100.0 * accuracy, 100.0 * float(cases["int8_accuracy"]), 100.0 * float(cases["eager_accuracy"]), result[1], count])
	# The same int8 program in ExecuTorch's Python runtime and here: the same answers.
	check(absf(accuracy - float(cases["int8_accuracy"])) < 1e-9, "the engine's int8 accuracy is the one model_tools reported")
	check(float(result[1]) / count >= 0.97, "int8 agrees with float32 on at least 97% of the digits")
