// ExecuTorchRuntime: the GDScript entry point. Its bound API is declared in
// module_spec.yaml (see executorch_runtime.gen.h) and implemented here.

#pragma once

#include "executorch_runtime.gen.h"

#include "executorch_model.h"
#include "mcp_server_internal.h"

#include "core/object/ref_counted.h"

class ExecuTorchRuntime : public RefCounted {
	GDCLASS(ExecuTorchRuntime, RefCounted);

	Ref<ExecuTorchModel> model;
	Ref<MCPServerInternal> mcp_server;
	uint64_t total_inferences = 0;
	uint64_t failed_inferences = 0;
	double last_inference_time_ms = 0.0;

protected:
	static void _bind_methods();

public:
	EXECUTORCH_RUNTIME_GENERATED_API

	ExecuTorchRuntime();
};
