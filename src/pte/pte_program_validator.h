/**************************************************************************/
/*  pte_program_validator.h                                               */
/**************************************************************************/
/*  The program validator that pte_validator.cpp (the file, its segments, */
/*  its methods), pte_values.cpp (each method's values), pte_instructions.cpp*/
/*  (operators, kernel calls, instructions) and pte_delegates.cpp (delegate*/
/*  tables and calls) implement, phase by phase. Not part of the API.     */
/**************************************************************************/

#pragma once

#include "pte_internal.h"

#include <cstring>
#include <functional>
#include <string>
#include <vector>

namespace pte {
namespace internal {

using fb::field;

// Field ids of program.fbs tables (flatbuffers numbers fields in declaration
// order; a union takes two: its type, then its value).
namespace F {
enum : uint16_t {
	PROGRAM_VERSION = field(0),
	PROGRAM_EXECUTION_PLAN = field(1),
	PROGRAM_CONSTANT_BUFFER = field(2),
	PROGRAM_BACKEND_DELEGATE_DATA = field(3),
	PROGRAM_SEGMENTS = field(4),
	PROGRAM_CONSTANT_SEGMENT = field(5),
	PROGRAM_MUTABLE_DATA_SEGMENTS = field(6),
	PROGRAM_NAMED_DATA = field(7),

	PLAN_NAME = field(0),
	PLAN_VALUES = field(2),
	PLAN_INPUTS = field(3),
	PLAN_OUTPUTS = field(4),
	PLAN_CHAINS = field(5),
	PLAN_OPERATORS = field(6),
	PLAN_DELEGATES = field(7),
	PLAN_NON_CONST_BUFFER_SIZES = field(8),
	PLAN_NON_CONST_BUFFER_DEVICE = field(9),

	EVALUE_VAL_TYPE = field(0),
	EVALUE_VAL = field(1),

	TENSOR_SCALAR_TYPE = field(0),
	TENSOR_STORAGE_OFFSET = field(1),
	TENSOR_SIZES = field(2),
	TENSOR_DIM_ORDER = field(3),
	TENSOR_DATA_BUFFER_IDX = field(5),
	TENSOR_ALLOCATION_INFO = field(6),
	TENSOR_SHAPE_DYNAMISM = field(8),
	TENSOR_EXTRA_TENSOR_INFO = field(9),

	ALLOCATION_MEMORY_ID = field(0),
	ALLOCATION_OFFSET_LOW = field(1),
	ALLOCATION_OFFSET_HIGH = field(2),

	EXTRA_MUTABLE_DATA_SEGMENTS_IDX = field(0),
	EXTRA_LOCATION = field(2),
	EXTRA_DEVICE_TYPE = field(3),
	EXTRA_DEVICE_INDEX = field(4),

	SCALAR_VALUE = field(0), // Int.int_val, Bool.bool_val, Double.double_val, String.string_val, *List.items

	OPERATOR_NAME = field(0),
	OPERATOR_OVERLOAD = field(1),

	CALL_INDEX = field(0), // KernelCall.op_index, DelegateCall.delegate_index
	CALL_ARGS = field(1),
	MOVE_FROM = field(0),
	MOVE_TO = field(1),
	JUMP_COND = field(0),
	JUMP_DESTINATION = field(1),

	INSTRUCTION_TYPE = field(0),
	INSTRUCTION_ARGS = field(1),

	CHAIN_INSTRUCTIONS = field(2),

	REFERENCE_LOCATION = field(0),
	REFERENCE_INDEX = field(1),

	COMPILE_SPEC_KEY = field(0),
	COMPILE_SPEC_VALUE = field(1),

	DELEGATE_ID = field(0),
	DELEGATE_PROCESSED = field(1),
	DELEGATE_COMPILE_SPECS = field(2),

	DEVICE_BUFFER_IDX = field(0),
	DEVICE_TYPE = field(1),
	DEVICE_INDEX = field(2),

	INLINE_DATA = field(0),

	SEGMENT_OFFSET = field(0),
	SEGMENT_SIZE = field(1),

	SUBSEGMENT_INDEX = field(0),
	SUBSEGMENT_OFFSETS = field(1),

