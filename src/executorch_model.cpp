#include "executorch_model.h"

#include "executorch_platform.h"
#include "executorch_settings.h"
#include "executorch_tensor.h"

#include "core/config/project_settings.h"
#include "core/io/file_access.h"
#include "core/io/file_access_pack.h"
#include "core/templates/local_vector.h"

#include <executorch/extension/data_loader/buffer_data_loader.h>
#include <executorch/extension/module/module.h>
#include <executorch/extension/tensor/tensor.h>

#include "pte/pte_validator.h"

#include <executorch/runtime/core/hierarchical_allocator.h>

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <cstdlib>
#include <limits>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <string>
#include <vector>

using executorch::aten::ScalarType;
using executorch::extension::BufferDataLoader;
using executorch::extension::TensorPtr;
using executorch::extension::module::Module;
using executorch::runtime::EValue;
using executorch::runtime::Program;
using executorch::runtime::Tag;
using executorch::runtime::TensorShapeDynamism;
using ETError = executorch::runtime::Error;

// Everything one method needs per call, built once at load and reused from call
// to call under module_mutex, so a call looks nothing up by name in ExecuTorch's
// metadata and, once warm, allocates nothing on the way in.
struct ExecuTorchModel::MethodState {
	struct Input {
		// From ExecuTorch's method metadata.
		Tag tag = Tag::None;
		bool has_tensor_info = false;
		ScalarType type = ScalarType::Float;
		std::vector<int32_t> sizes; // declared; a dynamic dimension's upper bound
		// The bytes ExecuTorch reads. Reserved at the declared size, so their
		// address stays put: a delegate such as XNNPACK re-plans when an input's
		// address changes, which doubled the overhead of a small MLP when every
		// call got fresh buffers.
		std::vector<uint8_t> staging;
		// Wraps `staging` with the sizes of the last call; rebuilt only when the
		// shape changes or `staging` moved.
		TensorPtr tensor;
	};
	String name;
	std::string utf8_name;
	std::vector<Input> inputs;
	// Each input's and output's shape dynamism (static for non-tensors). For
	// dynamic_bound tensors the metadata's sizes are the upper bound.
	std::vector<TensorShapeDynamism> input_dynamism;
	std::vector<TensorShapeDynamism> output_dynamism;
	// run_inference's keys, "input_0", ... and "output_0", ...
	LocalVector<String> input_keys;
	LocalVector<String> output_keys;
	// This call's inputs, in order (they point into the caller's Array or
	// Dictionary), and the values handed to ExecuTorch's execute made from them.
	// Capacity is kept between calls.
	LocalVector<const Variant *> call_inputs;
	std::vector<EValue> values;
	// execute()'s output tensors of the last call. One that nobody else holds
	// any more is refilled by the next call instead of allocating a new object:
	// a loop that drops its results reuses the same tensors.
	LocalVector<Ref<ExecuTorchTensor>> output_tensors;
};

// The program's bytes for the model's lifetime, read by ExecuTorch in place
// (BufferDataLoader): a 64-byte-aligned copy (ExecuTorch wants 16), or a
// read-only mapping of a file that nothing can rewrite. ExecuTorch reads the
// program lazily (method metadata on every call, weights in every kernel), so
// a mapping of a file that changes after the validator checked it would hand
// ExecuTorch unchecked bytes: a rewritten file aborted in ExecuTorch's
// asserts, a truncated one raised SIGBUS. Only a file on a read-only
// filesystem is mapped.
struct ExecuTorchModel::ProgramBytes {
	const uint8_t *data = nullptr;
	size_t size = 0;
	void *mapping = nullptr;
	uint8_t *copy = nullptr;

	String map(const String &p_disk_path) {
		const int fd = open(p_disk_path.utf8().get_data(), O_RDONLY | O_CLOEXEC);
		if (fd < 0) {
			return String::utf8(strerror(errno)) + ".";
		}
		struct stat info;
		if (fstat(fd, &info) != 0 || !S_ISREG(info.st_mode)) {
			close(fd);
			return "it is not a regular file.";
		}
		size = (size_t)info.st_size;
		if (size > 0) {
			mapping = mmap(nullptr, size, PROT_READ, MAP_PRIVATE, fd, 0);
		}
		close(fd);
		if (size > 0 && mapping == MAP_FAILED) {
			mapping = nullptr;
			return vformat("it cannot be memory-mapped (%s).", String::utf8(strerror(errno)));
		}
		data = static_cast<const uint8_t *>(mapping);
		return String();
	}

