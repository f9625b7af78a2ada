// The module's project settings, limits and monitors: what a game configures
// (executorch/hot_reload/enabled, executorch/limits/max_planned_memory_mb) and
// what it watches (the ExecuTorch/* Performance monitors). Called by the
// module's initialization (executorch_module.cpp); read by the model and runtime.

#pragma once

// Declares the project settings and adds the Performance monitors.
void initialize_executorch_settings();
void uninitialize_executorch_settings();

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

