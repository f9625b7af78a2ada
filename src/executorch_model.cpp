#include "executorch_model.h"

#include "core/io/file_access.h"
#include "core/templates/local_vector.h"

#include <executorch/extension/data_loader/buffer_data_loader.h>
#include <executorch/extension/module/module.h>
#include <executorch/extension/tensor/tensor.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <string>
#include <vector>

using executorch::aten::ScalarType;
using executorch::extension::BufferDataLoader;
using executorch::extension::TensorPtr;
using executorch::extension::module::Module;
using executorch::runtime::EValue;
using executorch::runtime::MethodMeta;
using executorch::runtime::Program;
using executorch::runtime::Tag;
using ETError = executorch::runtime::Error;

namespace {

// The byte range of a .pte file that carries the flatbuffer file identifier.
constexpr int PTE_IDENTIFIER_OFFSET = 4;

const char *dtype_name(ScalarType p_type) {
	// PyTorch's names: what an ML engineer reads in `tensor.dtype`.
	switch (p_type) {
		case ScalarType::Byte:
			return "uint8";
		case ScalarType::Char:
			return "int8";
		case ScalarType::Short:
			return "int16";
		case ScalarType::Int:
			return "int32";
		case ScalarType::Long:
			return "int64";
		case ScalarType::Half:
			return "float16";
		case ScalarType::Float:
			return "float32";
		case ScalarType::Double:
			return "float64";
		case ScalarType::Bool:
			return "bool";
		case ScalarType::BFloat16:
			return "bfloat16";
		default:
			return "unsupported";
	}
}

const char *tag_name(Tag p_tag) {
	switch (p_tag) {
		case Tag::None:
			return "none";
		case Tag::Tensor:
			return "tensor";
		case Tag::String:
			return "string";
		case Tag::Double:
			return "float";
		case Tag::Int:
			return "int";
		case Tag::Bool:
			return "bool";
		default:
			return "list";
	}
}

String shape_text(const std::vector<int32_t> &p_shape) {
	String text = "[";
	for (size_t i = 0; i < p_shape.size(); i++) {
		text += (i ? ", " : "") + itos(p_shape[i]);
	}
	return text + "]";
}

int64_t element_count(const std::vector<int32_t> &p_shape) {
	int64_t count = 1;
	for (int32_t size : p_shape) {
		count *= size;
	}
	return count;
}

Dictionary describe_value(Tag p_tag, const executorch::runtime::Result<executorch::runtime::TensorInfo> &p_info, int p_index) {
	Dictionary entry;
	entry["index"] = p_index;
	if (p_tag == Tag::Tensor && p_info.ok()) {
		PackedInt64Array shape;
		int64_t numel = 1;
		for (int32_t size : p_info->sizes()) {
			shape.push_back(size);
			numel *= size;
		}
		entry["dtype"] = dtype_name(p_info->scalar_type());
		entry["shape"] = shape;
		entry["numel"] = numel;
	} else {
		entry["dtype"] = tag_name(p_tag);
		entry["shape"] = PackedInt64Array();
		entry["numel"] = 1;
	}
	return entry;
}

// Reads a run_inference value (an Array of numbers, a packed numeric array or a
// bare number) into doubles. Returns an error sentence, or "" on success.
String read_numbers(const String &p_key, const Variant &p_value, LocalVector<double> &r_values) {
	r_values.clear();
	switch (p_value.get_type()) {
		case Variant::INT:
		case Variant::FLOAT:
		case Variant::BOOL:
			r_values.push_back((double)p_value);
			return String();
		case Variant::ARRAY: {
			const Array array = p_value;
			r_values.resize(array.size());
			for (int i = 0; i < array.size(); i++) {
				const Variant &element = array[i];
				const Variant::Type type = element.get_type();
				if (type != Variant::INT && type != Variant::FLOAT && type != Variant::BOOL) {
					return vformat("'%s'[%d] is a %s; inputs must be numbers.", p_key, i, Variant::get_type_name(type));
				}
				r_values[i] = (double)element;
			}
			return String();
		}
		case Variant::PACKED_FLOAT32_ARRAY: {
			const PackedFloat32Array array = p_value;
			r_values.resize(array.size());
			for (int i = 0; i < array.size(); i++) {
				r_values[i] = array[i];
			}
			return String();
		}
		case Variant::PACKED_FLOAT64_ARRAY: {
			const PackedFloat64Array array = p_value;
			r_values.resize(array.size());
			std::copy(array.ptr(), array.ptr() + array.size(), r_values.ptr());
			return String();
		}
		case Variant::PACKED_INT32_ARRAY: {
			const PackedInt32Array array = p_value;
			r_values.resize(array.size());
			for (int i = 0; i < array.size(); i++) {
				r_values[i] = array[i];
			}
			return String();
		}
		case Variant::PACKED_INT64_ARRAY: {
			const PackedInt64Array array = p_value;
			r_values.resize(array.size());
			for (int i = 0; i < array.size(); i++) {
				r_values[i] = (double)array[i];
			}
			return String();
		}
		case Variant::PACKED_BYTE_ARRAY: {
			const PackedByteArray array = p_value;
			r_values.resize(array.size());
			for (int i = 0; i < array.size(); i++) {
				r_values[i] = array[i];
			}
			return String();
		}
		default:
			return vformat("'%s' is a %s; pass an Array of numbers or a packed numeric array.", p_key,
					Variant::get_type_name(p_value.get_type()));
	}
}

template <typename T>
void store_as(const LocalVector<double> &p_values, std::vector<uint8_t> &r_buffer) {
	r_buffer.resize(p_values.size() * sizeof(T));
	T *out = reinterpret_cast<T *>(r_buffer.data());
	for (uint32_t i = 0; i < p_values.size(); i++) {
		out[i] = static_cast<T>(p_values[i]);
	}
}

// Converts doubles into the bytes of a tensor of `p_type`. Returns false for
// dtypes this dictionary path does not convert.
bool store_values(ScalarType p_type, const LocalVector<double> &p_values, std::vector<uint8_t> &r_buffer) {
	switch (p_type) {
		case ScalarType::Float:
			store_as<float>(p_values, r_buffer);
			return true;
		case ScalarType::Double:
			store_as<double>(p_values, r_buffer);
			return true;
		case ScalarType::Half:
			store_as<executorch::aten::Half>(p_values, r_buffer);
			return true;
		case ScalarType::BFloat16:
			store_as<executorch::aten::BFloat16>(p_values, r_buffer);
			return true;
		case ScalarType::Long:
			store_as<int64_t>(p_values, r_buffer);
			return true;
		case ScalarType::Int:
			store_as<int32_t>(p_values, r_buffer);
			return true;
		case ScalarType::Short:
			store_as<int16_t>(p_values, r_buffer);
			return true;
		case ScalarType::Char:
			store_as<int8_t>(p_values, r_buffer);
			return true;
		case ScalarType::Byte:
			store_as<uint8_t>(p_values, r_buffer);
			return true;
		case ScalarType::Bool:
			store_as<bool>(p_values, r_buffer);
			return true;
		default:
			return false;
	}
}

template <typename T>
PackedInt64Array integers_of(const executorch::aten::Tensor &p_tensor) {
	PackedInt64Array values;
	values.resize(p_tensor.numel());
	const T *data = p_tensor.const_data_ptr<T>();
	for (int64_t i = 0; i < values.size(); i++) {
		values.set(i, data[i]);
	}
	return values;
}

template <typename T>
PackedFloat32Array floats_of(const executorch::aten::Tensor &p_tensor) {
	PackedFloat32Array values;
	values.resize(p_tensor.numel());
	const T *data = p_tensor.const_data_ptr<T>();
	float *out = values.ptrw();
	for (int64_t i = 0; i < values.size(); i++) {
		out[i] = static_cast<float>(data[i]);
	}
	return values;
}

// Copies one ExecuTorch output into a Godot value (the method's output memory
// is reused by the next execute, so nothing may point into it).
bool output_to_variant(const EValue &p_value, Variant &r_variant) {
	if (p_value.isInt()) {
		r_variant = p_value.toInt();
		return true;
	}
	if (p_value.isDouble()) {
		r_variant = p_value.toDouble();
		return true;
	}
	if (p_value.isBool()) {
		r_variant = p_value.toBool();
		return true;
	}
	if (!p_value.isTensor()) {
		return false;
	}
	const executorch::aten::Tensor &tensor = p_value.toTensor();
	switch (tensor.scalar_type()) {
		case ScalarType::Float: {
			PackedFloat32Array values;
			values.resize(tensor.numel());
			memcpy(values.ptrw(), tensor.const_data_ptr<float>(), tensor.numel() * sizeof(float));
			r_variant = values;
			return true;
		}
		case ScalarType::Double: {
			PackedFloat64Array values;
			values.resize(tensor.numel());
			memcpy(values.ptrw(), tensor.const_data_ptr<double>(), tensor.numel() * sizeof(double));
			r_variant = values;
			return true;
		}
		case ScalarType::Half:
			r_variant = floats_of<executorch::aten::Half>(tensor);
			return true;
		case ScalarType::BFloat16:
			r_variant = floats_of<executorch::aten::BFloat16>(tensor);
			return true;
		case ScalarType::Long:
			r_variant = integers_of<int64_t>(tensor);
			return true;
		case ScalarType::Int:
			r_variant = integers_of<int32_t>(tensor);
			return true;
		case ScalarType::Short:
			r_variant = integers_of<int16_t>(tensor);
			return true;
		case ScalarType::Char:
			r_variant = integers_of<int8_t>(tensor);
			return true;
		case ScalarType::Byte:
			r_variant = integers_of<uint8_t>(tensor);
			return true;
		case ScalarType::Bool: {
			PackedByteArray values;
			values.resize(tensor.numel());
			const bool *data = tensor.const_data_ptr<bool>();
			for (int64_t i = 0; i < values.size(); i++) {
				values.set(i, data[i] ? 1 : 0);
			}
			r_variant = values;
			return true;
		}
		default:
			return false;
	}
}

} // namespace

