/**************************************************************************/
/*  pte_internal.h                                                        */
/**************************************************************************/
/*  What the validator's phases (pte_validator.cpp, pte_values.cpp,       */
/*  pte_instructions.cpp, pte_delegates.cpp) and the XNNPACK payload      */
/*  checks (pte_xnnpack.cpp) share. Not part of the engine's API.         */
/**************************************************************************/

#pragma once

#include "pte_flatbuffer.h"
#include "pte_operator_table.h"
#include "pte_limits.h"

#include <cstdint>
#include <string>
#include <vector>

namespace pte {
namespace internal {

constexpr uint32_t NEVER = 0xFFFFFFFFu;

// ExecuTorch ScalarType values (scalar_type.fbs).
enum ScalarType : int8_t {
	SCALAR_BYTE = 0,
	SCALAR_CHAR = 1,
	SCALAR_SHORT = 2,
	SCALAR_INT = 3,
	SCALAR_LONG = 4,
	SCALAR_HALF = 5,
	SCALAR_FLOAT = 6,
	SCALAR_DOUBLE = 7,
	SCALAR_BOOL = 11,
	SCALAR_BFLOAT16 = 15,
};

// The element size of a dtype the engine accepts, or 0 for any other.
uint32_t scalar_type_size(int8_t p_type);
const char *scalar_type_name(int8_t p_type);
const char *kind_name(uint8_t p_kind); // "a Tensor", "an Int", ...
const char *bare_kind_name(uint8_t p_kind); // "Tensor", "Int", ...

// What the validator knows about one EValue of a method.
struct ValueInfo {
	uint8_t kind = KIND_NONE;
	// Tensor
	int8_t scalar_type = 0;
	uint8_t rank = 0;
	uint8_t dynamism = 0;
	bool constant = false; // data in the constant segment: read-only when memory-mapped
	bool planned = false; // data in the planned (activation) memory
	bool input = false; // a method input: data given by set_input
	bool alias_constant = false; // shares a constant's data through et_view
	uint32_t sizes = 0; // position of the int32 sizes in the flatbuffer
	uint32_t dim_order = 0; // position of the uint8 dim order
	uint64_t numel = 0;
	uint64_t nbytes = 0;
	// Data given at run time by an instruction (et_view, MoveCall): guaranteed
	// for instructions [backed_from, backed_until) of the method.
	uint32_t backed_from = NEVER;
	uint32_t backed_until = 0;
	// Scalars and lists
	bool written = false; // some instruction replaces this EValue at run time
	int64_t int_value = 0;
	double double_value = 0.0;
	bool bool_value = false;
	fb::Vector items; // IntList / DoubleList / BoolList / TensorList / OptionalTensorList; a String's bytes
};

// A NamedData entry of the program: the bytes a key stands for.
struct NamedEntry {
	const char *key = nullptr;
	uint32_t key_length = 0;
	const uint8_t *data = nullptr; // inside the program's bytes (its segment)
	uint64_t size = 0;
};

// An XNNPACK external value, kept to check each DelegateCall against it.
struct XnnExternal {
	uint32_t external_id = 0;
	bool input = false;
	int8_t scalar_type = 0; // the ExecuTorch dtype of the tensor passed for it
	uint32_t rank = 0;
	uint32_t dims[6] = {};
};

struct XnnSummary {
	std::vector<XnnExternal> externals; // sorted by external_id
	uint32_t external_count = 0;
};

// Looks a key up in the program's named data (sorted by key); nullptr when absent.
const NamedEntry *find_named(const std::vector<NamedEntry> &p_named, const char *p_key, uint32_t p_length);

// Checks an XNNPACK delegate payload (the processed bytes). Returns "" or a
// sentence fragment naming the problem (the caller prefixes the delegate).
std::string check_xnnpack_payload(const uint8_t *p_payload, uint64_t p_size, const std::vector<NamedEntry> &p_named,
		const Limits &p_limits, XnnSummary &r_summary);

// printf into a std::string (messages are short).
std::string format(const char *p_format, ...)
#if defined(__GNUC__)
		__attribute__((format(printf, 1, 2)))
#endif
		;

// A file-controlled string made safe to quote in a message.
std::string quote(const char *p_chars, uint32_t p_length);

} // namespace internal
} // namespace pte
