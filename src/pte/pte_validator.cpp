/**************************************************************************/
/*  pte_validator.cpp                                                     */
/**************************************************************************/
/*  The .pte pre-validator's entry point and its first phase: the file's  */
/*  header, segments, constants, named data and methods. The other phases */
/*  are pte_values.cpp, pte_instructions.cpp and pte_delegates.cpp (with  */
/*  the XNNPACK payload in pte_xnnpack.cpp). The invariant ids            */
/*  in comments (H1, P3, V3, I2, ...) are those of the research report    */
/*  the checks come from (executorch-pte-validation.md, ExecuTorch 1.5.1). */
/**************************************************************************/

#include "pte_validator.h"

#include "pte_program_validator.h"

#include <algorithm>
#include <cmath>
#include <cstdarg>
#include <cstdio>
#include <cstring>
#include <functional>
#include <queue>

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

// The dtypes the engine accepts: ExecuTorch's ScalarType, PyTorch's name and
// the element size. A Godot-free copy of ExecuTorchTensor's table
// (src/executorch_tensor.cpp); tests/unit/test_layers.py keeps the two equal.
struct ScalarTypeFacts {
	int8_t type;
	const char *name;
	uint32_t size;
};
constexpr ScalarTypeFacts SCALAR_TYPES[] = {
	{ SCALAR_FLOAT, "float32", 4 },
	{ SCALAR_DOUBLE, "float64", 8 },
	{ SCALAR_HALF, "float16", 2 },
	{ SCALAR_BFLOAT16, "bfloat16", 2 },
	{ SCALAR_CHAR, "int8", 1 },
	{ SCALAR_SHORT, "int16", 2 },
	{ SCALAR_INT, "int32", 4 },
	{ SCALAR_LONG, "int64", 8 },
	{ SCALAR_BYTE, "uint8", 1 },
	{ SCALAR_BOOL, "bool", 1 },
};

const ScalarTypeFacts *scalar_type_facts(int8_t p_type) {
	for (const ScalarTypeFacts &facts : SCALAR_TYPES) {
		if (facts.type == p_type) {
			return &facts;
		}
	}
	return nullptr;
}

uint32_t scalar_type_size(int8_t p_type) {
	const ScalarTypeFacts *facts = scalar_type_facts(p_type);
	return facts ? facts->size : 0;
}

const char *scalar_type_name(int8_t p_type) {
	const ScalarTypeFacts *facts = scalar_type_facts(p_type);
	return facts ? facts->name : "an unsupported dtype";
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

namespace internal {

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

} // namespace internal

std::string validate_program(const uint8_t *p_data, size_t p_size, const Limits &p_limits) {
	internal::ProgramValidator validator(p_data, p_size, p_limits);
	return validator.run();
}

} // namespace pte
