// ExecuTorchRuntime's MCP methods, as GDScript sees them on a runtime: the
// game's one MCP server (ExecuTorchMCPServer), its tools scoped to this
// runtime's model, its HTTP transport's start/stop/port, and health_check()
// (the runtime's describe_health() plus that port). They live in the
// MCP layer, which may call down into the runtime; executorch_runtime.cpp
// never calls up into this one.

#include "../executorch_runtime.h"

#include "executorch_mcp_server.h"

namespace {

// The server is made at the SERVERS level and lives until the engine shuts
// down; a runtime used before or after that reports it.
ExecuTorchMCPServer *mcp_server() {
	ExecuTorchMCPServer *server = ExecuTorchMCPServer::get_singleton();
	ERR_FAIL_NULL_V_MSG(server, nullptr, "The MCP server is not available in this process (it is made when the engine starts).");
	return server;
}

} // namespace

Array ExecuTorchRuntime::list_mcp_tools() const {
	ExecuTorchMCPServer *server = mcp_server();
	return server ? server->list_tools_for(Ref<ExecuTorchRuntime>(const_cast<ExecuTorchRuntime *>(this))) : Array();
}

Variant ExecuTorchRuntime::call_mcp_tool(const String &p_name, const Dictionary &p_arguments) {
	ExecuTorchMCPServer *server = mcp_server();
	if (!server) {
		return Variant();
	}
	String error;
	const Variant result = server->call_tool_for(Ref<ExecuTorchRuntime>(this), p_name, p_arguments, error);
	ERR_FAIL_COND_V_MSG(!error.is_empty(), Variant(), error);
	return result;
}

String ExecuTorchRuntime::handle_mcp_message(const String &p_message) {
	ExecuTorchMCPServer *server = mcp_server();
	return server ? server->handle_message_for(Ref<ExecuTorchRuntime>(this), p_message) : String();
}

int64_t ExecuTorchRuntime::start_mcp_server(int64_t p_port, const Dictionary &p_options) {
	ExecuTorchMCPServer *server = mcp_server();
	return server ? server->start(p_port, p_options) : -1;
}

void ExecuTorchRuntime::stop_mcp_server() {
	if (ExecuTorchMCPServer *server = ExecuTorchMCPServer::get_singleton()) {
		server->stop();
	}
}

Dictionary ExecuTorchRuntime::health_check() const {
	Dictionary health = describe_health();
	health["mcp_server_port"] = get_mcp_server_port();
	return health;
}

bool ExecuTorchRuntime::is_mcp_server_running() const {
	return get_mcp_server_port() >= 0;
}

int64_t ExecuTorchRuntime::get_mcp_server_port() const {
	ExecuTorchMCPServer *server = ExecuTorchMCPServer::get_singleton();
	return server ? server->get_port() : -1;
}
