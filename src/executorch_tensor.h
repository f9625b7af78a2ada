// ExecuTorchTensor: a typed, shaped tensor for GDScript. The bound API is
// declared in module_spec.yaml (see executorch_tensor.gen.h).

#pragma once

#include "executorch_tensor.gen.h"

#include "core/object/ref_counted.h"

class ExecuTorchTensor : public RefCounted {
	GDCLASS(ExecuTorchTensor, RefCounted);

public:
	EXECUTORCH_TENSOR_GENERATED_ENUMS

private:
	PackedInt64Array shape;
	DType dtype = DTYPE_FLOAT32;
	// The elements in ExecuTorch's layout: contiguous, row-major, native endian.
	PackedByteArray bytes;

protected:
	static void _bind_methods();

public:
	EXECUTORCH_TENSOR_GENERATED_API

	static int element_size(DType p_dtype);
	static const char *dtype_to_name(DType p_dtype);

	// For the model: sets dtype, shape (`p_rank` sizes) and elements (`p_size`
	// bytes, copied). Used on new output tensors and on outputs the model
	// reuses because nobody else holds them; an unchanged shape is kept as is.
	void assign(DType p_dtype, const int32_t *p_sizes, int p_rank, const uint8_t *p_data, int64_t p_size);
	const PackedByteArray &get_bytes() const { return bytes; }
	const PackedInt64Array &get_shape_ref() const { return shape; }
};

EXECUTORCH_TENSOR_GENERATED_CASTS
