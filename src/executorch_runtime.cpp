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
	return _use_model(loaded);
}

bool ExecuTorchRuntime::load_model(const Ref<ExecuTorchModel> &p_model) {
	ERR_FAIL_COND_V_MSG(p_model.is_null(), false, "The 'model' is null. Pass an ExecuTorchModel, e.g. load(\"res://models/net.pte\").");
	ERR_FAIL_COND_V_MSG(!p_model->is_loaded(), false, "The 'model' has no program loaded. Call its load_from_file() first, or load() the .pte.");
	return _use_model(p_model);
}

bool ExecuTorchRuntime::_use_model(const Ref<ExecuTorchModel> &p_model) {
	const String path = p_model->get_source_path();
	{
		MutexLock lock(model_mutex);
		model = p_model;
		last_inputs = Dictionary();
		last_method = String();
	}
	mcp_server->notify_model_changed(vformat("Loaded model %s.", path));
	emit_model_loaded(path);
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
	_count_inference(error, execute_nsec);
	ERR_FAIL_COND_V_MSG(!error.is_empty(), Dictionary(), error);
	{
		MutexLock lock(model_mutex);
		last_inputs = p_inputs;
		last_method = p_method;
	}
	return outputs;
}

// This runtime's counters (the process-wide monitors are the model's).
void ExecuTorchRuntime::_count_inference(const String &p_error, uint64_t p_execute_nsec) {
	if (!p_error.is_empty()) {
		failed_inferences.increment();
		return;
	}
	total_inferences.increment();
	last_inference_nsec.set(p_execute_nsec);
}

// --- Asynchronous inference -----------------------------------------------------

int64_t ExecuTorchRuntime::run_inference_async(const Dictionary &p_inputs, const String &p_method) {
	const Ref<ExecuTorchModel> current = _current_model();
	ERR_FAIL_COND_V_MSG(current.is_null(), -1, "No model is loaded. Call load_model_from_file() first.");
	AsyncRequest *request = memnew(AsyncRequest);
	request->runtime_id = get_instance_id();
	request->model = current; // keeps the model alive even if it is unloaded meanwhile
	request->inputs = p_inputs.duplicate(true);
	request->method = p_method;
	// Held across add_native_task, so the delivery (main thread) always finds
	// the request's task id to wait on.
	MutexLock lock(async_mutex);
	request->request_id = next_request_id++;
	const int64_t request_id = request->request_id;
	pending_requests.insert(request_id, WorkerThreadPool::get_singleton()->add_native_task(&ExecuTorchRuntime::_run_async_request, request, false, "ExecuTorch inference"));
	return request_id;
}

void ExecuTorchRuntime::_run_async_request(void *p_request) {
	AsyncRequest *request = static_cast<AsyncRequest *>(p_request);
	Dictionary outputs;
	uint64_t execute_nsec = 0;
	const String error = request->model->run(request->method, request->inputs, outputs, execute_nsec);
	callable_mp_static(&ExecuTorchRuntime::_deliver_async_result).call_deferred((uint64_t)request->runtime_id, request->request_id, outputs, error, execute_nsec);
	memdelete(request);
}

void ExecuTorchRuntime::_deliver_async_result(uint64_t p_runtime_id, int64_t p_request_id, const Dictionary &p_result, const String &p_error, uint64_t p_execute_nsec) {
	ExecuTorchRuntime *runtime = Object::cast_to<ExecuTorchRuntime>(ObjectDB::get_instance(ObjectID(p_runtime_id)));
	if (!runtime) {
		return; // freed meanwhile; its destructor waited for the task
	}
	WorkerThreadPool::TaskID task = WorkerThreadPool::INVALID_TASK_ID;
	{
		MutexLock lock(runtime->async_mutex);
		if (const WorkerThreadPool::TaskID *found = runtime->pending_requests.getptr(p_request_id)) {
			task = *found;
			runtime->pending_requests.erase(p_request_id);
		}
	}
	if (task != WorkerThreadPool::INVALID_TASK_ID) {
		WorkerThreadPool::get_singleton()->wait_for_task_completion(task); // finished: releases it
	}
	runtime->_count_inference(p_error, p_execute_nsec);
	if (!p_error.is_empty()) {
		ERR_PRINT(vformat("Request %d: %s", p_request_id, p_error));
	}
	runtime->emit_inference_completed(p_request_id, p_result);
}

int64_t ExecuTorchRuntime::get_pending_requests() const {
	MutexLock lock(async_mutex);
	return pending_requests.size();
}

// --- Benchmark and threads --------------------------------------------------------

Dictionary ExecuTorchRuntime::benchmark(int64_t p_iterations, const String &p_method) {
	ERR_FAIL_COND_V_MSG(p_iterations <= 0, Dictionary(), vformat("'iterations' must be positive, not %d.", p_iterations));
	const Ref<ExecuTorchModel> current = _current_model();
	ERR_FAIL_COND_V_MSG(current.is_null(), Dictionary(), "No model is loaded. Call load_model_from_file() first.");
	Dictionary inputs;
	{
		MutexLock lock(model_mutex);
		inputs = last_method == p_method ? last_inputs : Dictionary();
	}
	ERR_FAIL_COND_V_MSG(inputs.is_empty(), Dictionary(), vformat("No inputs for '%s' yet: call run_inference(inputs, \"%s\") once first; benchmark() reuses them.", p_method, p_method));
	LocalVector<uint64_t> samples;
	const String error = current->benchmark_run(p_method, inputs, (int)p_iterations, samples);
	ERR_FAIL_COND_V_MSG(!error.is_empty(), Dictionary(), error);
	samples.sort();
	uint64_t total = 0;
	for (uint64_t sample : samples) {
		total += sample;
	}
	Dictionary result;
	result["iterations"] = p_iterations;
	result["min_us"] = samples[0] / 1000.0;
	result["median_us"] = samples[samples.size() / 2] / 1000.0;
	result["p90_us"] = samples[MIN(samples.size() - 1, (uint32_t)(samples.size() * 0.9))] / 1000.0;
	result["mean_us"] = total / 1000.0 / samples.size();
	return result;
}

bool ExecuTorchRuntime::set_thread_count(int64_t p_count) {
	ERR_FAIL_COND_V_MSG(p_count <= 0, false, vformat("The thread 'count' must be positive, not %d.", p_count));
	return executorch_set_thread_count((int)p_count);
}

int64_t ExecuTorchRuntime::get_thread_count() {
	return executorch_thread_count();
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
	// Running requests hold their model, not this object; wait for them so no
	// task outlives its owner. Their queued results find no runtime and are dropped.
	LocalVector<WorkerThreadPool::TaskID> tasks;
	{
		MutexLock lock(async_mutex);
		for (const KeyValue<int64_t, WorkerThreadPool::TaskID> &entry : pending_requests) {
			tasks.push_back(entry.value);
		}
		pending_requests.clear();
	}
	for (WorkerThreadPool::TaskID task : tasks) {
		WorkerThreadPool::get_singleton()->wait_for_task_completion(task);
	}
}