	NAMED_KEY = field(0),
	NAMED_SEGMENT_INDEX = field(1),
};
} // namespace F

enum InstructionType : uint8_t {
	INSTRUCTION_KERNEL_CALL = 1,
	INSTRUCTION_DELEGATE_CALL = 2,
	INSTRUCTION_MOVE_CALL = 3,
	INSTRUCTION_JUMP_FALSE_CALL = 4,
	INSTRUCTION_FREE_CALL = 5,
};

constexpr uint32_t MAX_TENSOR_RANK = 16; // kTensorDimensionLimit
constexpr size_t OPERATOR_NAME_BUFFER = 100; // Method::resolve_operator's buffer, NUL included
constexpr uint64_t WORK_LIMIT = 1ull << 24;

// Operators with preconditions that trap inside the kernel (report 2.7).
enum Special : uint8_t {
	SPECIAL_NONE,
	SPECIAL_EMBEDDING,
	SPECIAL_VIEW_COPY,
	SPECIAL_CONVOLUTION,
	SPECIAL_AVG_POOL,
	SPECIAL_MAX_POOL,
	SPECIAL_GELU,
	SPECIAL_PAD, // reflection/replication pads: index arithmetic ends in ET_CHECKs
	SPECIAL_ARANGE,
	SPECIAL_ARANGE_START,
};

struct OperatorState {
	uint8_t checked = 0; // 0 not yet, 1 usable, 2 refused
	uint8_t special = SPECIAL_NONE;
	const OperatorKinds *kinds = nullptr;
	std::string name; // "ns::op.overload", quoted for messages
};

struct Segment {
	uint64_t offset = 0; // absolute, in the file
	uint64_t size = 0;
};

// The generated operator table's entry for an operator name, or null (pte_instructions.cpp).
const OperatorKinds *find_operator(const char *p_name);

inline bool is_utf8(const char *p_chars, uint32_t p_length) {
	const unsigned char *s = (const unsigned char *)p_chars;
	uint32_t i = 0;
	while (i < p_length) {
		const unsigned char c = s[i];
		uint32_t extra = 0;
		if (c < 0x80) {
			extra = 0;
		} else if (c >= 0xC2 && c <= 0xDF) {
			extra = 1;
		} else if (c >= 0xE0 && c <= 0xEF) {
			extra = 2;
		} else if (c >= 0xF0 && c <= 0xF4) {
			extra = 3;
		} else {
			return false;
		}
		if (extra > p_length - i - 1) {
			return false;
		}
		for (uint32_t k = 1; k <= extra; k++) {
			if ((s[i + k] & 0xC0) != 0x80) {
				return false;
			}
		}
		i += extra + 1;
	}
	return true;
}

inline bool mul_overflows(uint64_t p_a, uint64_t p_b, uint64_t &r_result) {
	if (p_a != 0 && p_b > UINT64_MAX / p_a) {
		return true;
	}
	r_result = p_a * p_b;
	return false;
}

class ProgramValidator {
	const uint8_t *_file;
	uint64_t _file_size;
	const Limits &_limits;
	fb::Reader _r;
	std::string _error;

	uint64_t _program_size = 0;
	uint64_t _segment_base = 0;
	uint64_t _segment_data_size = 0;
	fb::Table _program;
	std::vector<Segment> _segments;
	fb::Vector _segment_vector;

	bool _has_constant_segment = false;
	Segment _constant_segment;
	fb::Vector _constant_offsets;
	bool _has_mutable_segment = false;
	Segment _mutable_segment;
	fb::Vector _mutable_offsets;
	bool _has_named_data = false;
	std::vector<NamedEntry> _named;
	fb::Vector _backend_data;

	std::vector<fb::String> _method_names;
	uint64_t _program_planned = 0; // planned memory of the methods checked so far

	// Per method
	std::string _method;
	std::vector<ValueInfo> _values;
	fb::Vector _operators;
	std::vector<OperatorState> _operator_states;
	fb::Vector _delegates;
	std::vector<XnnSummary> _delegate_summaries;
	fb::Vector _buffer_sizes;
	fb::Vector _inputs;
	fb::Vector _outputs;

