// ExecuTorchModel: one loaded .pte program. Its bound API is declared here and
// documented in module_spec.yaml (the generated _bind_methods checks each
// signature against the spec); the C++-only helpers below serve ExecuTorchRuntime.

#pragma once

#include "core/io/resource.h"
#include "core/os/mutex.h"
#include "core/templates/local_vector.h"
#include "core/templates/safe_refcount.h"

#include <memory>
#include <vector>

// Forward declaration keeps ExecuTorch's headers out of every Godot file that
// includes this one.
namespace executorch::extension::module {
class Module;
} // namespace executorch::extension::module

class ExecuTorchModel : public Resource {
	GDCLASS(ExecuTorchModel, Resource);

public:
	// Each method's signature (inputs' tag, dtype and declared shape; every
	// tensor's shape dynamism), read once at load, and the buffers and output
	// tensors its calls reuse. Defined in the .cpp.
	struct MethodState;

private:
	// The program's bytes (mapped or copied, validated once) and each method's
	// planned memory: ExecuTorch reads them for the model's lifetime, so they are
	// declared before the Module, which is destroyed first. Defined in the .cpp.
	struct ProgramBytes;
	struct PlannedMemory;
	std::unique_ptr<ProgramBytes> program_bytes;
	std::vector<std::unique_ptr<PlannedMemory>> planned_memory;
	std::unique_ptr<executorch::extension::module::Module> module;
	// One per method, sorted by name like method_names; guarded by module_mutex.
	std::vector<MethodState> method_states;
	// ExecuTorch's Module is not thread-safe: every use goes through this lock,
	// which an inference holds for its whole run.
	mutable BinaryMutex module_mutex;

	// What describes the loaded program, read without waiting for a running
	// inference: load_from_file writes it holding both locks, readers take either.
	mutable BinaryMutex info_mutex;
	SafeFlag loaded;
	int64_t program_size = 0;
	bool memory_mapped = false;
	String source_path;
	PackedStringArray method_names;

	// The helpers below run with module_mutex held.
	// The state of `p_method`, or null.
	const MethodState *_method_state(const String &p_method) const;
	// The state of `p_method`, or null with the reason in `r_error`.
	MethodState *_find_method(const String &p_method, String &r_error);
	// Points the method's call inputs at run_inference's {"input_0": ...} values, in order.
	static String _order_inputs(MethodState &p_method, const Dictionary &p_inputs);
	// Converts the method's call inputs into its EValues, then forgets them.
	// p_keyed: they came from run_inference's dictionary (named 'input_N' in
	// errors, inputs[N] otherwise).
	static String _prepare_inputs(MethodState &p_method, bool p_keyed);
	// Both of the above, for run_inference's dictionary.
	static String _prepare_keyed_inputs(MethodState &p_method, const Dictionary &p_inputs);
	// Executes the prepared method and copies its outputs out, as tensors or
	// as run_inference's packed arrays.
	String _execute_prepared(MethodState &p_method, bool p_as_tensors, Array &r_outputs, uint64_t &r_execute_nsec);

protected:
	static void _bind_methods();

public:
	bool load_from_file(const String &p_path);
	bool is_loaded() const;
	String get_source_path() const;
	int64_t get_file_size() const;
	bool is_memory_mapped() const;
	PackedStringArray get_method_names() const;
	Dictionary get_method_info(const String &p_method = "forward") const;
	Array execute(const String &p_method, const Array &p_inputs = Array());

	// Loads the program at `p_path` (what load_from_file does) without
	// printing: on failure returns the sentence that says why, a full sentence
	// naming the file and the fix, with the matching Error code in `r_error`
	// (ERR_FILE_NOT_FOUND, ERR_FILE_UNRECOGNIZED, ERR_FILE_CORRUPT,
	// ERR_UNAVAILABLE for an operator or backend this build lacks, ...), and
	// keeps the program loaded before; on success returns "". Whoever reports
	// the failure prints it: load_from_file, hot reload, the resource loader.
	String load(const String &p_path, Error &r_error);

	// Runs `p_method` on `p_inputs` ({"input_0": values, ...}) and fills
	// `r_outputs` ({"output_0": values, ...}). On failure returns the reason,
	// a full sentence; on success an empty string, and the time spent inside
	// ExecuTorch's execute call in `r_execute_nsec`.
	String run(const String &p_method, const Dictionary &p_inputs, Dictionary &r_outputs, uint64_t &r_execute_nsec);
	// Prepares `p_inputs` once and times up to `p_iterations` execute calls (ns
	// each), stopping early once `p_budget_nsec` have passed.
	String benchmark_run(const String &p_method, const Dictionary &p_inputs, int64_t p_iterations, uint64_t p_budget_nsec, LocalVector<uint64_t> &r_samples);
	// get_method_info() without printing: empty when nothing is loaded or
	// there is no such method.
	Dictionary describe_method(const String &p_method) const;

	ExecuTorchModel();
	~ExecuTorchModel() override;
};
