#include "executorch_runtime.h"

#include "executorch_support.h"

#include "core/config/project_settings.h"
#include "core/os/os.h"

Ref<ExecuTorchModel> ExecuTorchRuntime::_current_model() const {
	MutexLock lock(model_mutex);
	return model;
}

// --- Loading ---------------------------------------------------------------

bool ExecuTorchRuntime::load_model_from_file(const String &p_path) {
	Ref<ExecuTorchModel> loaded;
	loaded.instantiate();
	// ExecuTorchModel prints the precise reason; the old model stays loaded.
	if (!loaded->load_from_file(p_path)) {
		return false;
	}
	{
		MutexLock lock(model_mutex);
		model = loaded;
	}
	mcp_server->notify_model_changed(vformat("Loaded model %s.", p_path));
	emit_model_loaded(p_path);
	_autostart_mcp_server();
	return true;
}

bool ExecuTorchRuntime::is_model_loaded() const {
	const Ref<ExecuTorchModel> current = _current_model();
	return current.is_valid() && current->is_loaded();
}

void ExecuTorchRuntime::unload_model() {
	{
		MutexLock lock(model_mutex);
		if (model.is_null()) {
			return;
		}
		model.unref();
	}
	mcp_server->notify_model_changed("Unloaded the model.");
}

Ref<ExecuTorchModel> ExecuTorchRuntime::get_model() const {
	return _current_model();
}

// --- Inference ----------------------------------------------------------------

Dictionary ExecuTorchRuntime::run_inference(const Dictionary &p_inputs, const String &p_method) {
	const Ref<ExecuTorchModel> current = _current_model();
	if (current.is_null() || !current->is_loaded()) {
		failed_inferences.increment();
		ERR_FAIL_V_MSG(Dictionary(), "No model is loaded. Call load_model_from_file() first.");
	}
	Dictionary outputs;
	uint64_t execute_nsec = 0;
	const String error = current->run(p_method, p_inputs, outputs, execute_nsec);
	if (!error.is_empty()) {
		failed_inferences.increment();
		ERR_FAIL_V_MSG(Dictionary(), error);
	}
	total_inferences.increment();
	last_inference_nsec.set(execute_nsec);
	return outputs;
}

Dictionary ExecuTorchRuntime::describe_model() const {
	const Ref<ExecuTorchModel> current = _current_model();
	if (current.is_null() || !current->is_loaded()) {
		return Dictionary();
	}
	Dictionary methods;
	for (const String &name : current->get_method_names()) {
		Dictionary method = current->get_method_info(name);
		method.erase("name");
		methods[name] = method;
	}
	Dictionary info;
	info["path"] = current->get_source_path();
	info["file_size"] = current->get_file_size();
	info["methods"] = methods;
	return info;
}

Dictionary ExecuTorchRuntime::get_model_info() const {
	const Dictionary info = describe_model();
	ERR_FAIL_COND_V_MSG(info.is_empty(), Dictionary(), "No model is loaded. Call load_model_from_file() first.");
	return info;
}

Dictionary ExecuTorchRuntime::health_check() const {
	const Ref<ExecuTorchModel> current = _current_model();
	const bool loaded = current.is_valid() && current->is_loaded();
	Dictionary health;
	health["status"] = loaded ? "ok" : "no_model";
	health["model_loaded"] = loaded;
	health["model_path"] = loaded ? current->get_source_path() : String();
	health["total_inferences"] = total_inferences.get();
	health["failed_inferences"] = failed_inferences.get();
	health["last_inference_time_ms"] = get_last_inference_time();
	health["executorch_version"] = executorch_version_string();
	health["mcp_server_port"] = get_mcp_server_port();
	return health;
}

// --- MCP ------------------------------------------------------------------------

Array ExecuTorchRuntime::list_mcp_tools() const {
	return mcp_server->list_tools();
}

Variant ExecuTorchRuntime::call_mcp_tool(const String &p_name, const Dictionary &p_arguments) {
	String error;
	const Variant result = mcp_server->call_tool(p_name, p_arguments, error);
	ERR_FAIL_COND_V_MSG(!error.is_empty(), Variant(), error);
	return result;
}

String ExecuTorchRuntime::handle_mcp_message(const String &p_message) {
	return mcp_server->handle_json(p_message, String());
}

int64_t ExecuTorchRuntime::start_mcp_server(int64_t p_port, const Dictionary &p_options) {
	return mcp_server->start_http((int)p_port, p_options);
}

void ExecuTorchRuntime::stop_mcp_server() {
	mcp_server->stop_http();
}

bool ExecuTorchRuntime::is_mcp_server_running() const {
	return mcp_server->is_http_running();
}

int64_t ExecuTorchRuntime::get_mcp_server_port() const {
	return mcp_server->get_http_port();
}

// The whole-game switch: `--executorch-mcp-port=PORT` after `--` on the command
// line, or the project setting executorch/mcp/autostart (with .../port and
// .../token). The first runtime that loads a model starts the server.
void ExecuTorchRuntime::_autostart_mcp_server() {
	static SafeFlag started_for_game;
	if (started_for_game.is_set() || is_mcp_server_running()) {
		return;
	}
	int port = -1;
	for (const String &argument : OS::get_singleton()->get_cmdline_user_args()) {
		if (argument.begins_with("--executorch-mcp-port=")) {
			port = argument.get_slice("=", 1).to_int();
		}
	}
	ProjectSettings *settings = ProjectSettings::get_singleton();
	if (port < 0 && settings && bool(settings->get_setting("executorch/mcp/autostart", false))) {
		port = settings->get_setting("executorch/mcp/port", 0);
	}
	if (port < 0) {
		return;
	}
	Dictionary options;
	const String token = settings ? String(settings->get_setting("executorch/mcp/token", "")) : String();
	if (!token.is_empty()) {
		options["token"] = token;
	}
	if (start_mcp_server(port, options) >= 0) {
		started_for_game.set();
	}
}

// --- Performance counters ---------------------------------------------------------

void ExecuTorchRuntime::reset_performance_stats() {
	total_inferences.set(0);
	failed_inferences.set(0);
	last_inference_nsec.set(0);
}

int64_t ExecuTorchRuntime::get_total_inferences() const {
	return (int64_t)total_inferences.get();
}

int64_t ExecuTorchRuntime::get_failed_inferences() const {
	return (int64_t)failed_inferences.get();
}

double ExecuTorchRuntime::get_last_inference_time() const {
	return last_inference_nsec.get() / 1.0e6;
}

ExecuTorchRuntime::ExecuTorchRuntime() {
	mcp_server.instantiate();
	mcp_server->set_target(this);
}

ExecuTorchRuntime::~ExecuTorchRuntime() {
	// The server's threads call into this object: stop them while it is whole.
	mcp_server->stop_http();
	mcp_server->set_target(nullptr);
}
