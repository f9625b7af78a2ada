#include "executorch_settings.h"

#include "core/config/project_settings.h"
#include "core/variant/variant.h"
#include "main/performance.h"

namespace {

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

} // namespace

void initialize_executorch_settings() {
	GLOBAL_DEF("executorch/hot_reload/enabled", true);
	GLOBAL_DEF(PropertyInfo(Variant::INT, "executorch/limits/max_planned_memory_mb", PROPERTY_HINT_RANGE, "1,65536,or_greater"), 1024);
	// Performance exists before the SCENE level starts (not in every tool
	// run), so the monitors are there whether or not a runtime is ever made.
	if (Performance *performance = Performance::get_singleton()) {
		performance->add_custom_monitor(MONITOR_INFERENCES, callable_mp_static(&monitor_inferences), Vector<Variant>());
		performance->add_custom_monitor(MONITOR_LAST_MS, callable_mp_static(&monitor_last_ms), Vector<Variant>());
		performance->add_custom_monitor(MONITOR_MEAN_MS, callable_mp_static(&monitor_mean_ms), Vector<Variant>());
		performance->add_custom_monitor(MONITOR_LOAD_MS, callable_mp_static(&monitor_load_ms), Vector<Variant>());
		performance->add_custom_monitor(MONITOR_CHECK_MS, callable_mp_static(&monitor_check_ms), Vector<Variant>());
	}
}

void uninitialize_executorch_settings() {
	Performance *performance = Performance::get_singleton();
	for (const char *id : MONITORS) {
		if (performance && performance->has_custom_monitor(id)) {
			performance->remove_custom_monitor(id);
		}
	}
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