	bool _fail(const std::string &p_message) {
		if (_error.empty()) {
			if (_r.failed()) {
				_error = format("The program's flatbuffer is corrupt (%s, at byte %u); re-export the model.", _r.error(), _r.error_position());
			} else {
				_error = p_message;
			}
		}
		return false;
	}

	// The structural error if the reader met one since the last check.
	bool _structure_ok() {
		return !_r.failed() || _fail(std::string());
	}

	bool _segment_ok(uint64_t p_index, Segment &r_segment) const {
		if (p_index >= _segments.size()) {
			return false;
		}
		r_segment = _segments[(size_t)p_index];
		return true;
	}

	bool _check_header();
	bool _check_segments();
	bool _check_constants();
	bool _check_named_data();
	bool _check_method(uint32_t p_index);
	bool _check_buffers();
	bool _check_values(const fb::Vector &p_values);
	bool _mark_written(const fb::Vector &p_chains);
	bool _check_instructions(const fb::Vector &p_chains);
	bool _check_tensor(uint32_t p_index, const fb::Table &p_tensor, ValueInfo &r_value);
	bool _check_io();
	bool _check_lists();
	bool _check_delegates();
	bool _resolve_operator(uint32_t p_index, const char *p_where);
	bool _check_view_sizes(uint32_t p_list, const std::string &p_where);
	bool _check_kernel_call(const fb::Table &p_call, uint32_t p_global, const std::string &p_where, uint32_t p_skip);
	bool _check_kernel_preconditions(const OperatorState &p_op, const fb::Vector &p_args, const std::string &p_where);
	bool _check_prim(const OperatorState &p_op, const fb::Vector &p_args, uint32_t p_global, const std::string &p_where, uint32_t p_skip);
	bool _check_delegate_call(const fb::Table &p_call, uint32_t p_global, const std::string &p_where);

	// Whether tensor value p_index has data when instruction p_global runs.
	bool _has_data(uint32_t p_index, uint32_t p_global) const {
		const ValueInfo &v = _values[p_index];
		if (v.constant || v.planned || v.input || v.numel == 0) {
			return true;
		}
		return v.backed_from <= p_global && p_global < v.backed_until;
	}

	bool _string_is(const ValueInfo &p_value, const char *p_text) const {
		const size_t length = strlen(p_text);
		return p_value.kind == KIND_STRING && p_value.items.count == length && memcmp(_r.data() + p_value.items.data, p_text, length) == 0;
	}

	// Bounds the validator's own work on list-heavy programs (list items examined by instructions).
	uint64_t _work = 0;

	std::string _value_text(uint32_t p_index) const {
		const ValueInfo &v = _values[p_index];
		if (v.kind != KIND_TENSOR) {
			return format("value %u, %s", p_index, kind_name(v.kind));
		}
		return format("value %u, a %s tensor", p_index, scalar_type_name(v.scalar_type));
	}

	int32_t _tensor_size(const ValueInfo &p_value, uint32_t p_dim) {
		int32_t size = 0;
		if (p_dim < p_value.rank) {
			memcpy(&size, _r.data() + p_value.sizes + 4 * p_dim, 4);
		}
		return size;
	}

	// The Int values of an IntList value (static values; r_dynamic set when one is written at run time).
	bool _int_list(uint32_t p_index, std::vector<int64_t> &r_items, bool &r_dynamic) {
		r_items.clear();
		r_dynamic = false;
		const ValueInfo &list = _values[p_index];
		if (list.kind != KIND_INT_LIST) {
			return false;
		}
		const uint32_t count = std::min<uint32_t>(list.items.count, 64);
		for (uint32_t i = 0; i < count; i++) {
			const int64_t item = _r.element<int64_t>(list.items, i);
			const ValueInfo &v = _values[(size_t)item]; // checked in _check_lists
			r_dynamic = r_dynamic || v.written;
			r_items.push_back(v.int_value);
		}
		return list.items.count <= 64;
	}

public:
	ProgramValidator(const uint8_t *p_data, size_t p_size, const Limits &p_limits) :
			_file(p_data), _file_size(p_size), _limits(p_limits) {}

	std::string run();
};

} // namespace internal
} // namespace pte
