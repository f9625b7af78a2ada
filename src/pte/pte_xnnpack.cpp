/**************************************************************************/
/*  pte_xnnpack.cpp                                                       */
/**************************************************************************/
/*  Checks the payload of an XnnpackBackend delegate before ExecuTorch's  */
/*  XNNPACK compiler sees it (report 2.9, X1-X9). The compiler verifies   */
/*  the flatbuffer's structure but trusts its meaning: value ids, constant */
/*  sizes, external ids and node shapes go straight into XNNPACK, whose   */
/*  weight packing, subgraph fusion and kernels read out of bounds when   */
/*  they disagree. Only node types whose shape rules are checked in full  */
/*  here are accepted; values are float32, float16, or 8-bit quantized as */
/*  PT2E's XNNPACKQuantizer writes them (static per-tensor activations,   */
/*  per-channel weights and biases, dynamic per-token activations), with  */
/*  every scale, zero point and channel count checked.                    */
/*  Field layouts follow backends/xnnpack/serialization/runtime_schema.fbs */
/*  (the schema the runtime is compiled from).                            */
/**************************************************************************/

#include "pte_internal.h"

#include <algorithm>
#include <cmath>
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

// XNNDatatype values (runtime_schema.fbs) this validator knows.
enum Datatype : int16_t {
	DT_FP32 = 1,
	DT_FP16 = 2,
	DT_QINT8 = 3, // per-tensor scale and zero point
	DT_QUINT8 = 4,
	DT_QINT32 = 5,
	DT_QCINT8 = 6, // per-channel scales, zero point 0
	DT_QCINT32 = 7,
	DT_QCINT4 = 8,
	DT_QDINT8 = 9, // quantized at run time, per token (row)
	DT_QBINT4 = 10,
};

// The XNNQuantParams union's tags (and NONE for a plain XNNTensorValue).
enum Quantization : uint8_t {
	QUANT_NONE = 0,
	QUANT_PER_CHANNEL = 1,
	QUANT_PER_TENSOR = 2,
	QUANT_PER_TOKEN = 3,
	QUANT_PER_CHANNEL_GROUP = 4,
};

// What each accepted datatype is: its element size, the quantization its
// values must carry, and the ExecuTorch dtype a graph input or output of it
// is passed as (-1: it cannot be one).
struct DatatypeFacts {
	int16_t datatype;
	const char *name;
	uint8_t size;
	Quantization quantization;
	int8_t scalar_type;
};
const DatatypeFacts DATATYPES[] = {
	{ DT_FP32, "float32", 4, QUANT_NONE, SCALAR_FLOAT },
	{ DT_FP16, "float16", 2, QUANT_NONE, SCALAR_HALF },
	{ DT_QINT8, "qint8", 1, QUANT_PER_TENSOR, SCALAR_CHAR },
	{ DT_QUINT8, "quint8", 1, QUANT_PER_TENSOR, SCALAR_BYTE },
	{ DT_QINT32, "qint32", 4, QUANT_PER_TENSOR, -1 },
	{ DT_QCINT8, "qcint8", 1, QUANT_PER_CHANNEL, -1 },
	{ DT_QCINT32, "qcint32", 4, QUANT_PER_CHANNEL, -1 },
	{ DT_QDINT8, "qdint8", 1, QUANT_PER_TOKEN, -1 },
};

const DatatypeFacts *datatype_facts(int16_t p_datatype) {
	for (const DatatypeFacts &facts : DATATYPES) {
		if (facts.datatype == p_datatype) {
			return &facts;
		}
	}
	return nullptr;
}

const char *datatype_name(int16_t p_datatype) {
	const DatatypeFacts *facts = datatype_facts(p_datatype);
	return facts ? facts->name : "an unknown datatype";
}

bool is_float(int16_t p_datatype) {
	return p_datatype == DT_FP32 || p_datatype == DT_FP16;
}

