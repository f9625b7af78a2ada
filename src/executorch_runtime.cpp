#include "executorch_runtime.h"

#include "executorch_registry.h"
#include "executorch_platform.h"
#include "executorch_settings.h"

#include "core/config/project_settings.h"
#include "core/io/file_access_pack.h"
#include "core/os/os.h"
#include "scene/main/scene_tree.h"

#include <sys/stat.h>

#include <atomic>

namespace {

constexpr uint64_t HOT_RELOAD_POLL_MSEC = 250;

// The name a model gets when its runtime has none: the file's base name.
String default_model_name(const String &p_path) {
	return ExecuTorchRegistry::sanitize_name(p_path.get_file().get_basename());
}

} // namespace

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
	return _use_model(loaded, false);
}

bool ExecuTorchRuntime::load_model(const Ref<ExecuTorchModel> &p_model) {
	ERR_FAIL_COND_V_MSG(p_model.is_null(), false, "The 'model' is null. Pass an ExecuTorchModel, e.g. load(\"res://models/net.pte\").");
	ERR_FAIL_COND_V_MSG(!p_model->is_loaded(), false, "The 'model' has no program loaded. Call its load_from_file() first, or load() the .pte.");
	return _use_model(p_model, false);
}

bool ExecuTorchRuntime::_use_model(const Ref<ExecuTorchModel> &p_model, bool p_reload) {
	const String path = p_model->get_source_path();
	String name;
	{
		MutexLock lock(model_mutex);
		model = p_model;
		last_inputs = Dictionary();
		last_method = String();
		name = p_reload ? registered_name : requested_name.is_empty() ? default_model_name(path) : requested_name;
	}
	// Not under model_mutex: the registry's listeners may read this runtime.
	const String what = p_reload ? vformat("Reloaded model '%s' from %s (the file changed).", name, path)
								 : vformat("Loaded model '%s' from %s.", name, path);
	name = ExecuTorchRegistry::get_singleton().put(this, name, what);
	{
		MutexLock lock(model_mutex);
		registered_name = name;
	}
	_watch(p_model);
	if (p_reload) {
		emit_model_reloaded(path);
	} else {
		emit_model_loaded(path);
	}
	return true;
}

bool ExecuTorchRuntime::is_model_loaded() const {
	const Ref<ExecuTorchModel> current = _current_model();
	return current.is_valid() && current->is_loaded();
}

void ExecuTorchRuntime::unload_model() {
	String name;
	{
		MutexLock lock(model_mutex);
		if (model.is_null()) {
			return;
		}
		model.unref();
		name = registered_name;
		registered_name = String();
		watched_path = String();
	}
	ExecuTorchRegistry::get_singleton().remove(this, vformat("Unloaded model '%s'.", name));
}

Ref<ExecuTorchModel> ExecuTorchRuntime::get_model() const {
	return _current_model();
}

void ExecuTorchRuntime::set_model_name(const String &p_name) {
	ERR_FAIL_COND_MSG(!p_name.is_empty() && !ExecuTorchRegistry::is_valid_name(p_name),
			vformat("The 'model_name' '%s' has characters agents cannot use in a tool name; use letters, digits, '_' and '-' (at most 64).", p_name));
	bool loaded = false;
	String path;
	{
		MutexLock lock(model_mutex);
		requested_name = p_name;
		loaded = model.is_valid();
		path = loaded ? model->get_source_path() : String();
	}
	if (!loaded) {
		return;
	}
	const String wanted = p_name.is_empty() ? default_model_name(path) : p_name;
	const String name = ExecuTorchRegistry::get_singleton().put(this, wanted, vformat("Renamed a model to '%s'.", wanted));
	MutexLock lock(model_mutex);
	registered_name = name;
}

String ExecuTorchRuntime::get_model_name() const {
	MutexLock lock(model_mutex);
	return model.is_valid() ? registered_name : requested_name;
}

// --- Hot reload ---------------------------------------------------------------

ExecuTorchRuntime::FileStamp ExecuTorchRuntime::_stamp_of(const String &p_path) {
	FileStamp stamp;
	struct stat info;
	if (stat(p_path.utf8().get_data(), &info) == 0) {
		stamp.valid = true;
		stamp.mtime_nsec = (int64_t)info.st_mtim.tv_sec * 1000000000 + info.st_mtim.tv_nsec;
		stamp.size = info.st_size;
		stamp.inode = info.st_ino;
	}
	return stamp;
}

