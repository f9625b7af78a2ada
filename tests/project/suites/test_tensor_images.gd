# ExecuTorchTensor.from_image / to_image: values, layouts, channels, dtypes,
# normalization, round trips, and every bad input as null plus an error.
extends "res://test_suite.gd"


# A 3x2 RGBA8 image whose every byte is known: pixel (x, y) = (10x+y, 100+x, 200-y, 50+x+y).
func _pixels() -> Image:
	var bytes := PackedByteArray()
	for y in 2:
		for x in 3:
			bytes.append_array([10 * x + y, 100 + x, 200 - y, 50 + x + y])
	return Image.create_from_data(3, 2, false, Image.FORMAT_RGBA8, bytes)


func test_uint8_layouts_hold_the_bytes() -> void:
	var image := _pixels()
	var nchw := ExecuTorchTensor.from_image(image, 3, ExecuTorchTensor.LAYOUT_NCHW, ExecuTorchTensor.DTYPE_UINT8)
	check_equal(nchw.get_shape(), PackedInt64Array([1, 3, 2, 3]), "NCHW shape [1, C, H, W]")
	check_equal(nchw.get_dtype(), ExecuTorchTensor.DTYPE_UINT8, "uint8 dtype")
	# Plane R (row y=0 then y=1), then G, then B; alpha dropped.
	check_equal(nchw.get_data(), PackedByteArray([0, 10, 20, 1, 11, 21, 100, 101, 102, 100, 101, 102, 200, 200, 200, 199, 199, 199]), "NCHW bytes")
	var nhwc := ExecuTorchTensor.from_image(image, 4, ExecuTorchTensor.LAYOUT_NHWC, ExecuTorchTensor.DTYPE_UINT8)
	check_equal(nhwc.get_shape(), PackedInt64Array([1, 2, 3, 4]), "NHWC shape [1, H, W, C]")
	check_equal(nhwc.get_data(), image.get_data(), "NHWC RGBA bytes are the image's own")


func test_float_is_bytes_over_255_then_normalized() -> void:
	var image := _pixels()
	var plain := ExecuTorchTensor.from_image(image)  # 3 channels, NCHW, float32
	check_equal(plain.get_shape(), PackedInt64Array([1, 3, 2, 3]), "default shape")
	var data: PackedFloat32Array = plain.get_data()
	check_near(data[1], 10.0 / 255.0, "R of (1, 0)")
	check_near(data[6 + 5], 102.0 / 255.0, "G of (2, 1)")
	var mean := PackedFloat32Array([0.5, 0.25, 0.0])
	var std := PackedFloat32Array([0.5, 2.0, 0.25])
	var normalized: PackedFloat32Array = ExecuTorchTensor.from_image(image, 3, ExecuTorchTensor.LAYOUT_NHWC,
			ExecuTorchTensor.DTYPE_FLOAT32, mean, std).get_data()
	# NHWC: pixel (x=2, y=1) is element 5; its channels 15..17.
	check_near(normalized[15], (21.0 / 255.0 - 0.5) / 0.5, "normalized R")
	check_near(normalized[16], (102.0 / 255.0 - 0.25) / 2.0, "normalized G")
	check_near(normalized[17], (199.0 / 255.0 - 0.0) / 0.25, "normalized B")
	var double := ExecuTorchTensor.from_image(image, 3, ExecuTorchTensor.LAYOUT_NCHW, ExecuTorchTensor.DTYPE_FLOAT64)
	check_equal(double.get_dtype_name(), "float64", "float64 dtype")
	check_near(double.get_data()[1], 10.0 / 255.0, "float64 value")
	var half := ExecuTorchTensor.from_image(image, 3, ExecuTorchTensor.LAYOUT_NCHW, ExecuTorchTensor.DTYPE_FLOAT16)
	check(absf(half.get_data()[1] - 10.0 / 255.0) < 1e-3, "float16 value within its precision")


