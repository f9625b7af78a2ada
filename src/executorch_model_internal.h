// What executorch_model.cpp (loading, describing, running), executorch_model_memory.cpp
// (the program's bytes and planned memory, the file they come from) and
// executorch_model_values.cpp (Variant <-> EValue) share: ExecuTorchModel's
// private parts, defined here. Not part of the module's API.

#pragma once

#include "executorch_model.h"
#include "executorch_tensor.h"

#include <executorch/extension/module/module.h>
#include <executorch/extension/tensor/tensor.h>
#include <executorch/runtime/core/hierarchical_allocator.h>

#include <memory>
#include <string>
#include <vector>

using executorch::aten::ScalarType;
using executorch::extension::TensorPtr;
using executorch::runtime::Program;
using executorch::runtime::EValue;
using executorch::runtime::Tag;
using executorch::runtime::TensorShapeDynamism;

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

	// A read-only mapping of the file at absolute `p_disk_path`, or a copy of
	// the file at `p_path` (through FileAccess); "" or the end of a sentence
	// saying why it could not be read.
	String map(const String &p_disk_path);
	String read(const String &p_path);
	~ProgramBytes();
};

// One method's memory-planned buffers, sized from its metadata, allocated
// without exceptions (the validator has already bounded their sum), and the
// allocator ExecuTorch plans tensors into.
struct ExecuTorchModel::PlannedMemory {
	std::vector<uint8_t *> buffers;
	std::vector<executorch::runtime::Span<uint8_t>> spans;
	std::unique_ptr<executorch::runtime::HierarchicalAllocator> allocator;

	// "" or the end of a sentence saying why `p_method`'s buffers could not be had.
	String allocate(Program &p_program, const std::string &p_method);
	~PlannedMemory();
};

// Variant <-> EValue: GDScript's values into a method's inputs, its outputs
// back into GDScript values (executorch_model_values.cpp).
namespace executorch_model_values {

bool dtype_from_scalar_type(executorch::aten::ScalarType p_type, ExecuTorchTensor::DType &r_dtype);
const char *dtype_name(executorch::aten::ScalarType p_type);
// get_method_info()'s entry for one input or output.
Dictionary describe_value(executorch::runtime::Tag p_tag, const executorch::runtime::Result<executorch::runtime::TensorInfo> &p_info, int p_index,
		executorch::runtime::TensorShapeDynamism p_dynamism);
// Turns one GDScript value into input `p_index` of a method (appended to
// `r_values`), or returns why it cannot be.
String prepare_input(ExecuTorchModel::MethodState::Input &r_input, const String &p_method, int p_index, bool p_keyed, const Variant &p_value,
		std::vector<executorch::runtime::EValue> &r_values);
// Reads the shape dynamism of a loaded method's input and output tensors.
void read_dynamism(executorch::extension::module::Module &p_module, const std::string &p_method, std::vector<executorch::runtime::TensorShapeDynamism> &r_inputs,
		std::vector<executorch::runtime::TensorShapeDynamism> &r_outputs, size_t p_input_count, size_t p_output_count);
// One output as run_inference returns it (a packed array or a number); false for a type GDScript cannot hold.
bool output_to_variant(const executorch::runtime::EValue &p_value, Variant &r_variant);
// One output as execute() returns it: `r_tensor` refilled when only the model holds it, a new tensor otherwise.
Variant output_to_tensor(const executorch::runtime::EValue &p_value, Ref<ExecuTorchTensor> &r_tensor);

} // namespace executorch_model_values

// The file a program is read from (executorch_model_memory.cpp).
namespace executorch_model_files {

// Whether nothing can rewrite the file: it lies on a read-only filesystem.
bool on_read_only_filesystem(const String &p_disk_path);
// Why the file at absolute `p_disk_path` (shown as `p_path`) cannot be read as
// a program, with its Error code, or "" when it is a regular readable file.
String disk_file_problem(const String &p_path, const String &p_disk_path, Error &r_error);

} // namespace executorch_model_files