// Static quantized activations: what quantized elementwise, pooling and
// layout nodes read and write.
bool is_quantized_activation(int16_t p_datatype) {
	return p_datatype == DT_QINT8 || p_datatype == DT_QUINT8;
}

// XNNPACK refuses a scale that is not finite, normal and positive; a value
// that passes this is one it takes.
bool is_valid_scale(float p_scale) {
	return p_scale > 0.0f && std::isnormal(p_scale);
}

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

	QVALUE_TENSOR = field(0),
	QVALUE_PARAMS_TYPE = field(1),
	QVALUE_PARAMS = field(2),

	PER_CHANNEL_SCALE = field(0),
	PER_CHANNEL_CHANNEL_DIM = field(1),
	PER_CHANNEL_SCALE_BUFFER_IDX = field(2),
	PER_CHANNEL_NUM_SCALES = field(3),
	PER_TOKEN_NUM_NONBATCH_DIMS = field(0),
	PER_TENSOR_SCALE = field(0),
	PER_TENSOR_ZERO_POINT = field(1),

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
	LAYOUT_CONVERT, // _XNNNode1x1: between float and 8-bit quantized values
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
	{ "Convert", LAYOUT_CONVERT, 1 },
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
	uint32_t channel_dim = 0; // per-channel values: the dimension the scales follow
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
	const uint8_t *_constant_data_start = nullptr;
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
	// The bytes of constant `p_buffer_index` (in the payload or the program's
	// named data), or false with the error set; `p_what` names them in it.
	bool _constant_bytes(uint32_t p_value, uint32_t p_buffer_index, const char *p_what, const uint8_t *&r_data, uint64_t &r_size);
	bool _check_constant(uint32_t p_value, const XValue &p_info, uint32_t p_buffer_index);
	bool _check_quantization(uint32_t p_value, XValue &r_info, uint8_t p_params_type, const fb::Table &p_params);
	bool _check_datatypes(const std::string &p_where, Layout p_layout, XValue *const *p_in, uint32_t p_input_count, const XValue &p_out, uint32_t p_flags);
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
	_constant_data_start = _payload + constant_offset;
	_constant_data_size = constant_size;
	return true;
}

bool PayloadChecker::_constant_bytes(uint32_t p_value, uint32_t p_buffer_index, const char *p_what, const uint8_t *&r_data, uint64_t &r_size) {
	if (!_constant_data.present || p_buffer_index >= _constant_data.count) {
		return _fail(format("value %u uses constant %u for its %s, which the graph does not have; the file is corrupt.", p_value, p_buffer_index, p_what));
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
			return _fail(format("value %u's %s are named '%s', which the program's named data does not have; the file is corrupt.", p_value, p_what,
					key.present ? quote(key.chars, key.length).c_str() : ""));
		}
		r_data = data->data;
		r_size = data->size;
		return true;
	}
	if (offset > _constant_data_size || size > _constant_data_size - offset) {
		return _fail(format("value %u's %s (%llu bytes at %llu) lie outside the payload's constant data; the file is corrupt.", p_value, p_what,
				(unsigned long long)size, (unsigned long long)offset));
	}
	r_data = _constant_data_start + offset;
	r_size = size;
	return true;
}

// X5: a constant has at least the bytes its dims and dtype need.
bool PayloadChecker::_check_constant(uint32_t p_value, const XValue &p_info, uint32_t p_buffer_index) {
	uint64_t need = datatype_facts(p_info.datatype)->size;
	for (uint32_t d = 0; d < p_info.rank; d++) {
		need *= p_info.dims[d]; // dims were bounded by max_tensor_bytes
	}
	const uint8_t *data = nullptr;
	uint64_t size = 0;
	if (!_constant_bytes(p_value, p_buffer_index, "weights", data, size)) {
		return false;
	}
	if (size < need) {
		return _fail(format("value %u has dims %s and needs %llu bytes of weights, but has %llu; the file is corrupt.", p_value, shape_text(p_info).c_str(),
				(unsigned long long)need, (unsigned long long)size));
	}
	return true;
}