func test_one_channel_is_godots_luminance() -> void:
	var image := _pixels()
	var gray := image.duplicate()
	gray.convert(Image.FORMAT_L8)
	var tensor := ExecuTorchTensor.from_image(image, 1, ExecuTorchTensor.LAYOUT_NCHW, ExecuTorchTensor.DTYPE_UINT8)
	check_equal(tensor.get_shape(), PackedInt64Array([1, 1, 2, 3]), "one channel shape")
	check_equal(tensor.get_data(), gray.get_data(), "the bytes of Image.convert(FORMAT_L8)")


func test_any_format_is_converted_as_godot_converts_it() -> void:
	var image := _pixels()
	var floats := image.duplicate()
	floats.convert(Image.FORMAT_RGBAF)
	var from_float := ExecuTorchTensor.from_image(floats, 4, ExecuTorchTensor.LAYOUT_NHWC, ExecuTorchTensor.DTYPE_UINT8)
	check_equal(from_float.get_data(), image.get_data(), "an RGBAF image gives the same bytes")
	var with_mipmaps := image.duplicate()
	with_mipmaps.generate_mipmaps()
	check_equal(ExecuTorchTensor.from_image(with_mipmaps, 4, ExecuTorchTensor.LAYOUT_NHWC, ExecuTorchTensor.DTYPE_UINT8).get_data(),
			image.get_data(), "mipmaps left out")
	check_equal(image.get_format(), Image.FORMAT_RGBA8, "the caller's image is not changed")


func test_round_trips() -> void:
	var image := _pixels()
	var mean := PackedFloat32Array([0.485, 0.456, 0.406, 0.5])
	var std := PackedFloat32Array([0.229, 0.224, 0.225, 0.5])
	for layout in [ExecuTorchTensor.LAYOUT_NCHW, ExecuTorchTensor.LAYOUT_NHWC]:
		var tensor := ExecuTorchTensor.from_image(image, 4, layout, ExecuTorchTensor.DTYPE_FLOAT32, mean, std)
		var back := tensor.to_image(layout, mean, std)
		check_equal(back.get_format(), Image.FORMAT_RGBA8, "RGBA back (layout %d)" % layout)
		check_equal(back.get_data(), image.get_data(), "float round trip (layout %d)" % layout)
		var bytes := ExecuTorchTensor.from_image(image, 3, layout, ExecuTorchTensor.DTYPE_UINT8)
		var rgb := image.duplicate()
		rgb.convert(Image.FORMAT_RGB8)
		check_equal(bytes.to_image(layout).get_data(), rgb.get_data(), "uint8 round trip (layout %d)" % layout)
	var half := ExecuTorchTensor.from_image(image, 3, ExecuTorchTensor.LAYOUT_NCHW, ExecuTorchTensor.DTYPE_BFLOAT16)
	var rgb8 := image.duplicate()
	rgb8.convert(Image.FORMAT_RGB8)
	check_equal(half.to_image().get_data(), rgb8.get_data(), "bfloat16 round trip rounds back to the bytes")


func test_to_image_shapes_rounding_and_clamping() -> void:
	# [H, W] as one channel; values past 0..1 saturate, never wrap; .5/255 steps round to nearest.
	var tensor := ExecuTorchTensor.create(PackedFloat32Array([-0.5, 0.0, 1.5 / 255.0, 2.4 / 255.0, 1.0, 7.0]), PackedInt64Array([2, 3]))
	var image := tensor.to_image()
	check_equal(image.get_format(), Image.FORMAT_L8, "[H, W] is luminance")
	check_equal([image.get_width(), image.get_height()], [3, 2], "width 3, height 2")
	check_equal(image.get_data(), PackedByteArray([0, 0, 2, 2, 255, 255]), "clamped and rounded")
	var chw := ExecuTorchTensor.create(PackedFloat32Array([1, 0, 0, 1, 0, 0]), PackedInt64Array([3, 1, 2]))
	check_equal(chw.to_image().get_data(), PackedByteArray([255, 0, 0, 0, 255, 0]), "[C, H, W] without the batch")
	var hwc := ExecuTorchTensor.create(PackedByteArray([1, 2, 3, 4, 5, 6]), PackedInt64Array([1, 2, 3]), ExecuTorchTensor.DTYPE_UINT8)
	var rgb := hwc.to_image(ExecuTorchTensor.LAYOUT_NHWC)
	check_equal([rgb.get_format(), rgb.get_width(), rgb.get_height()], [Image.FORMAT_RGB8, 2, 1], "[H, W, C] RGB 2x1")
	check_equal(rgb.get_data(), PackedByteArray([1, 2, 3, 4, 5, 6]), "uint8 bytes as they are")


