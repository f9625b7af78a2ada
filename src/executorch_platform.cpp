#include "executorch_platform.h"

#include "executorch_version.gen.h" // written by the module's SCsub: what the runtime was built from

#include "core/error/error_macros.h"
#include "core/string/print_string.h"
#include "core/string/ustring.h"
#include "core/variant/variant.h"

#include <executorch/extension/threadpool/threadpool.h>
#include <executorch/runtime/platform/platform.h>
#include <executorch/runtime/platform/runtime.h>
#include <pthreadpool.h>

#include <atomic>
#include <condition_variable>
#include <cstdio>
#include <mutex>

namespace {

// ExecuTorch keeps one PAL table for the process and complains when it is
// registered twice, so the hook stays installed and this flag says whether
// Godot's printing may still be used (it may not once the module is torn down).
std::atomic<bool> route_to_godot{ false };
std::atomic<bool> hook_registered{ false };

void emit_to_godot(et_timestamp_t p_timestamp, et_pal_log_level_t p_level, const char *p_filename,
		const char *p_function, size_t p_line, const char *p_message, size_t p_length) {
	(void)p_timestamp;
	// ExecuTorch's messages carry their own trailing newline; Godot adds one.
	while (p_length > 0 && (p_message[p_length - 1] == '\n' || p_message[p_length - 1] == '\r')) {
		p_length--;
	}
	if (!route_to_godot.load()) {
		fprintf(stderr, "ExecuTorch %c %s:%zu] %.*s\n", (char)p_level, p_filename, p_line, (int)p_length, p_message);
		return;
	}
	const String message = String::utf8(p_message, (int)p_length);
	switch (p_level) {
		case kDebug:
		case kInfo:
			// ExecuTorch reports routine progress at Info; show it with --verbose.
			print_verbose("ExecuTorch: " + message);
			break;
		case kError:
		case kFatal:
			// Keep ExecuTorch's own source location, so the error points at its cause.
			_err_print_error(p_function, p_filename, (int)p_line, "ExecuTorch: " + message);
			break;
		default:
			print_line("ExecuTorch: " + message);
			break;
	}
}

} // namespace

void initialize_executorch_platform() {
	executorch::runtime::runtime_init();
	route_to_godot.store(true);
	if (!hook_registered.exchange(true) &&
			!executorch::runtime::register_pal(executorch::runtime::PalImpl::create(emit_to_godot, __FILE__))) {
		WARN_PRINT("ExecuTorch refused the log hook; its messages will go to stderr.");
	}
}

void uninitialize_executorch_platform() {
	route_to_godot.store(false);
}

// --- The thread pool -----------------------------------------------------------
//
// ExecuTorch's thread pool is one pthreadpool for the process, and each
// XNNPACK method keeps a pointer to it from its load on. ExecuTorch's own
// resize (ThreadPool::_unsafe_reset_threadpool) destroys that pool and makes a
// new one: a running inference then used freed threads (heap corruption, or a
// join that never returned), and every XNNPACK method loaded before used a
// dangling pointer on its next call. So the pool is never replaced:
// pthreadpool_set_threads_count changes how many of its threads work (it was
// made with one per logical processor, so every count up to that is
// reachable). And a change never lands inside an inference: XNNPACK sizes
// per-thread workspaces for the thread count it sees when it reshapes a
// method, at the start of each run, and indexes them by thread in the
// parallel work that follows. ExecuTorchPoolUse marks the calls that may use
// the pool; a change waits until none runs, and calls that start meanwhile
// wait for the change (so a stream of calls cannot starve it).

namespace {

struct PoolGate {
	std::mutex mutex;
	std::condition_variable changed; // a change finished, or the last user left
	std::atomic<int> users{ 0 };
	std::atomic<bool> changing{ false };
} pool_gate;

} // namespace

ExecuTorchPoolUse::ExecuTorchPoolUse() {
	// Dekker-style: a user counts itself before it looks for a change, a change
	// announces itself before it counts users, so one of them always sees the other.
	for (;;) {
		pool_gate.users.fetch_add(1);
		if (!pool_gate.changing.load()) {
			return;
		}
		_leave();
		std::unique_lock<std::mutex> lock(pool_gate.mutex);
		pool_gate.changed.wait(lock, [] { return !pool_gate.changing.load(); });
	}
}

ExecuTorchPoolUse::~ExecuTorchPoolUse() {
	_leave();
}

void ExecuTorchPoolUse::_leave() {
	if (pool_gate.users.fetch_sub(1) == 1 && pool_gate.changing.load()) {
		std::lock_guard<std::mutex> lock(pool_gate.mutex);
		pool_gate.changed.notify_all();
	}
}

int executorch_thread_count() {
	pthreadpool_t pool = executorch::extension::threadpool::get_pthreadpool();
	return pool ? (int)pthreadpool_get_threads_count(pool) : 0;
}

int executorch_max_thread_count() {
	// ExecuTorch's ThreadPool records the size it made the pool with and, as
	// it is never reset here, keeps reporting it.
	executorch::extension::threadpool::ThreadPool *pool = executorch::extension::threadpool::get_threadpool();
	return pool ? (int)pool->get_thread_count() : 0;
}

bool executorch_set_thread_count(int p_count) {
	pthreadpool_t pool = executorch::extension::threadpool::get_pthreadpool();
	if (!pool || p_count < 1) {
		return false;
	}
	// The mutex also orders changes made from several threads at once.
	std::unique_lock<std::mutex> lock(pool_gate.mutex);
	pool_gate.changed.wait(lock, [] { return !pool_gate.changing.load(); });
	pool_gate.changing.store(true);
	pool_gate.changed.wait(lock, [] { return pool_gate.users.load() == 0; });
	const size_t applied = pthreadpool_set_threads_count(pool, (size_t)p_count);
	pool_gate.changing.store(false);
	pool_gate.changed.notify_all();
	return (int)applied == p_count;
}

const char *executorch_version_string() {
	return EXECUTORCH_VERSION_STRING;
}
