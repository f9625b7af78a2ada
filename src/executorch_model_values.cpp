// Variant <-> EValue for ExecuTorchModel: GDScript's numbers, packed arrays and
// tensors into a method's inputs, and its outputs back into packed arrays,
// numbers or tensors. The one place both directions live.

#include "executorch_model_internal.h"

#include <cstring>

using executorch::aten::ScalarType;
using executorch::extension::module::Module;
using executorch::runtime::EValue;
using executorch::runtime::Tag;
using executorch::runtime::TensorShapeDynamism;

namespace executorch_model_values {

// ExecuTorch's dtypes that GDScript tensors carry: ExecuTorchTensor's table.
bool dtype_from_scalar_type(ScalarType p_type, ExecuTorchTensor::DType &r_dtype) {
	const ExecuTorchTensor::DTypeFacts *facts = ExecuTorchTensor::dtype_facts_of_scalar_type((int8_t)p_type);
	if (facts) {
		r_dtype = facts->dtype;
	}
	return facts != nullptr;
}

const char *dtype_name(ScalarType p_type) {
	const ExecuTorchTensor::DTypeFacts *facts = ExecuTorchTensor::dtype_facts_of_scalar_type((int8_t)p_type);
	return facts ? facts->name : "unsupported";
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

const char *dynamism_name(TensorShapeDynamism p_dynamism) {
	// The names model_tools uses for the flatbuffer's Tensor.shape_dynamism.
	switch (p_dynamism) {
		case TensorShapeDynamism::DYNAMIC_BOUND:
			return "dynamic_bound";
		case TensorShapeDynamism::DYNAMIC_UNBOUND:
			return "dynamic_unbound";
		default:
			return "static";
	}
}

Dictionary describe_value(Tag p_tag, const executorch::runtime::Result<executorch::runtime::TensorInfo> &p_info, int p_index, TensorShapeDynamism p_dynamism) {
	Dictionary entry;
	entry["index"] = p_index;
	if (p_tag == Tag::Tensor && p_info.ok()) {
		entry["dynamism"] = dynamism_name(p_dynamism);
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
		entry["dynamism"] = "static";
		entry["shape"] = PackedInt64Array();
		entry["numel"] = 1;
	}
	return entry;
}

// How an input is named in error messages: 'input_0' for run_inference's
// dictionary, inputs[0] for execute()'s array. Built only when an error needs it.
String input_label(bool p_keyed, int p_index) {
	return p_keyed ? vformat("'input_%d'", p_index) : vformat("inputs[%d]", p_index);
}

// Reads a number input (an Array of numbers, a packed numeric array or a bare
// number) with the same conversion as ExecuTorchTensor.create(). Returns an
// error sentence, or "" on success.
String read_numbers(bool p_keyed, int p_index, const Variant &p_value, TensorElements &r_elements) {
	switch (r_elements.read(p_value, true)) {
		case TensorElements::NOT_A_NUMBER:
			return vformat("%s[%d] is a %s; inputs must be numbers.", input_label(p_keyed, p_index), r_elements.problem_index(),
					Variant::get_type_name(r_elements.problem_type()));
		case TensorElements::NOT_NUMBERS:
			return vformat("%s is a %s; pass an Array of numbers, a packed numeric array or an ExecuTorchTensor.", input_label(p_keyed, p_index),
					Variant::get_type_name(r_elements.problem_type()));
		case TensorElements::OK:
			break;
	}
	return String();
}

template <typename T>
PackedInt64Array integers_of(const executorch::aten::Tensor &p_tensor) {
	PackedInt64Array values;
	values.resize(p_tensor.numel());
	const T *data = p_tensor.const_data_ptr<T>();
	int64_t *out = values.ptrw();
	for (int64_t i = 0; i < values.size(); i++) {
		out[i] = data[i];
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
			uint8_t *out = values.ptrw();
			for (int64_t i = 0; i < values.size(); i++) {
				out[i] = data[i] ? 1 : 0;
			}
			r_variant = values;
			return true;
		}
		default:
			return false;
	}
}


// Points the input's cached tensor at its staging bytes with `p_rank` sizes,
// rebuilding the tensor only when the sizes or the buffer changed.
template <typename Size>
const executorch::aten::Tensor &staged_tensor(ExecuTorchModel::MethodState::Input &r_input, const Size *p_sizes, size_t p_rank) {
	bool reusable = r_input.tensor && r_input.tensor->const_data_ptr() == r_input.staging.data() && (size_t)r_input.tensor->dim() == p_rank;
	for (size_t i = 0; reusable && i < p_rank; i++) {
		reusable = r_input.tensor->size(i) == p_sizes[i];
	}
	if (!reusable) {
		std::vector<executorch::aten::SizesType> sizes(p_sizes, p_sizes + p_rank);
		r_input.tensor = executorch::extension::from_blob(r_input.staging.data(), std::move(sizes), r_input.type);
	}
	return *r_input.tensor;
}

// Turns one GDScript value into input `p_index` of a method: an
// ExecuTorchTensor (dtype must match, shape is its own), numbers (converted to
// the declared dtype and shape), or a scalar for a scalar input.
String prepare_input(ExecuTorchModel::MethodState::Input &r_input, const String &p_method, int p_index, bool p_keyed, const Variant &p_value, std::vector<EValue> &r_values) {
	if (r_input.tag == Tag::Tensor) {
		if (!r_input.has_tensor_info) {
			return vformat("ExecuTorch has no tensor metadata for input %d of '%s'.", p_index, p_method);
		}
		const std::vector<int32_t> &declared = r_input.sizes;
		std::vector<uint8_t> &staging = r_input.staging;
		const ExecuTorchTensor *tensor = Object::cast_to<ExecuTorchTensor>(p_value.get_validated_object());
		if (tensor) {
			ExecuTorchTensor::DType expected;
			if (!dtype_from_scalar_type(r_input.type, expected) || expected != tensor->get_dtype()) {
				return vformat("%s has dtype %s but input %d of '%s' is %s; create the tensor with that dtype.", input_label(p_keyed, p_index),
						tensor->get_dtype_name(), p_index, p_method, dtype_name(r_input.type));
			}
			const PackedInt64Array &shape = tensor->get_shape_ref();
			if ((size_t)shape.size() != declared.size()) {
				return vformat("%s has shape %s (rank %d) but input %d of '%s' has shape %s (rank %d).", input_label(p_keyed, p_index), shape,
						shape.size(), p_index, p_method, shape_text(declared), (int64_t)declared.size());
			}
			for (size_t d = 0; d < declared.size(); d++) {
				if (shape[d] > declared[d]) {
					// Said here, before any copy: ExecuTorch's own refusal names no input.
					return vformat("%s has shape %s but input %d of '%s' allows at most %s (static sizes are exact, dynamic ones upper bounds); split the input, or export with larger bounds.",
							input_label(p_keyed, p_index), shape, p_index, p_method, shape_text(declared));
				}
			}
			const PackedByteArray &bytes = tensor->get_bytes();
			staging.resize(bytes.size());
			if (bytes.size() > 0) {
				memcpy(staging.data(), bytes.ptr(), bytes.size());
			}
			// ExecuTorch checks a differing size against the dynamic dimension's bound.
			r_values.emplace_back(staged_tensor(r_input, shape.ptr(), shape.size()));
			return String();
		}
		const int64_t expected = element_count(declared);
		TensorElements elements;
		const String read_error = read_numbers(p_keyed, p_index, p_value, elements);
		if (!read_error.is_empty()) {
			return read_error;
		}
		if (elements.size() != expected) {
			return vformat("%s has %d value(s) but input %d of '%s' has shape %s (%d value(s)); pass exactly %d number(s).",
					input_label(p_keyed, p_index), elements.size(), p_index, p_method, shape_text(declared), expected, expected);
		}
		ExecuTorchTensor::DType dtype;
		if (!dtype_from_scalar_type(r_input.type, dtype)) {
			return vformat("Input %d of '%s' has dtype %s, which cannot be filled from numbers.", p_index, p_method,
					dtype_name(r_input.type));
		}
		const int64_t bad = elements.first_not_integral(dtype);
		if (bad >= 0) {
			return vformat("%s[%d] is %s, which has no %s value for input %d of '%s'; pass finite numbers within the int64 range.", input_label(p_keyed, p_index),
					bad, String::num_scientific(elements.as_double(bad)), dtype_name(r_input.type), p_index, p_method);
		}
		staging.resize(expected * ExecuTorchTensor::element_size(dtype));
		elements.write(dtype, staging.data());
		r_values.emplace_back(staged_tensor(r_input, declared.data(), declared.size()));
		return String();
	}
	if (r_input.tag != Tag::Int && r_input.tag != Tag::Double && r_input.tag != Tag::Bool) {
		return vformat("Input %d of '%s' is a %s, which cannot be passed from GDScript.", p_index, p_method, tag_name(r_input.tag));
	}
	TensorElements elements;
	const String read_error = read_numbers(p_keyed, p_index, p_value, elements);
	if (!read_error.is_empty()) {
		return read_error;
	}
	if (elements.size() != 1) {
		return vformat("%s has %d values but input %d of '%s' is a single %s; pass one number.", input_label(p_keyed, p_index),
				elements.size(), p_index, p_method, tag_name(r_input.tag));
	}
	if (r_input.tag == Tag::Int) {
		if (elements.first_not_integral(ExecuTorchTensor::DTYPE_INT64) == 0) {
			return vformat("%s is %s, which has no int value for input %d of '%s'; pass a finite number within the int64 range.", input_label(p_keyed, p_index),
					String::num_scientific(elements.as_double(0)), p_index, p_method);
		}
		r_values.emplace_back(elements.as_int(0));
	} else if (r_input.tag == Tag::Double) {
		r_values.emplace_back(elements.as_double(0));
	} else {
		r_values.emplace_back(elements.is_integral(0) ? elements.as_int(0) != 0 : elements.as_double(0) != 0.0);
	}
	return String();
}

// Reads the shape dynamism of a loaded method's input and output tensors.
// ExecuTorch 1.5's MethodMeta does not carry it, but the method's own tensors
// do; reaching them needs Module::method() and Method::get_input(), which
// ExecuTorch marks deprecated for running a method, not for reading it.
void read_dynamism(Module &p_module, const std::string &p_method, std::vector<TensorShapeDynamism> &r_inputs,
		std::vector<TensorShapeDynamism> &r_outputs, size_t p_input_count, size_t p_output_count) {
	r_inputs.assign(p_input_count, TensorShapeDynamism::STATIC);
	r_outputs.assign(p_output_count, TensorShapeDynamism::STATIC);
	auto method = p_module.method(p_method);
	if (!method.ok()) {
		return;
	}
	for (size_t i = 0; i < p_input_count && i < method.get()->inputs_size(); i++) {
		const EValue &value = method.get()->get_input(i);
		if (value.isTensor()) {
			r_inputs[i] = value.toTensor().shape_dynamism();
		}
	}
	for (size_t i = 0; i < p_output_count && i < method.get()->outputs_size(); i++) {
		const EValue &value = method.get()->get_output(i);
		if (value.isTensor()) {
			r_outputs[i] = value.toTensor().shape_dynamism();
		}
	}
}

// Copies one output into an ExecuTorchTensor (scalars become numbers):
// `r_tensor` itself when only the model still holds it, a new tensor otherwise.
Variant output_to_tensor(const EValue &p_value, Ref<ExecuTorchTensor> &r_tensor) {
	if (!p_value.isTensor()) {
		Variant scalar;
		return output_to_variant(p_value, scalar) ? scalar : Variant();
	}
	const executorch::aten::Tensor &tensor = p_value.toTensor();
	ExecuTorchTensor::DType dtype;
	if (!dtype_from_scalar_type(tensor.scalar_type(), dtype)) {
		return Variant();
	}
	if (r_tensor.is_null() || r_tensor->get_reference_count() > 1) {
		r_tensor.instantiate();
	}
	r_tensor->assign(dtype, tensor.sizes().data(), (int)tensor.dim(), static_cast<const uint8_t *>(tensor.const_data_ptr()), tensor.nbytes());
	return r_tensor;
}

} // namespace executorch_model_values
