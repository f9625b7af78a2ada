# ExecuTorchTensor: every dtype round-trips through create()/get_data(), and
# bad shapes or data are errors, not crashes.
extends "res://test_suite.gd"




func test_every_dtype_round_trips() -> void:
	var cases := [
		[ExecuTorchTensor.DTYPE_FLOAT32, [1.5, -2.25, 3.0], TYPE_PACKED_FLOAT32_ARRAY, [1.5, -2.25, 3.0], "float32"],
		[ExecuTorchTensor.DTYPE_FLOAT64, [1.5, -2.25, 3.0], TYPE_PACKED_FLOAT64_ARRAY, [1.5, -2.25, 3.0], "float64"],
		[ExecuTorchTensor.DTYPE_FLOAT16, [1.5, -2.25, 3.0], TYPE_PACKED_FLOAT32_ARRAY, [1.5, -2.25, 3.0], "float16"],
		[ExecuTorchTensor.DTYPE_BFLOAT16, [1.5, -2.25, 3.0], TYPE_PACKED_FLOAT32_ARRAY, [1.5, -2.25, 3.0], "bfloat16"],
		[ExecuTorchTensor.DTYPE_INT8, [1, -2, 127], TYPE_PACKED_BYTE_ARRAY, [1, 254, 127], "int8"],
		[ExecuTorchTensor.DTYPE_INT16, [1, -2, 30000], TYPE_PACKED_INT32_ARRAY, [1, -2, 30000], "int16"],
		[ExecuTorchTensor.DTYPE_INT32, [1, -2, 2000000000], TYPE_PACKED_INT32_ARRAY, [1, -2, 2000000000], "int32"],
		[ExecuTorchTensor.DTYPE_INT64, [1, -2, 9000000000000], TYPE_PACKED_INT64_ARRAY, [1, -2, 9000000000000], "int64"],
		[ExecuTorchTensor.DTYPE_UINT8, [0, 7, 255], TYPE_PACKED_BYTE_ARRAY, [0, 7, 255], "uint8"],
		[ExecuTorchTensor.DTYPE_BOOL, [true, false, true], TYPE_PACKED_BYTE_ARRAY, [1, 0, 1], "bool"],
	]
	for case in cases:
		var tensor := ExecuTorchTensor.create(case[1], PackedInt64Array(), case[0])
		if not check(tensor != null, "create %s" % case[4]):
			continue
		check_equal(tensor.get_dtype(), case[0], "%s dtype" % case[4])
		check_equal(tensor.get_dtype_name(), case[4], "%s dtype name" % case[4])
		check_equal(tensor.get_shape(), PackedInt64Array([3]), "%s shape" % case[4])
		check_equal(tensor.numel(), 3, "%s numel" % case[4])
		var data = tensor.get_data()
		check_equal(typeof(data), case[2], "%s get_data type" % case[4])
		check_equal(Array(data), case[3], "%s values" % case[4])


# float16 and bfloat16 round like PyTorch: to nearest even, float16 subnormals
# kept. The expected values are torch.tensor(x).to(dtype).float() for these x.
func test_half_precision_rounds_like_pytorch() -> void:
	var x := PackedFloat32Array([1e-6, 3e-8, 1e-8, 65504.0, 1.00390625, 1.01171875, -2.0])
	check_equal(ExecuTorchTensor.create(x, PackedInt64Array(), ExecuTorchTensor.DTYPE_FLOAT16).get_data(),
			PackedFloat32Array([1.0132789611816406e-06, 5.960464477539063e-08, 0.0, 65504.0, 1.00390625, 1.01171875, -2.0]), "float16")
	check_equal(ExecuTorchTensor.create(x, PackedInt64Array(), ExecuTorchTensor.DTYPE_BFLOAT16).get_data(),
			PackedFloat32Array([9.98377799987793e-07, 3.003515303134918e-08, 1.0011717677116394e-08, 65536.0, 1.0, 1.015625, -2.0]), "bfloat16")


func test_dtype_defaults_from_the_data() -> void:
	check_equal(ExecuTorchTensor.create(PackedFloat32Array([1.0])).get_dtype(), ExecuTorchTensor.DTYPE_FLOAT32, "PackedFloat32Array")
	check_equal(ExecuTorchTensor.create(PackedFloat64Array([1.0])).get_dtype(), ExecuTorchTensor.DTYPE_FLOAT64, "PackedFloat64Array")
	check_equal(ExecuTorchTensor.create(PackedInt32Array([1])).get_dtype(), ExecuTorchTensor.DTYPE_INT32, "PackedInt32Array")
	check_equal(ExecuTorchTensor.create(PackedInt64Array([1])).get_dtype(), ExecuTorchTensor.DTYPE_INT64, "PackedInt64Array")
	check_equal(ExecuTorchTensor.create(PackedByteArray([1])).get_dtype(), ExecuTorchTensor.DTYPE_UINT8, "PackedByteArray")
	check_equal(ExecuTorchTensor.create([1, 2]).get_dtype(), ExecuTorchTensor.DTYPE_INT64, "Array of ints")
	check_equal(ExecuTorchTensor.create([1, 2.5]).get_dtype(), ExecuTorchTensor.DTYPE_FLOAT32, "Array with a float")
	check_equal(ExecuTorchTensor.create([true, false]).get_dtype(), ExecuTorchTensor.DTYPE_BOOL, "Array of bools")


func test_shapes() -> void:
	var tensor := ExecuTorchTensor.create(PackedFloat32Array([1, 2, 3, 4, 5, 6]), PackedInt64Array([2, 3]))
	check_equal(tensor.get_shape(), PackedInt64Array([2, 3]), "2x3 shape")
	check_equal(tensor.numel(), 6, "2x3 numel")
	check_equal(ExecuTorchTensor.create(PackedFloat32Array(), PackedInt64Array([0, 4])).numel(), 0, "an empty tensor")


func test_bad_tensors_are_null() -> void:
	check(ExecuTorchTensor.create(PackedFloat32Array([1, 2, 3]), PackedInt64Array([2, 2])) == null, "count differs from the shape")
	check(ExecuTorchTensor.create(PackedFloat32Array([1, 2]), PackedInt64Array([-1, -2])) == null, "negative dimension")
	check(ExecuTorchTensor.create(["a", 1]) == null, "non-numeric element")
	check(ExecuTorchTensor.create("text") == null, "data is a String")
	check(ExecuTorchTensor.create([1.0], PackedInt64Array(), 42) == null, "unknown dtype")