	String read(const String &p_path) {
		Ref<FileAccess> file = FileAccess::open(p_path, FileAccess::READ);
		if (file.is_null()) {
			return vformat("%s.", error_names[FileAccess::get_open_error()]);
		}
		const uint64_t length = file->get_length();
		if (length > (uint64_t)std::numeric_limits<int64_t>::max() / 2) {
			return "it is too large.";
		}
		if (posix_memalign(reinterpret_cast<void **>(&copy), 64, MAX(length, (uint64_t)64)) != 0) {
			copy = nullptr;
			return vformat("there is no memory for its %s.", String::humanize_size(length));
		}
		size = (size_t)file->get_buffer(copy, length);
		data = copy;
		return size == length ? String() : String("it could not be read to its end.");
	}

	~ProgramBytes() {
		if (mapping) {
			munmap(mapping, size);
		}
		free(copy);
	}
};

// One method's memory-planned buffers, sized from its metadata, allocated
// without exceptions (the validator has already bounded their sum), and the
// allocator ExecuTorch plans tensors into.
struct ExecuTorchModel::PlannedMemory {
	std::vector<uint8_t *> buffers;
	std::vector<executorch::runtime::Span<uint8_t>> spans;
	std::unique_ptr<executorch::runtime::HierarchicalAllocator> allocator;

	String allocate(Program &p_program, const std::string &p_method) {
		auto meta = p_program.method_meta(p_method.c_str());
		if (!meta.ok()) {
			return "ExecuTorch has no metadata for it.";
		}
		for (size_t i = 0; i < meta->num_memory_planned_buffers(); i++) {
			auto size = meta->memory_planned_buffer_size(i);
			if (!size.ok() || size.get() < 0) {
				return vformat("its planned buffer %d has no valid size.", (int64_t)i);
			}
			uint8_t *buffer = static_cast<uint8_t *>(std::malloc(MAX((size_t)size.get(), (size_t)1)));
			if (!buffer) {
				return vformat("there is no memory for its planned buffer %d (%s).", (int64_t)i, String::humanize_size(size.get()));
			}
			buffers.push_back(buffer);
			spans.emplace_back(buffer, (size_t)size.get());
		}
		allocator = std::make_unique<executorch::runtime::HierarchicalAllocator>(
				executorch::runtime::Span<executorch::runtime::Span<uint8_t>>(spans.data(), spans.size()));
		return String();
	}

	~PlannedMemory() {
		for (uint8_t *buffer : buffers) {
			std::free(buffer);
		}
	}
};

