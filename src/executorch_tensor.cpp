#include "executorch_tensor.h"

#include "core/math/math_funcs.h"

#include <cstring>

namespace {

uint16_t float_to_bfloat16(float p_value) {
	uint32_t bits;
	memcpy(&bits, &p_value, sizeof(bits));
	if ((bits & 0x7fffffff) > 0x7f800000) {
		return (uint16_t)((bits >> 16) | 0x40); // keep NaN a NaN
	}
	bits += 0x7fff + ((bits >> 16) & 1); // round to nearest even
	return (uint16_t)(bits >> 16);
}

float bfloat16_to_float(uint16_t p_value) {
	const uint32_t bits = (uint32_t)p_value << 16;
	float value;
	memcpy(&value, &bits, sizeof(value));
	return value;
}

// Uniform read access to the containers create() accepts. Integral sources are
// read as int64 (exact), the others as double.
struct ElementReader {
	Variant::Type type = Variant::NIL;
	Array array;
	PackedFloat32Array f32;
	PackedFloat64Array f64;
	PackedInt32Array i32;
	PackedInt64Array i64;
	PackedByteArray u8;
	int64_t size = 0;

	bool integral(int64_t p_index) const {
		switch (type) {
			case Variant::PACKED_INT32_ARRAY:
			case Variant::PACKED_INT64_ARRAY:
			case Variant::PACKED_BYTE_ARRAY:
				return true;
			case Variant::ARRAY:
				return array[p_index].get_type() != Variant::FLOAT;
			default:
				return false;
		}
	}
	double as_double(int64_t p_index) const {
		switch (type) {
			case Variant::PACKED_FLOAT32_ARRAY:
				return f32[p_index];
			case Variant::PACKED_FLOAT64_ARRAY:
				return f64[p_index];
			case Variant::ARRAY:
				return (double)array[p_index];
			default:
				return (double)as_int(p_index);
		}
	}
	int64_t as_int(int64_t p_index) const {
		switch (type) {
			case Variant::PACKED_INT32_ARRAY:
				return i32[p_index];
			case Variant::PACKED_INT64_ARRAY:
				return i64[p_index];
			case Variant::PACKED_BYTE_ARRAY:
				return u8[p_index];
			case Variant::ARRAY:
				return (int64_t)array[p_index];
			default:
				return (int64_t)as_double(p_index);
		}
	}
};

template <typename T>
void store_elements(const ElementReader &p_reader, uint8_t *r_out) {
	T *out = reinterpret_cast<T *>(r_out);
	for (int64_t i = 0; i < p_reader.size; i++) {
		out[i] = p_reader.integral(i) ? (T)p_reader.as_int(i) : (T)p_reader.as_double(i);
	}
}

} // namespace

int ExecuTorchTensor::element_size(DType p_dtype) {
	switch (p_dtype) {
		case DTYPE_FLOAT64:
		case DTYPE_INT64:
			return 8;
		case DTYPE_FLOAT32:
		case DTYPE_INT32:
			return 4;
		case DTYPE_FLOAT16:
		case DTYPE_BFLOAT16:
		case DTYPE_INT16:
			return 2;
		case DTYPE_INT8:
		case DTYPE_UINT8:
		case DTYPE_BOOL:
			return 1;
		default:
			return 0;
	}
}

const char *ExecuTorchTensor::dtype_to_name(DType p_dtype) {
	static const char *const names[] = { "float32", "float64", "float16", "bfloat16", "int8", "int16", "int32", "int64", "uint8", "bool" };
	return (p_dtype >= DTYPE_FLOAT32 && p_dtype <= DTYPE_BOOL) ? names[p_dtype] : "auto";
}