// --- Loading ---------------------------------------------------------------

bool ExecuTorchModel::load_from_file(const String &p_path) {
	ERR_FAIL_COND_V_MSG(p_path.is_empty(), false, "The 'path' of the .pte file is empty. Pass a res://, user:// or absolute path.");
	ERR_FAIL_COND_V_MSG(!FileAccess::exists(p_path), false,
			vformat("No file at '%s'. Check the path; export models with `python -m model_tools export`.", p_path));

	Error read_error = OK;
	PackedByteArray bytes = FileAccess::get_file_as_bytes(p_path, &read_error);
	ERR_FAIL_COND_V_MSG(read_error != OK, false, vformat("Cannot read '%s' (%s).", p_path, error_names[read_error]));
	ERR_FAIL_COND_V_MSG(bytes.size() < PTE_IDENTIFIER_OFFSET + 4, false,
			vformat("'%s' is %d bytes long, too short to be an ExecuTorch program (.pte).", p_path, bytes.size()));
	ERR_FAIL_COND_V_MSG(bytes[PTE_IDENTIFIER_OFFSET] != 'E' || bytes[PTE_IDENTIFIER_OFFSET + 1] != 'T', false,
			vformat("'%s' is not an ExecuTorch program (.pte): its header lacks the 'ET' identifier. Export the model with ExecuTorch (`python -m model_tools export`).", p_path));

	// Load into locals first, so a failure keeps the previously loaded program.
	std::unique_ptr<Module> loaded = std::make_unique<Module>(std::make_unique<BufferDataLoader>(bytes.ptr(), bytes.size()));
	// InternalConsistency checks the whole flatbuffer, so a truncated or
	// corrupted file fails here instead of crashing at inference time.
	const ETError load_error = loaded->load(Program::Verification::InternalConsistency);
	ERR_FAIL_COND_V_MSG(load_error != ETError::Ok, false,
			vformat("ExecuTorch cannot load '%s': %s (error 0x%x). The file is truncated, corrupted or from an incompatible ExecuTorch version; re-export it.",
					p_path, executorch::runtime::to_string(load_error), (int)load_error));

	auto names = loaded->method_names();
	ERR_FAIL_COND_V_MSG(!names.ok(), false, vformat("ExecuTorch cannot list the methods of '%s'.", p_path));
	std::vector<std::string> sorted_names(names->begin(), names->end());
	std::sort(sorted_names.begin(), sorted_names.end());
	PackedStringArray loaded_names;
	for (const std::string &method_name : sorted_names) {
		// Loading every method now turns a missing operator or backend into a
		// load error with the method's name, not a failure at first inference.
		const ETError method_error = loaded->load_method(method_name);
		ERR_FAIL_COND_V_MSG(method_error != ETError::Ok, false,
				vformat("ExecuTorch cannot load method '%s' of '%s': %s (error 0x%x). The program needs an operator or backend this build does not link.",
						String::utf8(method_name.c_str()), p_path, executorch::runtime::to_string(method_error), (int)method_error));
		loaded_names.push_back(String::utf8(method_name.c_str()));
	}

	MutexLock lock(module_mutex);
	module = std::move(loaded);
	program_bytes = bytes;
	method_names = loaded_names;
	source_path = p_path;
	return true;
}

