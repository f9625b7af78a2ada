#include "executorch_module.h"

#include "executorch_platform.h"
#include "executorch_resource_loader.h"
#include "executorch_settings.h"
#include "mcp/executorch_mcp_server.h"
#include "mcp/mcp_stdio_transport.h"

#include "core/io/resource_loader.h"

namespace {

Ref<ResourceFormatLoaderExecuTorch> resource_loader;

} // namespace

void initialize_executorch_core() {
	// Before Godot prints its banner: with --executorch-mcp-stdio, stdout must
	// carry MCP messages only, so everything else printed goes to stderr.
	MCPStdioTransport::claim_stdout_if_requested();
}

void uninitialize_executorch_core() {
	MCPStdioTransport::release_stdout();
}

void initialize_executorch_scene() {
	initialize_executorch_platform();
	initialize_executorch_settings();
	// .pte files as resources (load(), preload(), exports), as
	// modules/gdscript/register_types.cpp registers its loader.
	resource_loader.instantiate();
	ResourceLoader::add_resource_format_loader(resource_loader);
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
	ResourceLoader::remove_resource_format_loader(resource_loader);
	resource_loader.unref();
	uninitialize_executorch_settings();
	uninitialize_executorch_platform();
}
