// ExecuTorchRuntime: the GDScript entry point. Its bound API is declared here
// and documented in module_spec.yaml, whose generated _bind_methods checks
// every signature below against the spec.
//
// A runtime that holds a model is one of the game's models: it is in
// ExecuTorchRegistry under its model name, where the MCP server (the layer
// above, src/mcp/) finds it. The runtime's own MCP methods are declared here,
// as GDScript sees them, and implemented in that layer
// (src/mcp/executorch_runtime_mcp.cpp): nothing in this file calls up.
//
// Thread safety: GDScript calls arrive on the main thread while MCP
// connection threads call infer() and describe_model(). The model reference is
// guarded by model_mutex, the counters are atomic, and ExecuTorchModel
// serializes its own ExecuTorch calls.

#pragma once

#include "executorch_model.h"

#include "core/object/ref_counted.h"
#include "core/object/worker_thread_pool.h"
#include "core/os/mutex.h"
#include "core/templates/hash_map.h"
#include "core/templates/safe_refcount.h"

class ExecuTorchRuntime : public RefCounted {
	GDCLASS(ExecuTorchRuntime, RefCounted);

	Ref<ExecuTorchModel> model;
	mutable Mutex model_mutex;
	// The name asked for (model_name) and the one in use in the registry
	// (unique among live models); both guarded by model_mutex.
	String requested_name;
	String registered_name;
	SafeNumeric<uint64_t> total_inferences;
	SafeNumeric<uint64_t> failed_inferences;
	SafeNumeric<uint64_t> last_inference_nsec;

	// Inputs of the last successful run_inference, for benchmark().
	Dictionary last_inputs;
	String last_method;

	// Hot reload: the model file as it was when loaded, and a change seen but
	// not yet stable (a reload waits until the file stops changing).
	struct FileStamp {
		bool valid = false;
		int64_t mtime_nsec = 0;
		int64_t size = 0;
		uint64_t inode = 0;
		bool operator==(const FileStamp &p_other) const {
			return valid == p_other.valid && mtime_nsec == p_other.mtime_nsec && size == p_other.size && inode == p_other.inode;
		}
	};
	String watched_path; // globalized; empty when the model is not a plain file
	FileStamp loaded_stamp;
	FileStamp pending_stamp;
	static FileStamp _stamp_of(const String &p_path);
	void _watch(const Ref<ExecuTorchModel> &p_model);
	void _check_file_changed();
	static void _poll_hot_reload();

	// run_inference_async: request id -> its WorkerThreadPool task, until delivered.
	mutable Mutex async_mutex;
	HashMap<int64_t, WorkerThreadPool::TaskID> pending_requests;
	int64_t next_request_id = 1;

	struct AsyncRequest {
		ObjectID runtime_id;
		int64_t request_id = 0;
		Ref<ExecuTorchModel> model;
		Dictionary inputs;
		String method;
	};
	static void _run_async_request(void *p_request);
	static void _deliver_async_result(uint64_t p_runtime_id, int64_t p_request_id, const Dictionary &p_result, const String &p_error, uint64_t p_execute_nsec);

	Ref<ExecuTorchModel> _current_model() const;
	bool _use_model(const Ref<ExecuTorchModel> &p_model, bool p_reload);
	void _count_inference(const String &p_error, uint64_t p_execute_nsec);

protected:
	static void _bind_methods();

public:
	// Loading.
	bool load_model_from_file(const String &p_path);
	bool load_model(const Ref<ExecuTorchModel> &p_model);
	bool is_model_loaded() const;
	void unload_model();
	Ref<ExecuTorchModel> get_model() const;
	void set_model_name(const String &p_name);
	String get_model_name() const;

	// Inference.
	Dictionary run_inference(const Dictionary &p_inputs, const String &p_method = "forward");
	int64_t run_inference_async(const Dictionary &p_inputs, const String &p_method = "forward");
	int64_t get_pending_requests() const;
	Dictionary benchmark(int64_t p_iterations = 100, const String &p_method = "forward", double p_time_budget_ms = 2000.0);
	static bool set_thread_count(int64_t p_count);
	static int64_t get_thread_count();

	// Inspection.
	Dictionary get_model_info() const;
	Dictionary health_check() const; // implemented in src/mcp/executorch_runtime_mcp.cpp (it adds the MCP port)

	// MCP (implemented in src/mcp/executorch_runtime_mcp.cpp).
	Array list_mcp_tools() const;
	String handle_mcp_message(const String &p_message);
	int64_t start_mcp_server(int64_t p_port = 0, const Dictionary &p_options = Dictionary());
	void stop_mcp_server();
	bool is_mcp_server_running() const;
	int64_t get_mcp_server_port() const;
	Variant call_mcp_tool(const String &p_name, const Dictionary &p_arguments = Dictionary());

	// Statistics.
	void reset_performance_stats();
	int64_t get_total_inferences() const;
	int64_t get_failed_inferences() const;
	double get_last_inference_time() const;

	// Signals (emitted with the spec's names; defined in the generated binding).
	void emit_model_loaded(const String &p_path);
	void emit_model_reloaded(const String &p_path);
	void emit_inference_completed(int64_t p_request_id, const Dictionary &p_result);

	// For the layers above (the MCP server): the operations without printing.
	// A failure comes back as a full sentence, the same one run_inference prints.
	String infer(const Dictionary &p_inputs, const String &p_method, Dictionary &r_outputs);
	// get_model_info() without the error when nothing is loaded.
	Dictionary describe_model() const;
	// health_check() without the MCP server's port (which the MCP layer adds).
	Dictionary describe_health() const;

	ExecuTorchRuntime();
	~ExecuTorchRuntime() override;
};