namespace {

// The byte range of a .pte file that carries the flatbuffer file identifier.
constexpr int PTE_IDENTIFIER_OFFSET = 4;

// ExecuTorch's dtypes that GDScript tensors carry, with ExecuTorchTensor's names
// for them (PyTorch's: what an ML engineer reads in `tensor.dtype`).
struct DTypeEntry {
	ScalarType scalar_type;
	ExecuTorchTensor::DType dtype;
};
constexpr DTypeEntry DTYPES[] = {
	{ ScalarType::Float, ExecuTorchTensor::DTYPE_FLOAT32 },
	{ ScalarType::Double, ExecuTorchTensor::DTYPE_FLOAT64 },
	{ ScalarType::Half, ExecuTorchTensor::DTYPE_FLOAT16 },
	{ ScalarType::BFloat16, ExecuTorchTensor::DTYPE_BFLOAT16 },
	{ ScalarType::Char, ExecuTorchTensor::DTYPE_INT8 },
	{ ScalarType::Short, ExecuTorchTensor::DTYPE_INT16 },
	{ ScalarType::Int, ExecuTorchTensor::DTYPE_INT32 },
	{ ScalarType::Long, ExecuTorchTensor::DTYPE_INT64 },
	{ ScalarType::Byte, ExecuTorchTensor::DTYPE_UINT8 },
	{ ScalarType::Bool, ExecuTorchTensor::DTYPE_BOOL },
};

bool dtype_from_scalar_type(ScalarType p_type, ExecuTorchTensor::DType &r_dtype) {
	for (const DTypeEntry &entry : DTYPES) {
		if (entry.scalar_type == p_type) {
			r_dtype = entry.dtype;
			return true;
		}
	}
	return false;
}

const char *dtype_name(ScalarType p_type) {
	ExecuTorchTensor::DType dtype;
	return dtype_from_scalar_type(p_type, dtype) ? ExecuTorchTensor::dtype_to_name(dtype) : "unsupported";
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

// Whether nothing can rewrite or truncate the file at `p_disk_path` while it
// is loaded: it lies on a filesystem mounted read-only (a squashfs or ISO
// image, an AppImage, a read-only bind mount). Anything else may change under
// a mapping, by this game, another process or the user.
bool on_read_only_filesystem(const String &p_disk_path) {
	struct statvfs info;
	return statvfs(p_disk_path.utf8().get_data(), &info) == 0 && (info.f_flag & ST_RDONLY) != 0;
}

const char *file_kind(mode_t p_mode) {
	return S_ISFIFO(p_mode) ? "a FIFO" : S_ISCHR(p_mode) ? "a character device" : S_ISBLK(p_mode) ? "a block device" : S_ISSOCK(p_mode) ? "a socket" : "a special file";
}

// Why the file at absolute `p_disk_path` (shown as `p_path`) cannot be a
// program to read, or "" when it is a regular file this process may read.
String disk_file_problem(const String &p_path, const String &p_disk_path) {
	struct stat info;
	const CharString native = p_disk_path.utf8();
	if (stat(native.get_data(), &info) != 0) {
		if (errno == ENOENT || errno == ENOTDIR) {
			return vformat("No file at '%s'. Check the path; export models with `python -m model_tools export`.", p_path);
		}
		return vformat("'%s' exists but cannot be inspected (%s).", p_path, String::utf8(strerror(errno)));
	}
	if (S_ISDIR(info.st_mode)) {
		return vformat("'%s' is a directory, not a .pte file. Pass the path of the program file inside it.", p_path);
	}
	if (!S_ISREG(info.st_mode)) {
		return vformat("'%s' exists but is not a regular file (it is %s); ExecuTorch programs are read from regular .pte files.", p_path, file_kind(info.st_mode));
	}
	if (access(native.get_data(), R_OK) != 0) {
		return vformat("'%s' exists but cannot be read (%s). Check its permissions.", p_path, String::utf8(strerror(errno)));
	}
	return String();
}

} // namespace

// --- Loading ---------------------------------------------------------------

bool ExecuTorchModel::load_from_file(const String &p_path) {
	const auto started = std::chrono::steady_clock::now();
	ERR_FAIL_COND_V_MSG(p_path.is_empty(), false, "The 'path' of the .pte file is empty. Pass a res://, user:// or absolute path.");

	// Every program is read into memory (through FileAccess, so files inside a
	// .pck work), except a plain file on a read-only filesystem: that one is
	// memory-mapped, so only the pages ExecuTorch touches are loaded.
	const bool in_pack = PackedData::get_singleton() && !PackedData::get_singleton()->is_disabled() &&
			PackedData::get_singleton()->has_path(p_path);
	const String disk_path = ProjectSettings::get_singleton()->globalize_path(p_path);
	const bool on_disk = !in_pack && disk_path.is_absolute_path();
	if (on_disk) {
		// Before opening: a FIFO would block the open, and FileAccess reports
		// directories and devices as missing.
		const String problem = disk_file_problem(p_path, disk_path);
		ERR_FAIL_COND_V_MSG(!problem.is_empty(), false, problem);
	} else {
		ERR_FAIL_COND_V_MSG(!FileAccess::exists(p_path), false,
				vformat("No file at '%s'. Check the path; export models with `python -m model_tools export`.", p_path));
	}
	const bool mappable = on_disk && on_read_only_filesystem(disk_path);

	// The bytes are read (or mapped) once here; the validator checks exactly
	// these bytes, and ExecuTorch then reads the same ones in place. Loading
	// into locals first keeps the previous program when anything fails.
	std::unique_ptr<ProgramBytes> loaded_bytes = std::make_unique<ProgramBytes>();
	const String read_error = mappable ? loaded_bytes->map(disk_path) : loaded_bytes->read(p_path);
	ERR_FAIL_COND_V_MSG(!read_error.is_empty(), false, vformat("Cannot read '%s': %s", p_path, read_error));
	const int64_t file_size = (int64_t)loaded_bytes->size;
	ERR_FAIL_COND_V_MSG(file_size < PTE_IDENTIFIER_OFFSET + 4, false,
			vformat("'%s' is %d bytes long, too short to be an ExecuTorch program (.pte).", p_path, file_size));
	const uint8_t *data = loaded_bytes->data;
	ERR_FAIL_COND_V_MSG(data[PTE_IDENTIFIER_OFFSET] != 'E' || data[PTE_IDENTIFIER_OFFSET + 1] != 'T', false,
			vformat("'%s' is not an ExecuTorch program (.pte): its header lacks the 'ET' identifier. Export the model with ExecuTorch (`python -m model_tools export`).", p_path));

	// ExecuTorch's prebuilt runtime trusts a program's meaning (indices,
	// argument kinds, sizes, delegate payloads) and aborts or crashes on a
	// corrupt one; the module's own checks refuse those first (src/pte/).
	const auto check_started = std::chrono::steady_clock::now();
	const std::string problem = pte::validate_program(data, loaded_bytes->size, executorch_program_limits());
	executorch_stats().last_check_nsec.set((uint64_t)std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now() - check_started).count());
	ERR_FAIL_COND_V_MSG(!problem.empty(), false,
			vformat("'%s' is not a program this engine can run safely, so it was not loaded: %s", p_path, String::utf8(problem.c_str())));

