/**************************************************************************/
/*  pte_xnnpack.cpp                                                       */
/**************************************************************************/
/*  Checks the payload of an XnnpackBackend delegate before ExecuTorch's  */
/*  XNNPACK compiler sees it (report 2.9, X1-X9). The compiler verifies   */
/*  the flatbuffer's structure but trusts its meaning: value ids, constant */
/*  sizes, external ids and node shapes go straight into XNNPACK, whose   */
/*  weight packing, subgraph fusion and kernels read out of bounds when   */
/*  they disagree. Only node types whose shape rules are checked in full  */
/*  here are accepted, and only float32/float16 values (no quantization). */
/*  Field layouts follow backends/xnnpack/serialization/runtime_schema.fbs */
/*  (the schema the runtime is compiled from).                            */
/**************************************************************************/

#include "pte_validator_internal.h"

#include <algorithm>
#include <cstring>

namespace pte {
namespace internal {

namespace {

using fb::field;

constexpr uint32_t XNN_INVALID_VALUE_ID = 0xFFFFFFFFu;
constexpr uint32_t XNN_VALUE_FLAG_EXTERNAL_INPUT = 1;
constexpr uint32_t XNN_VALUE_FLAG_EXTERNAL_OUTPUT = 2;
constexpr uint32_t XNN_FLAG_TRANSPOSE_WEIGHTS = 8;
constexpr uint32_t XNN_FLAG_KEEP_DIMS = 0x40;
constexpr uint32_t XNN_MAX_TENSOR_DIMS = 6;
constexpr uint32_t XNN_MAX_EXTERNALS = 4096; // XNNCompiler's own limit
constexpr int16_t XNN_DATATYPE_FP32 = 1;
constexpr int16_t XNN_DATATYPE_FP16 = 2;

namespace X {
enum : uint16_t {
	GRAPH_XNODES = field(1),
	GRAPH_XVALUES = field(2),
	GRAPH_NUM_EXTERNS = field(3),
	GRAPH_CONSTANT_DATA = field(8),

	NODE_TYPE = field(0),
	NODE_UNION = field(1),

	VALUE_TYPE = field(0),
	VALUE_UNION = field(1),

	TENSOR_DATATYPE = field(0),
	TENSOR_NUM_DIMS = field(1),
	TENSOR_DIMS = field(2),
	TENSOR_CONSTANT_BUFFER_IDX = field(3),
	TENSOR_EXTERNAL_ID = field(4),
	TENSOR_FLAGS = field(5),
	TENSOR_ID_OUT = field(6),
	TENSOR_DQ_DATATYPE = field(7),

	CONSTANT_OFFSET = field(0),
	CONSTANT_SIZE = field(1),
	CONSTANT_NAMED_KEY = field(2),
};
} // namespace X

// How a node type's table is laid out, and which shape rule applies.
enum Layout : uint8_t {
	LAYOUT_REFUSED,
	LAYOUT_UNARY, // _XNNNode1x1: input_id, output_id, flags
	LAYOUT_UNARY_PARAM, // XNNLeakyReLU, XNNELU: param, input_id, output_id, flags
	LAYOUT_SOFTMAX, // _XNNNode1x1
	LAYOUT_BINARY, // _XNNNode2x1: input1_id, input2_id, output_id, flags
	LAYOUT_BATCH_MATMUL, // _XNNNode2x1
	LAYOUT_FULLY_CONNECTED,
	LAYOUT_CONV,
	LAYOUT_DEPTHWISE_CONV,
	LAYOUT_MAX_POOL,
	LAYOUT_AVG_POOL,
	LAYOUT_GLOBAL_AVG_POOL, // _XNNNode1x1
	LAYOUT_TRANSPOSE,
	LAYOUT_RESHAPE,
	LAYOUT_SLICE,
	LAYOUT_PAD,
	LAYOUT_CONCAT,
};

struct NodeType {
	const char *name;
	Layout layout;
	uint8_t inputs; // concatenate: the number of inputs
};

// Indexed by the XNodeUnion tag (1-based; 0 is NONE).
const NodeType NODE_TYPES[] = {
	{ "NONE", LAYOUT_REFUSED, 0 },
	{ "Add", LAYOUT_BINARY, 2 },
	{ "FullyConnected", LAYOUT_FULLY_CONNECTED, 3 },
	{ "Softmax", LAYOUT_SOFTMAX, 1 },
	{ "Sigmoid", LAYOUT_UNARY, 1 },
	{ "StaticTranspose", LAYOUT_TRANSPOSE, 1 },
	{ "Clamp", LAYOUT_UNARY, 1 },
	{ "Conv2d", LAYOUT_CONV, 3 },
	{ "Div", LAYOUT_BINARY, 2 },
	{ "StaticResizeBilinear2D", LAYOUT_REFUSED, 0 },
	{ "StaticConstantPad", LAYOUT_PAD, 1 },
	{ "AvgPooling2d", LAYOUT_AVG_POOL, 1 },
	{ "Minimum", LAYOUT_BINARY, 2 },
	{ "DepthwiseConv2d", LAYOUT_DEPTHWISE_CONV, 3 },
	{ "MaxPooling2d", LAYOUT_MAX_POOL, 1 },
	{ "Multiply", LAYOUT_BINARY, 2 },
	{ "Subtract", LAYOUT_BINARY, 2 },
	{ "Floor", LAYOUT_UNARY, 1 },
	{ "Convert", LAYOUT_REFUSED, 0 },
	{ "GlobalAvgPooling2d", LAYOUT_GLOBAL_AVG_POOL, 1 },
	{ "StaticReshape", LAYOUT_RESHAPE, 1 },
	{ "ArgMaxPooling2d", LAYOUT_REFUSED, 0 },
	{ "SquareRoot", LAYOUT_UNARY, 1 },
	{ "Ceiling", LAYOUT_UNARY, 1 },
	{ "Hardswish", LAYOUT_UNARY, 1 },
	{ "LeakyReLU", LAYOUT_UNARY_PARAM, 1 },
	{ "Maximum", LAYOUT_BINARY, 2 },
	{ "Negate", LAYOUT_UNARY, 1 },
	{ "Square", LAYOUT_UNARY, 1 },
	{ "ELU", LAYOUT_UNARY_PARAM, 1 },
	{ "Abs", LAYOUT_UNARY, 1 },
	{ "PReLU", LAYOUT_REFUSED, 0 },
	{ "Concatenate2", LAYOUT_CONCAT, 2 },
	{ "Concatenate3", LAYOUT_CONCAT, 3 },
	{ "Concatenate4", LAYOUT_CONCAT, 4 },
	{ "StaticSlice", LAYOUT_SLICE, 1 },
	{ "ScaledDotProductAttention", LAYOUT_REFUSED, 0 },
	{ "BatchMatrixMultiply", LAYOUT_BATCH_MATMUL, 2 },
	{ "Concatenate5", LAYOUT_CONCAT, 5 },
	{ "ConvTranspose2d", LAYOUT_REFUSED, 0 },
	{ "ReciprocalSquareRoot", LAYOUT_UNARY, 1 },
	{ "Log", LAYOUT_UNARY, 1 },
	{ "Gelu", LAYOUT_UNARY, 1 },
	{ "Tanh", LAYOUT_UNARY, 1 },
	{ "Exp", LAYOUT_UNARY, 1 },
	{ "Sin", LAYOUT_UNARY, 1 },
	{ "Copy", LAYOUT_UNARY, 1 },
	{ "Cos", LAYOUT_UNARY, 1 },
};
constexpr uint32_t NODE_TYPE_COUNT = sizeof(NODE_TYPES) / sizeof(NODE_TYPES[0]);

struct XValue {
	uint32_t id = 0;
	int16_t datatype = 0;
	uint32_t rank = 0;
	uint32_t dims[XNN_MAX_TENSOR_DIMS] = {};
	uint32_t flags = 0;
	uint32_t external_id = XNN_INVALID_VALUE_ID;
	bool constant = false;
	bool produced = false; // available to later nodes (constant, external input, or a node's output)
};

struct Shape {
	uint32_t rank = 0;
	uint32_t dims[XNN_MAX_TENSOR_DIMS] = {};