Ref<ExecuTorchTensor> ExecuTorchTensor::create(const Variant &p_data, const PackedInt64Array &p_shape, DType p_dtype) {
	ElementReader reader;
	reader.type = p_data.get_type();
	DType dtype = p_dtype;
	switch (reader.type) {
		case Variant::PACKED_FLOAT32_ARRAY:
			reader.f32 = p_data;
			reader.size = reader.f32.size();
			dtype = dtype == DTYPE_AUTO ? DTYPE_FLOAT32 : dtype;
			break;
		case Variant::PACKED_FLOAT64_ARRAY:
			reader.f64 = p_data;
			reader.size = reader.f64.size();
			dtype = dtype == DTYPE_AUTO ? DTYPE_FLOAT64 : dtype;
			break;
		case Variant::PACKED_INT32_ARRAY:
			reader.i32 = p_data;
			reader.size = reader.i32.size();
			dtype = dtype == DTYPE_AUTO ? DTYPE_INT32 : dtype;
			break;
		case Variant::PACKED_INT64_ARRAY:
			reader.i64 = p_data;
			reader.size = reader.i64.size();
			dtype = dtype == DTYPE_AUTO ? DTYPE_INT64 : dtype;
			break;
		case Variant::PACKED_BYTE_ARRAY:
			reader.u8 = p_data;
			reader.size = reader.u8.size();
			dtype = dtype == DTYPE_AUTO ? DTYPE_UINT8 : dtype;
			break;
		case Variant::ARRAY: {
			reader.array = p_data;
			reader.size = reader.array.size();
			bool all_bool = reader.size > 0;
			bool any_float = false;
			for (int64_t i = 0; i < reader.size; i++) {
				const Variant::Type type = reader.array[i].get_type();
				ERR_FAIL_COND_V_MSG(type != Variant::INT && type != Variant::FLOAT && type != Variant::BOOL, Ref<ExecuTorchTensor>(),
						vformat("Element %d of the tensor 'data' is a %s; a tensor holds numbers or bools.", i, Variant::get_type_name(type)));
				all_bool = all_bool && type == Variant::BOOL;
				any_float = any_float || type == Variant::FLOAT;
			}
			dtype = dtype != DTYPE_AUTO ? dtype : all_bool ? DTYPE_BOOL : any_float ? DTYPE_FLOAT32 : DTYPE_INT64;
			break;
		}
		default:
			ERR_FAIL_V_MSG(Ref<ExecuTorchTensor>(), vformat("The tensor 'data' is a %s; pass a packed array or an Array of numbers.", Variant::get_type_name(reader.type)));
	}
	ERR_FAIL_COND_V_MSG(dtype < DTYPE_FLOAT32 || dtype > DTYPE_BOOL, Ref<ExecuTorchTensor>(), vformat("Unknown tensor 'dtype' %d; use one of ExecuTorchTensor's DTYPE_* constants.", (int)dtype));

	PackedInt64Array shape = p_shape;
	if (shape.is_empty()) {
		shape.push_back(reader.size);
	}
	int64_t count = 1;
	for (int64_t size : shape) {
		ERR_FAIL_COND_V_MSG(size < 0, Ref<ExecuTorchTensor>(), vformat("The tensor 'shape' %s has a negative dimension.", shape));
		count *= size;
	}
	ERR_FAIL_COND_V_MSG(count != reader.size, Ref<ExecuTorchTensor>(),
			vformat("The tensor 'shape' %s holds %d element(s) but 'data' has %d.", shape, count, reader.size));

	Ref<ExecuTorchTensor> tensor;
	tensor.instantiate();
	tensor->shape = shape;
	tensor->dtype = dtype;
	tensor->bytes.resize(count * element_size(dtype));
	uint8_t *out = tensor->bytes.ptrw();
	switch (dtype) {
		case DTYPE_FLOAT32:
			if (reader.type == Variant::PACKED_FLOAT32_ARRAY) {
				memcpy(out, reader.f32.ptr(), count * sizeof(float));
			} else {
				store_elements<float>(reader, out);
			}
			break;
		case DTYPE_FLOAT64:
			store_elements<double>(reader, out);
			break;
		case DTYPE_FLOAT16:
			for (int64_t i = 0; i < count; i++) {
				reinterpret_cast<uint16_t *>(out)[i] = Math::make_half_float((float)reader.as_double(i));
			}
			break;
		case DTYPE_BFLOAT16:
			for (int64_t i = 0; i < count; i++) {
				reinterpret_cast<uint16_t *>(out)[i] = float_to_bfloat16((float)reader.as_double(i));
			}
			break;
		case DTYPE_INT8:
			store_elements<int8_t>(reader, out);
			break;
		case DTYPE_INT16:
			store_elements<int16_t>(reader, out);
			break;
		case DTYPE_INT32:
			store_elements<int32_t>(reader, out);
			break;
		case DTYPE_INT64:
			if (reader.type == Variant::PACKED_INT64_ARRAY) {
				memcpy(out, reader.i64.ptr(), count * sizeof(int64_t));
			} else {
				store_elements<int64_t>(reader, out);
			}
			break;
		case DTYPE_UINT8:
			store_elements<uint8_t>(reader, out);
			break;
		case DTYPE_BOOL:
			for (int64_t i = 0; i < count; i++) {
				out[i] = (reader.integral(i) ? reader.as_int(i) != 0 : reader.as_double(i) != 0.0) ? 1 : 0;
			}
			break;
		default:
			break;
	}
	return tensor;
}

