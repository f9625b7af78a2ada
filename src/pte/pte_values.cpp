/**************************************************************************/
/*  pte_values.cpp                                                        */
/**************************************************************************/
/*  Each method's values (V1-V5): tensors, scalars and lists, the         */
/*  method's inputs and outputs.                                          */
/**************************************************************************/

#include "pte_program_validator.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <queue>

namespace pte {
namespace internal {

// V1, V2: one tensor value.
bool ProgramValidator::_check_tensor(uint32_t p_index, const fb::Table &p_tensor, ValueInfo &r_value) {
	const fb::Table &t = p_tensor;
	const int8_t scalar_type = _r.scalar<int8_t>(t, F::TENSOR_SCALAR_TYPE, 0);
	const int32_t storage_offset = _r.scalar<int32_t>(t, F::TENSOR_STORAGE_OFFSET, 0);
	const fb::Vector sizes = _r.vector(t, F::TENSOR_SIZES, 4);
	const fb::Vector dim_order = _r.vector(t, F::TENSOR_DIM_ORDER, 1);
	const uint32_t data_buffer_idx = _r.scalar<uint32_t>(t, F::TENSOR_DATA_BUFFER_IDX, 0);
	const fb::Table allocation = _r.table(t, F::TENSOR_ALLOCATION_INFO);
	const int8_t dynamism = _r.scalar<int8_t>(t, F::TENSOR_SHAPE_DYNAMISM, 0);
	const fb::Table extra = _r.table(t, F::TENSOR_EXTRA_TENSOR_INFO);
	if (!_structure_ok()) {
		return false;
	}
	const std::string where = format("%s: value %u (a tensor)", _method.c_str(), p_index);
	const uint32_t element_size = scalar_type_size(scalar_type);
	if (element_size == 0) {
		return _fail(format("%s has dtype %d, which this engine does not support (it supports uint8, int8, int16, int32, int64, float16, float32, float64, bool and bfloat16); re-export the model.", where.c_str(), (int)scalar_type));
	}
	if (storage_offset != 0) {
		return _fail(where + " has a non-zero storage offset, which ExecuTorch does not support; re-export the model.");
	}
	if (!sizes.present || !dim_order.present) {
		return _fail(where + " has no sizes or no dim order; the file is corrupt.");
	}
	if (sizes.count > MAX_TENSOR_RANK || dim_order.count != sizes.count) {
		return _fail(format("%s has %u dimensions and a dim order of %u entries; ExecuTorch needs equal counts of at most 16.", where.c_str(), sizes.count, dim_order.count));
	}
	uint32_t seen = 0;
	uint64_t numel = 1;
	bool overflow = false;
	for (uint32_t d = 0; d < sizes.count; d++) {
		const uint8_t order = _r.element<uint8_t>(dim_order, d);
		if (order >= sizes.count || (seen & (1u << order)) != 0) {
			return _fail(where + " has a dim order that is not a permutation of its dimensions; the file is corrupt.");
		}
		seen |= 1u << order;
		const int32_t size = _r.element<int32_t>(sizes, d);
		if (size < 0) {
			return _fail(format("%s has a negative size (%d) in dimension %u; the file is corrupt.", where.c_str(), size, d));
		}
		overflow = overflow || mul_overflows(numel, (uint64_t)size, numel);
	}
	uint64_t nbytes = 0;
	overflow = overflow || mul_overflows(numel, element_size, nbytes);
	// Strides are int32 (TensorImpl), so the element count must fit too.
	if (overflow || numel > 0x7FFFFFFFu || nbytes > _limits.max_tensor_bytes) {
		return _fail(format("%s is larger than this engine allows (%llu bytes); the file is corrupt, or the model is too big for this platform.", where.c_str(), (unsigned long long)_limits.max_tensor_bytes));
	}
	if (dynamism == 2) {
		return _fail(where + " has an unbounded dynamic shape, which ExecuTorch does not support; export with bounded dynamic shapes.");
	}
	if (dynamism != 0 && dynamism != 1) {
		return _fail(format("%s has an unknown shape dynamism (%d); the file is corrupt.", where.c_str(), (int)dynamism));
	}
	if (extra.present) {
		const uint64_t mutable_index = _r.scalar<uint64_t>(extra, F::EXTRA_MUTABLE_DATA_SEGMENTS_IDX, 0);
		const int8_t location = _r.scalar<int8_t>(extra, F::EXTRA_LOCATION, 0);
		const int8_t device_type = _r.scalar<int8_t>(extra, F::EXTRA_DEVICE_TYPE, 0);
		const int8_t device_index = _r.scalar<int8_t>(extra, F::EXTRA_DEVICE_INDEX, 0);
		if (!_structure_ok()) {
			return false;
		}
		if (location != 0) {
			return _fail(where + " keeps its data in an external file (.ptd), which this engine does not load; export the weights into the .pte.");
		}
		if (device_type != 0 || device_index != 0) {
			return _fail(where + " is placed on a non-CPU device; this engine runs ExecuTorch on the CPU only.");
		}
		if (mutable_index != 0) {
			return _fail(where + " names a mutable data segment other than the first, which ExecuTorch ignores; the file is corrupt.");
		}
	}
	r_value.scalar_type = scalar_type;
	r_value.rank = (uint8_t)sizes.count;
	r_value.dynamism = (uint8_t)dynamism;
	r_value.sizes = sizes.data;
	r_value.dim_order = dim_order.data;
	r_value.numel = numel;
	r_value.nbytes = nbytes;
	if (allocation.present) {
		const uint32_t memory_id = _r.scalar<uint32_t>(allocation, F::ALLOCATION_MEMORY_ID, 0);
		const uint64_t low = _r.scalar<uint32_t>(allocation, F::ALLOCATION_OFFSET_LOW, 0);
		const uint64_t high = _r.scalar<uint32_t>(allocation, F::ALLOCATION_OFFSET_HIGH, 0);
		if (!_structure_ok()) {
			return false;
		}
		const uint64_t offset = low | (high << 32);
		if (memory_id < 1 || memory_id >= _buffer_sizes.count) {
			return _fail(format("%s is placed in planned buffer %u, which does not exist; the file is corrupt.", where.c_str(), memory_id));
		}
		const uint64_t buffer_size = (uint64_t)_r.element<int64_t>(_buffer_sizes, memory_id);
		if (offset > buffer_size || nbytes > buffer_size - offset) {
			return _fail(format("%s (%llu bytes at offset %llu) does not fit in its %llu-byte planned buffer %u; the file is corrupt.", where.c_str(),
					(unsigned long long)nbytes, (unsigned long long)offset, (unsigned long long)buffer_size, memory_id));
		}
		r_value.planned = true;
		if (data_buffer_idx > 0) {
			// M1: a mutable tensor with an initial value in mutable_data_segments[0].
			if (!_has_mutable_segment || data_buffer_idx >= _mutable_offsets.count) {
				return _fail(format("%s has initial data %u, which the program does not contain; the file is corrupt.", where.c_str(), data_buffer_idx));
			}
			const uint64_t start = _r.element<uint64_t>(_mutable_offsets, data_buffer_idx);
			if (start > _mutable_segment.size || nbytes > _mutable_segment.size - start) {
				return _fail(format("%s has initial data outside its segment; the file is corrupt.", where.c_str()));
			}
		}
	} else if (data_buffer_idx > 0) {
		// V2/C2: a constant.
		if (!_has_constant_segment || data_buffer_idx >= _constant_offsets.count) {
			return _fail(format("%s uses constant %u, which the program does not contain; the file is corrupt.", where.c_str(), data_buffer_idx));
		}
		const uint64_t start = _r.element<uint64_t>(_constant_offsets, data_buffer_idx);
		if (nbytes > _constant_segment.size - start) { // start <= size was checked
			return _fail(format("%s (%llu bytes) runs past the end of the constant data; the file is truncated or corrupt.", where.c_str(), (unsigned long long)nbytes));
		}
		// Kernels load elements with their natural alignment.
		if ((_constant_segment.offset + start) % element_size != 0) {
			return _fail(format("%s has misaligned constant data (offset %llu); the file is corrupt.", where.c_str(), (unsigned long long)start));
		}
		r_value.constant = true;
	}
	return true;
}

bool ProgramValidator::_check_io() {
	const uint32_t count = (uint32_t)_values.size();
	for (uint32_t k = 0; k < _inputs.count; k++) {
		const int32_t index = _r.element<int32_t>(_inputs, k);
		if (index < 0 || (uint32_t)index >= count) {
			return _fail(format("%s: input %u is value %d, but the method has only %u values; the file is corrupt.", _method.c_str(), k, index, count));
		}
		ValueInfo &v = _values[(size_t)index];
		if (v.kind != KIND_TENSOR && v.kind != KIND_INT && v.kind != KIND_DOUBLE && v.kind != KIND_BOOL) {
			return _fail(format("%s: input %u is %s; this engine can only pass tensors and numbers as inputs.", _method.c_str(), k, _value_text((uint32_t)index).c_str()));
		}
		if (v.input) {
			return _fail(format("%s: input %u is value %d, which is already an earlier input; the file is corrupt.", _method.c_str(), k, index));
		}
		if (v.kind == KIND_TENSOR && v.constant) {
			// V3b: set_input would copy the caller's data into the program's read-only constants.
			return _fail(format("%s: input %u is a constant tensor (value %d); the file is corrupt.", _method.c_str(), k, index));
		}
		v.input = true;
	}
	for (uint32_t k = 0; k < _outputs.count; k++) {
		const int32_t index = _r.element<int32_t>(_outputs, k);
		if (index < 0 || (uint32_t)index >= count) {
			return _fail(format("%s: output %u is value %d, but the method has only %u values; the file is corrupt.", _method.c_str(), k, index, count));
		}
	}
	return _structure_ok();
}

// V4, V5: list items.
bool ProgramValidator::_check_lists() {
	const uint32_t count = (uint32_t)_values.size();
	for (uint32_t i = 0; i < count; i++) {
		const ValueInfo &v = _values[i];
		if (v.kind == KIND_INT_LIST) {
			for (uint32_t j = 0; j < v.items.count; j++) {
				const int64_t item = _r.element<int64_t>(v.items, j);
				if (item < 0 || item >= (int64_t)count || _values[(size_t)item].kind != KIND_INT) {
					return _fail(format("%s: value %u (an IntList) item %u is %s, not an Int value; the file is corrupt.", _method.c_str(), i, j,
							(item < 0 || item >= (int64_t)count) ? format("the index %lld, out of range", (long long)item).c_str() : _value_text((uint32_t)item).c_str()));
				}
			}
		} else if (v.kind == KIND_TENSOR_LIST || v.kind == KIND_OPTIONAL_TENSOR_LIST) {
			const bool optional = v.kind == KIND_OPTIONAL_TENSOR_LIST;
			for (uint32_t j = 0; j < v.items.count; j++) {
				const int32_t item = _r.element<int32_t>(v.items, j);
				if (optional && item == -1) {
					continue;
				}
				// The list is built at load time from the values before it.
				if (item < 0 || (uint32_t)item >= i) {
					return _fail(format("%s: value %u (%s) item %u is value %d, which is not an earlier value; the file is corrupt.", _method.c_str(), i, bare_kind_name(v.kind), j, item));
				}
				const uint8_t kind = _values[(size_t)item].kind;
				if (kind != KIND_TENSOR && !(optional && kind == KIND_NULL)) {
					return _fail(format("%s: value %u (%s) item %u is %s, not a tensor; the file is corrupt.", _method.c_str(), i, bare_kind_name(v.kind), j, _value_text((uint32_t)item).c_str()));
				}
			}
		}
	}
	return _structure_ok();
}

// V0-V2, V6: the values of a method (lists are checked once all kinds are known).
bool ProgramValidator::_check_values(const fb::Vector &p_values) {
	const fb::Vector &values = p_values;
	if (values.count > _limits.max_values) {
		return _fail(format("%s has %u values, more than this engine allows (%u).", _method.c_str(), values.count, _limits.max_values));
	}
	_values.assign(values.count, ValueInfo());
	for (uint32_t i = 0; i < values.count; i++) {
		const fb::Table value = _r.table_element(values, i);
		const uint8_t kind = _r.scalar<uint8_t>(value, F::EVALUE_VAL_TYPE, 0);
		const fb::Table payload = _r.table(value, F::EVALUE_VAL);
		if (!_structure_ok()) {
			return false;
		}
		ValueInfo &v = _values[i];
		v.kind = kind;
		if (kind == KIND_NONE || kind >= KIND_COUNT) {
			return _fail(format("%s: value %u has an unknown kind (%u); the file is corrupt.", _method.c_str(), i, (unsigned)kind));
		}
		if (kind != KIND_NULL && !payload.present) {
			return _fail(format("%s: value %u (%s) has no content; the file is corrupt.", _method.c_str(), i, kind_name(kind) + (kind == KIND_INT ? 3 : 2)));
		}
		switch (kind) {
			case KIND_INT:
				v.int_value = _r.scalar<int64_t>(payload, F::SCALAR_VALUE, 0);
				break;
			case KIND_BOOL:
				v.bool_value = _r.scalar<uint8_t>(payload, F::SCALAR_VALUE, 0) != 0;
				break;
			case KIND_DOUBLE:
				v.double_value = _r.scalar<double>(payload, F::SCALAR_VALUE, 0.0);
				break;
			case KIND_STRING: {
				const fb::String text = _r.string(payload, F::SCALAR_VALUE);
				if (!_structure_ok()) {
					return false;
				}
				if (!text.present) {
					return _fail(format("%s: value %u (a String) has no text; the file is corrupt.", _method.c_str(), i));
				}
				v.items.data = (uint32_t)((const uint8_t *)text.chars - _r.data());
				v.items.count = text.length;
				v.items.present = true;
			} break;
			case KIND_INT_LIST:
			case KIND_DOUBLE_LIST:
				v.items = _r.vector(payload, F::SCALAR_VALUE, 8);
				break;
			case KIND_BOOL_LIST:
				v.items = _r.vector(payload, F::SCALAR_VALUE, 1);
				if (!_structure_ok()) {
					return false;
				}
				// The runtime reinterprets these bytes as bool.
				for (uint32_t j = 0; v.items.present && j < v.items.count; j++) {
					if (_r.element<uint8_t>(v.items, j) > 1) {
						return _fail(format("%s: value %u (a BoolList) item %u is not 0 or 1; the file is corrupt.", _method.c_str(), i, j));
					}
				}
				break;
			case KIND_TENSOR_LIST:
			case KIND_OPTIONAL_TENSOR_LIST:
				v.items = _r.vector(payload, F::SCALAR_VALUE, 4);
				break;
			case KIND_TENSOR:
				if (!_check_tensor(i, payload, v)) {
					return false;
				}
				break;
			default:
				break;
		}
		if (!_structure_ok()) {
			return false;
		}
		if (kind >= KIND_INT_LIST && kind <= KIND_OPTIONAL_TENSOR_LIST && !v.items.present) {
			return _fail(format("%s: value %u (%s) has no items; the file is corrupt.", _method.c_str(), i, kind_name(kind) + 3));
		}
	}
	return true;
}

} // namespace internal
} // namespace pte
