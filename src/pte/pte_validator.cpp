/**************************************************************************/
/*  pte_validator.cpp                                                     */
/**************************************************************************/
/*  The program checks of the .pte pre-validator: header and segments,    */
/*  methods, values, operators, instructions and kernel preconditions.    */
/*  The XNNPACK payload is checked in pte_xnnpack.cpp. The invariant ids  */
/*  in comments (H1, P3, V3, I2, ...) are those of the research report    */
/*  the checks come from (executorch-pte-validation.md, ExecuTorch 1.5.1). */
/**************************************************************************/

#include "pte_validator.h"

#include "pte_validator_internal.h"

#include <algorithm>
#include <cmath>
#include <cstdarg>
#include <cstdio>
#include <cstring>
#include <functional>
#include <queue>

#if defined(__has_include)
#if __has_include("pte/pte_operators.gen.h")
#include "pte/pte_operators.gen.h" // generated: in the module folder, on the include path
#define PTE_HAVE_OPERATOR_TABLE 1
#endif
#endif

#ifndef PTE_HAVE_OPERATOR_TABLE
// Built without the generated table (generator/operator_kinds.py): every
// operator is unknown, so every program with a KernelCall is refused.
namespace pte {
static const OperatorArgument OPERATOR_ARGUMENTS[1] = { { "", 0, 0 } };
static const OperatorKinds OPERATOR_KINDS[1] = { { "", 0, 0, 0 } };
static const uint32_t OPERATOR_KIND_COUNT = 0;
} // namespace pte
#endif