void ExecuTorchTensor::assign(DType p_dtype, const int32_t *p_sizes, int p_rank, const uint8_t *p_data, int64_t p_size) {
	dtype = p_dtype;
	bool same_shape = shape.size() == p_rank;
	for (int i = 0; same_shape && i < p_rank; i++) {
		same_shape = shape[i] == p_sizes[i];
	}
	if (!same_shape) {
		shape.resize(p_rank);
		int64_t *out = shape.ptrw();
		for (int i = 0; i < p_rank; i++) {
			out[i] = p_sizes[i];
		}
	}
	bytes.resize(p_size);
	if (p_size > 0) {
		memcpy(bytes.ptrw(), p_data, p_size);
	}
}

PackedInt64Array ExecuTorchTensor::get_shape() const {
	return shape;
}

ExecuTorchTensor::DType ExecuTorchTensor::get_dtype() const {
	return dtype;
}

String ExecuTorchTensor::get_dtype_name() const {
	return dtype_to_name(dtype);
}

int64_t ExecuTorchTensor::numel() const {
	const int size = element_size(dtype);
	return size ? bytes.size() / size : 0;
}

Variant ExecuTorchTensor::get_data() const {
	const int64_t count = numel();
	const uint8_t *in = bytes.ptr();
	switch (dtype) {
		case DTYPE_FLOAT32: {
			PackedFloat32Array data;
			data.resize(count);
			memcpy(data.ptrw(), in, count * sizeof(float));
			return data;
		}
		case DTYPE_FLOAT64: {
			PackedFloat64Array data;
			data.resize(count);
			memcpy(data.ptrw(), in, count * sizeof(double));
			return data;
		}
		case DTYPE_FLOAT16:
		case DTYPE_BFLOAT16: {
			PackedFloat32Array data;
			data.resize(count);
			const uint16_t *halves = reinterpret_cast<const uint16_t *>(in);
			for (int64_t i = 0; i < count; i++) {
				data.set(i, dtype == DTYPE_FLOAT16 ? Math::half_to_float(halves[i]) : bfloat16_to_float(halves[i]));
			}
			return data;
		}
		case DTYPE_INT16: {
			PackedInt32Array data;
			data.resize(count);
			for (int64_t i = 0; i < count; i++) {
				data.set(i, reinterpret_cast<const int16_t *>(in)[i]);
			}
			return data;
		}
		case DTYPE_INT32: {
			PackedInt32Array data;
			data.resize(count);
			memcpy(data.ptrw(), in, count * sizeof(int32_t));
			return data;
		}
		case DTYPE_INT64: {
			PackedInt64Array data;
			data.resize(count);
			memcpy(data.ptrw(), in, count * sizeof(int64_t));
			return data;
		}
		default: // uint8, int8 (two's complement bytes), bool
			return bytes;
	}
}
