// ExecuTorch's platform glue: its runtime initialized once, its log lines
// routed into Godot's output, its version, and its CPU thread pool. Called by
// the module's initialization (executorch_module.cpp); used by the model and runtime.

#pragma once

// Initializes ExecuTorch's runtime once and routes its log lines into Godot's
// output (print_verbose / print_line / error macros) instead of raw stderr.
void initialize_executorch_platform();
// Sends ExecuTorch's log lines back to stderr: Godot's printing is going away.
void uninitialize_executorch_platform();

// The ExecuTorch package version the module was compiled against ("1.5.1+cpu").
const char *executorch_version_string();

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