namespace pte {

namespace internal {

std::string format(const char *p_format, ...) {
	char buffer[1024];
	va_list args;
	va_start(args, p_format);
	const int length = vsnprintf(buffer, sizeof(buffer), p_format, args);
	va_end(args);
	if (length < 0) {
		return std::string();
	}
	return std::string(buffer, std::min<size_t>((size_t)length, sizeof(buffer) - 1));
}

std::string quote(const char *p_chars, uint32_t p_length) {
	// Names come from the file: keep them short and printable.
	std::string text;
	const uint32_t shown = std::min<uint32_t>(p_length, 60);
	for (uint32_t i = 0; i < shown; i++) {
		const unsigned char c = (unsigned char)p_chars[i];
		text += (c >= 0x20 && c < 0x7F && c != '\'') ? (char)c : '?';
	}
	if (shown < p_length) {
		text += "...";
	}
	return text;
}

uint32_t scalar_type_size(int8_t p_type) {
	switch (p_type) {
		case SCALAR_BYTE:
		case SCALAR_CHAR:
		case SCALAR_BOOL:
			return 1;
		case SCALAR_SHORT:
		case SCALAR_HALF:
		case SCALAR_BFLOAT16:
			return 2;
		case SCALAR_INT:
		case SCALAR_FLOAT:
			return 4;
		case SCALAR_LONG:
		case SCALAR_DOUBLE:
			return 8;
		default:
			return 0;
	}
}

const char *scalar_type_name(int8_t p_type) {
	switch (p_type) {
		case SCALAR_BYTE:
			return "uint8";
		case SCALAR_CHAR:
			return "int8";
		case SCALAR_SHORT:
			return "int16";
		case SCALAR_INT:
			return "int32";
		case SCALAR_LONG:
			return "int64";
		case SCALAR_HALF:
			return "float16";
		case SCALAR_FLOAT:
			return "float32";
		case SCALAR_DOUBLE:
			return "float64";
		case SCALAR_BOOL:
			return "bool";
		case SCALAR_BFLOAT16:
			return "bfloat16";
		default:
			return "an unsupported dtype";
	}
}

// A value kind's name without its article ("TensorList"), and with one ("a TensorList").
const char *bare_kind_name(uint8_t p_kind) {
	static const char *const names[KIND_COUNT] = { "empty value", "None", "Int", "Bool", "Double", "Tensor",
		"String", "IntList", "DoubleList", "BoolList", "TensorList", "OptionalTensorList" };
	return p_kind < KIND_COUNT ? names[p_kind] : "value of unknown kind";
}

const char *kind_name(uint8_t p_kind) {
	static const char *const names[KIND_COUNT] = { "an empty value", "None", "an Int", "a Bool", "a Double", "a Tensor",
		"a String", "an IntList", "a DoubleList", "a BoolList", "a TensorList", "an OptionalTensorList" };
	return p_kind < KIND_COUNT ? names[p_kind] : "a value of unknown kind";
}

const NamedEntry *find_named(const std::vector<NamedEntry> &p_named, const char *p_key, uint32_t p_length) {
	size_t low = 0, high = p_named.size();
	while (low < high) {
		const size_t middle = (low + high) / 2;
		const NamedEntry &entry = p_named[middle];
		const int c = memcmp(entry.key, p_key, std::min(entry.key_length, p_length));
		const bool less = c < 0 || (c == 0 && entry.key_length < p_length);
		const bool equal = c == 0 && entry.key_length == p_length;
		if (equal) {
			return &entry;
		}
		if (less) {
			low = middle + 1;
		} else {
			high = middle;
		}
	}
	return nullptr;
}

} // namespace internal

namespace {

using namespace internal;
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

const OperatorKinds *find_operator(const char *p_name) {
	uint32_t low = 0, high = OPERATOR_KIND_COUNT;
	while (low < high) {
		const uint32_t middle = (low + high) / 2;
		const int c = strcmp(OPERATOR_KINDS[middle].name, p_name);
		if (c == 0) {
			return &OPERATOR_KINDS[middle];
		}
		if (c < 0) {
			low = middle + 1;
		} else {
			high = middle;
		}
	}
	return nullptr;
}

bool is_utf8(const char *p_chars, uint32_t p_length) {
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

bool mul_overflows(uint64_t p_a, uint64_t p_b, uint64_t &r_result) {
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

// H1-H3: the file header, the extended header and the root table.
bool ProgramValidator::_check_header() {
	if (_file == nullptr || _file_size < 64) {
		return _fail(format("The file is %llu bytes long, too short to be an ExecuTorch program (.pte); re-export the model.", (unsigned long long)_file_size));
	}
	if (memcmp(_file + 4, "ET12", 4) != 0) {
		if (_file[4] == 'E' && _file[5] == 'T') {
			return _fail(format("The file is an ExecuTorch program of another format version ('%s', this engine reads 'ET12'); re-export the model with ExecuTorch 1.5.", quote((const char *)_file + 4, 4).c_str()));
		}
		return _fail("The file is not an ExecuTorch program (.pte): its identifier is not 'ET12'.");
	}
	_program_size = _file_size;
	if (memcmp(_file + 8, "eh00", 4) == 0) {
		uint32_t header_length;
		memcpy(&header_length, _file + 12, 4);
		if (header_length < 24) {
			return _fail(format("The program's extended header is %u bytes long, less than the 24 it needs; re-export the model.", header_length));
		}
		memcpy(&_program_size, _file + 16, 8);
		memcpy(&_segment_base, _file + 24, 8);
		if (header_length >= 32) {
			memcpy(&_segment_data_size, _file + 32, 8);
		}
		if (_program_size < 8 + (uint64_t)header_length || _program_size > _file_size) {
			return _fail(format("The program's header says its flatbuffer is %llu bytes, but the file is %llu bytes; the file is truncated or corrupt.",
					(unsigned long long)_program_size, (unsigned long long)_file_size));
		}
		if (_segment_base != 0) {
			if (_segment_base < _program_size || _segment_base > _file_size || _segment_data_size > _file_size - _segment_base) {
				return _fail(format("The program's header places its data segments at bytes %llu..%llu, outside the %llu-byte file; the file is truncated or corrupt.",
						(unsigned long long)_segment_base, (unsigned long long)(_segment_base + _segment_data_size), (unsigned long long)_file_size));
			}
		} else if (_segment_data_size != 0) {
			return _fail("The program's header gives a segment data size but no segment offset; the file is corrupt.");
		}
	}
	if (_program_size > 0x7FFFFFFFu) {
		return _fail("The program's flatbuffer is larger than 2 GiB, which ExecuTorch cannot read.");
	}
	_r = fb::Reader(_file, (size_t)_program_size);
	if (!_r.root(_program, "ET12")) {
		return _structure_ok();
	}
	// H4: ExecuTorch 1.5.1 refuses schema versions above 0.
	const uint32_t version = _r.scalar<uint32_t>(_program, F::PROGRAM_VERSION, 0);
	if (version != 0) {
		return _fail(format("The program has schema version %u; this engine's ExecuTorch reads version 0. Re-export the model with ExecuTorch 1.5.", version));
	}
	return _structure_ok();
}

// S1: every segment lies in the file's segment area.
bool ProgramValidator::_check_segments() {
	_segment_vector = _r.vector(_program, F::PROGRAM_SEGMENTS, 4);
	if (!_structure_ok()) {
		return false;
	}
	if (!_segment_vector.present) {
		return true;
	}
	if (_segment_vector.count > _limits.max_segments) {
		return _fail(format("The program has %u data segments, more than this engine allows (%u).", _segment_vector.count, _limits.max_segments));
	}
	if (_segment_vector.count > 0 && _segment_base == 0) {
		// Without a segment base ExecuTorch loads no segment; any reference to one fails.
		return true;
	}
	_segments.reserve(_segment_vector.count);
	uint64_t previous_end = 0;
	for (uint32_t i = 0; i < _segment_vector.count; i++) {
		const fb::Table segment = _r.table_element(_segment_vector, i);
		const uint64_t offset = _r.scalar<uint64_t>(segment, F::SEGMENT_OFFSET, 0);
		const uint64_t size = _r.scalar<uint64_t>(segment, F::SEGMENT_SIZE, 0);
		if (!_structure_ok()) {
			return false;
		}
		const uint64_t area = _segment_data_size != 0 ? _segment_data_size : _file_size - _segment_base;
		if (offset > area || size > area - offset) {
			return _fail(format("Data segment %u of the program (bytes %llu..%llu after the segment base) lies outside the file's %llu bytes of segment data; the file is truncated or corrupt.",
					i, (unsigned long long)offset, (unsigned long long)(offset + size), (unsigned long long)area));
		}
		if (offset < previous_end) {
			return _fail(format("Data segment %u of the program overlaps the one before it; the file is corrupt.", i));
		}
		previous_end = offset + size;
		Segment s;
		s.offset = _segment_base + offset;
		s.size = size;
		_segments.push_back(s);
	}
	return true;
}

// C1, C2, M1: constant data and the initial state of mutable tensors.
bool ProgramValidator::_check_constants() {
	const fb::Vector constant_buffer = _r.vector(_program, F::PROGRAM_CONSTANT_BUFFER, 4);
	if (!_structure_ok()) {
		return false;
	}
	if (constant_buffer.present && constant_buffer.count > 0) {
		return _fail("The program stores its weights inline (the deprecated constant_buffer), which this engine's ExecuTorch cannot load; re-export the model with ExecuTorch 1.5.");
	}
	const fb::Table constant_segment = _r.table(_program, F::PROGRAM_CONSTANT_SEGMENT);
	_constant_offsets = _r.vector(constant_segment, F::SUBSEGMENT_OFFSETS, 8);
	const uint32_t constant_index = _r.scalar<uint32_t>(constant_segment, F::SUBSEGMENT_INDEX, 0);
	if (!_structure_ok()) {
		return false;
	}
	if (_constant_offsets.present && _constant_offsets.count > 1) {
		if (!_segment_ok(constant_index, _constant_segment)) {
			return _fail(format("The program's constant data is in segment %u, which does not exist; the file is corrupt.", constant_index));
		}
		_has_constant_segment = true;
		for (uint32_t k = 0; k < _constant_offsets.count; k++) {
			const uint64_t offset = _r.element<uint64_t>(_constant_offsets, k);
			if (offset > _constant_segment.size) {
				return _fail(format("Constant %u of the program starts at byte %llu of a %llu-byte constant segment; the file is corrupt.", k,
						(unsigned long long)offset, (unsigned long long)_constant_segment.size));
			}
		}
	}
	const fb::Vector mutable_segments = _r.vector(_program, F::PROGRAM_MUTABLE_DATA_SEGMENTS, 4);
	if (!_structure_ok()) {
		return false;
	}
	if (mutable_segments.present && mutable_segments.count > 0) {
		// The runtime only ever reads mutable_data_segments[0] (M1).
		const fb::Table first = _r.table_element(mutable_segments, 0);
		const uint32_t index = _r.scalar<uint32_t>(first, F::SUBSEGMENT_INDEX, 0);
		_mutable_offsets = _r.vector(first, F::SUBSEGMENT_OFFSETS, 8);
		if (!_structure_ok()) {
			return false;
		}
		if (_mutable_offsets.present && _segment_ok(index, _mutable_segment)) {
			_has_mutable_segment = true;
		}
	}
	_backend_data = _r.vector(_program, F::PROGRAM_BACKEND_DELEGATE_DATA, 4);
	return _structure_ok();
}

// N1: named data keys are present, unique and point at segments.
bool ProgramValidator::_check_named_data() {
	const fb::Vector named = _r.vector(_program, F::PROGRAM_NAMED_DATA, 4);
	if (!_structure_ok()) {
		return false;
	}
	if (!named.present) {
		return true;
	}
	_has_named_data = true;
	if (!_segment_vector.present) {
		return _fail("The program has named data but no segment table; the file is corrupt.");
	}
	if (named.count > _limits.max_segments) {
		return _fail(format("The program has %u named data entries, more than this engine allows (%u).", named.count, _limits.max_segments));
	}
	_named.reserve(named.count);
	for (uint32_t i = 0; i < named.count; i++) {
		const fb::Table entry = _r.table_element(named, i);
		const fb::String key = _r.string(entry, F::NAMED_KEY);
		const uint32_t index = _r.scalar<uint32_t>(entry, F::NAMED_SEGMENT_INDEX, 0);
		if (!_structure_ok()) {
			return false;
		}
		if (!key.present || key.length == 0) {
			return _fail(format("Named data entry %u of the program has no key; the file is corrupt.", i));
		}
		Segment segment;
		if (!_segment_ok(index, segment)) {
			return _fail(format("Named data '%s' of the program is in segment %u, which does not exist; the file is corrupt.", quote(key.chars, key.length).c_str(), index));
		}
		NamedEntry e;
		e.key = key.chars;
		e.key_length = key.length;
		e.data = _file + segment.offset;
		e.size = segment.size;
		_named.push_back(e);
	}
	std::sort(_named.begin(), _named.end(), [](const NamedEntry &a, const NamedEntry &b) {
		const int c = memcmp(a.key, b.key, std::min(a.key_length, b.key_length));
		return c < 0 || (c == 0 && a.key_length < b.key_length);
	});
	for (size_t i = 1; i < _named.size(); i++) {
		if (_named[i].key_length == _named[i - 1].key_length && memcmp(_named[i].key, _named[i - 1].key, _named[i].key_length) == 0) {
			return _fail(format("The program's named data has the key '%s' twice; the file is corrupt.", quote(_named[i].key, _named[i].key_length).c_str()));
		}
	}
	return true;
}

// P4, P5: planned memory.
bool ProgramValidator::_check_buffers() {
	if (_buffer_sizes.count < 1) {
		return _fail(_method + " has an empty list of memory-planned buffer sizes; re-export the model.");
	}
	if (_buffer_sizes.count > _limits.max_planned_buffers) {
		return _fail(format("%s has %u memory-planned buffers, more than this engine allows (%u).", _method.c_str(), _buffer_sizes.count, _limits.max_planned_buffers));
	}
	uint64_t total = 0;
	for (uint32_t k = 1; k < _buffer_sizes.count; k++) {
		const int64_t size = _r.element<int64_t>(_buffer_sizes, k);
		if (size < 0) {
			return _fail(format("%s: memory-planned buffer %u has a negative size (%lld); the file is corrupt.", _method.c_str(), k, (long long)size));
		}
		if ((uint64_t)size > _limits.max_planned_memory_bytes - total) {
			return _fail(format("%s needs more than %llu bytes of planned (activation) memory, over this engine's limit of %llu bytes; the file is corrupt, or the model is too big for this platform.",
					_method.c_str(), (unsigned long long)_limits.max_planned_memory_bytes, (unsigned long long)_limits.max_planned_memory_bytes));
		}
		total += (uint64_t)size;
	}
	if (total > _limits.max_program_planned_memory_bytes - _program_planned) {
		return _fail(format("The program's methods need more than %llu bytes of planned (activation) memory together, over this engine's limit; the file is corrupt, or the model is too big for this platform.",
				(unsigned long long)_limits.max_program_planned_memory_bytes));
	}
	_program_planned += total;
	return true;
}

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

// D1, D2 and the XNNPACK payload (X1-X9 but the per-call X6/X7).
bool ProgramValidator::_check_delegates() {
	if (_delegates.count > _limits.max_delegates) {
		return _fail(format("%s has %u delegates, more than this engine allows (%u).", _method.c_str(), _delegates.count, _limits.max_delegates));
	}
	_delegate_summaries.assign(_delegates.count, XnnSummary());
	for (uint32_t d = 0; d < _delegates.count; d++) {
		const fb::Table delegate = _r.table_element(_delegates, d);
		const fb::String id = _r.string(delegate, F::DELEGATE_ID);
		const fb::Table processed = _r.table(delegate, F::DELEGATE_PROCESSED);
		const fb::Vector specs = _r.vector(delegate, F::DELEGATE_COMPILE_SPECS, 4);
		if (!_structure_ok()) {
			return false;
		}
		const std::string where = format("%s: delegate %u", _method.c_str(), d);
		if (!id.present) {
			return _fail(where + " has no backend name; the file is corrupt.");
		}
		if (!id.equals("XnnpackBackend")) {
			return _fail(format("%s uses the backend '%s'; this engine only has XnnpackBackend. Export with the XNNPACK or portable backend.", where.c_str(), quote(id.chars, id.length).c_str()));
		}
		if (!processed.present) {
			return _fail(where + " has no compiled payload; the file is corrupt.");
		}
		for (uint32_t j = 0; specs.present && j < specs.count; j++) {
			const fb::Table spec = _r.table_element(specs, j);
			const bool key = _r.string(spec, F::COMPILE_SPEC_KEY).present;
			const bool value = _r.vector(spec, F::COMPILE_SPEC_VALUE, 1).present;
			if (!_structure_ok()) {
				return false;
			}
			if (!key || !value) {
				return _fail(format("%s: compile spec %u has no key or no value; the file is corrupt.", where.c_str(), j));
			}
		}
		const int8_t location = _r.scalar<int8_t>(processed, F::REFERENCE_LOCATION, 0);
		const uint32_t index = _r.scalar<uint32_t>(processed, F::REFERENCE_INDEX, 0);
		if (!_structure_ok()) {
			return false;
		}
		const uint8_t *payload = nullptr;
		uint64_t payload_size = 0;
		if (location == 0) {
			// INLINE: Program.backend_delegate_data[index].data, dereferenced unchecked.
			if (!_backend_data.present || index >= _backend_data.count) {
				return _fail(format("%s keeps its payload inline as entry %u, which the program does not have; the file is corrupt.", where.c_str(), index));
			}
			const fb::Table inline_data = _r.table_element(_backend_data, index);
			const fb::Vector bytes = _r.vector(inline_data, F::INLINE_DATA, 1);
			if (!_structure_ok()) {
				return false;
			}
			if (!bytes.present) {
				return _fail(format("%s: its inline payload %u has no data; the file is corrupt.", where.c_str(), index));
			}
			payload = _r.bytes(bytes);
			payload_size = bytes.count;
		} else if (location == 1) {
			Segment segment;
			if (!_segment_ok(index, segment)) {
				return _fail(format("%s keeps its payload in segment %u, which the file does not have; the file is truncated or corrupt.", where.c_str(), index));
			}
			payload = _file + segment.offset;
			payload_size = segment.size;
		} else {
			return _fail(format("%s has an unknown payload location (%d); the file is corrupt.", where.c_str(), (int)location));
		}
		const std::string problem = check_xnnpack_payload(payload, payload_size, _named, _limits, _delegate_summaries[d]);
		if (!problem.empty()) {
			return _fail(format("%s (XNNPACK): %s", where.c_str(), problem.c_str()));
		}
	}
	return true;
}

// O1, I2: an operator of the method, checked once.
bool ProgramValidator::_resolve_operator(uint32_t p_index, const char *p_where) {
	OperatorState &state = _operator_states[p_index];
	if (state.checked == 1) {
		return true;
	}
	if (state.checked == 2) {
		return false;
	}
	state.checked = 2;
	const fb::Table op = _r.table_element(_operators, p_index);
	const fb::String name = _r.string(op, F::OPERATOR_NAME);
	const fb::String overload = _r.string(op, F::OPERATOR_OVERLOAD);
	if (!_structure_ok()) {
		return false;
	}
	if (!name.present || !overload.present) {
		// A missing overload is dereferenced when the kernel reports an error.
		return _fail(format("%s uses operator %u, which has no %s; the file is corrupt.", p_where, p_index, name.present ? "overload name" : "name"));
	}
	std::string full(name.chars, name.length);
	if (overload.length > 0) {
		full += '.';
		full.append(overload.chars, overload.length);
	}
	if (full.size() + 1 > OPERATOR_NAME_BUFFER || memchr(full.data(), 0, full.size()) != nullptr) {
		// ExecuTorch's error for a name over 99 bytes is lost, leaving the kernel unset (I2).
		return _fail(format("%s uses operator %u, whose name '%s' is longer than ExecuTorch allows; the file is corrupt.", p_where, p_index, quote(full.data(), (uint32_t)full.size()).c_str()));
	}
	state.kinds = find_operator(full.c_str());
	state.name = quote(full.data(), (uint32_t)full.size());
	if (OPERATOR_KIND_COUNT == 0) {
		return _fail("This engine was built without the validator's operator table (pte_operators.gen.h), so it refuses every program; regenerate and rebuild the module.");
	}
	if (state.kinds == nullptr) {
		return _fail(format("%s uses the operator '%s', which this engine's ExecuTorch does not provide; export with the portable or XNNPACK backend, or rebuild the engine with that kernel.", p_where, state.name.c_str()));
	}
	static const struct {
		const char *name;
		Special special;
	} specials[] = {
		{ "aten::embedding.out", SPECIAL_EMBEDDING },
		{ "aten::view_copy.out", SPECIAL_VIEW_COPY },
		{ "aten::convolution.out", SPECIAL_CONVOLUTION },
		{ "aten::avg_pool2d.out", SPECIAL_AVG_POOL },
		{ "aten::max_pool2d_with_indices.out", SPECIAL_MAX_POOL },
		{ "aten::gelu.out", SPECIAL_GELU },
		{ "aten::reflection_pad1d.out", SPECIAL_PAD },
		{ "aten::reflection_pad2d.out", SPECIAL_PAD },
		{ "aten::reflection_pad3d.out", SPECIAL_PAD },
		{ "aten::replication_pad1d.out", SPECIAL_PAD },
		{ "aten::replication_pad2d.out", SPECIAL_PAD },
		{ "aten::replication_pad3d.out", SPECIAL_PAD },
		{ "aten::arange.out", SPECIAL_ARANGE },
		{ "aten::arange.start_out", SPECIAL_ARANGE_START },
	};
	for (const auto &s : specials) {
		if (full == s.name) {
			state.special = s.special;
		}
	}
	state.checked = 1;
	return true;
}

// K3: a -1 view size is inferred by dividing by the product of the others.
bool ProgramValidator::_check_view_sizes(uint32_t p_list, const std::string &p_where) {
	std::vector<int64_t> items;
	bool dynamic = false;
	if (!_int_list(p_list, items, dynamic)) {
		return _fail(p_where + ": the view size list has more than 64 entries; the file is corrupt.");
	}
	int minus_ones = 0;
	uint64_t product = 1;
	bool overflow = false;
	for (size_t k = 0; k < items.size(); k++) {
		const int64_t s = items[k];
		const bool written = _values[(size_t)_r.element<int64_t>(_values[p_list].items, (uint32_t)k)].written;
		if (written) {
			continue; // a size computed at run time (dynamic shapes)
		}
		if (s == -1) {
			minus_ones++;
		} else if (s < 0) {
			return _fail(format("%s: the view size list holds %lld; sizes must be -1 or more. The file is corrupt.", p_where.c_str(), (long long)s));
		} else {
			overflow = overflow || mul_overflows(product, (uint64_t)s, product);
		}
	}
	if (minus_ones > 1 || (minus_ones == 1 && (product == 0 || overflow || product > 0x7FFFFFFFu))) {
		return _fail(p_where + ": the view size list has a -1 next to another -1 or a zero or huge size, which divides by zero in the kernel; the file is corrupt.");
	}
	(void)dynamic;
	return true;
}

// K1-K5: kernel preconditions that trap although the kinds are right.
bool ProgramValidator::_check_kernel_preconditions(const OperatorState &p_op, const fb::Vector &p_args, const std::string &p_where) {
	auto arg = [&](uint32_t p_slot) -> uint32_t { return (uint32_t)_r.element<int32_t>(p_args, p_slot); };
	std::vector<int64_t> items;
	bool dynamic = false;
	switch (p_op.special) {
		case SPECIAL_EMBEDDING: {
			// K2: op_embedding ET_CHECKs the index dtype.
			const ValueInfo &indices = _values[arg(1)];
			if (indices.scalar_type != SCALAR_LONG && indices.scalar_type != SCALAR_INT) {
				return _fail(format("%s: the embedding indices (value %u) are %s; the operator needs int64 or int32 indices. The file is corrupt.", p_where.c_str(), arg(1), scalar_type_name(indices.scalar_type)));
			}
		} break;
		case SPECIAL_VIEW_COPY:
			return _check_view_sizes(arg(1), p_where);
		case SPECIAL_CONVOLUTION: {
			// K4: convolution(input, weight, bias, stride, padding, dilation, transposed, output_padding, groups, out)
			const ValueInfo &groups = _values[arg(8)];
			if (groups.written || groups.int_value < 1) {
				return _fail(format("%s: the convolution has %lld groups; it needs at least 1. The file is corrupt.", p_where.c_str(), (long long)groups.int_value));
			}
			const struct {
				uint32_t slot;
				int64_t minimum;
				const char *what;
			} lists[] = { { 3, 1, "stride" }, { 4, 0, "padding" }, { 5, 1, "dilation" }, { 7, 0, "output padding" } };
			for (const auto &l : lists) {
				if (!_int_list(arg(l.slot), items, dynamic) || dynamic) {
					return _fail(format("%s: the convolution %s is not a short list of constants; the file is corrupt.", p_where.c_str(), l.what));
				}
				for (int64_t v : items) {
					if (v < l.minimum || v > 0x7FFFFFFF) {
						return _fail(format("%s: the convolution %s holds %lld; it must be at least %lld. The file is corrupt.", p_where.c_str(), l.what, (long long)v, (long long)l.minimum));
					}
				}
			}
		} break;
		case SPECIAL_AVG_POOL:
		case SPECIAL_MAX_POOL: {
			// avg_pool2d(self, kernel_size, stride, padding, ceil_mode, count_include_pad, divisor_override, out)
			// max_pool2d_with_indices(self, kernel_size, stride, padding, dilation, ceil_mode, out, indices)
			const bool max_pool = p_op.special == SPECIAL_MAX_POOL;
			const struct {
				uint32_t slot;
				int64_t minimum;
				const char *what;
			} lists[] = { { 1, 1, "kernel size" }, { 2, 1, "stride" }, { 3, 0, "padding" }, { 4, 1, "dilation" } };
			for (const auto &l : lists) {
				if (l.slot == 4 && !max_pool) {
					continue;
				}
				if (!_int_list(arg(l.slot), items, dynamic) || dynamic) {
					return _fail(format("%s: the pooling %s is not a short list of constants; the file is corrupt.", p_where.c_str(), l.what));
				}
				for (int64_t v : items) {
					if (v < l.minimum || v > 0x7FFFFFFF) {
						return _fail(format("%s: the pooling %s holds %lld; it must be at least %lld. The file is corrupt.", p_where.c_str(), l.what, (long long)v, (long long)l.minimum));
					}
				}
			}
		} break;
		case SPECIAL_PAD: {
			// (self, padding, out): padding_util ET_CHECKs the source index of every output element.
			if (!_int_list(arg(1), items, dynamic) || dynamic) {
				return _fail(p_where + ": the padding is not a short list of constants; the file is corrupt.");
			}
			for (int64_t v : items) {
				if (v < 0 || v > 0x7FFFFFFF) {
					return _fail(format("%s: the padding holds %lld; it must not be negative. The file is corrupt.", p_where.c_str(), (long long)v));
				}
			}
		} break;
		case SPECIAL_GELU: {
			// K5: any approximation but "none" and "tanh" reaches an ET_CHECK.
			const ValueInfo &approximate = _values[arg(1)];
			if (!_string_is(approximate, "none") && !_string_is(approximate, "tanh")) {
				return _fail(p_where + ": gelu's approximation must be 'none' or 'tanh'; the file is corrupt.");
			}
		} break;
		case SPECIAL_ARANGE:
		case SPECIAL_ARANGE_START: {
			// The element count is cast to int32 and ET_CHECKed non-negative.
			// arange.out(end, out) counts from 0 by 1; arange.start_out(start, end, step, out).
			double v[3] = { 0.0, 0.0, 1.0 };
			const bool start = p_op.special == SPECIAL_ARANGE_START;
			bool known = true;
			for (uint32_t k = start ? 0 : 1; k < (start ? 3u : 2u); k++) {
				const ValueInfo &s = _values[arg(start ? k : 0)];
				known = known && !s.written;
				v[k] = s.kind == KIND_DOUBLE ? s.double_value : s.kind == KIND_INT ? (double)s.int_value : (s.bool_value ? 1.0 : 0.0);
			}
			const double count = (v[1] - v[0]) / v[2];
			if (known && !(std::isfinite(count) && std::fabs(count) < 2147483647.0)) {
				return _fail(p_where + ": arange's start, end and step give no valid element count; the file is corrupt.");
			}
		} break;
		default:
			break;
	}
	return true;
}

// I10: hand-written prim ops (their last slot receives a new EValue).
bool ProgramValidator::_check_prim(const OperatorState &p_op, const fb::Vector &p_args, uint32_t p_global, const std::string &p_where, uint32_t p_skip) {
	const uint32_t n = p_args.count;
	auto arg = [&](uint32_t p_slot) -> ValueInfo & { return _values[(size_t)_r.element<int32_t>(p_args, p_slot)]; };
	auto arg_index = [&](uint32_t p_slot) -> uint32_t { return (uint32_t)_r.element<int32_t>(p_args, p_slot); };
	uint8_t result = KIND_NONE;
	switch (p_op.kinds->rule) {
		case OPERATOR_PRIM_RESULT_INT:
			result = KIND_INT;
			break;
		case OPERATOR_PRIM_RESULT_DOUBLE:
			result = KIND_DOUBLE;
			break;
		case OPERATOR_PRIM_RESULT_BOOL:
		case OPERATOR_PRIM_COMPARE:
			result = KIND_BOOL;
			if (p_op.kinds->rule == OPERATOR_PRIM_COMPARE && (arg(0).kind == KIND_BOOL) != (arg(1).kind == KIND_BOOL)) {
				return _fail(p_where + " compares a Bool with a number; the file is corrupt.");
			}
			break;
		case OPERATOR_PRIM_ARITHMETIC:
		case OPERATOR_PRIM_FLOOR_DIVIDE:
		case OPERATOR_PRIM_INTEGER_DIVIDE: {
			const bool integers = arg(0).kind == KIND_INT && arg(1).kind == KIND_INT;
			result = integers ? KIND_INT : KIND_DOUBLE;
			if (integers && p_op.kinds->rule != OPERATOR_PRIM_ARITHMETIC) {
				// Integer division traps on a zero divisor and on INT64_MIN / -1.
				const ValueInfo &divisor = arg(1);
				const ValueInfo &dividend = arg(0);
				if (divisor.written || divisor.input || divisor.int_value == 0 || (divisor.int_value == -1 && (dividend.written || dividend.input || dividend.int_value == INT64_MIN))) {
					return _fail(format("%s divides by value %u, which is zero or not a constant; the file is corrupt.", p_where.c_str(), arg_index(1)));
				}
			}
		} break;
		case OPERATOR_PRIM_SAME_AS_FIRST:
			result = arg(0).kind;
			break;
		case OPERATOR_PRIM_IF_THEN_ELSE:
			if (arg(1).kind != arg(2).kind) {
				return _fail(p_where + " chooses between values of different kinds; the file is corrupt.");
			}
			result = arg(1).kind;
			break;
		case OPERATOR_PRIM_LOCAL_SCALAR: {
			const int8_t type = arg(0).scalar_type;
			if (type == SCALAR_BOOL) {
				result = KIND_BOOL;
			} else if (type == SCALAR_FLOAT || type == SCALAR_DOUBLE) {
				result = KIND_DOUBLE;
			} else if (type == SCALAR_HALF || type == SCALAR_BFLOAT16) {
				return _fail(p_where + " reads a scalar out of a float16 or bfloat16 tensor, which the kernel does not support; the file is corrupt.");
			} else {
				result = KIND_INT;
			}
		} break;
		case OPERATOR_PRIM_SYM_SIZE: {
			// K1: TensorImpl::size() ET_CHECKs 0 <= dim < rank, with no negative wrap.
			const ValueInfo &dim = arg(1);
			if (dim.written || dim.int_value < 0 || dim.int_value >= arg(0).rank) {
				return _fail(format("%s asks for dimension %lld of a %u-dimensional tensor; the file is corrupt.", p_where.c_str(), (long long)dim.int_value, (unsigned)arg(0).rank));
			}
			result = KIND_INT;
		} break;
		case OPERATOR_PRIM_VIEW: {
			// et_view(self, size, out): out borrows self's data from here on.
			ValueInfo &self = arg(0);
			ValueInfo &out = arg(2);
			if (&self == &out) {
				return _fail(p_where + " views a tensor as itself; the file is corrupt.");
			}
			if (!_check_view_sizes(arg_index(1), p_where)) {
				return false;
			}
			out.alias_constant = out.alias_constant || self.constant || self.alias_constant;
			if (out.backed_from == NEVER) {
				out.backed_from = p_global + 1;
				out.backed_until = p_skip;
			}
			return true;
		}
		case OPERATOR_PRIM_COPY_INDEX:
			// et_copy_index(copy_to, copy_from, index): ranks must differ by one.
			if (arg(0).rank != arg(1).rank + 1) {
				return _fail(p_where + ": et_copy_index needs a destination one dimension larger than its source; the file is corrupt.");
			}
			return true;
		default:
			return _fail(p_where + " uses an operator the validator does not know how to check.");
	}
	ValueInfo &ret = arg(n - 1);
	if (ret.kind != result) {
		return _fail(format("%s stores %s result in value %u, which is %s; later instructions would read the wrong kind. The file is corrupt.", p_where.c_str(),
				kind_name(result), arg_index(n - 1), kind_name(ret.kind)));
	}
	return true;
}

// I1-I5, K*: one KernelCall.
bool ProgramValidator::_check_kernel_call(const fb::Table &p_call, uint32_t p_global, const std::string &p_where, uint32_t p_skip) {
	const int32_t op_index = _r.scalar<int32_t>(p_call, F::CALL_INDEX, 0);
	const fb::Vector args = _r.vector(p_call, F::CALL_ARGS, 4);
	if (!_structure_ok()) {
		return false;
	}
	if (!args.present) {
		return _fail(p_where + " has no argument list; the file is corrupt.");
	}
	const uint32_t count = (uint32_t)_values.size();
	for (uint32_t j = 0; j < args.count; j++) {
		const int32_t a = _r.element<int32_t>(args, j);
		if (a < 0 || (uint32_t)a >= count) {
			return _fail(format("%s argument %u is value %d, but the method has only %u values; the file is corrupt.", p_where.c_str(), j, a, count));
		}
	}
	// I2: a bad index leaves the kernel pointer uninitialized yet the load can succeed.
	if (op_index < 0 || (uint32_t)op_index >= _operators.count) {
		return _fail(format("%s uses operator %d, but the method has only %u operators; the file is corrupt.", p_where.c_str(), op_index, _operators.count));
	}
	if (!_resolve_operator((uint32_t)op_index, p_where.c_str())) {
		return false;
	}
	const OperatorState &op = _operator_states[(size_t)op_index];
	const std::string where = format("%s (%s)", p_where.c_str(), op.name.c_str());
	const OperatorKinds &kinds = *op.kinds;
	if (args.count != kinds.slot_count) {
		return _fail(format("%s has %u arguments; the operator takes %u. The file is corrupt.", where.c_str(), args.count, (unsigned)kinds.slot_count));
	}
	for (uint32_t j = 0; j < args.count; j++) {
		const OperatorArgument &spec = OPERATOR_ARGUMENTS[kinds.first_argument + j];
		const uint32_t a = (uint32_t)_r.element<int32_t>(args, j);
		const ValueInfo &v = _values[a];
		if ((spec.kinds & (1u << v.kind)) == 0) {
			std::string expected;
			for (uint8_t k = KIND_NULL; k < KIND_COUNT; k++) {
				if (spec.kinds & (1u << k)) {
					expected += expected.empty() ? "" : " or ";
					expected += kind_name(k);
				}
			}
			return _fail(format("%s argument %u (%s) is %s; the operator takes %s there. The file is corrupt.", where.c_str(), j, spec.name, _value_text(a).c_str(), expected.c_str()));
		}
		if ((spec.flags & ARGUMENT_RETURN) != 0 && kinds.rule == OPERATOR_GENERATED) {
			continue; // an out variant never reads its return slot
		}
		if ((spec.flags & ARGUMENT_SCALAR_TYPE) != 0 && v.kind == KIND_INT && (v.written || v.int_value < -128 || v.int_value > 127 || scalar_type_size((int8_t)v.int_value) == 0)) {
			return _fail(format("%s argument %u (%s) names dtype %lld, which this engine does not support; the file is corrupt.", where.c_str(), j, spec.name, (long long)v.int_value));
		}
		if (kinds.rule == OPERATOR_PRIM_VIEW && j == 2) {
			continue; // et_view's out gets its data from self, checked above
		}
		// The tensors this slot reads or writes must have data; written ones must be writable.
		const bool out = (spec.flags & ARGUMENT_OUT) != 0;
		auto check_tensor = [&](uint32_t p_tensor) -> bool {
			const ValueInfo &tv = _values[p_tensor];
			if (!_has_data(p_tensor, p_global)) {
				return _fail(format("%s argument %u (%s) is or holds tensor value %u, which has no data at this point (no constant, planned memory or input); the file is corrupt.", where.c_str(), j, spec.name, p_tensor));
			}
			if (out && (tv.constant || tv.alias_constant)) {
				// V3b/I4: constants are mapped read-only.
				return _fail(format("%s writes its result into value %u, a constant tensor; the file is corrupt.", where.c_str(), p_tensor));
			}
			if (out && tv.input) {
				return _fail(format("%s writes its result into value %u, a method input; the file is corrupt.", where.c_str(), p_tensor));
			}
			return true;
		};
		if (v.kind == KIND_TENSOR) {
			if (!check_tensor(a)) {
				return false;
			}
		} else if (v.kind == KIND_TENSOR_LIST || v.kind == KIND_OPTIONAL_TENSOR_LIST) {
			_work += v.items.count;
			if (_work > WORK_LIMIT) {
				return _fail(_method + " passes more tensor-list items to its instructions than this engine's validator examines; the model is too complex.");
			}
			for (uint32_t k = 0; k < v.items.count; k++) {
				const int32_t item = _r.element<int32_t>(v.items, k);
				if (item >= 0 && _values[(size_t)item].kind == KIND_TENSOR && !check_tensor((uint32_t)item)) {
					return false;
				}
			}
		}
	}
	if (kinds.rule != OPERATOR_GENERATED) {
		return _check_prim(op, args, p_global, where, p_skip);
	}
	return _check_kernel_preconditions(op, args, where);
}

// I6 and the per-call XNNPACK checks X6, X7.
bool ProgramValidator::_check_delegate_call(const fb::Table &p_call, uint32_t p_global, const std::string &p_where) {
	const int32_t delegate_index = _r.scalar<int32_t>(p_call, F::CALL_INDEX, 0);
	const fb::Vector args = _r.vector(p_call, F::CALL_ARGS, 4);
	if (!_structure_ok()) {
		return false;
	}
	if (!args.present) {
		return _fail(p_where + " has no argument list; the file is corrupt.");
	}
	if (delegate_index < 0 || (uint32_t)delegate_index >= _delegates.count) {
		return _fail(format("%s calls delegate %d, but the method has only %u delegates; the file is corrupt.", p_where.c_str(), delegate_index, _delegates.count));
	}
	const uint32_t count = (uint32_t)_values.size();
	const XnnSummary &summary = _delegate_summaries[(size_t)delegate_index];
	const std::string where = format("%s (delegate %d)", p_where.c_str(), delegate_index);
	if (args.count != summary.external_count) {
		// X6: the delegate indexes its arguments by external id without a bounds check.
		return _fail(format("%s passes %u arguments; the delegate's graph has %u inputs and outputs. The file is corrupt.", where.c_str(), args.count, summary.external_count));
	}
	for (uint32_t j = 0; j < args.count; j++) {
		const int32_t a = _r.element<int32_t>(args, j);
		if (a < 0 || (uint32_t)a >= count) {
			return _fail(format("%s argument %u is value %d, but the method has only %u values; the file is corrupt.", where.c_str(), j, a, count));
		}
		const ValueInfo &v = _values[(size_t)a];
		if (v.kind != KIND_TENSOR) {
			return _fail(format("%s argument %u is %s; a delegate takes tensors only. The file is corrupt.", where.c_str(), j, _value_text((uint32_t)a).c_str()));
		}
		if (!_has_data((uint32_t)a, p_global)) {
			return _fail(format("%s argument %u is tensor value %d, which has no data at this point; the file is corrupt.", where.c_str(), j, a));
		}
	}
	for (const XnnExternal &e : summary.externals) {
		const uint32_t a = (uint32_t)_r.element<int32_t>(args, e.external_id);
		const ValueInfo &v = _values[a];
		// X7: XNNPACK reads and writes the tensor as its own dtype and shape.
		if (v.scalar_type != e.scalar_type) {
			return _fail(format("%s argument %u (value %u) is %s, but the delegate's graph expects %s there; the file is corrupt.", where.c_str(), e.external_id, a,
					scalar_type_name(v.scalar_type), scalar_type_name(e.scalar_type)));
		}
		// The executor reshapes each input to the tensor's sizes in dim order; XNNPACK
		// declares a rank-0 tensor as [1], so single elements match whatever their rank.
		bool same = v.rank == e.rank;
		uint64_t xnn_numel = 1;
		for (uint32_t d = 0; d < e.rank; d++) {
			xnn_numel *= e.dims[d];
		}
		for (uint32_t d = 0; same && d < e.rank; d++) {
			uint8_t order = 0;
			memcpy(&order, _r.data() + v.dim_order + d, 1);
			same = (uint32_t)_tensor_size(v, order) == e.dims[d];
		}
		same = same || (v.numel == 1 && xnn_numel == 1);
		if (!same) {
			return _fail(format("%s argument %u (value %u) does not have the shape the delegate's graph expects; the file is corrupt.", where.c_str(), e.external_id, a));
		}
		if (!e.input && (v.constant || v.alias_constant || v.input)) {
			return _fail(format("%s writes its output %u into value %u, a constant or input tensor; the file is corrupt.", where.c_str(), e.external_id, a));
		}
	}
	return true;
}

bool ProgramValidator::_check_method(uint32_t p_index) {
	const fb::Vector plans = _r.vector(_program, F::PROGRAM_EXECUTION_PLAN, 4);
	const fb::Table plan = _r.table_element(plans, p_index);
	const fb::String name = _r.string(plan, F::PLAN_NAME);
	if (!_structure_ok()) {
		return false;
	}
	// P1: Module::method_names() aborts on a missing name.
	if (!name.present || name.length == 0) {
		return _fail(format("Method %u of the program has no name; the file is corrupt.", p_index));
	}
	if (memchr(name.chars, 0, name.length) != nullptr || !is_utf8(name.chars, name.length)) {
		return _fail(format("Method %u of the program has a name that is not valid text; the file is corrupt.", p_index));
	}
	for (const fb::String &other : _method_names) {
		if (other.length == name.length && memcmp(other.chars, name.chars, name.length) == 0) {
			return _fail(format("The program has two methods named '%s'; the file is corrupt.", quote(name.chars, name.length).c_str()));
		}
	}
	_method_names.push_back(name);
	_method = "method '" + quote(name.chars, name.length) + "'";

	// P2: the fields ExecuTorch reads without checking them all.
	const fb::Vector values = _r.vector(plan, F::PLAN_VALUES, 4);
	_inputs = _r.vector(plan, F::PLAN_INPUTS, 4);
	_outputs = _r.vector(plan, F::PLAN_OUTPUTS, 4);
	const fb::Vector chains = _r.vector(plan, F::PLAN_CHAINS, 4);
	_operators = _r.vector(plan, F::PLAN_OPERATORS, 4);
	_delegates = _r.vector(plan, F::PLAN_DELEGATES, 4);
	_buffer_sizes = _r.vector(plan, F::PLAN_NON_CONST_BUFFER_SIZES, 8);
	const fb::Vector devices = _r.vector(plan, F::PLAN_NON_CONST_BUFFER_DEVICE, 4);
	if (!_structure_ok()) {
		return false;
	}
	const char *missing = !values.present ? "values" : !_inputs.present ? "inputs" : !_outputs.present ? "outputs" : !chains.present ? "chains" : !_delegates.present ? "delegates" : !_buffer_sizes.present ? "memory-planned buffer sizes" : nullptr;
	if (missing != nullptr) {
		return _fail(format("%s has no %s; the file is corrupt.", _method.c_str(), missing));
	}
	if (chains.count == 0) {
		return _fail(_method + " has no instructions (no chain); the file is corrupt.");
	}
	if (!_check_buffers()) {
		return false;
	}
	for (uint32_t k = 0; devices.present && k < devices.count; k++) {
		const fb::Table device = _r.table_element(devices, k);
		const int32_t buffer = _r.scalar<int32_t>(device, F::DEVICE_BUFFER_IDX, 0);
		const int8_t type = _r.scalar<int8_t>(device, F::DEVICE_TYPE, 0);
		const int8_t index = _r.scalar<int8_t>(device, F::DEVICE_INDEX, 0);
		if (!_structure_ok()) {
			return false;
		}
		if (type != 0 || index != 0 || buffer < 1 || (uint32_t)buffer >= _buffer_sizes.count) {
			return _fail(format("%s places planned buffer %d on a non-CPU device or a buffer that does not exist; this engine runs on the CPU only.", _method.c_str(), buffer));
		}
	}

	if (!_check_values(values)) {
		return false;
	}
	if (!_check_io() || !_check_lists() || !_check_delegates()) {
		return false;
	}
	if (_operators.present && _operators.count > _limits.max_operators) {
		return _fail(format("%s has %u operators, more than this engine allows (%u).", _method.c_str(), _operators.count, _limits.max_operators));
	}
	_operator_states.assign(_operators.present ? _operators.count : 0, OperatorState());
	if (!_operators.present) {
		_operators = fb::Vector();
	}

	return _mark_written(chains) && _check_instructions(chains);
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

// Counts the instructions and finds the values replaced at run time
// (prim-op results, MoveCall targets), whose serialized content is only a start.
bool ProgramValidator::_mark_written(const fb::Vector &p_chains) {
	const fb::Vector &chains = p_chains;
	uint64_t total = 0;
	for (uint32_t c = 0; c < chains.count; c++) {
		const fb::Table chain = _r.table_element(chains, c);
		const fb::Vector instructions = _r.vector(chain, F::CHAIN_INSTRUCTIONS, 4);
		if (!_structure_ok()) {
			return false;
		}
		if (!instructions.present) {
			return _fail(format("%s: chain %u has no instruction list; the file is corrupt.", _method.c_str(), c));
		}
		total += instructions.count;
		if (total > _limits.max_instructions) {
			return _fail(format("%s has more than %u instructions, more than this engine allows.", _method.c_str(), _limits.max_instructions));
		}
		for (uint32_t k = 0; k < instructions.count; k++) {
			const fb::Table instruction = _r.table_element(instructions, k);
			const uint8_t type = _r.scalar<uint8_t>(instruction, F::INSTRUCTION_TYPE, 0);
			const fb::Table call = _r.table(instruction, F::INSTRUCTION_ARGS);
			if (!_structure_ok()) {
				return false;
			}
			if (type == INSTRUCTION_MOVE_CALL) {
				const int32_t to = _r.scalar<int32_t>(call, F::MOVE_TO, 0);
				if (to >= 0 && (uint32_t)to < _values.size()) {
					_values[(size_t)to].written = true;
				}
			} else if (type == INSTRUCTION_KERNEL_CALL) {
				const int32_t op_index = _r.scalar<int32_t>(call, F::CALL_INDEX, 0);
				const fb::Vector args = _r.vector(call, F::CALL_ARGS, 4);
				if (!_structure_ok()) {
					return false;
				}
				if (op_index >= 0 && (uint32_t)op_index < _operators.count && args.present && args.count > 0) {
					const std::string where = chains.count == 1 ? format("%s: instruction %u", _method.c_str(), k) : format("%s: chain %u instruction %u", _method.c_str(), c, k);
					if (!_resolve_operator((uint32_t)op_index, where.c_str())) {
						return false;
					}
					const OperatorKinds *kinds = _operator_states[(size_t)op_index].kinds;
					const int32_t last = _r.element<int32_t>(args, args.count - 1);
					if (kinds->rule != OPERATOR_GENERATED && kinds->rule != OPERATOR_PRIM_VIEW && kinds->rule != OPERATOR_PRIM_COPY_INDEX && last >= 0 && (uint32_t)last < _values.size()) {
						_values[(size_t)last].written = true;
					}
				}
			}
		}
	}
	return true;
}

// I0-I10, K*: the instructions of every chain, in execution order.
bool ProgramValidator::_check_instructions(const fb::Vector &p_chains) {
	const fb::Vector &chains = p_chains;
	// Jumps go forward only, so instruction i runs before every later j unless
	// a jump from before i lands after it: data that instruction i provides is
	// there for [i + 1, skip(i)), skip(i) being the least such landing point.
	uint32_t base = 0;
	std::priority_queue<uint32_t, std::vector<uint32_t>, std::greater<uint32_t>> landings;
	for (uint32_t c = 0; c < chains.count; c++) {
		const fb::Table chain = _r.table_element(chains, c);
		const fb::Vector instructions = _r.vector(chain, F::CHAIN_INSTRUCTIONS, 4);
		if (!_structure_ok()) {
			return false;
		}
		while (!landings.empty()) {
			landings.pop(); // jumps stay inside their chain
		}
		for (uint32_t k = 0; k < instructions.count; k++) {
			const uint32_t global = base + k;
			while (!landings.empty() && landings.top() <= global) {
				landings.pop();
			}
			const uint32_t skip = landings.empty() ? NEVER : landings.top();
			const fb::Table instruction = _r.table_element(instructions, k);
			const uint8_t type = _r.scalar<uint8_t>(instruction, F::INSTRUCTION_TYPE, 0);
			const fb::Table call = _r.table(instruction, F::INSTRUCTION_ARGS);
			if (!_structure_ok()) {
				return false;
			}
			const std::string where = chains.count == 1 ? format("%s: instruction %u", _method.c_str(), k) : format("%s: chain %u instruction %u", _method.c_str(), c, k);
			if (type < INSTRUCTION_KERNEL_CALL || type > INSTRUCTION_FREE_CALL || !call.present) {
				return _fail(where + " is empty or of an unknown type; the file is corrupt.");
			}
			switch (type) {
				case INSTRUCTION_KERNEL_CALL:
					if (!_check_kernel_call(call, global, where, skip)) {
						return false;
					}
					break;
				case INSTRUCTION_DELEGATE_CALL:
					if (!_check_delegate_call(call, global, where)) {
						return false;
					}
					break;
				case INSTRUCTION_MOVE_CALL: {
					const int32_t from = _r.scalar<int32_t>(call, F::MOVE_FROM, 0);
					const int32_t to = _r.scalar<int32_t>(call, F::MOVE_TO, 0);
					if (!_structure_ok()) {
						return false;
					}
					const uint32_t count = (uint32_t)_values.size();
					if (from < 0 || (uint32_t)from >= count || to < 0 || (uint32_t)to >= count) {
						return _fail(format("%s moves value %d into value %d, but the method has only %u values; the file is corrupt.", where.c_str(), from, to, count));
					}
					ValueInfo &source = _values[(size_t)from];
					ValueInfo &target = _values[(size_t)to];
					// I7: the target keeps its declared kind for the instructions after it.
					if (source.kind != target.kind) {
						return _fail(format("%s moves %s into value %d, which is %s; the file is corrupt.", where.c_str(), _value_text((uint32_t)from).c_str(), to, kind_name(target.kind)));
					}
					if (source.kind == KIND_TENSOR) {
						if (source.scalar_type != target.scalar_type || source.rank != target.rank) {
							return _fail(format("%s moves a tensor into value %d of another dtype or rank; the file is corrupt.", where.c_str(), to));
						}
						if (!_has_data((uint32_t)from, global) || source.constant || source.alias_constant) {
							return _fail(format("%s moves tensor value %d, which has no data here or is a constant; the file is corrupt.", where.c_str(), from));
						}
						if (target.backed_from == NEVER) {
							target.backed_from = global + 1;
							target.backed_until = skip;
						}
					}
				} break;
				case INSTRUCTION_JUMP_FALSE_CALL: {
					const int32_t cond = _r.scalar<int32_t>(call, F::JUMP_COND, 0);
					const int32_t destination = _r.scalar<int32_t>(call, F::JUMP_DESTINATION, 0);
					if (!_structure_ok()) {
						return false;
					}
					if (cond < 0 || (uint32_t)cond >= _values.size()) {
						return _fail(format("%s tests value %d, but the method has only %u values; the file is corrupt.", where.c_str(), cond, (unsigned)_values.size()));
					}
					const ValueInfo &v = _values[(size_t)cond];
					if (v.kind != KIND_BOOL && !(v.kind == KIND_TENSOR && v.scalar_type == SCALAR_BOOL && _has_data((uint32_t)cond, global))) {
						return _fail(format("%s tests %s; it needs a Bool or a bool tensor with data. The file is corrupt.", where.c_str(), _value_text((uint32_t)cond).c_str()));
					}
					// I8: only forward jumps inside the chain (no loops, no silent early exit).
					if (destination <= (int32_t)k || (uint32_t)destination > instructions.count) {
						return _fail(format("%s jumps to instruction %d; this engine accepts only forward jumps inside the chain (of %u instructions).", where.c_str(), destination, instructions.count));
					}
					landings.push(base + (uint32_t)destination);
				} break;
				case INSTRUCTION_FREE_CALL:
					// I9: freed tensors keep being used by later instructions in corrupt files.
					return _fail(where + " frees a tensor (FreeCall), which this engine does not accept; export without dynamic memory management.");
				default:
					break;
			}
		}
		base += instructions.count;
	}

	// The outputs the engine reads must have data once the method has run.
	for (uint32_t k = 0; k < _outputs.count; k++) {
		const uint32_t index = (uint32_t)_r.element<int32_t>(_outputs, k);
		if (_values[index].kind == KIND_TENSOR && !_has_data(index, base)) {
			return _fail(format("%s: output %u is tensor value %u, which never gets data; the file is corrupt.", _method.c_str(), k, index));
		}
	}
	return _structure_ok();
}

std::string ProgramValidator::run() {
	if (!_check_header() || !_check_segments() || !_check_constants() || !_check_named_data()) {
		return _error;
	}
	const fb::Vector plans = _r.vector(_program, F::PROGRAM_EXECUTION_PLAN, 4);
	if (!_structure_ok()) {
		return _error;
	}
	if (!plans.present || plans.count == 0) {
		_fail("The program has no methods; re-export the model.");
		return _error;
	}
	if (plans.count > _limits.max_methods) {
		_fail(format("The program has %u methods, more than this engine allows (%u).", plans.count, _limits.max_methods));
		return _error;
	}
	_method_names.reserve(plans.count);
	for (uint32_t p = 0; p < plans.count; p++) {
		if (!_check_method(p)) {
			return _error;
		}
	}
	_structure_ok();
	return _error;
}

} // namespace

std::string validate_program(const uint8_t *p_data, size_t p_size, const Limits &p_limits) {
	ProgramValidator validator(p_data, p_size, p_limits);
	return validator.run();
}

} // namespace pte