	std::unique_ptr<Module> loaded_module = std::make_unique<Module>(std::make_unique<BufferDataLoader>(data, loaded_bytes->size));
	const ETError load_error = loaded_module->load(Program::Verification::InternalConsistency);
	ERR_FAIL_COND_V_MSG(load_error != ETError::Ok, false,
			vformat("ExecuTorch cannot load '%s': %s (error 0x%x). The file is truncated, corrupted or from an incompatible ExecuTorch version; re-export it.",
					p_path, executorch::runtime::to_string(load_error), (int)load_error));

	// The program's own API reports a bad method name as an error (Module's
	// method_names() would abort on one).
	const std::shared_ptr<Program> program = loaded_module->program();
	std::vector<std::string> sorted_names;
	for (size_t i = 0; program && i < program->num_methods(); i++) {
		auto method_name = program->get_method_name(i); // (`name` would shadow Resource::name)
		ERR_FAIL_COND_V_MSG(!method_name.ok(), false, vformat("ExecuTorch cannot read the name of method %d of '%s'.", (int64_t)i, p_path));
		sorted_names.push_back(method_name.get());
	}
	ERR_FAIL_COND_V_MSG(sorted_names.empty(), false, vformat("'%s' has no methods to run; re-export the model.", p_path));
	std::sort(sorted_names.begin(), sorted_names.end());
	PackedStringArray loaded_names;
	std::vector<std::unique_ptr<PlannedMemory>> loaded_planned;
	for (const std::string &method_name : sorted_names) {
		// Planned memory comes from here, not from Module: an allocation that
		// fails is an error, never an uncaught std::bad_alloc.
		std::unique_ptr<PlannedMemory> planned = std::make_unique<PlannedMemory>();
		const String memory_error = planned->allocate(*program, method_name);
		ERR_FAIL_COND_V_MSG(!memory_error.is_empty(), false, vformat("Cannot load method '%s' of '%s': %s", String::utf8(method_name.c_str()), p_path, memory_error));
		// Loading every method now turns a missing operator or backend into a
		// load error with the method's name, not a failure at first inference.
		const ETError method_error = [&] {
			const ExecuTorchPoolUse pool_use; // XNNPACK may pack weights on the pool
			return loaded_module->load_method(method_name, planned->allocator.get());
		}();
		ERR_FAIL_COND_V_MSG(method_error != ETError::Ok, false,
				vformat("ExecuTorch cannot load method '%s' of '%s': %s (error 0x%x). The program needs an operator or backend this build does not link, or is corrupted.",
						String::utf8(method_name.c_str()), p_path, executorch::runtime::to_string(method_error), (int)method_error));
		loaded_names.push_back(String::utf8(method_name.c_str()));
		loaded_planned.push_back(std::move(planned));
	}

