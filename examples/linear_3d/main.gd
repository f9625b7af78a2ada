# Calls the model every frame: the ball's height is the model's prediction.
extends Node3D

## The .pte, set in the inspector (main.tscn); exported inside the .pck.
@export var model: ExecuTorchModel

var runtime := ExecuTorchRuntime.new()
var time := 0.0
var frames := 0


func _ready() -> void:
	if not runtime.load_model(model):
		push_error("The model did not load; export it with model_tools (see project.godot).")
		get_tree().quit(1)


func _process(delta: float) -> void:
	time += delta
	frames += 1
	var x := sin(time)
	var y: float = runtime.run_inference({"input_0": [x]})["output_0"][0]
	$Ball.position = Vector3(x * 2.0, y * 0.5, 0.0)
	$Prediction.text = "model(%.2f) = %.3f" % [x, y]
	if frames % 30 == 0:
		print("frame %d: model(%.3f) = %.3f (%.1f frames/s, last inference %.3f ms)" % [
				frames, x, y, Engine.get_frames_per_second(), runtime.get_last_inference_time()])
