// ExecuTorchMCPServer: the game's one Model Context Protocol server, an engine
// singleton made at the SERVERS level (register_types). Its bound API is
// declared here and documented in module_spec.yaml (the generated
// _bind_methods checks each signature against the spec).
//
// It is the top layer: it reads the game's models from ExecuTorchRegistry
// and calls the runtimes' and models' C++ API; it listens to the registry to
// tell clients when models come and go. ExecuTorchRuntime's own MCP methods
// (src/mcp/executorch_runtime_mcp.cpp) call it. Nothing below includes this header.

#pragma once

#include "mcp_http_transport.h"
#include "mcp_protocol.h"
#include "mcp_stdio_transport.h"

#include "../executorch_runtime.h"

#include "core/object/object.h"

class ExecuTorchMCPServer : public Object {
	GDCLASS(ExecuTorchMCPServer, Object);

	static ExecuTorchMCPServer *singleton;

	MCPProtocol protocol;
	MCPHttpTransport http{ &protocol };
	MCPStdioTransport stdio{ &protocol };
	Mutex http_mutex; // start/stop from GDScript and from the runtime's methods

	static void _on_models_changed(void *p_self, const String &p_what);
	void _start_stdio();
	// Reads start()'s options; false with the reason in r_error.
	static bool _parse_options(const Dictionary &p_options, MCPHttpTransport::Options &r_http, MCPProtocol::Limits &r_limits, String &r_error);

protected:
	static void _bind_methods();

public:
	int64_t start(int64_t p_port = 0, const Dictionary &p_options = Dictionary());
	void stop();
	bool is_running() const;
	int64_t get_port() const;
	bool is_serving_stdio() const;
	PackedStringArray get_model_names() const;
	Array list_tools() const;
	Variant call_tool(const String &p_name, const Dictionary &p_arguments = Dictionary());
	String handle_message(const String &p_message);

	static ExecuTorchMCPServer *get_singleton() { return singleton; }

	// At SCENE level: the whole-game switches. `-- --executorch-mcp-port=PORT`
	// or the project setting executorch/mcp/autostart (with .../port and
	// .../token) start the HTTP transport; `-- --executorch-mcp-stdio` serves
	// stdio. Not in the editor, whose project runs start their own.
	void start_for_game();
	// Stops every transport (SCENE level teardown, while the runtimes are whole).
	void stop_all();

	// A runtime's own MCP calls (ExecuTorchRuntime.list_mcp_tools and the
	// rest): the same tools, scoped to that runtime's model.
	Array list_tools_for(const Ref<ExecuTorchRuntime> &p_runtime) const;
	// Returns the tool's result, or sets r_error to the sentence naming the problem.
	Variant call_tool_for(const Ref<ExecuTorchRuntime> &p_runtime, const String &p_name, const Dictionary &p_arguments, String &r_error);
	String handle_message_for(const Ref<ExecuTorchRuntime> &p_runtime, const String &p_message);

	ExecuTorchMCPServer();
	~ExecuTorchMCPServer() override;
};
