#include "executorch_mcp_server.h"

#include "../executorch_registry.h"

#include "core/config/engine.h"
#include "core/config/project_settings.h"
#include "core/os/os.h"

ExecuTorchMCPServer *ExecuTorchMCPServer::singleton = nullptr;

namespace {

constexpr const char *PORT_SWITCH = "--executorch-mcp-port=";

// start()'s options: name, Variant type, and what a good value is.
const char *const OPTION_NAMES = "token, bind_address, max_body_bytes, max_connections, idle_timeout_seconds, session_idle_seconds, max_sessions";

bool read_number(const Dictionary &p_options, const char *p_name, double p_min, double p_max, double &r_value, String &r_error) {
	if (!p_options.has(p_name)) {
		return true;
	}
	const Variant value = p_options[p_name];
	if (value.get_type() != Variant::INT && value.get_type() != Variant::FLOAT) {
		r_error = vformat("The MCP server option '%s' must be a number, not a %s.", p_name, Variant::get_type_name(value.get_type()));
		return false;
	}
	const double number = value;
	if (!(number >= p_min && number <= p_max)) {
		r_error = vformat("The MCP server option '%s' must be between %s and %s, not %s.", p_name, String::num(p_min), String::num(p_max), String::num(number));
		return false;
	}
	r_value = number;
	return true;
}

} // namespace

ExecuTorchMCPServer::ExecuTorchMCPServer() {
	singleton = this;
	ExecuTorchRegistry::get_singleton().add_listener(&ExecuTorchMCPServer::_on_models_changed, this);
}

ExecuTorchMCPServer::~ExecuTorchMCPServer() {
	stop_all();
	ExecuTorchRegistry::get_singleton().remove_listener(&ExecuTorchMCPServer::_on_models_changed, this);
	singleton = nullptr;
}

void ExecuTorchMCPServer::_on_models_changed(void *p_self, const String &p_what) {
	static_cast<ExecuTorchMCPServer *>(p_self)->protocol.notify_models_changed(p_what);
}

// --- Transports ------------------------------------------------------------------------

bool ExecuTorchMCPServer::_parse_options(const Dictionary &p_options, MCPHttpTransport::Options &r_http, MCPProtocol::Limits &r_limits, String &r_error) {
	for (const Variant &key : p_options.keys()) {
		const String name = key;
		if (!String(OPTION_NAMES).split(", ").has(name)) {
			r_error = vformat("Unknown MCP server option '%s'; the options are %s.", name, OPTION_NAMES);
			return false;
		}
	}
	for (const char *name : { "token", "bind_address" }) {
		if (p_options.has(name) && p_options[name].get_type() != Variant::STRING) {
			r_error = vformat("The MCP server option '%s' must be a String.", name);
			return false;
		}
	}
	r_http.token = p_options.get("token", "");
	r_http.bind_address = p_options.get("bind_address", "127.0.0.1");
	double max_body = (double)r_http.max_body_bytes;
	double max_connections = r_http.max_connections;
	double idle_seconds = r_http.idle_timeout_msec / 1000.0;
	double session_seconds = r_limits.session_idle_msec / 1000.0;
	double max_sessions = r_limits.max_sessions;
	if (!read_number(p_options, "max_body_bytes", 1024, 1 << 30, max_body, r_error) ||
			!read_number(p_options, "max_connections", 1, 4096, max_connections, r_error) ||
			!read_number(p_options, "idle_timeout_seconds", 0.1, 3600, idle_seconds, r_error) ||
			!read_number(p_options, "session_idle_seconds", 1, 30 * 24 * 3600, session_seconds, r_error) ||
			!read_number(p_options, "max_sessions", 1, 100000, max_sessions, r_error)) {
		return false;
	}
	r_http.max_body_bytes = (int64_t)max_body;
	r_http.max_connections = (int)max_connections;
	r_http.idle_timeout_msec = (uint64_t)(idle_seconds * 1000.0);
	r_limits.session_idle_msec = (uint64_t)(session_seconds * 1000.0);
	r_limits.max_sessions = (int)max_sessions;
	return true;
}

int64_t ExecuTorchMCPServer::start(int64_t p_port, const Dictionary &p_options) {
	MCPHttpTransport::Options options;
	MCPProtocol::Limits limits;
	String error;
	ERR_FAIL_COND_V_MSG(!_parse_options(p_options, options, limits, error), -1, error);
	MutexLock lock(http_mutex);
	ERR_FAIL_COND_V_MSG(http.is_running(), -1, vformat("The MCP server is already running on port %d; call stop() first.", http.get_port()));
	protocol.set_limits(limits);
	return http.start(p_port, options);
}

void ExecuTorchMCPServer::stop() {
	MutexLock lock(http_mutex);
	if (http.is_running()) {
		http.stop();
		protocol.clear_sessions();
	}
}