func test_a_frame_converts_in_one_call() -> void:
	var frame := Image.create(224, 224, false, Image.FORMAT_RGBA8)
	frame.fill(Color8(255, 128, 0, 255))
	var tensor := ExecuTorchTensor.from_image(frame, 3, ExecuTorchTensor.LAYOUT_NCHW, ExecuTorchTensor.DTYPE_FLOAT32,
			PackedFloat32Array([0.485, 0.456, 0.406]), PackedFloat32Array([0.229, 0.224, 0.225]))
	check_equal(tensor.get_shape(), PackedInt64Array([1, 3, 224, 224]), "224x224 NCHW")
	var data: PackedFloat32Array = tensor.get_data()
	check_near(data[224 * 224 * 2 + 5], (0.0 - 0.406) / 0.225, "blue plane")


func test_bad_images_and_tensors_are_null() -> void:
	var image := _pixels()
	check(ExecuTorchTensor.from_image(null) == null, "null image")
	check(ExecuTorchTensor.from_image(Image.new()) == null, "empty image")
	check(ExecuTorchTensor.from_image(image, 2) == null, "two channels")
	check(ExecuTorchTensor.from_image(image, 3, 7) == null, "unknown layout")
	check(ExecuTorchTensor.from_image(image, 3, ExecuTorchTensor.LAYOUT_NCHW, ExecuTorchTensor.DTYPE_INT32) == null, "int32 dtype")
	check(ExecuTorchTensor.from_image(image, 3, ExecuTorchTensor.LAYOUT_NCHW, ExecuTorchTensor.DTYPE_FLOAT32,
			PackedFloat32Array([0.5, 0.5, 0.5])) == null, "mean without std")
	check(ExecuTorchTensor.from_image(image, 3, ExecuTorchTensor.LAYOUT_NCHW, ExecuTorchTensor.DTYPE_FLOAT32,
			PackedFloat32Array([0.5]), PackedFloat32Array([0.5])) == null, "one value for three channels")
	check(ExecuTorchTensor.from_image(image, 3, ExecuTorchTensor.LAYOUT_NCHW, ExecuTorchTensor.DTYPE_FLOAT32,
			PackedFloat32Array([0.5, 0.5, 0.5]), PackedFloat32Array([0.5, 0.0, 0.5])) == null, "zero std")
	check(ExecuTorchTensor.from_image(image, 3, ExecuTorchTensor.LAYOUT_NCHW, ExecuTorchTensor.DTYPE_UINT8,
			PackedFloat32Array([0.5, 0.5, 0.5]), PackedFloat32Array([0.5, 0.5, 0.5])) == null, "mean and std with uint8")
	check(ExecuTorchTensor.create(PackedFloat32Array([1, 2, 3, 4]), PackedInt64Array([4])).to_image() == null, "rank 1")
	check(ExecuTorchTensor.create(PackedFloat32Array([1, 2, 3, 4]), PackedInt64Array([2, 2, 1, 1])).to_image() == null, "batch of 2")
	check(ExecuTorchTensor.create(PackedFloat32Array([1, 2, 3, 4, 5, 6, 7, 8]), PackedInt64Array([2, 2, 2])).to_image() == null, "two channels")
	check(ExecuTorchTensor.create(PackedInt64Array([1, 2, 3, 4]), PackedInt64Array([2, 2])).to_image() == null, "int64 tensor")
	check(ExecuTorchTensor.create(PackedFloat32Array([1, 2, 3, 4]), PackedInt64Array([2, 2])).to_image(
			ExecuTorchTensor.LAYOUT_NCHW, PackedFloat32Array([0.5]), PackedFloat32Array([INF])) == null, "infinite std")