	std::vector<MethodState> loaded_methods(sorted_names.size());
	for (size_t m = 0; m < sorted_names.size(); m++) {
		auto meta = loaded_module->method_meta(sorted_names[m]);
		ERR_FAIL_COND_V_MSG(!meta.ok(), false, vformat("ExecuTorch has no metadata for method '%s' of '%s'.", loaded_names[m], p_path));
		MethodState &state = loaded_methods[m];
		state.name = loaded_names[m];
		state.utf8_name = sorted_names[m];
		state.inputs.resize(meta->num_inputs());
		state.values.reserve(meta->num_inputs());
		for (size_t i = 0; i < meta->num_inputs(); i++) {
			MethodState::Input &input = state.inputs[i];
			auto tag = meta->input_tag(i);
			input.tag = tag.ok() ? tag.get() : Tag::None;
			auto tensor = meta->input_tensor_meta(i);
			if (input.tag == Tag::Tensor && tensor.ok()) {
				input.has_tensor_info = true;
				input.type = tensor->scalar_type();
				input.sizes.assign(tensor->sizes().begin(), tensor->sizes().end());
				input.staging.reserve(tensor->nbytes());
			}
			state.input_keys.push_back("input_" + itos(i));
		}
		for (size_t i = 0; i < meta->num_outputs(); i++) {
			state.output_keys.push_back("output_" + itos(i));
		}
		state.output_tensors.resize(meta->num_outputs());
		read_dynamism(*loaded_module, state.utf8_name, state.input_dynamism, state.output_dynamism, meta->num_inputs(), meta->num_outputs());
	}

	MutexLock lock(module_mutex);
	MutexLock info_lock(info_mutex);
	// The old Module goes first: it reads the old bytes and planned memory.
	module.reset();
	module = std::move(loaded_module);
	planned_memory = std::move(loaded_planned);
	program_bytes = std::move(loaded_bytes);
	method_states = std::move(loaded_methods);
	program_size = file_size;
	memory_mapped = mappable;
	method_names = loaded_names;
	source_path = p_path;
	loaded.set();
	// For the last_load_ms monitor: load(), ResourceLoader and the runtime all come here.
	executorch_stats().last_load_nsec.set((uint64_t)std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now() - started).count());
	return true;
}

bool ExecuTorchModel::is_loaded() const {
	return loaded.is_set();
}

String ExecuTorchModel::get_source_path() const {
	MutexLock lock(info_mutex);
	return source_path;
}

int64_t ExecuTorchModel::get_file_size() const {
	MutexLock lock(info_mutex);
	return program_size;
}

bool ExecuTorchModel::is_memory_mapped() const {
	MutexLock lock(info_mutex);
	return memory_mapped;
}

PackedStringArray ExecuTorchModel::get_method_names() const {
	MutexLock lock(info_mutex);
	return method_names;
}

Dictionary ExecuTorchModel::get_method_info(const String &p_method) const {
	ERR_FAIL_COND_V_MSG(!is_loaded(), Dictionary(), "No program is loaded. Call load_from_file() first.");
	const Dictionary info = describe_method(p_method);
	ERR_FAIL_COND_V_MSG(info.is_empty(), Dictionary(),
			vformat("The program has no method '%s'; its methods are: %s.", p_method, String(", ").join(get_method_names())));
	return info;
}

