/**************************************************************************/
/*  pte_instructions.cpp                                                  */
/**************************************************************************/
/*  Operators, kernel calls and instructions (I1-I9, O1-O3): each operator*/
/*  resolved against the operator table generated from torch's schemas,   */
/*  each kernel call's arguments and preconditions, the instruction chains.*/
/**************************************************************************/

#include "pte_program_validator.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
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

} // namespace internal
} // namespace pte

namespace pte {
namespace internal {

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

} // namespace internal
} // namespace pte
