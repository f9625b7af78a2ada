#include "executorch_tensor.h"

#include "core/math/math_funcs.h"

#include <executorch/runtime/core/portable_type/bfloat16.h>
#include <executorch/runtime/core/portable_type/half.h>

#include <cstring>
#include <limits>
#include <type_traits>

namespace {

float bfloat16_to_float(uint16_t p_value) {
	const uint32_t bits = (uint32_t)p_value << 16;
	float value;
	memcpy(&value, &bits, sizeof(value));
	return value;
}

// Integers take floats as PyTorch does: truncated toward zero to int64, then
// wrapped to the dtype's width (a float outside the target's range converted
// directly would be undefined behaviour; check_integral() has refused NaN,
// infinities and floats beyond int64 before this runs).
template <typename T>
void store_elements(const TensorElements &p_elements, uint8_t *r_out) {
	T *out = reinterpret_cast<T *>(r_out);
	for (int64_t i = 0; i < p_elements.size(); i++) {
		if constexpr (std::is_integral<T>::value) {
			out[i] = (T)p_elements.as_int(i);
		} else {
			out[i] = p_elements.is_integral(i) ? (T)p_elements.as_int(i) : (T)p_elements.as_double(i);
		}
	}
}

// Whether a float truncates to an int64 (NaN and the infinities do not).
bool fits_int64(double p_value) {
	return p_value >= -0x1p63 && p_value < 0x1p63;
}

// float16 and bfloat16 through ExecuTorch's own types: IEEE round to nearest
// even, subnormals kept (Godot's make_half_float flushes them to zero).
template <typename T>
void store_half_elements(const TensorElements &p_elements, uint8_t *r_out) {
	T *out = reinterpret_cast<T *>(r_out);
	for (int64_t i = 0; i < p_elements.size(); i++) {
		out[i] = T((float)p_elements.as_double(i));
	}
}

} // namespace

// --- TensorElements -------------------------------------------------------------

TensorElements::Problem TensorElements::read(const Variant &p_data, bool p_accept_scalar) {
	type = p_data.get_type();
	switch (type) {
		case Variant::INT:
		case Variant::FLOAT:
		case Variant::BOOL:
			if (!p_accept_scalar) {
				break;
			}
			scalar = p_data;
			count = 1;
			return OK;
		case Variant::PACKED_FLOAT32_ARRAY:
			f32 = p_data;
			count = f32.size();
			return OK;
		case Variant::PACKED_FLOAT64_ARRAY:
			f64 = p_data;
			count = f64.size();
			return OK;
		case Variant::PACKED_INT32_ARRAY:
			i32 = p_data;
			count = i32.size();
			return OK;
		case Variant::PACKED_INT64_ARRAY:
			i64 = p_data;
			count = i64.size();
			return OK;
		case Variant::PACKED_BYTE_ARRAY:
			u8 = p_data;
			count = u8.size();
			return OK;
		case Variant::ARRAY: {
			array = p_data;
			count = array.size();
			all_bool = count > 0;
			for (int64_t i = 0; i < count; i++) {
				const Variant::Type element = array[i].get_type();
				if (element != Variant::INT && element != Variant::FLOAT && element != Variant::BOOL) {
					bad_index = i;
					bad_type = element;
					return NOT_A_NUMBER;
				}
				all_bool = all_bool && element == Variant::BOOL;
				any_float = any_float || element == Variant::FLOAT;
			}
			return OK;
		}
		default:
			break;
	}
	bad_type = type;
	return NOT_NUMBERS;
}

ExecuTorchTensor::DType TensorElements::natural_dtype() const {
	switch (type) {
		case Variant::PACKED_FLOAT64_ARRAY:
			return ExecuTorchTensor::DTYPE_FLOAT64;
		case Variant::PACKED_INT32_ARRAY:
			return ExecuTorchTensor::DTYPE_INT32;
		case Variant::PACKED_INT64_ARRAY:
		case Variant::INT:
			return ExecuTorchTensor::DTYPE_INT64;
		case Variant::PACKED_BYTE_ARRAY:
			return ExecuTorchTensor::DTYPE_UINT8;
		case Variant::BOOL:
			return ExecuTorchTensor::DTYPE_BOOL;
		case Variant::ARRAY:
			return all_bool ? ExecuTorchTensor::DTYPE_BOOL : any_float ? ExecuTorchTensor::DTYPE_FLOAT32 : ExecuTorchTensor::DTYPE_INT64;
		default:
			return ExecuTorchTensor::DTYPE_FLOAT32;
	}
}