Dictionary ExecuTorchModel::describe_method(const String &p_method) const {
	MutexLock lock(module_mutex);
	const MethodState *state = module ? _method_state(p_method) : nullptr;
	if (!state) {
		return Dictionary();
	}
	auto meta = module->method_meta(state->utf8_name);
	if (!meta.ok()) {
		return Dictionary();
	}
	Array inputs;
	for (size_t i = 0; i < meta->num_inputs(); i++) {
		auto tag = meta->input_tag(i);
		inputs.push_back(describe_value(tag.ok() ? tag.get() : Tag::None, meta->input_tensor_meta(i), (int)i,
				state->input_dynamism[i]));
	}
	Array outputs;
	for (size_t i = 0; i < meta->num_outputs(); i++) {
		auto tag = meta->output_tag(i);
		outputs.push_back(describe_value(tag.ok() ? tag.get() : Tag::None, meta->output_tensor_meta(i), (int)i,
				state->output_dynamism[i]));
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

const ExecuTorchModel::MethodState *ExecuTorchModel::_method_state(const String &p_method) const {
	for (const MethodState &state : method_states) {
		if (state.name == p_method) {
			return &state;
		}
	}
	return nullptr;
}

ExecuTorchModel::MethodState *ExecuTorchModel::_find_method(const String &p_method, String &r_error) {
	if (!module) {
		r_error = "No model is loaded. Call load_model_from_file() first.";
		return nullptr;
	}
	MethodState *state = const_cast<MethodState *>(_method_state(p_method));
	if (!state) {
		r_error = vformat("The model has no method '%s'; its methods are: %s.", p_method, String(", ").join(method_names));
	}
	return state;
}

String ExecuTorchModel::_order_inputs(MethodState &p_method, const Dictionary &p_inputs) {
	const uint32_t input_count = p_method.input_keys.size();
	p_method.call_inputs.clear();
	// The common case, one key per input and nothing else, costs one lookup per input.
	if ((uint32_t)p_inputs.size() == input_count) {
		for (const String &key : p_method.input_keys) {
			const Variant *value = p_inputs.getptr(key);
			if (!value) {
				break;
			}
			p_method.call_inputs.push_back(value);
		}
		if (p_method.call_inputs.size() == input_count) {
			return String();
		}
	}
	// Otherwise name the first key that does not belong, then the first missing one.
	for (const Variant &key : p_inputs.keys()) {
		const String key_text = key;
		const bool well_formed = key.is_string() && key_text.begins_with("input_") && key_text.substr(6).is_valid_int();
		const int64_t index = well_formed ? key_text.substr(6).to_int() : -1;
		if (!well_formed || index < 0 || index >= input_count) {
			return vformat("Unknown input '%s': method '%s' takes %d input(s), keyed input_0 to input_%d.", key, p_method.name,
					input_count, (int64_t)input_count - 1);
		}
	}
	for (const String &key : p_method.input_keys) {
		if (!p_inputs.has(key)) {
			return vformat("Missing input '%s': method '%s' takes %d input(s).", key, p_method.name, input_count);
		}
	}
	return vformat("Method '%s' takes %d input(s), got %d.", p_method.name, input_count, p_inputs.size()); // not reached
}

String ExecuTorchModel::_prepare_inputs(MethodState &p_method, bool p_keyed) {
	String error;
	if (p_method.call_inputs.size() != p_method.inputs.size()) {
		error = vformat("Method '%s' takes %d input(s), got %d.", p_method.name, (int64_t)p_method.inputs.size(), p_method.call_inputs.size());
	}
	p_method.values.clear();
	for (uint32_t i = 0; error.is_empty() && i < p_method.call_inputs.size(); i++) {
		error = prepare_input(p_method.inputs[i], p_method.name, (int)i, p_keyed, *p_method.call_inputs[i], p_method.values);
	}
	// The values hold copies in the staging buffers; the call inputs point
	// into the caller's Array or Dictionary and must not outlive the call.
	p_method.call_inputs.clear();
	return error;
}

String ExecuTorchModel::_prepare_keyed_inputs(MethodState &p_method, const Dictionary &p_inputs) {
	const String error = _order_inputs(p_method, p_inputs);
	if (!error.is_empty()) {
		p_method.call_inputs.clear();
		return error;
	}
	return _prepare_inputs(p_method, true);
}

String ExecuTorchModel::_execute_prepared(MethodState &p_method, bool p_as_tensors, Array &r_outputs, uint64_t &r_execute_nsec) {
	std::chrono::steady_clock::time_point started, finished;
	auto result = [&] {
		const ExecuTorchPoolUse pool_use; // a thread-count change waits for this call
		started = std::chrono::steady_clock::now();
		auto outputs = module->execute(p_method.utf8_name, p_method.values);
		finished = std::chrono::steady_clock::now();
		return outputs;
	}();
	if (!result.ok()) {
		return vformat("ExecuTorch failed to execute '%s': %s (error 0x%x). Check the inputs' shapes against get_method_info().", p_method.name,
				executorch::runtime::to_string(result.error()), (int)result.error());
	}
	r_execute_nsec = (uint64_t)std::chrono::duration_cast<std::chrono::nanoseconds>(finished - started).count();
	// The Performance monitors count every inference of the process, through
	// run_inference, run_inference_async or execute alike.
	ExecuTorchStats &stats = executorch_stats();
	stats.inferences.increment();
	stats.total_inference_nsec.add(r_execute_nsec);
	stats.last_inference_nsec.set(r_execute_nsec);

	// Copy out now: the method reuses its output memory on the next execute.
	// (output_tensors has one slot per output, sized at load.)
	Array outputs;
	outputs.resize(result->size());
	for (size_t i = 0; i < result->size(); i++) {
		Variant value;
		if (p_as_tensors) {
			value = output_to_tensor(result->at(i), p_method.output_tensors[i]);
		}
		if (p_as_tensors ? value.get_type() == Variant::NIL : !output_to_variant(result->at(i), value)) {
			return vformat("Output %d of '%s' has a type that cannot be returned to GDScript.", (int64_t)i, p_method.name);
		}
		outputs[i] = value;
	}
	r_outputs = outputs;
	return String();
}

String ExecuTorchModel::run(const String &p_method, const Dictionary &p_inputs, Dictionary &r_outputs, uint64_t &r_execute_nsec) {
	MutexLock lock(module_mutex);
	String error;
	MethodState *method = _find_method(p_method, error);
	if (!method) {
		return error;
	}
	error = _prepare_keyed_inputs(*method, p_inputs);
	Array outputs;
	if (error.is_empty()) {
		error = _execute_prepared(*method, false, outputs, r_execute_nsec);
	}
	if (!error.is_empty()) {
		return error;
	}
	Dictionary keyed;
	for (int i = 0; i < outputs.size(); i++) {
		keyed[method->output_keys[i]] = outputs[i];
	}
	r_outputs = keyed;
	return String();
}

String ExecuTorchModel::benchmark_run(const String &p_method, const Dictionary &p_inputs, int64_t p_iterations, uint64_t p_budget_nsec, LocalVector<uint64_t> &r_samples) {
	MutexLock lock(module_mutex);
	String error;
	MethodState *method = _find_method(p_method, error);
	if (!method) {
		return error;
	}
	// Inputs are prepared once: this measures ExecuTorch alone, the floor the
	// GDScript calls are compared against.
	error = _prepare_keyed_inputs(*method, p_inputs);
	if (!error.is_empty()) {
		return error;
	}
	r_samples.clear();
	r_samples.reserve((uint32_t)MIN(p_iterations, (int64_t)1 << 16));
	const auto deadline = std::chrono::steady_clock::now() + std::chrono::nanoseconds(p_budget_nsec);
	for (int64_t i = 0; i < p_iterations; i++) {
		const auto started = std::chrono::steady_clock::now();
		if (i > 0 && started >= deadline) {
			break; // the time budget is spent: at least one sample, never much past the budget
		}
		// One pool use per call, so a thread-count change waits for one call, not the whole loop.
		auto result = [&] {
			const ExecuTorchPoolUse pool_use;
			return module->execute(method->utf8_name, method->values);
		}();
		const auto finished = std::chrono::steady_clock::now();
		if (!result.ok()) {
			return vformat("ExecuTorch failed to execute '%s': %s.", p_method, executorch::runtime::to_string(result.error()));
		}
		r_samples.push_back((uint64_t)std::chrono::duration_cast<std::chrono::nanoseconds>(finished - started).count());
	}
	return String();
}

Array ExecuTorchModel::execute(const String &p_method, const Array &p_inputs) {
	String error;
	Array outputs;
	{
		MutexLock lock(module_mutex);
		MethodState *method = _find_method(p_method, error);
		if (method) {
			method->call_inputs.clear();
			for (int i = 0; i < p_inputs.size(); i++) {
				method->call_inputs.push_back(&p_inputs[i]);
			}
			error = _prepare_inputs(*method, false);
			uint64_t execute_nsec = 0;
			if (error.is_empty()) {
				error = _execute_prepared(*method, true, outputs, execute_nsec);
			}
		}
	}
	ERR_FAIL_COND_V_MSG(!error.is_empty(), Array(), error);
	return outputs;
}

ExecuTorchModel::ExecuTorchModel() = default;

// Defined here, where Module is a complete type, for the unique_ptr. The
// Module goes before the bytes and the planned memory it reads.
ExecuTorchModel::~ExecuTorchModel() {
	module.reset();
}