bool ExecuTorchModel::is_loaded() const {
	MutexLock lock(module_mutex);
	return module != nullptr;
}

String ExecuTorchModel::get_source_path() const {
	return source_path;
}

int64_t ExecuTorchModel::get_file_size() const {
	return program_bytes.size();
}

PackedStringArray ExecuTorchModel::get_method_names() const {
	return method_names;
}

Dictionary ExecuTorchModel::get_method_info(const String &p_method) const {
	MutexLock lock(module_mutex);
	ERR_FAIL_NULL_V_MSG(module, Dictionary(), "No program is loaded. Call load_from_file() first.");
	ERR_FAIL_COND_V_MSG(!method_names.has(p_method), Dictionary(),
			vformat("The program has no method '%s'; its methods are: %s.", p_method, String(", ").join(method_names)));
	auto meta = module->method_meta(p_method.utf8().get_data());
	ERR_FAIL_COND_V_MSG(!meta.ok(), Dictionary(), vformat("ExecuTorch has no metadata for method '%s'.", p_method));

	Array inputs;
	for (size_t i = 0; i < meta->num_inputs(); i++) {
		auto tag = meta->input_tag(i);
		inputs.push_back(describe_value(tag.ok() ? tag.get() : Tag::None, meta->input_tensor_meta(i), (int)i));
	}
	Array outputs;
	for (size_t i = 0; i < meta->num_outputs(); i++) {
		auto tag = meta->output_tag(i);
		outputs.push_back(describe_value(tag.ok() ? tag.get() : Tag::None, meta->output_tensor_meta(i), (int)i));
	}
	PackedStringArray backends;
	for (size_t i = 0; i < meta->num_backends(); i++) {
		auto backend = meta->get_backend_name(i);
		if (backend.ok()) {
			backends.push_back(String::utf8(backend.get()));
		}
	}
	Dictionary info;
	info["name"] = p_method;
	info["inputs"] = inputs;
	info["outputs"] = outputs;
	info["backends"] = backends;
	return info;
}