// X10: a quantized value's parameters, as XNNPACK's define functions read
// them: the scales a per-channel value's channel count says it has (XNNPACK
// reads that many floats without a bound), each finite and positive, and zero
// points its datatype can hold.
bool PayloadChecker::_check_quantization(uint32_t p_value, XValue &r_info, uint8_t p_params_type, const fb::Table &p_params) {
	if (p_params_type == QUANT_PER_CHANNEL_GROUP || r_info.datatype == DT_QCINT4 || r_info.datatype == DT_QBINT4) {
		return _fail(format("value %u is quantized to 4 bits, which this engine's validator does not accept; export the model with 8-bit quantization (`python -m model_tools export ... --quantize int8`).", p_value));
	}
	const DatatypeFacts &facts = *datatype_facts(r_info.datatype);
	if (p_params_type != facts.quantization || (p_params_type != QUANT_NONE && !p_params.present)) {
		return _fail(format("value %u is %s but its quantization parameters are missing or of another kind; the file is corrupt.", p_value, facts.name));
	}
	switch (p_params_type) {
		case QUANT_PER_TENSOR: {
			const float scale = _r.scalar<float>(p_params, X::PER_TENSOR_SCALE, 0.0f);
			const int32_t zero_point = _r.scalar<int32_t>(p_params, X::PER_TENSOR_ZERO_POINT, 0);
			if (!_structure_ok()) {
				return false;
			}
			if (!is_valid_scale(scale)) {
				return _fail(format("value %u has the quantization scale %g; a scale is finite and positive. The file is corrupt.", p_value, (double)scale));
			}
			const bool zero_point_ok = r_info.datatype == DT_QINT8 ? (zero_point >= -128 && zero_point <= 127)
					: r_info.datatype == DT_QUINT8				   ? (zero_point >= 0 && zero_point <= 255)
																   : zero_point == 0;
			if (!zero_point_ok) {
				return _fail(format("value %u (%s) has the zero point %d, outside its datatype's range; the file is corrupt.", p_value, facts.name, zero_point));
			}
			return true;
		}
		case QUANT_PER_CHANNEL: {
			const uint32_t channel_dim = _r.scalar<uint32_t>(p_params, X::PER_CHANNEL_CHANNEL_DIM, 0);
			const uint32_t scale_buffer = _r.scalar<uint32_t>(p_params, X::PER_CHANNEL_SCALE_BUFFER_IDX, 0);
			const uint32_t num_scales = _r.scalar<uint32_t>(p_params, X::PER_CHANNEL_NUM_SCALES, 0);
			const fb::Vector inline_scales = _r.vector(p_params, X::PER_CHANNEL_SCALE, 4);
			if (!_structure_ok()) {
				return false;
			}
			if (channel_dim >= r_info.rank) {
				return _fail(format("value %u has its scales along dimension %u, but has %u dims; the file is corrupt.", p_value, channel_dim, r_info.rank));
			}
			const uint32_t channels = r_info.dims[channel_dim];
			const uint8_t *scales = nullptr;
			uint64_t available = 0;
			if (scale_buffer != 0) {
				if (num_scales != channels) {
					return _fail(format("value %u has %u channels but declares %u scales; the file is corrupt.", p_value, channels, num_scales));
				}
				if (!_constant_bytes(p_value, scale_buffer, "scales", scales, available)) {
					return false;
				}
			} else if (inline_scales.present) {
				scales = _r.bytes(inline_scales);
				available = (uint64_t)inline_scales.count * 4;
			}
			if (scales == nullptr || available < (uint64_t)channels * 4) {
				return _fail(format("value %u has %u channels but fewer scales; the file is corrupt.", p_value, channels));
			}
			for (uint32_t c = 0; c < channels; c++) {
				float scale;
				memcpy(&scale, scales + (size_t)c * 4, 4);
				if (!is_valid_scale(scale)) {
					return _fail(format("value %u has the scale %g for channel %u; a scale is finite and positive. The file is corrupt.", p_value, (double)scale, c));
				}
			}
			r_info.channel_dim = channel_dim;
			return true;
		}
		case QUANT_PER_TOKEN: {
			const int32_t nonbatch = _r.scalar<int32_t>(p_params, X::PER_TOKEN_NUM_NONBATCH_DIMS, 0);
			if (!_structure_ok()) {
				return false;
			}
			// XNNPACK counts the batch over the first rank - nonbatch dims.
			if (nonbatch < 1 || (uint32_t)nonbatch > r_info.rank) {
				return _fail(format("value %u quantizes per token over %d of its %u dims; the file is corrupt.", p_value, nonbatch, r_info.rank));
			}
			if (r_info.flags != 0) {
				return _fail(format("value %u is quantized at run time but is a graph input or output; the file is corrupt.", p_value));
			}
			return true;
		}
		default:
			return true;
	}
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
		const fb::Table body = _r.table(value, X::VALUE_UNION);
		if (!_structure_ok()) {
			return false;
		}
		// XValueUnion: 1 is an XNNTensorValue, 2 an XNNQuantizedTensorValue wrapping one.
		if ((type != 1 && type != 2) || !body.present) {
			return _fail(format("value %u is not a tensor definition; the file is corrupt.", i));
		}
		const fb::Table tensor = type == 1 ? body : _r.table(body, X::QVALUE_TENSOR);
		const uint8_t params_type = type == 1 ? (uint8_t)QUANT_NONE : _r.scalar<uint8_t>(body, X::QVALUE_PARAMS_TYPE, 0);
		const fb::Table params = type == 1 ? fb::Table() : _r.table(body, X::QVALUE_PARAMS);
		if (!_structure_ok()) {
			return false;
		}
		if (!tensor.present) {
			return _fail(format("value %u is a quantized value without a tensor; the file is corrupt.", i));
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
		const DatatypeFacts *facts = datatype_facts(v.datatype);
		if (facts == nullptr && v.datatype != DT_QCINT4 && v.datatype != DT_QBINT4) {
			return _fail(format("value %u has XNNPACK datatype %d; this engine accepts float32, float16 and 8-bit quantized graphs only.", i, (int)v.datatype));
		}
		if (dq_datatype != 0) {
			// The form ExecuTorch wrote before 2024 (a dq_datatype on a float input), not PT2E's Convert nodes.
			return _fail(format("value %u uses an old form of dynamic quantization this engine's validator does not accept; re-export the model with ExecuTorch 1.5.", i));
		}
		const uint32_t rank = dims.present ? dims.count : 0;
		if (rank != num_dims) {
			return _fail(format("value %u lists %u dims but declares %u; the file is corrupt.", i, rank, num_dims));
		}
		if (rank > XNN_MAX_TENSOR_DIMS) {
			return _fail(format("value %u has %u dims; XNNPACK allows at most 6. The file is corrupt.", i, rank));
		}
		v.rank = rank;
		uint64_t bytes = facts ? facts->size : 1;
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
		if (!_check_quantization(i, v, params_type, params)) {
			return false;
		}
		const uint32_t external = v.flags & (XNN_VALUE_FLAG_EXTERNAL_INPUT | XNN_VALUE_FLAG_EXTERNAL_OUTPUT);
		if (v.flags != external || external == (XNN_VALUE_FLAG_EXTERNAL_INPUT | XNN_VALUE_FLAG_EXTERNAL_OUTPUT)) {
			return _fail(format("value %u has the flags 0x%x; a value is internal, an input or an output. The file is corrupt.", i, v.flags));
		}
		if (external != 0 ? v.external_id >= _num_externs : v.external_id != XNN_INVALID_VALUE_ID) {
			return _fail(format("value %u has external id %u, which does not match its role (the graph has %u inputs and outputs); the file is corrupt.", i, v.external_id, _num_externs));
		}
		if (external != 0 && facts->scalar_type < 0) {
			return _fail(format("value %u is a %s input or output of the graph, which ExecuTorch cannot pass; the file is corrupt.", i, facts->name));
		}
		if (constant != 0) {
			if (external != 0) {
				return _fail(format("value %u is both a constant and an input or output; the file is corrupt.", i));
			}
			if (v.datatype == DT_QDINT8) {
				return _fail(format("value %u is quantized at run time but is a constant; the file is corrupt.", i));
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

// X11: the datatypes a node reads and writes go together. Float nodes keep
// one datatype throughout. Quantized graphs are what PT2E writes: Convert
// between float and 8-bit values; fully connected and convolution nodes
// with 8-bit activations, per-channel (or per-tensor) 8-bit weights along
// the output channels and 32-bit biases, or with activations quantized at
// run time (fully connected only) into a float output; every other node on
// one 8-bit activation datatype.
bool PayloadChecker::_check_datatypes(const std::string &p_where, Layout p_layout, XValue *const *p_in, uint32_t p_input_count, const XValue &p_out, uint32_t p_flags) {
	const int16_t input = p_in[0]->datatype;
	const int16_t output = p_out.datatype;
	bool ok = true;
	switch (p_layout) {
		case LAYOUT_CONVERT:
			ok = (is_float(input) && (is_quantized_activation(output) || output == DT_QDINT8)) || (is_quantized_activation(input) && is_float(output));
			break;
		case LAYOUT_FULLY_CONNECTED:
		case LAYOUT_CONV:
		case LAYOUT_DEPTHWISE_CONV: {
			const XValue &filter = *p_in[1];
			const XValue *bias = p_in[2];
			if (is_float(input)) {
				ok = output == input && filter.datatype == input && (bias == nullptr || bias->datatype == input);
				break;
			}
			if (is_quantized_activation(input)) {
				ok = output == input && (filter.datatype == DT_QCINT8 || filter.datatype == input) &&
						(bias == nullptr || bias->datatype == DT_QINT32 || bias->datatype == DT_QCINT32);
			} else {
				ok = input == DT_QDINT8 && p_layout == LAYOUT_FULLY_CONNECTED && is_float(output) && filter.datatype == DT_QCINT8 &&
						(bias == nullptr || bias->datatype == output);
			}
			// Per-channel scales follow the output channels: XNNPACK reads one per output channel.
			const uint32_t output_channel_dim = p_layout == LAYOUT_DEPTHWISE_CONV ? 3
					: p_layout == LAYOUT_FULLY_CONNECTED && (p_flags & XNN_FLAG_TRANSPOSE_WEIGHTS) != 0 ? 1
																										: 0;
			if (ok && filter.datatype == DT_QCINT8 && filter.channel_dim != output_channel_dim) {
				return _fail(format("%s has per-channel weights scaled along dimension %u, not the output channels (%u); the file is corrupt.", p_where.c_str(),
						filter.channel_dim, output_channel_dim));
			}
		} break;
		case LAYOUT_SOFTMAX:
		case LAYOUT_BATCH_MATMUL:
			ok = is_float(input);
			[[fallthrough]];
		default:
			ok = ok && (is_float(input) || is_quantized_activation(input)) && output == input;
			for (uint32_t k = 1; ok && k < p_input_count; k++) {
				ok = p_in[k] == nullptr || p_in[k]->datatype == input;
			}
			break;
	}
	if (!ok) {
		std::string types;
		for (uint32_t k = 0; k < p_input_count; k++) {
			types += format(k ? ", %s" : "%s", p_in[k] ? datatype_name(p_in[k]->datatype) : "none");
		}
		return _fail(format("%s reads %s and writes %s, a combination this engine's validator does not accept; the file is corrupt.", p_where.c_str(), types.c_str(),
				datatype_name(output)));
	}
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
		case LAYOUT_CONVERT:
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
	if (!_check_datatypes(where, type.layout, in, input_count, *out, flags)) {
		return false;
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
		case LAYOUT_CONVERT:
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
			e.scalar_type = datatype_facts(v.datatype)->scalar_type;
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
