// MCP over stdin and stdout, for clients that start the game themselves
// (Claude Desktop and other stdio-only clients):
//
//   godot --headless --path GAME -- --executorch-mcp-stdio
//
// Newline-delimited JSON-RPC: one message per line on stdin, one answer or
// notification per line on stdout. stdout must carry nothing else, so when
// the switch is given, the module claims it at the CORE initialization level,
// before Godot prints its banner: the real stdout is kept for protocol
// messages and file descriptor 1 is pointed at stderr, where everything else
// the engine (and ExecuTorch) prints then goes. When the client closes stdin
// the game quits, as MCP's stdio transport asks.

#pragma once

#include "core/os/mutex.h"
#include "core/os/thread.h"
#include "core/templates/local_vector.h"
#include "core/templates/safe_refcount.h"

class MCPProtocol;

class MCPStdioTransport {
	MCPProtocol *protocol = nullptr; // owned by the server, outlives this transport
	Thread thread;
	SafeFlag running;
	SafeFlag stopping;
	int64_t handshake_stream = 0; // 2025 notifications, once the client has initialized
	LocalVector<int64_t> listen_streams; // 2026 subscriptions/listen; reader thread only
	Mutex write_mutex;

	static void _serve(void *p_self);
	void _write_line(const String &p_line);
	void _drain_notifications();
	static void _quit_game();

public:
	static constexpr const char *SWITCH = "--executorch-mcp-stdio";

	// CORE level: takes stdout for MCP when the switch is on the command line.
	static void claim_stdout_if_requested();
	static void release_stdout();
	static bool is_requested();

	// Serves stdin on a thread of its own; false (printed) without the switch.
	bool start();
	void stop();
	bool is_running() const { return running.is_set(); }

	explicit MCPStdioTransport(MCPProtocol *p_protocol) :
			protocol(p_protocol) {}
	~MCPStdioTransport() { stop(); }
};