	bool operator==(const Shape &p_other) const {
		return rank == p_other.rank && memcmp(dims, p_other.dims, sizeof(uint32_t) * rank) == 0;
	}
};

std::string shape_text(const XValue &p_value) {
	std::string text = "[";
	for (uint32_t d = 0; d < p_value.rank; d++) {
		text += format(d == 0 ? "%u" : ", %u", p_value.dims[d]);
	}
	return text + "]";
}

class PayloadChecker {
	const uint8_t *_payload;
	uint64_t _size;
	const std::vector<NamedEntry> &_named;
	const Limits &_limits;
	fb::Reader _r;
	std::string _error;
	std::vector<XValue> _values;
	std::vector<std::pair<uint32_t, uint32_t>> _ids; // (id_out, index into _values), sorted
	uint64_t _constant_data_size = 0;
	fb::Vector _constant_data;
	uint32_t _num_externs = 0;

	bool _fail(const std::string &p_message) {
		if (_error.empty()) {
			if (_r.failed()) {
				_error = format("its flatbuffer is corrupt (%s, at byte %u of the graph); re-export the model.", _r.error(), _r.error_position());
			} else {
				_error = p_message;
			}
		}
		return false;
	}

	bool _structure_ok() {
		return !_r.failed() || _fail(std::string());
	}

	XValue *_find(uint32_t p_id) {
		auto it = std::lower_bound(_ids.begin(), _ids.end(), std::make_pair(p_id, 0u));
		if (it == _ids.end() || it->first != p_id) {
			return nullptr;
		}
		return &_values[it->second];
	}

	bool _check_header(uint64_t &r_flatbuffer_offset, uint64_t &r_flatbuffer_size);
	bool _check_values();
	bool _check_constant(uint32_t p_value, const XValue &p_info, uint32_t p_buffer_index);
	bool _check_nodes();
	bool _check_node(uint32_t p_index, uint8_t p_type, const fb::Table &p_node);

public:
	PayloadChecker(const uint8_t *p_payload, uint64_t p_size, const std::vector<NamedEntry> &p_named, const Limits &p_limits) :
			_payload(p_payload), _size(p_size), _named(p_named), _limits(p_limits) {}

