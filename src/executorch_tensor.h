// ExecuTorchTensor: a typed, shaped tensor for GDScript. Its bound API is
// declared here and documented in module_spec.yaml (the generated
// _bind_methods checks each signature and enum value against the spec).

#pragma once

#include "core/io/image.h"
#include "core/object/ref_counted.h"

class ExecuTorchTensor : public RefCounted {
	GDCLASS(ExecuTorchTensor, RefCounted);

public:
	// GDScript passes enums as 64-bit ints: the int64_t underlying type keeps
	// a value outside the enum as it is, so create() can refuse it.
	enum DType : int64_t {
		DTYPE_AUTO = -1,
		DTYPE_FLOAT32 = 0,
		DTYPE_FLOAT64 = 1,
		DTYPE_FLOAT16 = 2,
		DTYPE_BFLOAT16 = 3,
		DTYPE_INT8 = 4,
		DTYPE_INT16 = 5,
		DTYPE_INT32 = 6,
		DTYPE_INT64 = 7,
		DTYPE_UINT8 = 8,
		DTYPE_BOOL = 9,
	};
	// Where an image's channels go in the shape: [1, C, H, W] or [1, H, W, C].
	enum Layout : int64_t {
		LAYOUT_NCHW = 0,
		LAYOUT_NHWC = 1,
	};

private:
	PackedInt64Array shape;
	DType dtype = DTYPE_FLOAT32;
	// The elements in ExecuTorch's layout: contiguous, row-major, native endian.
	PackedByteArray bytes;

protected:
	static void _bind_methods();

public:
	static Ref<ExecuTorchTensor> create(const Variant &p_data, const PackedInt64Array &p_shape = PackedInt64Array(), DType p_dtype = DTYPE_AUTO);
	PackedInt64Array get_shape() const;
	DType get_dtype() const;
	String get_dtype_name() const;
	Variant get_data() const;
	int64_t numel() const;
	// Images in and out, natively (executorch_tensor_image.cpp).
	static Ref<ExecuTorchTensor> from_image(const Ref<Image> &p_image, int64_t p_channels = 3, Layout p_layout = LAYOUT_NCHW,
			DType p_dtype = DTYPE_FLOAT32, const PackedFloat32Array &p_mean = PackedFloat32Array(),
			const PackedFloat32Array &p_std = PackedFloat32Array());
	Ref<Image> to_image(Layout p_layout = LAYOUT_NCHW, const PackedFloat32Array &p_mean = PackedFloat32Array(),
			const PackedFloat32Array &p_std = PackedFloat32Array()) const;

	// What the module knows of a dtype, from one table (executorch_tensor.cpp).
	struct DTypeFacts {
		DType dtype;
		int8_t scalar_type; // ExecuTorch's ScalarType (scalar_type.fbs)
		const char *name; // PyTorch's: what an ML engineer reads in `tensor.dtype`
		int size; // bytes per element
		bool integer; // int8 to int64 and uint8: floats must be finite to convert
		const char *json_type; // the JSON Schema type of its elements (MCP tools)
	};
	// The facts of a dtype, of an ExecuTorch ScalarType, or of a name; null for none.
	static const DTypeFacts *dtype_facts(DType p_dtype);
	static const DTypeFacts *dtype_facts_of_scalar_type(int8_t p_scalar_type);
	static const DTypeFacts *dtype_facts_of_name(const String &p_name);

	static bool is_valid_dtype(DType p_dtype);
	static bool is_integer_dtype(DType p_dtype); // int8 to int64 and uint8: floats must be finite to convert
	static int element_size(DType p_dtype);
	static const char *dtype_to_name(DType p_dtype);
	// Checks a shape for `p_dtype`: rank, each dimension, and a byte size that
	// fits an int64. Returns "" and the element count in `r_count`, or the end
	// of a sentence that begins "The tensor 'shape' [..] ".
	static String check_shape(const PackedInt64Array &p_shape, DType p_dtype, int64_t &r_count);

	// For the model: sets dtype, shape (`p_rank` sizes) and elements (`p_size`
	// bytes, copied). Used on new output tensors and on outputs the model
	// reuses because nobody else holds them; an unchanged shape is kept as is.
	void assign(DType p_dtype, const int32_t *p_sizes, int p_rank, const uint8_t *p_data, int64_t p_size);
	const PackedByteArray &get_bytes() const { return bytes; }
	const PackedInt64Array &get_shape_ref() const { return shape; }
};

VARIANT_ENUM_CAST(ExecuTorchTensor::DType);
VARIANT_ENUM_CAST(ExecuTorchTensor::Layout);

// Numbers from GDScript in any container a tensor or a model input takes (a
// packed numeric array, an Array of numbers and bools and, where allowed, a
// bare number or bool), written out as the elements of one dtype. The single
// conversion behind ExecuTorchTensor.create() and the model's number inputs.
// Integral sources are read as int64, so large int64 values stay exact;
// float16 and bfloat16 round to nearest even as PyTorch does.
class TensorElements {
public:
	enum Problem {
		OK,
		NOT_NUMBERS, // the value is no such container: see problem_type()
		NOT_A_NUMBER, // element problem_index() is a problem_type()
	};

	Problem read(const Variant &p_data, bool p_accept_scalar);
	int64_t size() const { return count; }
	int64_t problem_index() const { return bad_index; }
	Variant::Type problem_type() const { return bad_type; }
	// The dtype the data implies (see ExecuTorchTensor.DTYPE_AUTO).
	ExecuTorchTensor::DType natural_dtype() const;
	// The first element that has no value in integer `p_dtype` (NaN, an
	// infinity, a float beyond the int64 range), or -1. Check before write().
	int64_t first_not_integral(ExecuTorchTensor::DType p_dtype) const;
	// Writes size() elements of `p_dtype` to `r_out` (size() * element_size bytes).
	void write(ExecuTorchTensor::DType p_dtype, uint8_t *r_out) const;
	bool is_integral(int64_t p_index) const;
	int64_t as_int(int64_t p_index) const;
	double as_double(int64_t p_index) const;

private:
	bool has_floats() const;

	Variant::Type type = Variant::NIL;
	Variant scalar;
	Array array;
	PackedFloat32Array f32;
	PackedFloat64Array f64;
	PackedInt32Array i32;
	PackedInt64Array i64;
	PackedByteArray u8;
	int64_t count = 0;
	bool any_float = false; // in an Array
	bool all_bool = false; // in an Array
	int64_t bad_index = -1;
	Variant::Type bad_type = Variant::NIL;
};
