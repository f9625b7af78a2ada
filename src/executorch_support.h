// Module-wide ExecuTorch setup, called by the generated register_types.cpp.

#pragma once

// Initializes ExecuTorch's runtime once and routes its log lines into Godot's
// output (print_verbose / print_line / error macros) instead of raw stderr.
void initialize_executorch_support();
// Sends ExecuTorch's log lines back to stderr: Godot's printing is going away.
void uninitialize_executorch_support();

// The ExecuTorch package version the module was compiled against ("1.5.1+cpu").
const char *executorch_version_string();

#include "core/templates/safe_refcount.h"

// Process-wide inference statistics, shown as custom monitors in Godot's
// Performance singleton (and so in the debugger's Monitors tab).
struct ExecuTorchStats {
	SafeNumeric<uint64_t> inferences;
	SafeNumeric<uint64_t> total_inference_nsec;
	SafeNumeric<uint64_t> last_inference_nsec;
	SafeNumeric<uint64_t> last_load_nsec;
	SafeNumeric<uint64_t> last_check_nsec; // the pre-validator's share of the last load
};
ExecuTorchStats &executorch_stats();

#include "pte/pte_validator.h"

// What a program may ask of the machine before it is refused (the
// pre-validator's limits): the project setting
// executorch/limits/max_planned_memory_mb (default 1024) bounds the memory a
// method plans; the other limits are fixed.
pte::Limits executorch_program_limits();

// Hot reload (ExecuTorchRuntime): on in debug builds unless the project setting
// executorch/hot_reload/enabled is false; never in release builds.
bool executorch_hot_reload_enabled();

// ExecuTorch's CPU thread pool (used by XNNPACK and the optimized kernels):
// how many of its threads work, and how many it has (the most that can work).
// Changing the count is safe at any time from any thread: it waits until no
// call that may use the pool (an ExecuTorchPoolUse) runs, and applies to every
// call after it.
int executorch_thread_count();
int executorch_max_thread_count();
bool executorch_set_thread_count(int p_count);

// Held around every ExecuTorch call that may run work on the thread pool
// (Module::execute, loading a method): a thread-count change waits for it, and
// it waits for a change in progress. Never nest two on one thread.
class ExecuTorchPoolUse {
public:
	ExecuTorchPoolUse();
	~ExecuTorchPoolUse();
	ExecuTorchPoolUse(const ExecuTorchPoolUse &) = delete;
	ExecuTorchPoolUse &operator=(const ExecuTorchPoolUse &) = delete;

private:
	static void _leave();
};
