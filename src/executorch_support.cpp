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
#include <cstdio>

// The wheel ships libexecutorch_threadpool.so without its header; these are
// the declarations of ExecuTorch's extension/threadpool/threadpool.h.
namespace executorch::extension::threadpool {
class ThreadPool {
public:
	size_t get_thread_count() const;
	bool _unsafe_reset_threadpool(uint32_t p_num_threads);
};
ThreadPool *get_threadpool();
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

int executorch_thread_count() {
	executorch::extension::threadpool::ThreadPool *pool = executorch::extension::threadpool::get_threadpool();
	return pool ? (int)pool->get_thread_count() : 0;
}

bool executorch_set_thread_count(int p_count) {
	executorch::extension::threadpool::ThreadPool *pool = executorch::extension::threadpool::get_threadpool();
	return pool && p_count > 0 && pool->_unsafe_reset_threadpool((uint32_t)p_count);
}

const char *executorch_version_string() {
	return EXECUTORCH_VERSION_STRING;
}