	std::string run(XnnSummary &r_summary);
};

// X1: the XH00 header and the regions it names (XNNHeader::Parse).
bool PayloadChecker::_check_header(uint64_t &r_flatbuffer_offset, uint64_t &r_flatbuffer_size) {
	if (_size < 30 || memcmp(_payload + 4, "XH00", 4) != 0) {
		return _fail("the payload has no XNNPACK header (XH00); re-export the model with ExecuTorch 1.5.");
	}
	uint32_t flatbuffer_offset, flatbuffer_size, constant_offset;
	uint64_t constant_size;
	memcpy(&flatbuffer_offset, _payload + 10, 4);
	memcpy(&flatbuffer_size, _payload + 14, 4);
	memcpy(&constant_offset, _payload + 18, 4);
	memcpy(&constant_size, _payload + 22, 8);
	if (flatbuffer_size < 8 || flatbuffer_offset > _size || flatbuffer_size > _size - flatbuffer_offset || constant_offset > _size ||
			constant_size > _size - constant_offset || constant_offset < flatbuffer_offset || constant_offset - flatbuffer_offset < flatbuffer_size) {
		return _fail("the payload's header describes regions outside the payload or overlapping each other; the file is corrupt.");
	}
	const uint8_t *identifier = _payload + flatbuffer_offset + 4;
	if (memcmp(identifier, "XN00", 4) != 0 && memcmp(identifier, "XN01", 4) != 0) {
		return _fail("the payload's graph has an unknown format identifier; re-export the model with ExecuTorch 1.5.");
	}
	r_flatbuffer_offset = flatbuffer_offset;
	r_flatbuffer_size = flatbuffer_size;
	_constant_data_size = constant_size;
	return true;
}

// X5: a constant has at least the bytes its dims and dtype need.
bool PayloadChecker::_check_constant(uint32_t p_value, const XValue &p_info, uint32_t p_buffer_index) {
	if (!_constant_data.present || p_buffer_index >= _constant_data.count) {
		return _fail(format("value %u uses constant %u, which the graph does not have; the file is corrupt.", p_value, p_buffer_index));
	}
	uint64_t need = p_info.datatype == XNN_DATATYPE_FP32 ? 4 : 2;
	for (uint32_t d = 0; d < p_info.rank; d++) {
		need *= p_info.dims[d]; // dims were bounded by max_tensor_bytes
	}
	const fb::Table entry = _r.table_element(_constant_data, p_buffer_index);
	const uint64_t offset = _r.scalar<uint64_t>(entry, X::CONSTANT_OFFSET, 0);
	const uint64_t size = _r.scalar<uint64_t>(entry, X::CONSTANT_SIZE, 0);
	const bool named = _r.has_field(entry, X::CONSTANT_NAMED_KEY);
	const fb::String key = _r.string(entry, X::CONSTANT_NAMED_KEY);
	if (!_structure_ok()) {
		return false;
	}
	if (named) {
		// The compiler asks the program's named data map, which is null without named data.
		const NamedEntry *data = key.present ? find_named(_named, key.chars, key.length) : nullptr;
		if (data == nullptr) {
			return _fail(format("value %u's weights are named '%s', which the program's named data does not have; the file is corrupt.", p_value,
					key.present ? quote(key.chars, key.length).c_str() : ""));
		}
		if (data->size < need) {
			return _fail(format("value %u has dims %s and needs %llu bytes of weights, but its named data has %llu; the file is corrupt.", p_value,
					shape_text(p_info).c_str(), (unsigned long long)need, (unsigned long long)data->size));
		}
		return true;
	}
	if (offset > _constant_data_size || size > _constant_data_size - offset) {
		return _fail(format("value %u's weights (%llu bytes at %llu) lie outside the payload's constant data; the file is corrupt.", p_value,
				(unsigned long long)size, (unsigned long long)offset));
	}
	if (size < need) {
		return _fail(format("value %u has dims %s and needs %llu bytes of weights, but has %llu; the file is corrupt.", p_value, shape_text(p_info).c_str(),
				(unsigned long long)need, (unsigned long long)size));
	}
	return true;
}

// X3, X4, X5, X6: the value definitions.
bool PayloadChecker::_check_values() {
	fb::Table graph;
	_r.root(graph, nullptr);
	const fb::Vector values = _r.vector(graph, X::GRAPH_XVALUES, 4);
	_num_externs = _r.scalar<uint32_t>(graph, X::GRAPH_NUM_EXTERNS, 0);
	_constant_data = _r.vector(graph, X::GRAPH_CONSTANT_DATA, 4);
	if (!_structure_ok()) {
		return false;
	}
	if (!values.present) {
		return _fail("the graph has no values; the file is corrupt.");
	}
	if (_num_externs > XNN_MAX_EXTERNALS) {
		return _fail(format("the graph declares %u inputs and outputs, more than XNNPACK allows (%u); the file is corrupt.", _num_externs, XNN_MAX_EXTERNALS));
	}
	if (values.count > _limits.max_xnnpack_values) {
		return _fail(format("the graph has %u values, more than this engine allows (%u).", values.count, _limits.max_xnnpack_values));
	}
	_values.assign(values.count, XValue());
	_ids.reserve(values.count);
	uint64_t internal_bytes = 0;
	for (uint32_t i = 0; i < values.count; i++) {
		const fb::Table value = _r.table_element(values, i);
		const uint8_t type = _r.scalar<uint8_t>(value, X::VALUE_TYPE, 0);
		const fb::Table tensor = _r.table(value, X::VALUE_UNION);
		if (!_structure_ok()) {
			return false;
		}
		if (type == 2) {
			return _fail(format("value %u is quantized, which this engine's validator does not accept; export the model without quantization.", i));
		}
		if (type != 1 || !tensor.present) {
			return _fail(format("value %u is not a tensor definition; the file is corrupt.", i));
		}
		XValue &v = _values[i];
		v.datatype = _r.scalar<int16_t>(tensor, X::TENSOR_DATATYPE, 0);
		const uint32_t num_dims = _r.scalar<uint32_t>(tensor, X::TENSOR_NUM_DIMS, 0);
		const fb::Vector dims = _r.vector(tensor, X::TENSOR_DIMS, 4);
		const uint32_t constant = _r.scalar<uint32_t>(tensor, X::TENSOR_CONSTANT_BUFFER_IDX, 0);
		v.external_id = _r.scalar<uint32_t>(tensor, X::TENSOR_EXTERNAL_ID, 0);
		v.flags = _r.scalar<uint32_t>(tensor, X::TENSOR_FLAGS, 0);
		v.id = _r.scalar<uint32_t>(tensor, X::TENSOR_ID_OUT, 0);
		const int16_t dq_datatype = _r.scalar<int16_t>(tensor, X::TENSOR_DQ_DATATYPE, 0);
		if (!_structure_ok()) {
			return false;
		}
		if (v.datatype != XNN_DATATYPE_FP32 && v.datatype != XNN_DATATYPE_FP16) {
			return _fail(format("value %u has XNNPACK datatype %d; this engine accepts float32 and float16 graphs only.", i, (int)v.datatype));
		}
		if (dq_datatype != 0) {
			return _fail(format("value %u is quantized at run time, which this engine's validator does not accept; export the model without quantization.", i));
		}
		const uint32_t rank = dims.present ? dims.count : 0;
		if (rank != num_dims) {
			return _fail(format("value %u lists %u dims but declares %u; the file is corrupt.", i, rank, num_dims));
		}
		if (rank > XNN_MAX_TENSOR_DIMS) {
			return _fail(format("value %u has %u dims; XNNPACK allows at most 6. The file is corrupt.", i, rank));
		}
		v.rank = rank;
		uint64_t bytes = v.datatype == XNN_DATATYPE_FP32 ? 4 : 2;
		for (uint32_t d = 0; d < rank; d++) {
			v.dims[d] = _r.element<uint32_t>(dims, d);
			// Zero-sized dims reach divisions inside XNNPACK's shape code.
			if (v.dims[d] == 0 || v.dims[d] > 0x7FFFFFFFu) {
				return _fail(format("value %u has dimension %u of size %u; the file is corrupt.", i, d, v.dims[d]));
			}
			bytes *= v.dims[d];
			if (bytes > _limits.max_tensor_bytes) {
				return _fail(format("value %u is larger than this engine allows (%llu bytes); the file is corrupt.", i, (unsigned long long)_limits.max_tensor_bytes));
			}
		}
		if (v.id == XNN_INVALID_VALUE_ID) {
			return _fail(format("value %u has the reserved id 0xFFFFFFFF; the file is corrupt.", i));
		}
		const uint32_t external = v.flags & (XNN_VALUE_FLAG_EXTERNAL_INPUT | XNN_VALUE_FLAG_EXTERNAL_OUTPUT);
		if (v.flags != external || external == (XNN_VALUE_FLAG_EXTERNAL_INPUT | XNN_VALUE_FLAG_EXTERNAL_OUTPUT)) {
			return _fail(format("value %u has the flags 0x%x; a value is internal, an input or an output. The file is corrupt.", i, v.flags));
		}
		if (external != 0 ? v.external_id >= _num_externs : v.external_id != XNN_INVALID_VALUE_ID) {
			return _fail(format("value %u has external id %u, which does not match its role (the graph has %u inputs and outputs); the file is corrupt.", i, v.external_id, _num_externs));
		}
		if (constant != 0) {
			if (external != 0) {
				return _fail(format("value %u is both a constant and an input or output; the file is corrupt.", i));
			}
			if (!_check_constant(i, v, constant)) {
				return false;
			}
			v.constant = true;
		}
		v.produced = v.constant || (v.flags & XNN_VALUE_FLAG_EXTERNAL_INPUT) != 0;
		if (!v.constant && external == 0) {
			// XNNPACK allocates every intermediate value in its workspace.
			internal_bytes += bytes;
			if (internal_bytes > _limits.max_xnnpack_internal_bytes) {
				return _fail(format("the graph's intermediate values need more than %llu bytes, over this engine's limit; the file is corrupt, or the model is too big for this platform.",
						(unsigned long long)_limits.max_xnnpack_internal_bytes));
			}
		}
		_ids.push_back(std::make_pair(v.id, i));
	}
	std::sort(_ids.begin(), _ids.end());
	for (size_t k = 1; k < _ids.size(); k++) {
		if (_ids[k].first == _ids[k - 1].first) {
			return _fail(format("values %u and %u have the same id %u; the file is corrupt.", _ids[k - 1].second, _ids[k].second, _ids[k].first));
		}
	}
	return true;
}

// Binary elementwise broadcasting (numpy rules, right-aligned).
bool broadcast(const XValue &p_a, const XValue &p_b, Shape &r_shape) {
	r_shape.rank = std::max(p_a.rank, p_b.rank);
	for (uint32_t k = 0; k < r_shape.rank; k++) {
		const uint32_t a = k < p_a.rank ? p_a.dims[p_a.rank - 1 - k] : 1;
		const uint32_t b = k < p_b.rank ? p_b.dims[p_b.rank - 1 - k] : 1;
		if (a != b && a != 1 && b != 1) {
			return false;
		}
		r_shape.dims[r_shape.rank - 1 - k] = a == 1 ? b : a;
	}
	return true;
}

Shape shape_of(const XValue &p_value) {
	Shape s;
	s.rank = p_value.rank;
	memcpy(s.dims, p_value.dims, sizeof(s.dims));
	return s;
}

// One output dimension of a window (conv, pooling): (in + pads - effective) / stride + 1.
bool window(uint64_t p_in, uint64_t p_pad_a, uint64_t p_pad_b, uint64_t p_kernel, uint64_t p_dilation, uint64_t p_stride, uint32_t &r_out) {
	if (p_kernel == 0 || p_dilation == 0 || p_stride == 0) {
		return false;
	}
	const uint64_t effective = (p_kernel - 1) * p_dilation + 1;
	const uint64_t padded = p_in + p_pad_a + p_pad_b;
	if (padded < effective) {
		return false;
	}
	r_out = (uint32_t)((padded - effective) / p_stride + 1);
	return true;
}

// X8, X9: one node.
bool PayloadChecker::_check_node(uint32_t p_index, uint8_t p_type, const fb::Table &p_node) {
	const NodeType &type = NODE_TYPES[p_type];
	const std::string where = format("node %u (%s)", p_index, type.name);
	uint32_t inputs[5] = { XNN_INVALID_VALUE_ID, XNN_INVALID_VALUE_ID, XNN_INVALID_VALUE_ID, XNN_INVALID_VALUE_ID, XNN_INVALID_VALUE_ID };
	uint32_t input_count = type.inputs;
	uint32_t output = 0;
	uint32_t flags = 0;
	bool optional_last = false; // a bias may be XNN_INVALID_VALUE_ID
	// Field positions per layout.
	switch (type.layout) {
		case LAYOUT_UNARY:
		case LAYOUT_SOFTMAX:
		case LAYOUT_GLOBAL_AVG_POOL:
			inputs[0] = _r.scalar<uint32_t>(p_node, field(0), 0);
			output = _r.scalar<uint32_t>(p_node, field(1), 0);
			flags = _r.scalar<uint32_t>(p_node, field(2), 0);
			break;
		case LAYOUT_UNARY_PARAM:
			inputs[0] = _r.scalar<uint32_t>(p_node, field(1), 0);
			output = _r.scalar<uint32_t>(p_node, field(2), 0);
			flags = _r.scalar<uint32_t>(p_node, field(3), 0);
			break;
		case LAYOUT_BINARY:
		case LAYOUT_BATCH_MATMUL:
			inputs[0] = _r.scalar<uint32_t>(p_node, field(0), 0);
			inputs[1] = _r.scalar<uint32_t>(p_node, field(1), 0);
			output = _r.scalar<uint32_t>(p_node, field(2), 0);
			flags = _r.scalar<uint32_t>(p_node, field(3), 0);
			break;
		case LAYOUT_FULLY_CONNECTED:
			inputs[0] = _r.scalar<uint32_t>(p_node, field(0), 0);
			inputs[1] = _r.scalar<uint32_t>(p_node, field(1), 0);
			inputs[2] = _r.scalar<uint32_t>(p_node, field(2), 0);
			output = _r.scalar<uint32_t>(p_node, field(3), 0);
			flags = _r.scalar<uint32_t>(p_node, field(4), 0);
			optional_last = true;
			break;
		case LAYOUT_CONV:
		case LAYOUT_DEPTHWISE_CONV:
			inputs[0] = _r.scalar<uint32_t>(p_node, field(15), 0);
			inputs[1] = _r.scalar<uint32_t>(p_node, field(16), 0);
			inputs[2] = _r.scalar<uint32_t>(p_node, field(17), 0);
			output = _r.scalar<uint32_t>(p_node, field(18), 0);
			flags = _r.scalar<uint32_t>(p_node, field(19), 0);
			optional_last = true;
			break;
		case LAYOUT_MAX_POOL:
		case LAYOUT_AVG_POOL:
			inputs[0] = _r.scalar<uint32_t>(p_node, field(10), 0);
			output = _r.scalar<uint32_t>(p_node, field(11), 0);
			flags = _r.scalar<uint32_t>(p_node, field(12), 0);
			break;
		case LAYOUT_TRANSPOSE:
		case LAYOUT_RESHAPE:
			inputs[0] = _r.scalar<uint32_t>(p_node, field(2), 0);
			output = _r.scalar<uint32_t>(p_node, field(3), 0);
			flags = _r.scalar<uint32_t>(p_node, field(4), 0);
			break;
		case LAYOUT_SLICE:
			inputs[0] = _r.scalar<uint32_t>(p_node, field(3), 0);
			output = _r.scalar<uint32_t>(p_node, field(4), 0);
			flags = _r.scalar<uint32_t>(p_node, field(5), 0);
			break;
		case LAYOUT_PAD:
			inputs[0] = _r.scalar<uint32_t>(p_node, field(3), 0);
			output = _r.scalar<uint32_t>(p_node, field(4), 0);
			flags = _r.scalar<uint32_t>(p_node, field(5), 0);
			break;
		case LAYOUT_CONCAT:
			for (uint32_t k = 0; k < 4; k++) {
				inputs[k] = _r.scalar<uint32_t>(p_node, field((uint16_t)(1 + k)), 0);
			}
			inputs[4] = _r.scalar<uint32_t>(p_node, field(7), 0);
			output = _r.scalar<uint32_t>(p_node, field(5), 0);
			flags = _r.scalar<uint32_t>(p_node, field(6), 0);
			break;
		case LAYOUT_REFUSED:
			return _fail(format("%s is a node type this engine's validator does not accept; export the model with the portable backend.", where.c_str()));
	}
	if (!_structure_ok()) {
		return false;
	}
	// X8: inputs exist and are available; the output is a fresh, internal-or-output value.
	XValue *in[5] = {};
	for (uint32_t k = 0; k < input_count; k++) {
		if (optional_last && k == input_count - 1 && inputs[k] == XNN_INVALID_VALUE_ID) {
			continue;
		}
		in[k] = _find(inputs[k]);
		if (in[k] == nullptr) {
			return _fail(format("%s reads value id %u, which the graph does not define; the file is corrupt.", where.c_str(), inputs[k]));
		}
		if (!in[k]->produced) {
			return _fail(format("%s reads value id %u before any node computes it; the file is corrupt.", where.c_str(), inputs[k]));
		}
	}
	XValue *out = _find(output);
	if (out == nullptr) {
		return _fail(format("%s writes value id %u, which the graph does not define; the file is corrupt.", where.c_str(), output));
	}
	if (out->produced) {
		return _fail(format("%s writes value id %u, which is a constant, an input or already computed; the file is corrupt.", where.c_str(), output));
	}
	for (uint32_t k = 0; k < input_count; k++) {
		if (in[k] != nullptr && in[k]->datatype != out->datatype) {
			return _fail(format("%s mixes float32 and float16 values; the file is corrupt.", where.c_str()));
		}
	}
	const uint32_t allowed_flags = type.layout == LAYOUT_FULLY_CONNECTED ? XNN_FLAG_TRANSPOSE_WEIGHTS
			: (type.layout == LAYOUT_MAX_POOL || type.layout == LAYOUT_AVG_POOL || type.layout == LAYOUT_GLOBAL_AVG_POOL) ? XNN_FLAG_KEEP_DIMS
																															: 0;
	if ((flags & ~allowed_flags) != 0) {
		return _fail(format("%s has the flags 0x%x, which this engine's validator does not accept; the file is corrupt.", where.c_str(), flags));
	}

	// X9: the output shape follows from the inputs and parameters.
	const XValue &a = *in[0];
	Shape expected;
	bool ok = true;
	const char *problem = "its output shape does not follow from its inputs";
	switch (type.layout) {
		case LAYOUT_UNARY:
		case LAYOUT_UNARY_PARAM:
			expected = shape_of(a);
			break;
		case LAYOUT_SOFTMAX:
			expected = shape_of(a);
			ok = a.rank >= 1;
			break;
		case LAYOUT_BINARY:
			ok = broadcast(a, *in[1], expected);
			problem = "its inputs do not broadcast to its output";
			break;
		case LAYOUT_BATCH_MATMUL: {
			const XValue &b = *in[1];
			ok = a.rank >= 2 && a.rank == b.rank && a.dims[a.rank - 1] == b.dims[b.rank - 2];
			if (ok) {
				XValue batch_a = a, batch_b = b;
				batch_a.rank -= 2;
				batch_b.rank -= 2;
				ok = broadcast(batch_a, batch_b, expected);
				expected.rank = a.rank;
				expected.dims[a.rank - 2] = a.dims[a.rank - 2];
				expected.dims[a.rank - 1] = b.dims[b.rank - 1];
			}
			problem = "its matrix shapes do not multiply";
		} break;
		case LAYOUT_FULLY_CONNECTED: {
			const XValue &filter = *in[1];
			ok = filter.rank == 2 && a.rank >= 1;
			if (ok) {
				const bool transposed = (flags & XNN_FLAG_TRANSPOSE_WEIGHTS) != 0;
				const uint32_t output_channels = transposed ? filter.dims[1] : filter.dims[0];
				const uint32_t input_channels = transposed ? filter.dims[0] : filter.dims[1];
				ok = a.dims[a.rank - 1] == input_channels && (in[2] == nullptr || (in[2]->rank == 1 && in[2]->dims[0] == output_channels));
				expected = shape_of(a);
				expected.dims[a.rank - 1] = output_channels;
			}
			problem = "its input, filter, bias and output channels disagree";
		} break;
		case LAYOUT_CONV:
		case LAYOUT_DEPTHWISE_CONV: {
			uint32_t p[15];
			for (uint16_t k = 0; k < 15; k++) {
				p[k] = _r.scalar<uint32_t>(p_node, field(k), 0);
			}
			const uint32_t kernel_h = p[4], kernel_w = p[5], stride_h = p[6], stride_w = p[7], dilation_h = p[8], dilation_w = p[9];
			const uint64_t group_in = p[10], group_out = p[11], groups = p[12];
			const XValue &filter = *in[1];
			ok = a.rank == 4 && filter.rank == 4 && p[13] == 0 && p[14] == 0 && group_in >= 1 && group_out >= 1 && groups >= 1;
			uint64_t output_channels = 0;
			if (ok && type.layout == LAYOUT_CONV) {
				// Filter [groups * group_out, kh, kw, group_in], input NHWC with groups * group_in channels.
				output_channels = groups * group_out;
				ok = filter.dims[0] == output_channels && filter.dims[1] == kernel_h && filter.dims[2] == kernel_w && filter.dims[3] == group_in && a.dims[3] == groups * group_in;
			} else if (ok) {
				// Depthwise: the runtime divides group_out by group_in (the depth multiplier); filter [1, kh, kw, channels].
				output_channels = groups * group_out;
				ok = group_in == 1 && filter.dims[0] == 1 && filter.dims[1] == kernel_h && filter.dims[2] == kernel_w && filter.dims[3] == output_channels && a.dims[3] == groups;
			}
			uint32_t out_h = 0, out_w = 0;
			ok = ok && window(a.dims[1], p[0], p[2], kernel_h, dilation_h, stride_h, out_h) && window(a.dims[2], p[3], p[1], kernel_w, dilation_w, stride_w, out_w);
			ok = ok && (in[2] == nullptr || (in[2]->rank == 1 && in[2]->dims[0] == output_channels)) && output_channels <= 0x7FFFFFFFu;
			expected.rank = 4;
			expected.dims[0] = a.rank == 4 ? a.dims[0] : 0;
			expected.dims[1] = out_h;
			expected.dims[2] = out_w;
			expected.dims[3] = (uint32_t)output_channels;
			problem = "its input, filter, bias, parameters and output disagree";
		} break;
		case LAYOUT_MAX_POOL:
		case LAYOUT_AVG_POOL: {
			uint32_t p[10];
			for (uint16_t k = 0; k < 10; k++) {
				p[k] = _r.scalar<uint32_t>(p_node, field(k), 0);
			}
			const bool max_pool = type.layout == LAYOUT_MAX_POOL;
			// Average pooling has no dilation (the serializer writes 0).
			const uint32_t dilation_h = max_pool ? p[8] : 1, dilation_w = max_pool ? p[9] : 1;
			uint32_t out_h = 0, out_w = 0;
			ok = a.rank == 4 && (uint64_t)p[4] * p[5] > 1 && window(a.dims[1], p[0], p[2], p[4], dilation_h, p[6], out_h) && window(a.dims[2], p[3], p[1], p[5], dilation_w, p[7], out_w);
			expected.rank = 4;
			expected.dims[0] = a.rank == 4 ? a.dims[0] : 0;
			expected.dims[1] = out_h;
			expected.dims[2] = out_w;
			expected.dims[3] = a.rank == 4 ? a.dims[3] : 0;
			problem = "its window, strides, padding and output disagree";
		} break;
		case LAYOUT_GLOBAL_AVG_POOL:
			ok = a.rank == 4;
			if (ok) {
				expected = shape_of(a);
				expected.dims[1] = 1;
				expected.dims[2] = 1;
				if ((flags & XNN_FLAG_KEEP_DIMS) == 0) {
					expected.rank = 2;
					expected.dims[1] = a.dims[3];
				}
			}
			break;
		case LAYOUT_TRANSPOSE: {
			const uint32_t num_dims = _r.scalar<uint32_t>(p_node, field(0), 0);
			const fb::Vector perm = _r.vector(p_node, field(1), 4);
			if (!_structure_ok()) {
				return false;
			}
			ok = perm.present && perm.count == num_dims && num_dims == a.rank;
			uint32_t seen = 0;
			expected.rank = a.rank;
			for (uint32_t d = 0; ok && d < a.rank; d++) {
				const uint32_t source = _r.element<uint32_t>(perm, d);
				ok = source < a.rank && (seen & (1u << source)) == 0;
				if (ok) {
					seen |= 1u << source;
					expected.dims[d] = a.dims[source];
				}
			}
			problem = "its permutation does not match its input and output";
		} break;
		case LAYOUT_RESHAPE: {
			const uint32_t num_dims = _r.scalar<uint32_t>(p_node, field(0), 0);
			const fb::Vector new_shape = _r.vector(p_node, field(1), 4);
			if (!_structure_ok()) {
				return false;
			}
			// A 0 in new_shape is the one dimension XNNPACK infers (the serializer's -1).
			ok = new_shape.present && new_shape.count == num_dims && num_dims <= XNN_MAX_TENSOR_DIMS && num_dims == out->rank;
			uint64_t in_numel = 1, out_numel = 1;
			for (uint32_t d = 0; d < a.rank; d++) {
				in_numel *= a.dims[d];
			}
			expected.rank = ok ? num_dims : 0;
			uint32_t inferred = 0;
			for (uint32_t d = 0; ok && d < num_dims; d++) {
				expected.dims[d] = _r.element<uint32_t>(new_shape, d);
				if (expected.dims[d] == 0) {
					inferred++;
					expected.dims[d] = out->dims[d];
				}
				out_numel *= expected.dims[d];
				ok = inferred <= 1 && out_numel <= in_numel;
			}
			ok = ok && in_numel == out_numel;
			problem = "its new shape does not match its input and output";
		} break;
		case LAYOUT_SLICE: {
			const uint32_t num_dims = _r.scalar<uint32_t>(p_node, field(0), 0);
			const fb::Vector offsets = _r.vector(p_node, field(1), 4);
			const fb::Vector sizes = _r.vector(p_node, field(2), 4);
			if (!_structure_ok()) {
				return false;
			}
			ok = offsets.present && sizes.present && offsets.count == a.rank && sizes.count == a.rank && num_dims == a.rank;
			expected.rank = a.rank;
			for (uint32_t d = 0; ok && d < a.rank; d++) {
				const uint64_t offset = _r.element<uint32_t>(offsets, d);
				const uint64_t size = _r.element<uint32_t>(sizes, d);
				ok = size >= 1 && offset + size <= a.dims[d];
				expected.dims[d] = (uint32_t)size;
			}
			problem = "its offsets and sizes do not fit its input and output";
		} break;
		case LAYOUT_PAD: {
			const fb::Vector pre = _r.vector(p_node, field(0), 4);
			const fb::Vector post = _r.vector(p_node, field(1), 4);
			if (!_structure_ok()) {
				return false;
			}
			// The runtime passes the vectors' data for as many dims as the input has.
			ok = pre.present && post.present && pre.count == a.rank && post.count == a.rank;
			expected.rank = a.rank;
			for (uint32_t d = 0; ok && d < a.rank; d++) {
				const uint64_t size = (uint64_t)a.dims[d] + _r.element<uint32_t>(pre, d) + _r.element<uint32_t>(post, d);
				ok = size <= 0x7FFFFFFFu;
				expected.dims[d] = (uint32_t)size;
			}
			problem = "its paddings do not match its input and output";
		} break;
		case LAYOUT_CONCAT: {
			const uint32_t axis = _r.scalar<uint32_t>(p_node, field(0), 0);
			if (!_structure_ok()) {
				return false;
			}
			ok = axis < a.rank;
			expected = shape_of(a);
			uint64_t total = 0;
			for (uint32_t k = 0; ok && k < input_count; k++) {
				const XValue &b = *in[k];
				ok = b.rank == a.rank;
				for (uint32_t d = 0; ok && d < a.rank; d++) {
					ok = d == axis || b.dims[d] == a.dims[d];
				}
				total += ok ? b.dims[axis] : 0;
			}
			ok = ok && total <= 0x7FFFFFFFu;
			if (ok) {
				expected.dims[axis] = (uint32_t)total;
			}
			problem = "its inputs do not concatenate to its output";
		} break;
		case LAYOUT_REFUSED:
			break;
	}
	if (!_structure_ok()) {
		return false;
	}
	if (!ok || !(expected == shape_of(*out))) {
		return _fail(format("%s: %s (output dims %s); the file is corrupt.", where.c_str(), problem, shape_text(*out).c_str()));
	}
	for (uint32_t k = 0; k < input_count; k++) {
		if (in[k] == out) {
			return _fail(format("%s writes its own input; the file is corrupt.", where.c_str()));
		}
	}
	out->produced = true;
	return true;
}

bool PayloadChecker::_check_nodes() {
	fb::Table graph;
	_r.root(graph, nullptr);
	const fb::Vector nodes = _r.vector(graph, X::GRAPH_XNODES, 4);
	if (!_structure_ok()) {
		return false;
	}
	if (!nodes.present) {
		return _fail("the graph has no nodes list; the file is corrupt.");
	}
	if (nodes.count > _limits.max_xnnpack_nodes) {
		return _fail(format("the graph has %u nodes, more than this engine allows (%u).", nodes.count, _limits.max_xnnpack_nodes));
	}
	for (uint32_t n = 0; n < nodes.count; n++) {
		const fb::Table node = _r.table_element(nodes, n);
		const uint8_t type = _r.scalar<uint8_t>(node, X::NODE_TYPE, 0);
		const fb::Table body = _r.table(node, X::NODE_UNION);
		if (!_structure_ok()) {
			return false;
		}
		// X4b: the define functions dereference the node's table unchecked.
		if (type == 0 || type >= NODE_TYPE_COUNT || !body.present) {
			return _fail(format("node %u has no content or an unknown type (%u); the file is corrupt.", n, (unsigned)type));
		}
		if (!_check_node(n, type, body)) {
			return false;
		}
	}
	for (uint32_t i = 0; i < _values.size(); i++) {
		if ((_values[i].flags & XNN_VALUE_FLAG_EXTERNAL_OUTPUT) != 0 && !_values[i].produced) {
			return _fail(format("output value %u (id %u) is never computed; the file is corrupt.", i, _values[i].id));
		}
	}
	return true;
}

std::string PayloadChecker::run(XnnSummary &r_summary) {
	uint64_t offset = 0, size = 0;
	if (!_check_header(offset, size)) {
		return _error;
	}
	_r = fb::Reader(_payload + offset, (size_t)size);
	if (!_check_values() || !_check_nodes()) {
		return _error;
	}
	// X6: external ids are exactly 0..n-1 (the executor indexes the call's arguments with them).
	r_summary.externals.clear();
	for (const XValue &v : _values) {
		if (v.flags != 0) {
			XnnExternal e;
			e.external_id = v.external_id;
			e.input = (v.flags & XNN_VALUE_FLAG_EXTERNAL_INPUT) != 0;
			e.datatype = v.datatype;
			e.rank = v.rank;
			memcpy(e.dims, v.dims, sizeof(e.dims));
			r_summary.externals.push_back(e);
		}
	}
	std::sort(r_summary.externals.begin(), r_summary.externals.end(), [](const XnnExternal &a, const XnnExternal &b) { return a.external_id < b.external_id; });
	for (uint32_t k = 0; k < r_summary.externals.size(); k++) {
		if (r_summary.externals[k].external_id != k) {
			_fail(format("its inputs and outputs are not numbered 0 to %u without gaps or repeats; the file is corrupt.", (unsigned)r_summary.externals.size() - 1));
			return _error;
		}
	}
	r_summary.external_count = (uint32_t)r_summary.externals.size();
	_structure_ok();
	return _error;
}

} // namespace

std::string check_xnnpack_payload(const uint8_t *p_payload, uint64_t p_size, const std::vector<NamedEntry> &p_named, const Limits &p_limits, XnnSummary &r_summary) {
	PayloadChecker checker(p_payload, p_size, p_named, p_limits);
	return checker.run(r_summary);
}

} // namespace internal
} // namespace pte
