// MCP Streamable HTTP transport (one endpoint, /mcp) on loopback.
//
// An accept thread takes connections; each connection gets its own thread,
// so a client that sends half a request, never reads, or waits on a slow
// model only ever holds up itself. Nothing here runs on Godot's main thread:
// the game loop never waits for a client, and a client never waits for a frame.
//
// Connections cannot starve the server: one that sends nothing, or not a whole
// request head, within the idle timeout is closed; and when the connection
// limit is reached, the connection that has waited longest for a request
// makes way for the new one (busy connections and event streams are kept).
//
// Requests are checked in this order, each failure answered with its status:
// path (404), Host naming this server and port (421, DNS-rebinding
// protection), Origin (403), bearer token (401), body size (413); then the era
// by MCP-Protocol-Version: 2026-07-28 is stateless (POST only, else 405;
// Accept must allow JSON, 406; the envelope is checked by MCPProtocol);
// 2025 needs a session for everything but initialize (400/404), GET opens the
// session's event stream, DELETE ends the session.

#pragma once

#include "core/io/net_socket.h"
#include "core/os/mutex.h"
#include "core/os/thread.h"
#include "core/templates/hash_map.h"
#include "core/templates/local_vector.h"
#include "core/templates/safe_refcount.h"

#include <atomic>

class MCPProtocol;

class MCPHttpTransport {
public:
	struct Request {
		String method;
		String path;
		HashMap<String, String> headers; // names lowercased
		HashMap<String, int> header_counts;
		PackedByteArray body;
	};

	struct Response {
		int status = 200;
		String content_type = "application/json";
		String body;
		HashMap<String, String> headers;
		bool close = false;
	};

	struct Options {
		String token;
		String bind_address = "127.0.0.1";
		int64_t max_body_bytes = 1 << 20;
		int max_connections = 64;
		uint64_t idle_timeout_msec = 5000; // a connection's first request head must arrive within this
	};

private:
	enum Phase {
		PHASE_WAITING, // for a request head: may be evicted when the server is full
		PHASE_BUSY, // reading a body, handling, writing
		PHASE_STREAMING, // an event stream (2025 GET, 2026 subscriptions/listen)
	};

	struct Connection {
		MCPHttpTransport *transport = nullptr;
		Ref<NetSocket> socket;
		Thread thread;
		SafeFlag finished;
		SafeFlag evict; // the accept thread asks it to make way
		std::atomic<int> phase{ PHASE_WAITING };
		std::atomic<uint64_t> waiting_since{ 0 };
	};

	MCPProtocol *protocol = nullptr; // owned by the server, outlives this transport
	Ref<NetSocket> listener;
	Thread accept_thread;
	SafeFlag running;
	SafeFlag stopping;
	int port = -1;
	Options options;

	// Only the accept thread touches this (and stop(), after joining it).
	LocalVector<Connection *> connections;

	static void _accept_loop(void *p_self);
	static void _connection_loop(void *p_connection);
	void _reap_finished(bool p_wait_for_all);
	// Makes room for one more connection; false when every one is busy.
	bool _make_room();

	enum ReadResult {
		READ_OK,
		READ_CLOSED, // peer closed, timed out waiting for a request, evicted or shutdown: close silently
		READ_TIMEOUT, // half a request: 408
		READ_HEAD_TOO_LARGE, // 431
		READ_BODY_TOO_LARGE, // 413
		READ_BAD_REQUEST, // 400
	};
	ReadResult _read_request(Connection *p_connection, bool p_served_before, LocalVector<uint8_t> &r_buffer, Request &r_request) const;
	bool _receive_more(Connection *p_connection, LocalVector<uint8_t> &r_buffer, uint64_t p_deadline_msec) const;
	bool _send_all(const Ref<NetSocket> &p_socket, const CharString &p_data) const;
	bool _write_response(const Ref<NetSocket> &p_socket, const Response &p_response) const;

	bool _is_this_server(const String &p_host) const;
	Response _handle(const Request &p_request, int64_t &r_stream, String &r_stream_end);
	Response _handle_2026(const Request &p_request, int64_t &r_stream, String &r_stream_end);
	Response _handle_2025(const Request &p_request, int64_t &r_stream);
	void _serve_event_stream(Connection *p_connection, int64_t p_stream, const String &p_end);

	static Response _status(int p_status, const String &p_message, bool p_close = false);
	static Response _jsonrpc_status(int p_status, int p_code, const String &p_message, const String &p_raw_id);

public:
	// Returns the bound port, or -1 after printing why.
	int start(int64_t p_port, const Options &p_options);
	void stop();
	bool is_running() const { return running.is_set(); }
	int get_port() const { return port; }

	explicit MCPHttpTransport(MCPProtocol *p_protocol) :
			protocol(p_protocol) {}
	~MCPHttpTransport() { stop(); }
};
