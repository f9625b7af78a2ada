# The concept's example, as a game: y = 2x + 3, loaded two ways.
extends Node

## Set in the editor (main.tscn): the .pte as a resource, exported in the .pck.
@export var model: ExecuTorchModel


func _ready() -> void:
	var runtime := ExecuTorchRuntime.new()
	if not runtime.load_model_from_file("res://models/linear.pte"):
		_finish("GAME FAILED: load_model_from_file")
		return
	for x in [0.0, 1.0, 2.5]:
		var result := runtime.run_inference({"input_0": [x]})
		print("load_model_from_file: %s -> %s" % [x, result["output_0"][0]])
	print("memory-mapped: %s" % runtime.get_model().is_memory_mapped())

	var exported := ExecuTorchRuntime.new()
	if model == null or not exported.load_model(model):
		_finish("GAME FAILED: the exported model property is empty")
		return
	print("exported model: %s" % model.get_source_path())
	print("@export model: -1.0 -> %s" % exported.run_inference({"input_0": [-1.0]})["output_0"][0])
	_finish("GAME FINISHED")


func _finish(message: String) -> void:
	print(message)
	get_tree().quit(0 if message == "GAME FINISHED" else 1)