bool TensorElements::is_integral(int64_t p_index) const {
	switch (type) {
		case Variant::PACKED_INT32_ARRAY:
		case Variant::PACKED_INT64_ARRAY:
		case Variant::PACKED_BYTE_ARRAY:
		case Variant::INT:
		case Variant::BOOL:
			return true;
		case Variant::ARRAY:
			return array[p_index].get_type() != Variant::FLOAT;
		default:
			return false;
	}
}

double TensorElements::as_double(int64_t p_index) const {
	switch (type) {
		case Variant::PACKED_FLOAT32_ARRAY:
			return f32[p_index];
		case Variant::PACKED_FLOAT64_ARRAY:
			return f64[p_index];
		case Variant::ARRAY:
			return (double)array[p_index];
		case Variant::FLOAT:
			return (double)scalar;
		default:
			return (double)as_int(p_index);
	}
}

bool TensorElements::has_floats() const {
	switch (type) {
		case Variant::PACKED_FLOAT32_ARRAY:
		case Variant::PACKED_FLOAT64_ARRAY:
		case Variant::FLOAT:
			return true;
		case Variant::ARRAY:
			return any_float;
		default:
			return false;
	}
}

int64_t TensorElements::first_not_integral(ExecuTorchTensor::DType p_dtype) const {
	if (!ExecuTorchTensor::is_integer_dtype(p_dtype) || !has_floats()) {
		return -1;
	}
	for (int64_t i = 0; i < count; i++) {
		if (!is_integral(i) && !fits_int64(as_double(i))) {
			return i;
		}
	}
	return -1;
}

int64_t TensorElements::as_int(int64_t p_index) const {
	switch (type) {
		case Variant::PACKED_INT32_ARRAY:
			return i32[p_index];
		case Variant::PACKED_INT64_ARRAY:
			return i64[p_index];
		case Variant::PACKED_BYTE_ARRAY:
			return u8[p_index];
		case Variant::ARRAY:
			if (array[p_index].get_type() == Variant::FLOAT) {
				const double value = array[p_index];
				return fits_int64(value) ? (int64_t)value : 0; // refused first, as above
			}
			return (int64_t)array[p_index];
		case Variant::INT:
		case Variant::BOOL:
			return (int64_t)scalar;
		default: {
			const double value = as_double(p_index);
			return fits_int64(value) ? (int64_t)value : 0; // callers refuse these first (first_not_integral)
		}
	}
}

void TensorElements::write(ExecuTorchTensor::DType p_dtype, uint8_t *r_out) const {
	switch (p_dtype) {
		case ExecuTorchTensor::DTYPE_FLOAT32:
			if (type == Variant::PACKED_FLOAT32_ARRAY) {
				memcpy(r_out, f32.ptr(), count * sizeof(float));
			} else {
				store_elements<float>(*this, r_out);
			}
			break;
		case ExecuTorchTensor::DTYPE_FLOAT64:
			store_elements<double>(*this, r_out);
			break;
		case ExecuTorchTensor::DTYPE_FLOAT16:
			store_half_elements<executorch::runtime::etensor::Half>(*this, r_out);
			break;
		case ExecuTorchTensor::DTYPE_BFLOAT16:
			store_half_elements<executorch::runtime::etensor::BFloat16>(*this, r_out);
			break;
		case ExecuTorchTensor::DTYPE_INT8:
			store_elements<int8_t>(*this, r_out);
			break;
		case ExecuTorchTensor::DTYPE_INT16:
			store_elements<int16_t>(*this, r_out);
			break;
		case ExecuTorchTensor::DTYPE_INT32:
			store_elements<int32_t>(*this, r_out);
			break;
		case ExecuTorchTensor::DTYPE_INT64:
			if (type == Variant::PACKED_INT64_ARRAY) {
				memcpy(r_out, i64.ptr(), count * sizeof(int64_t));
			} else {
				store_elements<int64_t>(*this, r_out);
			}
			break;
		case ExecuTorchTensor::DTYPE_UINT8:
			store_elements<uint8_t>(*this, r_out);
			break;
		case ExecuTorchTensor::DTYPE_BOOL:
			for (int64_t i = 0; i < count; i++) {
				r_out[i] = (is_integral(i) ? as_int(i) != 0 : as_double(i) != 0.0) ? 1 : 0;
			}
			break;
		default:
			break;
	}
}