bool ExecuTorchMCPServer::is_running() const {
	return http.is_running();
}

int64_t ExecuTorchMCPServer::get_port() const {
	return http.is_running() ? http.get_port() : -1;
}

bool ExecuTorchMCPServer::is_serving_stdio() const {
	return stdio.is_running();
}

void ExecuTorchMCPServer::start_for_game() {
	GLOBAL_DEF("executorch/mcp/autostart", false);
	GLOBAL_DEF(PropertyInfo(Variant::INT, "executorch/mcp/port", PROPERTY_HINT_RANGE, "0,65535"), 0);
	GLOBAL_DEF(PropertyInfo(Variant::STRING, "executorch/mcp/token", PROPERTY_HINT_PASSWORD), "");
	GLOBAL_DEF(PropertyInfo(Variant::INT, "executorch/mcp/session_idle_seconds", PROPERTY_HINT_RANGE, "1,2592000,or_greater"), 600);
	GLOBAL_DEF(PropertyInfo(Variant::INT, "executorch/mcp/max_sessions", PROPERTY_HINT_RANGE, "1,100000"), 32);
	if (Engine::get_singleton()->is_editor_hint() || Engine::get_singleton()->is_project_manager_hint()) {
		return; // the editor itself serves no models; the games it runs do
	}
	if (MCPStdioTransport::is_requested()) {
		// Served from the game's first frame on: by then its main scene (or
		// --script) has loaded its models, so a client that lists the tools at
		// once sees them. stdout was set aside at startup already.
		callable_mp(this, &ExecuTorchMCPServer::_start_stdio).call_deferred();
	}
	int port = -1;
	for (const String &argument : OS::get_singleton()->get_cmdline_user_args()) {
		if (argument.begins_with(PORT_SWITCH)) {
			const String value = argument.trim_prefix(PORT_SWITCH);
			ERR_FAIL_COND_MSG(!value.is_valid_int() || value.to_int() < 0 || value.to_int() > 65535,
					vformat("%s takes a port number from 0 (any free port) to 65535, not '%s'.", PORT_SWITCH, value));
			port = value.to_int();
		}
	}
	ProjectSettings *settings = ProjectSettings::get_singleton();
	if (port < 0 && bool(settings->get_setting("executorch/mcp/autostart", false))) {
		port = settings->get_setting("executorch/mcp/port", 0);
	}
	if (port < 0) {
		return;
	}
	Dictionary options;
	const String token = settings->get_setting("executorch/mcp/token", "");
	if (!token.is_empty()) {
		options["token"] = token;
	}
	options["session_idle_seconds"] = settings->get_setting("executorch/mcp/session_idle_seconds", 600);
	options["max_sessions"] = settings->get_setting("executorch/mcp/max_sessions", 32);
	start(port, options);
}

void ExecuTorchMCPServer::_start_stdio() {
	stdio.start();
}

void ExecuTorchMCPServer::stop_all() {
	stop();
	stdio.stop();
}

// --- Tools, in-process --------------------------------------------------------------

PackedStringArray ExecuTorchMCPServer::get_model_names() const {
	PackedStringArray names;
	for (const ExecuTorchRegistry::Entry &entry : ExecuTorchRegistry::get_singleton().entries()) {
		names.push_back(entry.name);
	}
	return names;
}

Array ExecuTorchMCPServer::list_tools() const {
	return protocol.get_toolbox().list_tools(MCPToolbox::Scope());
}

Variant ExecuTorchMCPServer::call_tool(const String &p_name, const Dictionary &p_arguments) {
	const MCPToolbox::Result result = protocol.get_toolbox().call(MCPToolbox::Scope(), p_name, p_arguments);
	ERR_FAIL_COND_V_MSG(!result.error.is_empty(), Variant(), result.error);
	return result.value;
}

String ExecuTorchMCPServer::handle_message(const String &p_message) {
	return protocol.handle(p_message, MCPProtocol::Context()).body;
}

Array ExecuTorchMCPServer::list_tools_for(const Ref<ExecuTorchRuntime> &p_runtime) const {
	MCPToolbox::Scope scope;
	scope.runtime = p_runtime;
	return protocol.get_toolbox().list_tools(scope);
}

Variant ExecuTorchMCPServer::call_tool_for(const Ref<ExecuTorchRuntime> &p_runtime, const String &p_name, const Dictionary &p_arguments, String &r_error) {
	MCPToolbox::Scope scope;
	scope.runtime = p_runtime;
	const MCPToolbox::Result result = protocol.get_toolbox().call(scope, p_name, p_arguments);
	r_error = result.error;
	return result.value;
}

String ExecuTorchMCPServer::handle_message_for(const Ref<ExecuTorchRuntime> &p_runtime, const String &p_message) {
	MCPProtocol::Context context;
	context.scope.runtime = p_runtime;
	return protocol.handle(p_message, context).body;
}
