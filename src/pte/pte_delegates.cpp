/**************************************************************************/
/*  pte_delegates.cpp                                                     */
/**************************************************************************/
/*  Delegates (D1-D4, I6): the method's delegate table, each XNNPACK      */
/*  payload (checked in pte_xnnpack.cpp) and each call of a delegate.     */
/**************************************************************************/

#include "pte_program_validator.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <queue>

namespace pte {
namespace internal {

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

} // namespace internal
} // namespace pte