// --- ExecuTorchTensor -------------------------------------------------------------

namespace {

using DTypeFacts = ExecuTorchTensor::DTypeFacts;

// The one table of the dtypes GDScript tensors carry, indexed by DType: every
// conversion, message and schema reads it. ExecuTorch's ScalarType codes are
// scalar_type.fbs's; src/pte/ keeps a Godot-free copy of the names and sizes,
// and model_tools/pte_runtime.py of the names (tests/unit/test_layers.py keeps
// them equal to this table, and this table equal to module_spec.yaml's DType).
constexpr DTypeFacts DTYPE_FACTS[] = {
	{ ExecuTorchTensor::DTYPE_FLOAT32, 6, "float32", 4, false, "number" },
	{ ExecuTorchTensor::DTYPE_FLOAT64, 7, "float64", 8, false, "number" },
	{ ExecuTorchTensor::DTYPE_FLOAT16, 5, "float16", 2, false, "number" },
	{ ExecuTorchTensor::DTYPE_BFLOAT16, 15, "bfloat16", 2, false, "number" },
	{ ExecuTorchTensor::DTYPE_INT8, 1, "int8", 1, true, "integer" },
	{ ExecuTorchTensor::DTYPE_INT16, 2, "int16", 2, true, "integer" },
	{ ExecuTorchTensor::DTYPE_INT32, 3, "int32", 4, true, "integer" },
	{ ExecuTorchTensor::DTYPE_INT64, 4, "int64", 8, true, "integer" },
	{ ExecuTorchTensor::DTYPE_UINT8, 0, "uint8", 1, true, "integer" },
	{ ExecuTorchTensor::DTYPE_BOOL, 11, "bool", 1, false, "boolean" }, // any value converts: non-zero is true
};
static_assert(sizeof(DTYPE_FACTS) / sizeof(DTYPE_FACTS[0]) == ExecuTorchTensor::DTYPE_BOOL + 1, "one entry per DType");

constexpr bool indexed_by_dtype() {
	for (int64_t i = 0; i < (int64_t)(sizeof(DTYPE_FACTS) / sizeof(DTYPE_FACTS[0])); i++) {
		if (DTYPE_FACTS[i].dtype != i) {
			return false;
		}
	}
	return true;
}
static_assert(indexed_by_dtype(), "DTYPE_FACTS[d].dtype == d");

const DTypeFacts *facts_of(ExecuTorchTensor::DType p_dtype) {
	return ExecuTorchTensor::is_valid_dtype(p_dtype) ? &DTYPE_FACTS[p_dtype] : nullptr;
}

// ExecuTorch's limits on a tensor: 16 dimensions of int32 sizes.
constexpr int64_t MAX_RANK = 16;
constexpr int64_t MAX_DIMENSION = 0x7FFFFFFF;

} // namespace

const ExecuTorchTensor::DTypeFacts *ExecuTorchTensor::dtype_facts(DType p_dtype) {
	return facts_of(p_dtype);
}

const ExecuTorchTensor::DTypeFacts *ExecuTorchTensor::dtype_facts_of_scalar_type(int8_t p_scalar_type) {
	for (const DTypeFacts &facts : DTYPE_FACTS) {
		if (facts.scalar_type == p_scalar_type) {
			return &facts;
		}
	}
	return nullptr;
}

const ExecuTorchTensor::DTypeFacts *ExecuTorchTensor::dtype_facts_of_name(const String &p_name) {
	for (const DTypeFacts &facts : DTYPE_FACTS) {
		if (p_name == facts.name) {
			return &facts;
		}
	}
	return nullptr;
}

bool ExecuTorchTensor::is_valid_dtype(DType p_dtype) {
	return p_dtype >= DTYPE_FLOAT32 && p_dtype <= DTYPE_BOOL;
}

bool ExecuTorchTensor::is_integer_dtype(DType p_dtype) {
	const DTypeFacts *facts = facts_of(p_dtype);
	return facts && facts->integer;
}

