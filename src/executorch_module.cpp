#include "executorch_module.h"

#include "executorch_support.h"
#include "mcp/executorch_mcp_server.h"
#include "mcp/mcp_stdio_transport.h"

void initialize_executorch_core() {
	// Before Godot prints its banner: with --executorch-mcp-stdio, stdout must
	// carry MCP messages only, so everything else printed goes to stderr.
	MCPStdioTransport::claim_stdout_if_requested();
}

void uninitialize_executorch_core() {
	MCPStdioTransport::release_stdout();
}

void initialize_executorch_scene() {
	initialize_executorch_support();
	// The command-line switches and project settings that start the MCP
	// server for the whole game (the server itself exists since SERVERS).
	if (ExecuTorchMCPServer *server = ExecuTorchMCPServer::get_singleton()) {
		server->start_for_game();
	}
}

void uninitialize_executorch_scene() {
	// Transports stop while the runtime layer is still whole: their threads
	// call into it.
	if (ExecuTorchMCPServer *server = ExecuTorchMCPServer::get_singleton()) {
		server->stop_all();
	}
	uninitialize_executorch_support();
}
