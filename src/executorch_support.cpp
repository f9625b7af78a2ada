#include "executorch_support.h"

#include "core/config/project_settings.h"
#include "core/error/error_macros.h"
#include "core/string/print_string.h"
#include "core/string/ustring.h"
#include "core/variant/variant.h"

#include <executorch/runtime/platform/platform.h>
#include <executorch/runtime/platform/runtime.h>

#ifndef EXECUTORCH_VERSION_STRING
#define EXECUTORCH_VERSION_STRING "unknown"
#endif

#include <atomic>
#include <cstdio>

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

void initialize_executorch_support() {
	// The whole-game MCP switch (see ExecuTorchRuntime::_autostart_mcp_server).
	GLOBAL_DEF("executorch/mcp/autostart", false);
	GLOBAL_DEF(PropertyInfo(Variant::INT, "executorch/mcp/port", PROPERTY_HINT_RANGE, "0,65535"), 0);
	GLOBAL_DEF(PropertyInfo(Variant::STRING, "executorch/mcp/token", PROPERTY_HINT_PASSWORD), "");

	executorch::runtime::runtime_init();
	route_to_godot.store(true);
	if (!hook_registered.exchange(true) &&
			!executorch::runtime::register_pal(executorch::runtime::PalImpl::create(emit_to_godot, __FILE__))) {
		WARN_PRINT("ExecuTorch refused the log hook; its messages will go to stderr.");
	}
}

void uninitialize_executorch_support() {
	route_to_godot.store(false);
}

const char *executorch_version_string() {
	return EXECUTORCH_VERSION_STRING;
}
