/**************************************************************************/
/*  pte_limits.h                                                          */
/**************************************************************************/
/*  What a program may ask of the machine before the pre-validator        */
/*  refuses it. Its own header: the validator's API and its internal      */
/*  phases both read it, and neither includes the other's.                */
/**************************************************************************/

#pragma once

#include <cstdint>

namespace pte {

struct Limits {
	uint64_t max_planned_memory_bytes = 1ull << 30; // sum of a method's non_const_buffer_sizes
	uint64_t max_program_planned_memory_bytes = 1ull << 31; // the same over all methods (the engine loads them all)
	uint64_t max_tensor_bytes = 1ull << 31; // one tensor's bytes at its (upper-bound) shape
	uint32_t max_values = 1u << 20; // EValues of one method
	uint32_t max_instructions = 1u << 20; // instructions of one method, all chains
	uint32_t max_methods = 256;
	uint32_t max_operators = 1u << 16; // operator table entries of one method
	uint32_t max_delegates = 1024; // delegates of one method
	uint32_t max_segments = 1u << 20; // program segments, named data entries
	uint32_t max_planned_buffers = 1024; // entries of non_const_buffer_sizes
	uint64_t max_xnnpack_internal_bytes = 1ull << 30; // a delegate's intermediate tensors (XNNPACK's workspace)
	uint32_t max_xnnpack_values = 1u << 20; // per delegate payload
	uint32_t max_xnnpack_nodes = 1u << 20;
};

} // namespace pte
