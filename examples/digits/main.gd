# Draw a digit; a CNN trained on scikit-learn's 8x8 handwritten digits
# (python -m model_tools train digits) names it as you draw. The canvas is an
# Image; its drawn part becomes the 8x8 picture the model was trained on
# (ExecuTorchTensor.from_image, one luminance channel), one execute gives the
# ten probabilities, drawn as bars.
extends Control

## The trained digits model, inside the .pck.
@export var model: ExecuTorchModel

const SIZE := 400  # canvas pixels
const BRUSH := 22  # brush radius in canvas pixels: scikit-learn's strokes are 1-2 of 8 pixels wide
const BARS_LEFT := 470.0
const BARS_TOP := 70.0

var canvas := Image.create(SIZE, SIZE, false, Image.FORMAT_L8)
var drawn := Rect2i()  # the bounding box of the ink
var probabilities := PackedFloat32Array()
var last_point := Vector2(-1, -1)
var dirty := false
var demo_stroke := PackedVector2Array()  # --demo: a scripted "2", drawn point by point
var demo_index := 0


func _ready() -> void:
	if model == null or not model.is_loaded():
		push_error("No model: train it with `python -m model_tools train digits --out examples/digits/models/digits.pte`.")
		get_tree().quit(1)
		return
	probabilities.resize(10)
	$Canvas.texture = ImageTexture.create_from_image(canvas)
	if OS.get_cmdline_user_args().has("--demo"):
		demo_stroke = _two()


func _gui_input(event: InputEvent) -> void:
	var local := Vector2.ZERO
	if event is InputEventMouse:
		local = event.position - $Canvas.position
	if event is InputEventMouseButton and event.pressed and event.button_index == MOUSE_BUTTON_RIGHT:
		_clear()
	elif event is InputEventMouseButton and event.button_index == MOUSE_BUTTON_LEFT:
		last_point = local if event.pressed else Vector2(-1, -1)
		if event.pressed:
			_paint(local, local)
	elif event is InputEventMouseMotion and last_point.x >= 0.0:
		_paint(last_point, local)
		last_point = local


func _process(_delta: float) -> void:
	if demo_index < demo_stroke.size():  # two points a frame, as a hand would
		for i in 2:
			if demo_index > 0 and demo_index < demo_stroke.size():
				_paint(demo_stroke[demo_index - 1], demo_stroke[demo_index])
			demo_index += 1
	if dirty:
		dirty = false
		$Canvas.texture.update(canvas)
		_classify()


func _paint(from: Vector2, to: Vector2) -> void:
	var steps := maxi(1, ceili(from.distance_to(to) / (BRUSH * 0.3)))
	for step in steps + 1:
		var point := Vector2i(from.lerp(to, float(step) / steps))
		var brush := Rect2i(point - Vector2i(BRUSH, BRUSH), Vector2i(BRUSH * 2, BRUSH * 2)).intersection(Rect2i(0, 0, SIZE, SIZE))
		if brush.size.x <= 0 or brush.size.y <= 0:
			continue
		for y in range(brush.position.y, brush.end.y):
			for x in range(brush.position.x, brush.end.x):
				if Vector2i(x, y).distance_squared_to(point) <= BRUSH * BRUSH:
					canvas.set_pixel(x, y, Color.WHITE)
		drawn = brush if drawn.size == Vector2i.ZERO else drawn.merge(brush)
	dirty = true


func _clear() -> void:
	canvas.fill(Color.BLACK)
	drawn = Rect2i()
	probabilities.fill(0.0)
	$Canvas.texture.update(canvas)
	$Seen.texture = null
	$Answer.text = ""
	queue_redraw()


# The drawing as scikit-learn's digits look: the ink's box made square and
# centred, scaled to 8x8, then one luminance channel, bytes / 255.
func _classify() -> void:
	var side := maxi(drawn.size.x, drawn.size.y) + BRUSH
	var square := Image.create(side, side, false, Image.FORMAT_L8)
	square.blit_rect(canvas, drawn, Vector2i((side - drawn.size.x) / 2, (side - drawn.size.y) / 2))
	square.resize(8, 8, Image.INTERPOLATE_LANCZOS)
	var started := Time.get_ticks_usec()
	var outputs := model.execute("forward", [ExecuTorchTensor.from_image(square, 1)])
	var msec := (Time.get_ticks_usec() - started) / 1000.0
	if outputs.is_empty():
		return  # the error is printed
	probabilities = outputs[0].get_data()
	var best := 0
	for i in 10:
		if probabilities[i] > probabilities[best]:
			best = i
	$Answer.text = "It's a %d (%.0f%%)" % [best, 100.0 * probabilities[best]]
	var seen := square.duplicate()
	seen.resize(80, 80, Image.INTERPOLATE_NEAREST)
	$Seen.texture = ImageTexture.create_from_image(seen)
	print("drawn: it's a %d (%.0f%%), execute %.3f ms" % [best, 100.0 * probabilities[best], msec])
	queue_redraw()


func _draw() -> void:
	draw_rect(Rect2($Canvas.position - Vector2(2, 2), Vector2(SIZE + 4, SIZE + 4)), Color(0.5, 0.5, 0.55), false, 2.0)
	var font := get_theme_default_font()
	for i in 10:
		var y := BARS_TOP + i * 30.0
		draw_string(font, Vector2(BARS_LEFT, y + 18), str(i), HORIZONTAL_ALIGNMENT_LEFT, -1, 18)
		draw_rect(Rect2(BARS_LEFT + 24, y + 4, 400, 18), Color(0.2, 0.21, 0.24))
		draw_rect(Rect2(BARS_LEFT + 24, y + 4, 400 * probabilities[i], 18), Color(0.3, 0.75, 1.0))


# --demo: the points of a hand-drawn "2" (canvas pixels).
func _two() -> PackedVector2Array:
	var points := PackedVector2Array()
	for i in 24:  # the top arc, left to right
		var angle := PI + PI * 1.15 * i / 23.0
		points.append(Vector2(200, 130) + Vector2(cos(angle), sin(angle)) * Vector2(85, 70))
	for i in 20:  # the diagonal down to the bottom left
		points.append(points[points.size() - 1].lerp(Vector2(115, 320), 1.0 / (20 - i)))
	for i in 16:  # the base, left to right
		points.append(Vector2(115 + 170.0 * (i + 1) / 16.0, 320))
	return points
