// ExecuTorchRuntime: the GDScript entry point. Its bound API is declared in
// module_spec.yaml (see executorch_runtime.gen.h) and implemented here.
//
// Thread safety: GDScript calls arrive on the main thread while the MCP
// server's connection threads call the same methods. The model reference is
// guarded by model_mutex, the counters are atomic, and ExecuTorchModel
// serializes its own ExecuTorch calls.

#pragma once

#include "executorch_runtime.gen.h"

#include "executorch_model.h"
#include "mcp_server_internal.h"

#include "core/object/ref_counted.h"
#include "core/object/worker_thread_pool.h"
#include "core/os/mutex.h"
#include "core/templates/hash_map.h"
#include "core/templates/safe_refcount.h"

class ExecuTorchRuntime : public RefCounted {
	GDCLASS(ExecuTorchRuntime, RefCounted);

	Ref<ExecuTorchModel> model;
	mutable Mutex model_mutex;
	Ref<MCPServerInternal> mcp_server;
	SafeNumeric<uint64_t> total_inferences;
	SafeNumeric<uint64_t> failed_inferences;
	SafeNumeric<uint64_t> last_inference_nsec;

	// Inputs of the last successful run_inference, for benchmark().
	Dictionary last_inputs;
	String last_method;

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
	bool _use_model(const Ref<ExecuTorchModel> &p_model);
	void _count_inference(const String &p_error, uint64_t p_execute_nsec);
	void _autostart_mcp_server();

protected:
	static void _bind_methods();

public:
	EXECUTORCH_RUNTIME_GENERATED_API

	// get_model_info() without the error when nothing is loaded (for MCP listings).
	Dictionary describe_model() const;

	ExecuTorchRuntime();
	~ExecuTorchRuntime() override;
};
