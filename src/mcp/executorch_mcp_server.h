// ExecuTorchMCPServer: the game's one Model Context Protocol server, an engine
// singleton made at the SERVERS level (register_types). Its bound API is
// declared in module_spec.yaml (see executorch_mcp_server.gen.h).
//
// It is the top layer: it reads the game's models from ExecuTorchRegistry
// and calls the runtimes' and models' C++ API; it listens to the registry to
// tell clients when models come and go; and it implements
// ExecuTorchMCPService, through which ExecuTorchRuntime's own MCP methods
// reach it. Nothing below includes this header.

#pragma once

#include "executorch_mcp_server.gen.h"

#include "mcp_http_transport.h"
#include "mcp_protocol.h"
#include "mcp_stdio_transport.h"

#include "../executorch_runtime.h"

#include "core/object/object.h"

class ExecuTorchMCPServer : public Object, public ExecuTorchMCPService {
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
	EXECUTORCH_MCP_SERVER_GENERATED_API

	static ExecuTorchMCPServer *get_singleton() { return singleton; }

	// At SCENE level: the whole-game switches. `-- --executorch-mcp-port=PORT`
	// or the project setting executorch/mcp/autostart (with .../port and
	// .../token) start the HTTP transport; `-- --executorch-mcp-stdio` serves
	// stdio. Not in the editor, whose project runs start their own.
	void start_for_game();
	// Stops every transport (SCENE level teardown, while the runtimes are whole).
	void stop_all();

	// ExecuTorchMCPService, for ExecuTorchRuntime's MCP methods.
	Array list_tools_for(const Ref<ExecuTorchRuntime> &p_runtime) const override;
	Variant call_tool_for(const Ref<ExecuTorchRuntime> &p_runtime, const String &p_name, const Dictionary &p_arguments, String &r_error) override;
	String handle_message_for(const Ref<ExecuTorchRuntime> &p_runtime, const String &p_message) override;
	int start_http(int64_t p_port, const Dictionary &p_options) override;
	void stop_http() override;
	int get_http_port() const override;

	ExecuTorchMCPServer();
	~ExecuTorchMCPServer() override;
};
