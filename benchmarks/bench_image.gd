# A 224x224 RGBA8 frame to a normalized float32 NCHW tensor: the native
# ExecuTorchTensor.from_image against the same conversion written in GDScript
# (the only way before it). Rounds alternate the two paths; prints one JSON line.
#
# Usage: --script res://bench_image.gd -- <rounds> <native calls per batch>
extends SceneTree


const Timing := preload("res://bench_timing.gd")
const MEAN := [0.485, 0.456, 0.406]
const STD := [0.229, 0.224, 0.225]


# What a game had to write: one pass over the bytes, normalizing into planes.
func _gdscript_from_image(image: Image) -> ExecuTorchTensor:
	var width := image.get_width()
	var height := image.get_height()
	var bytes := image.get_data()
	var plane := width * height
	var values := PackedFloat32Array()
	values.resize(3 * plane)
	for i in plane:
		for c in 3:
			values[c * plane + i] = (bytes[i * 4 + c] / 255.0 - MEAN[c]) / STD[c]
	return ExecuTorchTensor.create(values, PackedInt64Array([1, 3, height, width]), ExecuTorchTensor.DTYPE_FLOAT32)


func _initialize() -> void:
	var args := OS.get_cmdline_user_args()
	var rounds := int(args[0])
	var calls := int(args[1])
	var frame := Image.create(224, 224, false, Image.FORMAT_RGBA8)
	for y in 224:
		for x in 224:
			frame.set_pixel(x, y, Color8(x, y, (x * y) % 256, 255))
	var mean := PackedFloat32Array(MEAN)
	var std := PackedFloat32Array(STD)
	# The two paths agree before anything is timed.
	var native: PackedFloat32Array = ExecuTorchTensor.from_image(frame, 3, ExecuTorchTensor.LAYOUT_NCHW,
			ExecuTorchTensor.DTYPE_FLOAT32, mean, std).get_data()
	var scripted: PackedFloat32Array = _gdscript_from_image(frame).get_data()
	var largest_difference := 0.0
	for i in native.size():
		largest_difference = maxf(largest_difference, absf(native[i] - scripted[i]))
	var native_ms: Array[float] = []
	var gdscript_ms: Array[float] = []
	for round in rounds:
		var start := Time.get_ticks_usec()
		for i in calls:
			ExecuTorchTensor.from_image(frame, 3, ExecuTorchTensor.LAYOUT_NCHW, ExecuTorchTensor.DTYPE_FLOAT32, mean, std)
		native_ms.append(float(Time.get_ticks_usec() - start) / calls / 1000.0)
		start = Time.get_ticks_usec()
		_gdscript_from_image(frame)
		gdscript_ms.append(float(Time.get_ticks_usec() - start) / 1000.0)
	var ratios: Array[float] = []
	for round in rounds:
		ratios.append(gdscript_ms[round] / native_ms[round])
	print("BENCH " + JSON.stringify({
		"rounds": rounds, "calls_per_batch": calls, "largest_difference": largest_difference,
		"native_ms": {"min": native_ms.min(), "median": Timing.median(native_ms)},
		"gdscript_ms": {"min": gdscript_ms.min(), "median": Timing.median(gdscript_ms)},
		"gdscript_over_native": Timing.quartiles(ratios),
	}))
	quit(0)
