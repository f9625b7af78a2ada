#include "executorch_support.h"

#include "core/config/project_settings.h"
#include "core/error/error_macros.h"
#include "core/string/print_string.h"
#include "core/string/ustring.h"
#include "core/variant/variant.h"

#include "executorch_resource_loader.h"

#include "core/io/resource_loader.h"
#include "main/performance.h"

#include <executorch/runtime/platform/platform.h>
#include <executorch/runtime/platform/runtime.h>

#ifndef EXECUTORCH_VERSION_STRING
#define EXECUTORCH_VERSION_STRING "unknown"
#endif

#include <atomic>
#include <condition_variable>
#include <cstdio>
#include <mutex>

// The wheel ships libexecutorch_threadpool.so without its headers; these are
// the declarations of ExecuTorch's extension/threadpool/threadpool.h and of the
// pthreadpool it is built on (both exported by that library).
extern "C" {
typedef struct pthreadpool *pthreadpool_t;
size_t pthreadpool_get_threads_count(pthreadpool_t p_threadpool);
size_t pthreadpool_set_threads_count(pthreadpool_t p_threadpool, size_t p_count);
}
namespace executorch::extension::threadpool {
class ThreadPool {
public:
	size_t get_thread_count() const;
};
ThreadPool *get_threadpool();
pthreadpool_t get_pthreadpool();
} // namespace executorch::extension::threadpool

namespace {

Ref<ResourceFormatLoaderExecuTorch> resource_loader;
ExecuTorchStats stats;
const char *const MONITOR_INFERENCES = "ExecuTorch/inferences";
const char *const MONITOR_LAST_MS = "ExecuTorch/last_inference_ms";
const char *const MONITOR_MEAN_MS = "ExecuTorch/mean_inference_ms";
const char *const MONITOR_LOAD_MS = "ExecuTorch/last_load_ms";
const char *const MONITOR_CHECK_MS = "ExecuTorch/last_check_ms";
const char *const MONITORS[] = { MONITOR_INFERENCES, MONITOR_LAST_MS, MONITOR_MEAN_MS, MONITOR_LOAD_MS, MONITOR_CHECK_MS };

Variant monitor_inferences() {
	return stats.inferences.get();
}
Variant monitor_last_ms() {
	return stats.last_inference_nsec.get() / 1.0e6;
}
Variant monitor_mean_ms() {
	const uint64_t count = stats.inferences.get();
	return count ? stats.total_inference_nsec.get() / 1.0e6 / count : 0.0;
}
Variant monitor_load_ms() {
	return stats.last_load_nsec.get() / 1.0e6;
}
Variant monitor_check_ms() {
	return stats.last_check_nsec.get() / 1.0e6;
}

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

void initialize_executorch_support() {
	GLOBAL_DEF("executorch/hot_reload/enabled", true);
	GLOBAL_DEF(PropertyInfo(Variant::INT, "executorch/limits/max_planned_memory_mb", PROPERTY_HINT_RANGE, "1,65536,or_greater"), 1024);

	executorch::runtime::runtime_init();
	route_to_godot.store(true);
	// Performance exists before the SCENE level starts (not in every tool
	// run), so the monitors are there whether or not a runtime is ever made.
	if (Performance *performance = Performance::get_singleton()) {
		performance->add_custom_monitor(MONITOR_INFERENCES, callable_mp_static(&monitor_inferences), Vector<Variant>());
		performance->add_custom_monitor(MONITOR_LAST_MS, callable_mp_static(&monitor_last_ms), Vector<Variant>());
		performance->add_custom_monitor(MONITOR_MEAN_MS, callable_mp_static(&monitor_mean_ms), Vector<Variant>());
		performance->add_custom_monitor(MONITOR_LOAD_MS, callable_mp_static(&monitor_load_ms), Vector<Variant>());
		performance->add_custom_monitor(MONITOR_CHECK_MS, callable_mp_static(&monitor_check_ms), Vector<Variant>());
	}
	resource_loader.instantiate();
	ResourceLoader::add_resource_format_loader(resource_loader);
	if (!hook_registered.exchange(true) &&
			!executorch::runtime::register_pal(executorch::runtime::PalImpl::create(emit_to_godot, __FILE__))) {
		WARN_PRINT("ExecuTorch refused the log hook; its messages will go to stderr.");
	}
}

void uninitialize_executorch_support() {
	ResourceLoader::remove_resource_format_loader(resource_loader);
	resource_loader.unref();
	Performance *performance = Performance::get_singleton();
	for (const char *id : MONITORS) {
		if (performance && performance->has_custom_monitor(id)) {
			performance->remove_custom_monitor(id);
		}
	}
	route_to_godot.store(false);
}

ExecuTorchStats &executorch_stats() {
	return stats;
}

pte::Limits executorch_program_limits() {
	pte::Limits limits;
	ProjectSettings *settings = ProjectSettings::get_singleton();
	const int64_t megabytes = settings ? (int64_t)settings->get_setting("executorch/limits/max_planned_memory_mb", 1024) : 1024;
	limits.max_planned_memory_bytes = (uint64_t)CLAMP(megabytes, (int64_t)1, (int64_t)1 << 20) << 20;
	return limits;
}

bool executorch_hot_reload_enabled() {
#ifdef DEBUG_ENABLED
	ProjectSettings *settings = ProjectSettings::get_singleton();
	return settings && bool(settings->get_setting("executorch/hot_reload/enabled", true));
#else
	return false; // release builds never watch their files
#endif
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
