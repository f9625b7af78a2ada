#include "executorch_model.h"

#include "executorch_model_internal.h"
#include "executorch_platform.h"
#include "executorch_settings.h"

#include "core/config/project_settings.h"
#include "core/io/file_access.h"
#include "core/io/file_access_pack.h"

#include <executorch/extension/data_loader/buffer_data_loader.h>

#include "pte/pte_validator.h"

#include <algorithm>
#include <chrono>
#include <string>
#include <vector>

using executorch::extension::BufferDataLoader;
using executorch::extension::module::Module;
using executorch::runtime::EValue;
using executorch::runtime::Program;
using executorch::runtime::Tag;
using executorch::runtime::TensorShapeDynamism;
using ETError = executorch::runtime::Error;
using namespace executorch_model_values;
using namespace executorch_model_files;

namespace {

// The byte range of a .pte file that carries the flatbuffer file identifier.
constexpr int PTE_IDENTIFIER_OFFSET = 4;

} // namespace

// --- Loading ---------------------------------------------------------------

String ExecuTorchModel::load(const String &p_path, Error &r_error) {
	r_error = OK;
	const auto started = std::chrono::steady_clock::now();
	if (p_path.is_empty()) {
		r_error = ERR_INVALID_PARAMETER;
		return "The 'path' of the .pte file is empty. Pass a res://, user:// or absolute path.";
	}

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
		Error problem_error = OK;
		const String problem = disk_file_problem(p_path, disk_path, problem_error);
		if (!problem.is_empty()) {
			r_error = problem_error;
			return problem;
		}
	} else if (!FileAccess::exists(p_path)) {
		r_error = ERR_FILE_NOT_FOUND;
		return vformat("No file at '%s'. Check the path; export models with `python -m model_tools export`.", p_path);
	}
	const bool mappable = on_disk && on_read_only_filesystem(disk_path);

	// The bytes are read (or mapped) once here; the validator checks exactly
	// these bytes, and ExecuTorch then reads the same ones in place. Loading
	// into locals first keeps the previous program when anything fails.
	std::unique_ptr<ProgramBytes> loaded_bytes = std::make_unique<ProgramBytes>();
	const String read_error = mappable ? loaded_bytes->map(disk_path) : loaded_bytes->read(p_path);
	if (!read_error.is_empty()) {
		r_error = ERR_FILE_CANT_READ;
		return vformat("Cannot read '%s': %s", p_path, read_error);
	}
	const int64_t file_size = (int64_t)loaded_bytes->size;
	if (file_size < PTE_IDENTIFIER_OFFSET + 4) {
		r_error = ERR_FILE_UNRECOGNIZED;
		return vformat("'%s' is %d bytes long, too short to be an ExecuTorch program (.pte).", p_path, file_size);
	}
	const uint8_t *data = loaded_bytes->data;
	if (data[PTE_IDENTIFIER_OFFSET] != 'E' || data[PTE_IDENTIFIER_OFFSET + 1] != 'T') {
		r_error = ERR_FILE_UNRECOGNIZED;
		return vformat("'%s' is not an ExecuTorch program (.pte): its header lacks the 'ET' identifier. Export the model with ExecuTorch (`python -m model_tools export`).", p_path);
	}

	// ExecuTorch's prebuilt runtime trusts a program's meaning (indices,
	// argument kinds, sizes, delegate payloads) and aborts or crashes on a
	// corrupt one; the module's own checks refuse those first (src/pte/).
	const auto check_started = std::chrono::steady_clock::now();
	const std::string problem = pte::validate_program(data, loaded_bytes->size, executorch_program_limits());
	executorch_stats().last_check_nsec.set((uint64_t)std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now() - check_started).count());
	if (!problem.empty()) {
		r_error = ERR_FILE_CORRUPT;
		return vformat("'%s' is not a program this engine can run safely, so it was not loaded: %s", p_path, String::utf8(problem.c_str()));
	}

	std::unique_ptr<Module> loaded_module = std::make_unique<Module>(std::make_unique<BufferDataLoader>(data, loaded_bytes->size));
	const ETError load_error = loaded_module->load(Program::Verification::InternalConsistency);
	if (load_error != ETError::Ok) {
		r_error = ERR_FILE_CORRUPT;
		return vformat("ExecuTorch cannot load '%s': %s (error 0x%x). The file is truncated, corrupted or from an incompatible ExecuTorch version; re-export it.",
					p_path, executorch::runtime::to_string(load_error), (int)load_error);
	}

	// The program's own API reports a bad method name as an error (Module's
	// method_names() would abort on one).
	const std::shared_ptr<Program> program = loaded_module->program();
	std::vector<std::string> sorted_names;
	for (size_t i = 0; program && i < program->num_methods(); i++) {
		auto method_name = program->get_method_name(i); // (`name` would shadow Resource::name)
		if (!method_name.ok()) {
		r_error = ERR_FILE_CORRUPT;
		return vformat("ExecuTorch cannot read the name of method %d of '%s'.", (int64_t)i, p_path);
	}
		sorted_names.push_back(method_name.get());
	}
	if (sorted_names.empty()) {
		r_error = ERR_FILE_CORRUPT;
		return vformat("'%s' has no methods to run; re-export the model.", p_path);
	}
	std::sort(sorted_names.begin(), sorted_names.end());
	PackedStringArray loaded_names;
	std::vector<std::unique_ptr<PlannedMemory>> loaded_planned;
	for (const std::string &method_name : sorted_names) {
		// Planned memory comes from here, not from Module: an allocation that
		// fails is an error, never an uncaught std::bad_alloc.
		std::unique_ptr<PlannedMemory> planned = std::make_unique<PlannedMemory>();
		const String memory_error = planned->allocate(*program, method_name);
		if (!memory_error.is_empty()) {
		r_error = ERR_OUT_OF_MEMORY;
		return vformat("Cannot load method '%s' of '%s': %s", String::utf8(method_name.c_str()), p_path, memory_error);
	}
		// Loading every method now turns a missing operator or backend into a
		// load error with the method's name, not a failure at first inference.
		const ETError method_error = [&] {
			const ExecuTorchPoolUse pool_use; // XNNPACK may pack weights on the pool
			return loaded_module->load_method(method_name, planned->allocator.get());
		}();
		if (method_error != ETError::Ok) {
		r_error = ERR_UNAVAILABLE;
		return vformat("ExecuTorch cannot load method '%s' of '%s': %s (error 0x%x). The program needs an operator or backend this build does not link, or is corrupted.",
						String::utf8(method_name.c_str()), p_path, executorch::runtime::to_string(method_error), (int)method_error);
	}
		loaded_names.push_back(String::utf8(method_name.c_str()));
		loaded_planned.push_back(std::move(planned));
	}

	std::vector<MethodState> loaded_methods(sorted_names.size());
	for (size_t m = 0; m < sorted_names.size(); m++) {
		auto meta = loaded_module->method_meta(sorted_names[m]);
		if (!meta.ok()) {
		r_error = ERR_FILE_CORRUPT;
		return vformat("ExecuTorch has no metadata for method '%s' of '%s'.", loaded_names[m], p_path);
	}
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
	return String();
}

bool ExecuTorchModel::load_from_file(const String &p_path) {
	Error error = OK;
	const String reason = load(p_path, error);
	ERR_FAIL_COND_V_MSG(!reason.is_empty(), false, reason);
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
