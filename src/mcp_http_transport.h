// MCP Streamable HTTP transport (one endpoint, /mcp) on loopback.
//
// An accept thread takes connections; each connection gets its own thread,
// so a client that sends half a request, never reads, or waits on a slow
// model only ever holds up itself. Nothing here runs on Godot's main thread:
// the game loop never waits for a client, and a client never waits for a frame.
//
// Requests are checked in this order, each failure answered with its status:
// path (404), Host (421, DNS-rebinding protection), Origin (403), bearer token
// (401), body size (413), method (405), then the MCP rules for POST/GET/DELETE
// (session id 400/404, MCP-Protocol-Version 400, notifications 202).

#pragma once

#include "core/io/net_socket.h"
#include "core/os/mutex.h"
#include "core/os/thread.h"
#include "core/templates/hash_map.h"
#include "core/templates/local_vector.h"
#include "core/templates/safe_refcount.h"

class MCPServerInternal;

class MCPHttpTransport {
public:
	struct Request {
		String method;
		String path;
		HashMap<String, String> headers; // names lowercased
		PackedByteArray body;
	};

	struct Response {
		int status = 200;
		String content_type = "application/json";
		String body;
		HashMap<String, String> headers;
		bool close = false;
	};

private:
	struct Connection {
		MCPHttpTransport *transport = nullptr;
		Ref<NetSocket> socket;
		Thread thread;
		SafeFlag finished;
	};

	MCPServerInternal *server = nullptr; // owns this transport
	Ref<NetSocket> listener;
	Thread accept_thread;
	SafeFlag running;
	SafeFlag stopping;
	int port = -1;

	// Options (see ExecuTorchRuntime.start_mcp_server).
	String token;
	String bind_address = "127.0.0.1";
	int64_t max_body_bytes = 1 << 20;
	int max_connections = 64;

	// Only the accept thread touches this (and stop(), after joining it).
	LocalVector<Connection *> connections;

	static void _accept_loop(void *p_self);
	static void _connection_loop(void *p_connection);
	void _reap_finished(bool p_wait_for_all);

	enum ReadResult {
		READ_OK,
		READ_CLOSED, // peer closed, idle timeout or shutdown: close silently
		READ_TIMEOUT, // half a request: 408
		READ_HEAD_TOO_LARGE, // 431
		READ_BODY_TOO_LARGE, // 413
		READ_BAD_REQUEST, // 400
	};
	ReadResult _read_request(const Ref<NetSocket> &p_socket, LocalVector<uint8_t> &r_buffer, Request &r_request) const;
	bool _receive_more(const Ref<NetSocket> &p_socket, LocalVector<uint8_t> &r_buffer, uint64_t p_deadline_msec) const;
	bool _send_all(const Ref<NetSocket> &p_socket, const CharString &p_data) const;
	bool _write_response(const Ref<NetSocket> &p_socket, const Response &p_response) const;

	bool _is_local_host(const String &p_host) const;
	Response _handle(const Request &p_request);
	Response _handle_post(const Request &p_request, const String &p_session_id);
	void _serve_event_stream(const Ref<NetSocket> &p_socket, const String &p_session_id);

	static Response _status(int p_status, const String &p_message, bool p_close = false);
	static Response _jsonrpc_status(int p_status, int p_code, const String &p_message);

public:
	// Returns the bound port, or -1 after printing why.
	int start(int p_port, const Dictionary &p_options);
	void stop();
	bool is_running() const { return running.is_set(); }
	int get_port() const { return port; }

	explicit MCPHttpTransport(MCPServerInternal *p_server) :
			server(p_server) {}
	~MCPHttpTransport() { stop(); }
};
