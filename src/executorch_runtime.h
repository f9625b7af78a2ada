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
#include "core/os/mutex.h"
#include "core/templates/safe_refcount.h"

class ExecuTorchRuntime : public RefCounted {
	GDCLASS(ExecuTorchRuntime, RefCounted);

	Ref<ExecuTorchModel> model;
	mutable Mutex model_mutex;
	Ref<MCPServerInternal> mcp_server;
	SafeNumeric<uint64_t> total_inferences;
	SafeNumeric<uint64_t> failed_inferences;
	SafeNumeric<uint64_t> last_inference_nsec;

	Ref<ExecuTorchModel> _current_model() const;
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
