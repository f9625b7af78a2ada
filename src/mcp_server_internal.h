// MCPServerInternal: the Model Context Protocol server behind ExecuTorchRuntime.
//
// One JSON-RPC 2.0 dispatcher serves every path: call_mcp_tool/list_mcp_tools
// and handle_mcp_message in-process, and the Streamable HTTP transport
// (mcp_http_transport.h) for agents. Tools come from two places: the spec's
// `mcp_tools` (registered by the generated mcp_tools.gen.cpp) and one tool per
// method of the loaded model, described from ExecuTorch's method metadata.
//
// Thread safety: the HTTP transport calls handle_message from its connection
// threads while GDScript calls the runtime on the main thread. The tool table
// is immutable after construction; sessions are guarded by session_mutex; the
// runtime and the model guard their own state.

#pragma once

#include "mcp_server_internal.gen.h"

#include "core/object/ref_counted.h"
#include "core/os/mutex.h"
#include "core/templates/hash_map.h"
#include "core/templates/local_vector.h"

class ExecuTorchRuntime;
class MCPHttpTransport;

class MCPServerInternal : public RefCounted {
	GDCLASS(MCPServerInternal, RefCounted);

public:
	struct ToolArgument {
		String name;
		Variant::Type type = Variant::NIL; // NIL: any value
		bool required = true;
		Variant default_value;
	};

	struct Tool {
		String name;
		String description;
		Dictionary input_schema;
		Dictionary output_schema; // empty: the tool declares none
		String class_name; // the class whose method serves the tool
		StringName method;
		LocalVector<ToolArgument> arguments; // in the method's parameter order
	};

	// One MCP session (HTTP: one Mcp-Session-Id). Notifications for it wait in
	// `pending` until its SSE stream (GET /mcp) picks them up.
	struct Session {
		int log_level = 1; // index into LOG_LEVELS; "info" until logging/setLevel
		bool stream_open = false;
		LocalVector<String> pending; // JSON-RPC notifications, serialized
	};

	static constexpr const char *SERVER_NAME = "godot-executorch";
	static constexpr const char *SERVER_VERSION = "0.1.0";
	static constexpr const char *MODEL_TOOL_PREFIX = "model_";
	static constexpr int TOOLS_PAGE_SIZE = 50;
	// Newest first. A client asking for one of these gets it; others get the first.
	static const char *const SUPPORTED_PROTOCOL_VERSIONS[3];
	static const char *const LOG_LEVELS[8];

private:
	LocalVector<Tool> tools; // the spec's tools, sorted by name; immutable after construction
	Object *target = nullptr; // the ExecuTorchRuntime the tools run on (it owns this object)

	mutable Mutex session_mutex;
	HashMap<String, Session> sessions;

	MCPHttpTransport *transport = nullptr;

	void _add_tool(const Tool &p_tool);
	// Defined in the generated mcp_tools.gen.cpp, from the spec's mcp_tools.
	void _register_spec_tools();

	const Tool *_find_spec_tool(const String &p_name) const;
	// The target as the runtime whose model the model tools and resources describe.
	ExecuTorchRuntime *_runtime() const;
	Array _model_tools() const;
	bool _is_model_tool(const String &p_name) const;
	Array _spec_tool_list() const;
	Variant _call_model_tool(const String &p_method, const Dictionary &p_arguments, String &r_error) const;

	// JSON-RPC methods. Each returns the `result`, or sets r_error_code/r_error.
	Variant _initialize(const Dictionary &p_params, Session *p_session, int &r_error_code, String &r_error);
	Variant _tools_list(const Dictionary &p_params, int &r_error_code, String &r_error) const;
	Variant _tools_call(const Dictionary &p_params, int &r_error_code, String &r_error);
	Variant _resources_list() const;
	Variant _resources_read(const Dictionary &p_params, int &r_error_code, String &r_error) const;
	Variant _logging_set_level(const Dictionary &p_params, Session *p_session, int &r_error_code, String &r_error);

	void _broadcast(const String &p_method, const Dictionary &p_params, int p_level = -1);

protected:
	static void _bind_methods();

public:
	MCP_SERVER_INTERNAL_GENERATED_API

	// JSON-RPC error codes (JSON-RPC 2.0 and MCP).
	enum {
		PARSE_ERROR = -32700,
		INVALID_REQUEST = -32600,
		METHOD_NOT_FOUND = -32601,
		INVALID_PARAMS = -32602,
		RESOURCE_NOT_FOUND = -32002,
	};

	void set_target(Object *p_target) { target = p_target; }

	// Calls tool `p_name` with `p_arguments`. On failure returns null and sets
	// `r_error` to a sentence naming the problem; `r_unknown_tool` tells an
	// unknown tool (a protocol error) apart from a failing call (a tool error).
	Variant call_tool(const String &p_name, const Dictionary &p_arguments, String &r_error, bool *r_unknown_tool = nullptr) const;

	// Handles one parsed JSON-RPC message for `p_session_id` ("" = in-process).
	// Returns the response, or an empty Dictionary for a notification.
	Dictionary handle_message(const Variant &p_message, const String &p_session_id);
	// Parses `p_json` and handles it; returns the serialized response or "".
	String handle_json(const String &p_json, const String &p_session_id);
	static Dictionary make_error(const Variant &p_id, int p_code, const String &p_message);

	// Sessions (used by the HTTP transport).
	String create_session();
	bool has_session(const String &p_id) const;
	bool end_session(const String &p_id);
	// Moves the session's pending notifications into r_events; false when the
	// session is gone (the SSE stream should end).
	bool take_notifications(const String &p_id, LocalVector<String> &r_events);
	bool open_stream(const String &p_id);
	void close_stream(const String &p_id);

	// Called by the runtime when its model changes.
	void notify_model_changed(const String &p_what);

	// The HTTP transport. start_http returns the bound port or -1 (error printed).
	int start_http(int p_port, const Dictionary &p_options);
	void stop_http();
	bool is_http_running() const;
	int get_http_port() const;

	static bool is_supported_protocol_version(const String &p_version);

	MCPServerInternal();
	~MCPServerInternal() override;
};
