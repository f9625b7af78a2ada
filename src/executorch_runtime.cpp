#include "executorch_runtime.h"

#include "executorch_support.h"

// --- Loading ---------------------------------------------------------------

bool ExecuTorchRuntime::load_model_from_file(const String &p_path) {
	Ref<ExecuTorchModel> loaded;
	loaded.instantiate();
	// ExecuTorchModel prints the precise reason; the old model stays loaded.
	if (!loaded->load_from_file(p_path)) {
		return false;
	}
	model = loaded;
	emit_model_loaded(p_path);
	return true;
}

bool ExecuTorchRuntime::is_model_loaded() const {
	return model.is_valid() && model->is_loaded();
}

void ExecuTorchRuntime::unload_model() {
	model.unref();
}

Ref<ExecuTorchModel> ExecuTorchRuntime::get_model() const {
	return model;
}

// --- Inference ----------------------------------------------------------------

Dictionary ExecuTorchRuntime::run_inference(const Dictionary &p_inputs, const String &p_method) {
	if (!is_model_loaded()) {
		failed_inferences++;
		ERR_FAIL_V_MSG(Dictionary(), "No model is loaded. Call load_model_from_file() first.");
	}
	Dictionary outputs;
	uint64_t execute_nsec = 0;
	const String error = model->run(p_method, p_inputs, outputs, execute_nsec);
	if (!error.is_empty()) {
		failed_inferences++;
		ERR_FAIL_V_MSG(Dictionary(), error);
	}
	total_inferences++;
	last_inference_time_ms = execute_nsec / 1.0e6;
	return outputs;
}

Dictionary ExecuTorchRuntime::get_model_info() const {
	ERR_FAIL_COND_V_MSG(!is_model_loaded(), Dictionary(), "No model is loaded. Call load_model_from_file() first.");
	Dictionary methods;
	for (const String &name : model->get_method_names()) {
		Dictionary method = model->get_method_info(name);
		method.erase("name");
		methods[name] = method;
	}
	Dictionary info;
	info["path"] = model->get_source_path();
	info["file_size"] = model->get_file_size();
	info["methods"] = methods;
	return info;
}

Dictionary ExecuTorchRuntime::health_check() const {
	const bool loaded = is_model_loaded();
	Dictionary health;
	health["status"] = loaded ? "ok" : "no_model";
	health["model_loaded"] = loaded;
	health["model_path"] = loaded ? model->get_source_path() : String();
	health["total_inferences"] = total_inferences;
	health["failed_inferences"] = failed_inferences;
	health["last_inference_time_ms"] = last_inference_time_ms;
	health["executorch_version"] = executorch_version_string();
	return health;
}

// --- MCP tools ------------------------------------------------------------------

Array ExecuTorchRuntime::list_mcp_tools() const {
	return mcp_server->list_tools();
}

Variant ExecuTorchRuntime::call_mcp_tool(const String &p_name, const Dictionary &p_arguments) {
	String error;
	const Variant result = mcp_server->call_tool(this, p_name, p_arguments, error);
	ERR_FAIL_COND_V_MSG(!error.is_empty(), Variant(), error);
	return result;
}

// --- Performance counters ---------------------------------------------------------

void ExecuTorchRuntime::reset_performance_stats() {
	total_inferences = 0;
	failed_inferences = 0;
	last_inference_time_ms = 0.0;
}

int64_t ExecuTorchRuntime::get_total_inferences() const {
	return (int64_t)total_inferences;
}

int64_t ExecuTorchRuntime::get_failed_inferences() const {
	return (int64_t)failed_inferences;
}

double ExecuTorchRuntime::get_last_inference_time() const {
	return last_inference_time_ms;
}

ExecuTorchRuntime::ExecuTorchRuntime() {
	mcp_server.instantiate();
}