// --- Inference ----------------------------------------------------------------

String ExecuTorchModel::run(const String &p_method, const Dictionary &p_inputs, Dictionary &r_outputs, uint64_t &r_execute_nsec) {
	MutexLock lock(module_mutex);
	if (!module) {
		return "No model is loaded. Call load_model_from_file() first.";
	}
	if (!method_names.has(p_method)) {
		return vformat("The model has no method '%s'; its methods are: %s.", p_method, String(", ").join(method_names));
	}
	const std::string method_name = p_method.utf8().get_data();
	auto meta = module->method_meta(method_name);
	if (!meta.ok()) {
		return vformat("ExecuTorch has no metadata for method '%s'.", p_method);
	}
	const int input_count = (int)meta->num_inputs();

	// Every key must name an input of this method.
	for (const Variant &key : p_inputs.keys()) {
		const String key_text = key;
		const bool well_formed = key.is_string() && key_text.begins_with("input_") && key_text.substr(6).is_valid_int();
		const int64_t index = well_formed ? key_text.substr(6).to_int() : -1;
		if (!well_formed || index < 0 || index >= input_count) {
			return vformat("Unknown input '%s': method '%s' takes %d input(s), keyed input_0 to input_%d.", key, p_method,
					input_count, input_count - 1);
		}
	}

	LocalVector<double> values;
	std::vector<std::vector<uint8_t>> staging(input_count); // tensor bytes, alive until execute returns
	std::vector<TensorPtr> tensors;
	std::vector<EValue> evalues;
	evalues.reserve(input_count);
	for (int i = 0; i < input_count; i++) {
		const String key = "input_" + itos(i);
		if (!p_inputs.has(key)) {
			return vformat("Missing input '%s': method '%s' takes %d input(s).", key, p_method, input_count);
		}
		const String read_error = read_numbers(key, p_inputs[key], values);
		if (!read_error.is_empty()) {
			return read_error;
		}
		auto tag = meta->input_tag(i);
		if (!tag.ok()) {
			return vformat("ExecuTorch has no type for input %d of '%s'.", i, p_method);
		}
		switch (tag.get()) {
			case Tag::Tensor: {
				auto info = meta->input_tensor_meta(i);
				if (!info.ok()) {
					return vformat("ExecuTorch has no tensor metadata for input %d of '%s'.", i, p_method);
				}
				std::vector<int32_t> shape(info->sizes().begin(), info->sizes().end());
				const int64_t expected = element_count(shape);
				if ((int64_t)values.size() != expected) {
					return vformat("'%s' has %d value(s) but input %d of '%s' has shape %s (%d value(s)); pass exactly %d number(s).",
							key, (int64_t)values.size(), i, p_method, shape_text(shape), expected, expected);
				}
				if (!store_values(info->scalar_type(), values, staging[i])) {
					return vformat("Input %d of '%s' has dtype %s, which run_inference cannot fill from numbers.", i, p_method,
							dtype_name(info->scalar_type()));
				}
				tensors.push_back(executorch::extension::from_blob(staging[i].data(), shape, info->scalar_type()));
				evalues.emplace_back(*tensors.back());
				break;
			}
			case Tag::Int:
			case Tag::Double:
			case Tag::Bool: {
				if (values.size() != 1) {
					return vformat("'%s' has %d values but input %d of '%s' is a single %s; pass one number.", key,
							(int64_t)values.size(), i, p_method, tag_name(tag.get()));
				}
				if (tag.get() == Tag::Int) {
					evalues.emplace_back((int64_t)values[0]);
				} else if (tag.get() == Tag::Double) {
					evalues.emplace_back(values[0]);
				} else {
					evalues.emplace_back(values[0] != 0.0);
				}
				break;
			}
			default:
				return vformat("Input %d of '%s' is a %s, which run_inference cannot pass.", i, p_method, tag_name(tag.get()));
		}
	}

	const auto started = std::chrono::steady_clock::now();
	auto result = module->execute(method_name, evalues);
	const auto finished = std::chrono::steady_clock::now();
	if (!result.ok()) {
		return vformat("ExecuTorch failed to execute '%s': %s (error 0x%x).", p_method,
				executorch::runtime::to_string(result.error()), (int)result.error());
	}
	r_execute_nsec = (uint64_t)std::chrono::duration_cast<std::chrono::nanoseconds>(finished - started).count();

	Dictionary outputs;
	for (size_t i = 0; i < result->size(); i++) {
		Variant value;
		if (!output_to_variant(result->at(i), value)) {
			return vformat("Output %d of '%s' has a type run_inference cannot return.", (int64_t)i, p_method);
		}
		outputs["output_" + itos(i)] = value;
	}
	r_outputs = outputs;
	return String();
}

ExecuTorchModel::ExecuTorchModel() = default;

// Defined here, where Module is a complete type, for the unique_ptr.
ExecuTorchModel::~ExecuTorchModel() = default;