void ExecuTorchRuntime::_watch(const Ref<ExecuTorchModel> &p_model) {
	String path;
	if (executorch_hot_reload_enabled()) {
		const String source = p_model->get_source_path();
		const bool in_pack = PackedData::get_singleton() && !PackedData::get_singleton()->is_disabled() &&
				PackedData::get_singleton()->has_path(source);
		const String disk_path = ProjectSettings::get_singleton()->globalize_path(source);
		if (!in_pack && disk_path.is_absolute_path()) {
			path = disk_path;
		}
	}
	const FileStamp stamp = path.is_empty() ? FileStamp() : _stamp_of(path);
	{
		MutexLock lock(model_mutex);
		watched_path = path;
		loaded_stamp = stamp;
		pending_stamp = FileStamp();
	}
	// One process-wide poll on the main loop's frames, connected the first time
	// a model is watched.
	static std::atomic<bool> connected{ false };
	SceneTree *tree = SceneTree::get_singleton();
	if (!path.is_empty() && tree && !connected.exchange(true)) {
		tree->connect("process_frame", callable_mp_static(&ExecuTorchRuntime::_poll_hot_reload));
	}
}

void ExecuTorchRuntime::_poll_hot_reload() {
	static uint64_t last_poll = 0;
	const uint64_t now = OS::get_singleton()->get_ticks_msec();
	if (now - last_poll < HOT_RELOAD_POLL_MSEC) {
		return;
	}
	last_poll = now;
	for (const ExecuTorchRegistry::Entry &entry : ExecuTorchRegistry::get_singleton().entries()) {
		const Ref<ExecuTorchRuntime> runtime = entry.runtime;
		runtime->_check_file_changed();
	}
}

// On the main thread, between frames: a reload never runs during a GDScript
// call, and a call already running on another thread keeps its old program.
void ExecuTorchRuntime::_check_file_changed() {
	String path;
	String source;
	FileStamp loaded_as;
	FileStamp pending;
	{
		MutexLock lock(model_mutex);
		if (watched_path.is_empty() || model.is_null()) {
			return;
		}
		path = watched_path;
		source = model->get_source_path();
		loaded_as = loaded_stamp;
		pending = pending_stamp;
	}
	const FileStamp now = _stamp_of(path);
	if (now == loaded_as) {
		MutexLock lock(model_mutex);
		pending_stamp = FileStamp();
		return;
	}
	if (!(now == pending)) {
		// Changed, maybe still being written: reload once it holds still for a poll.
		MutexLock lock(model_mutex);
		pending_stamp = now;
		return;
	}
	{
		MutexLock lock(model_mutex);
		loaded_stamp = now; // tried once per change, whatever the outcome
		pending_stamp = FileStamp();
	}
	Ref<ExecuTorchModel> fresh;
	fresh.instantiate();
	Error error = OK;
	const String reason = fresh->load(source, error);
	if (!reason.is_empty()) {
		ERR_PRINT(vformat("Hot reload: '%s' changed on disk but does not load, so the program loaded before stays in use: %s", source, reason));
		return;
	}
	_use_model(fresh, true);
}

// --- Inference ----------------------------------------------------------------

String ExecuTorchRuntime::infer(const Dictionary &p_inputs, const String &p_method, Dictionary &r_outputs) {
	const Ref<ExecuTorchModel> current = _current_model();
	if (current.is_null() || !current->is_loaded()) {
		failed_inferences.increment();
		return "No model is loaded. Call load_model_from_file() first.";
	}
	uint64_t execute_nsec = 0;
	const String error = current->run(p_method, p_inputs, r_outputs, execute_nsec);
	_count_inference(error, execute_nsec);
	if (error.is_empty()) {
		MutexLock lock(model_mutex);
		last_inputs = p_inputs;
		last_method = p_method;
	}
	return error;
}

