// The Model Context Protocol's JSON-RPC side, for every transport (HTTP,
// stdio, in-process) and both eras of the protocol on one endpoint:
//
// - 2025-11-25, 2025-06-18, 2025-03-26: `initialize` opens a session (HTTP:
//   Mcp-Session-Id), `notifications/initialized`, ping, logging/setLevel, and
//   notifications on the session's stream (HTTP: GET /mcp).
// - 2026-07-28: stateless. Every request carries `_meta` with the protocol
//   version and the client's capabilities; `server/discover` replaces the
//   handshake; every result says `resultType` and names the server, lists
//   carry cache hints (ttlMs, cacheScope); notifications come on
//   `subscriptions/listen` streams. ping and logging/setLevel are gone.
//
// The era of a request: over HTTP its MCP-Protocol-Version header (a 2025
// revision or none: 2025; anything else: 2026), over stdio and in-process its
// `_meta` (present: 2026).
//
// Ids come back exactly as sent (the request's own JSON text), and every
// number written is valid JSON (mcp_json.h).
//
// Thread safety: handle() is called from any number of transport threads at
// once; sessions and streams are guarded by `mutex`; the toolbox is immutable.

#pragma once

#include "mcp_toolbox.h"

#include "core/os/mutex.h"
#include "core/templates/hash_map.h"
#include "core/templates/local_vector.h"
#include "core/templates/safe_refcount.h"

class MCPProtocol {
public:
	static constexpr const char *SERVER_NAME = "godot-executorch";
	static constexpr const char *SERVER_TITLE = "Godot ExecuTorch";
	static constexpr const char *SERVER_VERSION = "0.2.0";
	static constexpr const char *PROTOCOL_2026 = "2026-07-28";
	// The handshake revisions, newest first: a client asking for one gets it;
	// others get the newest.
	static const char *const HANDSHAKE_VERSIONS[3];
	static const char *const LOG_LEVELS[8];

	// JSON-RPC error codes (JSON-RPC 2.0 and MCP).
	enum {
		PARSE_ERROR = -32700,
		INVALID_REQUEST = -32600,
		METHOD_NOT_FOUND = -32601,
		INVALID_PARAMS = -32602,
		RESOURCE_NOT_FOUND = -32002, // 2025; 2026 uses INVALID_PARAMS with data.uri
		HEADER_MISMATCH = -32020,
		UNSUPPORTED_PROTOCOL_VERSION = -32022,
	};

	// What a transport knows about a message besides its text.
	struct Context {
		MCPToolbox::Scope scope; // the whole game, or one runtime
		bool http = false;
		// HTTP only: the 2025 session (Mcp-Session-Id), and the 2026 routing headers.
		String session_id;
		bool has_version_header = false;
		String version_header;
		bool has_method_header = false;
		String method_header;
		bool has_name_header = false;
		String name_header; // as sent (maybe =?base64?...?=)
		bool duplicate_routing_header = false;
		// stdio: the stdio stream's id, to open a 2026 listen subscription on.
		int64_t stdio_stream = 0;
	};

	struct Reply {
		String body; // the JSON response, or "" for a notification
		int http_status = 200;
		bool era_2026 = false;
		// 2025 initialize over HTTP: the session it opened.
		String new_session;
		// 2026 subscriptions/listen: the stream that now carries its notifications
		// (the transport keeps the response open and drains it), and the result
		// that ends it when the server stops.
		int64_t listen_stream = 0;
		String stream_end;
	};

	// A place notifications wait for a transport to send them: a 2025
	// session's stream (HTTP GET, or stdio after initialize) or a 2026
	// subscriptions/listen.
	struct Stream {
		bool is_2026 = false;
		bool http = false; // an HTTP response stream (ends when the HTTP transport stops)
		String subscription_raw_id; // 2026: the listen request's id, tagged on every notification
		bool tools = true; // which list_changed kinds it wants
		bool resources = true;
		int log_level = -1; // 2025: notifications/message at or above it; -1: none
		uint64_t last_activity_msec = 0;
		LocalVector<String> pending; // serialized notifications
		bool closed = false;
	};

	struct Limits {
		uint64_t session_idle_msec = 600000;
		int max_sessions = 32;
	};

private:
	MCPToolbox toolbox;

	struct Session {
		uint64_t last_used_msec = 0;
		int log_level = 1; // index into LOG_LEVELS: "info" until logging/setLevel
		int64_t stream = 0; // its open GET stream, or 0
	};

	mutable Mutex mutex;
	HashMap<String, Session> sessions;
	HashMap<int64_t, Stream> streams;
	int64_t next_stream = 1;
	Limits limits;

	// --- handling ---
	struct Call {
		String raw_id; // "" for a notification
		String method;
		Dictionary params;
		bool era_2026 = false;
		String session_id;
	};
	Reply _error(const Call &p_call, int p_code, const String &p_message, const Dictionary &p_data = Dictionary()) const;
	Reply _result(const Call &p_call, const Dictionary &p_result) const;
	bool _check_2026(const Call &p_call, const Context &p_context, Reply &r_error) const;
	Reply _dispatch(Call &p_call, const Context &p_context);

	Reply _initialize(const Call &p_call, const Context &p_context);
	Reply _discover(const Call &p_call) const;
	Reply _tools_list(const Call &p_call, const Context &p_context) const;
	Reply _tools_call(const Call &p_call, const Context &p_context);
	Reply _resources_list(const Call &p_call, const Context &p_context) const;
	Reply _resources_read(const Call &p_call, const Context &p_context) const;
	Reply _logging_set_level(const Call &p_call);
	Reply _listen(const Call &p_call, const Context &p_context);

	static void _add_cache_hints(const Call &p_call, Dictionary &r_result);
	Dictionary _capabilities(bool p_2026) const;
	Dictionary _server_info() const;
	void _expire_sessions_locked(uint64_t p_now);
	void _queue_locked(Stream &p_stream, const String &p_method, const Dictionary &p_params);

public:
	// Handles one JSON-RPC message (JSON text) and says what to answer.
	Reply handle(const String &p_json, const Context &p_context);

	// --- tools, for the in-process API ---
	const MCPToolbox &get_toolbox() const { return toolbox; }

	// --- 2025 sessions (HTTP) ---
	bool has_session(const String &p_id);
	bool end_session(const String &p_id);
	// Opens the session's notification stream (GET /mcp); 0 when the session
	// is gone or already has one.
	int64_t open_session_stream(const String &p_id);

	// --- streams ---
	// A stream of its own for a transport that is always connected (stdio).
	int64_t open_stream(bool p_2026, int p_log_level);
	// Moves the stream's pending notifications into r_events; false once the
	// stream is closed or gone (the transport should end it).
	bool take_notifications(int64_t p_stream, LocalVector<String> &r_events);
	void close_stream(int64_t p_stream);

	// The game's models changed: list_changed to every stream that wants it,
	// and an info log line to 2025 sessions.
	void notify_models_changed(const String &p_what);

	void set_limits(const Limits &p_limits);
	// Ends every session and HTTP stream (the HTTP transport stopped).
	void clear_sessions();
	int get_session_count() const;

	static bool is_handshake_version(const String &p_version);
};
