// ExecuTorchRuntime: the GDScript entry point. Its bound API is declared in
// module_spec.yaml (see executorch_runtime.gen.h) and implemented here.
//
// A runtime that holds a model is one of the game's models: it is in
// ExecuTorchRegistry under its model name, where the MCP server (the layer
// above, src/mcp/) finds it. The runtime's own MCP methods reach that server
// through ExecuTorchMCPService, an interface the server installs, so nothing
// here depends on the layer above.
//
// Thread safety: GDScript calls arrive on the main thread while MCP
// connection threads call infer() and describe_model(). The model reference is
// guarded by model_mutex, the counters are atomic, and ExecuTorchModel
// serializes its own ExecuTorch calls.

#pragma once

#include "executorch_runtime.gen.h"

#include "executorch_model.h"

#include "core/object/ref_counted.h"
#include "core/object/worker_thread_pool.h"
#include "core/os/mutex.h"
#include "core/templates/hash_map.h"
#include "core/templates/safe_refcount.h"

class ExecuTorchRuntime;

// What ExecuTorchRuntime's MCP methods need from the MCP server. The server
// (src/mcp/) installs its implementation at startup; until then the methods
// print that MCP is unavailable.
class ExecuTorchMCPService {
public:
	virtual Array list_tools_for(const Ref<ExecuTorchRuntime> &p_runtime) const = 0;
	// Returns the tool's result, or sets r_error to the sentence naming the problem.
	virtual Variant call_tool_for(const Ref<ExecuTorchRuntime> &p_runtime, const String &p_name, const Dictionary &p_arguments, String &r_error) = 0;
	virtual String handle_message_for(const Ref<ExecuTorchRuntime> &p_runtime, const String &p_message) = 0;
	virtual int start_http(int64_t p_port, const Dictionary &p_options) = 0;
	virtual void stop_http() = 0;
	virtual int get_http_port() const = 0;
	virtual ~ExecuTorchMCPService() = default;

	static void install(ExecuTorchMCPService *p_service);
	static ExecuTorchMCPService *get();
};

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
	static ExecuTorchMCPService *_mcp_service();

protected:
	static void _bind_methods();

public:
	EXECUTORCH_RUNTIME_GENERATED_API

	// For the layers above (the MCP server): the operations without printing.
	// A failure comes back as a full sentence, the same one run_inference prints.
	String infer(const Dictionary &p_inputs, const String &p_method, Dictionary &r_outputs);
	// get_model_info() without the error when nothing is loaded.
	Dictionary describe_model() const;

	ExecuTorchRuntime();
	~ExecuTorchRuntime() override;
};