Dictionary ExecuTorchRuntime::run_inference(const Dictionary &p_inputs, const String &p_method) {
	Dictionary outputs;
	const String error = infer(p_inputs, p_method, outputs);
	ERR_FAIL_COND_V_MSG(!error.is_empty(), Dictionary(), error);
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
	request->model = current; // keeps the model alive even if it is unloaded or reloaded meanwhile
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

Dictionary ExecuTorchRuntime::benchmark(int64_t p_iterations, const String &p_method, double p_time_budget_ms) {
	ERR_FAIL_COND_V_MSG(p_iterations <= 0, Dictionary(), vformat("'iterations' must be positive, not %d.", p_iterations));
	// An infinite budget with a huge count never returned: the budget is what bounds the call.
	ERR_FAIL_COND_V_MSG(!(p_time_budget_ms > 0.0) || !Math::is_finite(p_time_budget_ms), Dictionary(),
			vformat("'time_budget_ms' must be a positive, finite number of milliseconds, not %s.", String::num_real(p_time_budget_ms)));
	const Ref<ExecuTorchModel> current = _current_model();
	ERR_FAIL_COND_V_MSG(current.is_null(), Dictionary(), "No model is loaded. Call load_model_from_file() first.");
	Dictionary inputs;
	{
		MutexLock lock(model_mutex);
		inputs = last_method == p_method ? last_inputs : Dictionary();
	}
	ERR_FAIL_COND_V_MSG(inputs.is_empty(), Dictionary(), vformat("No inputs for '%s' yet: call run_inference(inputs, \"%s\") once first; benchmark() reuses them.", p_method, p_method));
	LocalVector<uint64_t> samples;
	const uint64_t budget_nsec = (uint64_t)MIN(p_time_budget_ms * 1.0e6, 9.0e18); // ~285 years at most
	const String error = current->benchmark_run(p_method, inputs, p_iterations, budget_nsec, samples);
	ERR_FAIL_COND_V_MSG(!error.is_empty(), Dictionary(), error);
	uint64_t total = 0;
	for (uint64_t sample : samples) {
		total += sample;
	}
	samples.sort();
	Dictionary result;
	result["iterations"] = (int64_t)samples.size();
	result["min_us"] = samples[0] / 1000.0;
	result["median_us"] = samples[samples.size() / 2] / 1000.0;
	result["p90_us"] = samples[MIN(samples.size() - 1, (uint32_t)(samples.size() * 0.9))] / 1000.0;
	result["mean_us"] = total / 1000.0 / samples.size();
	result["stopped_by_time_budget"] = (int64_t)samples.size() < p_iterations;
	return result;
}

bool ExecuTorchRuntime::set_thread_count(int64_t p_count) {
	// The pool has a thread per logical processor (ExecuTorch caps it at 63);
	// set_thread_count chooses how many of them work.
	const int threads = executorch_max_thread_count();
	ERR_FAIL_COND_V_MSG(p_count < 1 || p_count > threads, false,
			vformat("The thread 'count' must be between 1 and %d (this machine's logical processors), not %d.", threads, p_count));
	ERR_FAIL_COND_V_MSG(!executorch_set_thread_count((int)p_count), false, "ExecuTorch's thread pool refused to resize.");
	return true;
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
		Dictionary method = current->describe_method(name);
		method.erase("name");
		methods[name] = method;
	}
	Dictionary info;
	info["name"] = get_model_name();
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

Dictionary ExecuTorchRuntime::describe_health() const {
	const Ref<ExecuTorchModel> current = _current_model();
	const bool loaded = current.is_valid() && current->is_loaded();
	Dictionary health;
	health["status"] = loaded ? "ok" : "no_model";
	health["model_loaded"] = loaded;
	health["model_name"] = loaded ? get_model_name() : String();
	health["model_path"] = loaded ? current->get_source_path() : String();
	health["total_inferences"] = total_inferences.get();
	health["failed_inferences"] = failed_inferences.get();
	health["last_inference_time_ms"] = get_last_inference_time();
	health["executorch_version"] = executorch_version_string();
	return health;
}

// The MCP methods (list_mcp_tools, call_mcp_tool, handle_mcp_message and the
// server's start/stop/port) belong to the layer above: src/mcp/executorch_runtime_mcp.cpp.

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

ExecuTorchRuntime::ExecuTorchRuntime() = default;

ExecuTorchRuntime::~ExecuTorchRuntime() {
	// Out of the registry first: from here on no agent can reach this runtime.
	String name;
	{
		MutexLock lock(model_mutex);
		name = model.is_valid() ? registered_name : String();
	}
	if (!name.is_empty()) {
		ExecuTorchRegistry::get_singleton().remove(this, vformat("Model '%s' is gone (its runtime was freed).", name));
	}
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