int ExecuTorchTensor::element_size(DType p_dtype) {
	const DTypeFacts *facts = facts_of(p_dtype);
	return facts ? facts->size : 0;
}

const char *ExecuTorchTensor::dtype_to_name(DType p_dtype) {
	const DTypeFacts *facts = facts_of(p_dtype);
	return facts ? facts->name : "auto";
}

String ExecuTorchTensor::check_shape(const PackedInt64Array &p_shape, DType p_dtype, int64_t &r_count) {
	if (p_shape.size() > MAX_RANK) {
		return vformat("has %d dimensions; ExecuTorch tensors have at most %d.", p_shape.size(), MAX_RANK);
	}
	bool empty = false;
	for (int64_t i = 0; i < p_shape.size(); i++) {
		if (p_shape[i] < 0) {
			return "has a negative dimension.";
		}
		if (p_shape[i] > MAX_DIMENSION) {
			return vformat("has dimension %d of size %d; ExecuTorch tensors allow at most %d per dimension.", i, p_shape[i], MAX_DIMENSION);
		}
		empty = empty || p_shape[i] == 0;
	}
	r_count = 0;
	if (empty) {
		return String();
	}
	// The byte size must fit an int64, and so every element count below it:
	// [2^32, 2^32] wrapped to 0 elements when it was not checked.
	const int64_t size = MAX(element_size(p_dtype), 1);
	int64_t bytes = size;
	for (int64_t dimension : p_shape) {
		if (bytes > std::numeric_limits<int64_t>::max() / dimension) {
			return "holds more elements than memory can address.";
		}
		bytes *= dimension;
	}
	r_count = bytes / size;
	return String();
}

Ref<ExecuTorchTensor> ExecuTorchTensor::create(const Variant &p_data, const PackedInt64Array &p_shape, DType p_dtype) {
	TensorElements elements;
	switch (elements.read(p_data, false)) {
		case TensorElements::NOT_A_NUMBER:
			ERR_FAIL_V_MSG(Ref<ExecuTorchTensor>(), vformat("Element %d of the tensor 'data' is a %s; a tensor holds numbers or bools.",
															 elements.problem_index(), Variant::get_type_name(elements.problem_type())));
		case TensorElements::NOT_NUMBERS:
			ERR_FAIL_V_MSG(Ref<ExecuTorchTensor>(), vformat("The tensor 'data' is a %s; pass a packed array or an Array of numbers.", Variant::get_type_name(elements.problem_type())));
		case TensorElements::OK:
			break;
	}
	const DType dtype = p_dtype == DTYPE_AUTO ? elements.natural_dtype() : p_dtype;
	ERR_FAIL_COND_V_MSG(!is_valid_dtype(dtype), Ref<ExecuTorchTensor>(), vformat("Unknown tensor 'dtype' %d; use one of ExecuTorchTensor's DTYPE_* constants.", (int64_t)dtype));

	PackedInt64Array shape = p_shape;
	if (shape.is_empty()) {
		shape.push_back(elements.size());
	}
	int64_t count = 0;
	const String shape_problem = check_shape(shape, dtype, count);
	ERR_FAIL_COND_V_MSG(!shape_problem.is_empty(), Ref<ExecuTorchTensor>(), vformat("The tensor 'shape' %s %s", shape, shape_problem));
	ERR_FAIL_COND_V_MSG(count != elements.size(), Ref<ExecuTorchTensor>(),
			vformat("The tensor 'shape' %s holds %d element(s) but 'data' has %d.", shape, count, elements.size()));
	const int64_t bad = elements.first_not_integral(dtype);
	ERR_FAIL_COND_V_MSG(bad >= 0, Ref<ExecuTorchTensor>(),
			vformat("Element %d of the tensor 'data' is %s, which has no %s value; pass finite numbers within the int64 range, or use a float dtype.",
					bad, String::num_scientific(elements.as_double(bad)), dtype_to_name(dtype)));

	Ref<ExecuTorchTensor> tensor;
	tensor.instantiate();
	tensor->shape = shape;
	tensor->dtype = dtype;
	tensor->bytes.resize(count * element_size(dtype));
	elements.write(dtype, tensor->bytes.ptrw());
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
