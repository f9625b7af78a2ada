#include "mcp_protocol.h"

#include "mcp_json.h"

#include "core/crypto/crypto_core.h"
#include "core/io/json.h"
#include "core/os/os.h"

const char *const MCPProtocol::HANDSHAKE_VERSIONS[3] = { "2025-11-25", "2025-06-18", "2025-03-26" };
const char *const MCPProtocol::LOG_LEVELS[8] = { "debug", "info", "notice", "warning", "error", "critical", "alert", "emergency" };

namespace {

constexpr const char *META_PROTOCOL_VERSION = "io.modelcontextprotocol/protocolVersion";
constexpr const char *META_CLIENT_CAPABILITIES = "io.modelcontextprotocol/clientCapabilities";
constexpr const char *META_SERVER_INFO = "io.modelcontextprotocol/serverInfo";
constexpr const char *META_SUBSCRIPTION_ID = "io.modelcontextprotocol/subscriptionId";
constexpr const char *MODEL_RESOURCE_PREFIX = "executorch://models/";
constexpr int TOOLS_PAGE_SIZE = 50;
constexpr int MAX_PENDING_NOTIFICATIONS = 256; // a stream nobody reads must not grow without bound

uint64_t now_msec() {
	return OS::get_singleton()->get_ticks_msec();
}

Dictionary text_content(const String &p_text) {
	Dictionary content;
	content["type"] = "text";
	content["text"] = p_text;
	return content;
}

// Every version this endpoint serves, newest first (server/discover and -32022).
Array supported_versions() {
	Array versions;
	versions.push_back(MCPProtocol::PROTOCOL_2026);
	for (const char *version : MCPProtocol::HANDSHAKE_VERSIONS) {
		versions.push_back(version);
	}
	return versions;
}

PackedStringArray supported_version_names() {
	PackedStringArray names;
	for (const Variant &version : supported_versions()) {
		names.push_back(version);
	}
	return names;
}

// An Mcp-Name header value: plain, or =?base64?<UTF-8 as base64>?= for names
// HTTP headers cannot carry as they are.
String decode_header_value(const String &p_value) {
	const String value = p_value.strip_edges();
	if (!value.begins_with("=?base64?") || !value.ends_with("?=") || value.length() < 11) {
		return value;
	}
	const CharString encoded = value.substr(9, value.length() - 11).utf8();
	Vector<uint8_t> decoded;
	decoded.resize(encoded.length());
	size_t size = 0;
	if (CryptoCore::b64_decode(decoded.ptrw(), decoded.size(), &size, (const uint8_t *)encoded.get_data(), encoded.length()) != OK) {
		return value;
	}
	return String::utf8((const char *)decoded.ptr(), (int)size);
}

// 2026 maps errors to HTTP statuses; 2025 answers JSON-RPC errors with 200
// (but for messages that are not valid JSON-RPC at all).
int http_status_of(int p_code, bool p_2026) {
	switch (p_code) {
		case MCPProtocol::PARSE_ERROR:
		case MCPProtocol::INVALID_REQUEST:
			return 400;
		case MCPProtocol::METHOD_NOT_FOUND:
			return p_2026 ? 404 : 200;
		case MCPProtocol::INVALID_PARAMS:
		case MCPProtocol::HEADER_MISMATCH:
		case MCPProtocol::UNSUPPORTED_PROTOCOL_VERSION:
			return p_2026 ? 400 : 200;
		default:
			return 200;
	}
}

} // namespace

bool MCPProtocol::is_handshake_version(const String &p_version) {
	for (const char *version : HANDSHAKE_VERSIONS) {
		if (p_version == version) {
			return true;
		}
	}
	return p_version == "2024-11-05";
}

// --- replies -------------------------------------------------------------------------

MCPProtocol::Reply MCPProtocol::_error(const Call &p_call, int p_code, const String &p_message, const Dictionary &p_data) const {
	Dictionary error;
	error["code"] = p_code;
	error["message"] = p_message;
	if (!p_data.is_empty()) {
		error["data"] = p_data;
	}
	Dictionary rest;
	rest["error"] = error;
	Reply reply;
	reply.era_2026 = p_call.era_2026;
	reply.http_status = http_status_of(p_code, p_call.era_2026);
	reply.body = mcp_json::write_response(p_call.raw_id, rest);
	return reply;
}

// 2026 lists (and discover, resources/read) say how long a client may cache
// them: not at all, as models load and unload while the game runs, and they are
// this game's own, not shareable.
void MCPProtocol::_add_cache_hints(const Call &p_call, Dictionary &r_result) {
	if (p_call.era_2026) {
		r_result["ttlMs"] = 0;
		r_result["cacheScope"] = "private";
	}
}

Dictionary MCPProtocol::_server_info() const {
	Dictionary info;
	info["name"] = SERVER_NAME;
	info["title"] = SERVER_TITLE;
	info["version"] = SERVER_VERSION;
	return info;
}

MCPProtocol::Reply MCPProtocol::_result(const Call &p_call, const Dictionary &p_result) const {
	Dictionary result = p_result;
	if (p_call.era_2026) {
		// Every 2026 result says it is complete and names the server.
		result["resultType"] = "complete";
		Dictionary meta = result.get("_meta", Dictionary());
		meta[META_SERVER_INFO] = _server_info();
		result["_meta"] = meta;
	}
	Dictionary rest;
	rest["result"] = result;
	Reply reply;
	reply.era_2026 = p_call.era_2026;
	reply.body = mcp_json::write_response(p_call.raw_id, rest);
	return reply;
}

// --- the 2026 envelope ---------------------------------------------------------------

bool MCPProtocol::_check_2026(const Call &p_call, const Context &p_context, Reply &r_error) const {
	const Variant meta_value = p_call.params.get("_meta", Variant());
	const Dictionary meta = meta_value.get_type() == Variant::DICTIONARY ? Dictionary(meta_value) : Dictionary();
	const bool header_served = !p_context.has_version_header || p_context.version_header == PROTOCOL_2026;
	if (meta.is_empty() && !header_served) {
		Dictionary data;
		data["supported"] = supported_versions();
		data["requested"] = p_context.version_header;
		r_error = _error(p_call, UNSUPPORTED_PROTOCOL_VERSION, vformat("Unsupported protocol version '%s'.", p_context.version_header), data);
		return false;
	}
	if (!meta.has(META_PROTOCOL_VERSION) || meta.get(META_CLIENT_CAPABILITIES, Variant()).get_type() != Variant::DICTIONARY) {
		r_error = _error(p_call, INVALID_PARAMS, vformat("params._meta must be an object carrying '%s' (a string) and '%s' (an object): MCP 2026-07-28 requests are stateless and say both every time.",
														   META_PROTOCOL_VERSION, META_CLIENT_CAPABILITIES));
		return false;
	}
	if (p_context.http) {
		if (p_context.duplicate_routing_header) {
			r_error = _error(p_call, HEADER_MISMATCH, "An MCP routing header (MCP-Protocol-Version, Mcp-Method or Mcp-Name) appears more than once.");
			return false;
		}
		if (!p_context.has_version_header || p_context.version_header != String(meta[META_PROTOCOL_VERSION])) {
			r_error = _error(p_call, HEADER_MISMATCH, "The MCP-Protocol-Version header does not match params._meta's protocol version.");
			return false;
		}
		if (!p_context.has_method_header || p_context.method_header.strip_edges() != p_call.method) {
			r_error = _error(p_call, HEADER_MISMATCH, "The Mcp-Method header does not match the request body's method.");
			return false;
		}
		const char *name_field = p_call.method == "tools/call" || p_call.method == "prompts/get" ? "name" : p_call.method == "resources/read" ? "uri" : nullptr;
		if (name_field && p_call.params.has(name_field) &&
				(!p_context.has_name_header || decode_header_value(p_context.name_header) != String(p_call.params[name_field]))) {
			r_error = _error(p_call, HEADER_MISMATCH, vformat("The Mcp-Name header does not match the request body's %s.", name_field));
			return false;
		}
	}
	if (meta[META_PROTOCOL_VERSION].get_type() != Variant::STRING) {
		r_error = _error(p_call, INVALID_PARAMS, vformat("params._meta '%s' must be a string.", META_PROTOCOL_VERSION));
		return false;
	}
	const String requested = meta[META_PROTOCOL_VERSION];
	if (requested != PROTOCOL_2026) {
		Dictionary data;
		data["supported"] = supported_versions();
		data["requested"] = requested;
		r_error = _error(p_call, UNSUPPORTED_PROTOCOL_VERSION,
				vformat("Unsupported protocol version '%s'; this server speaks %s.", requested, String(", ").join(supported_version_names())), data);
		return false;
	}
	return true;
}

// --- handling --------------------------------------------------------------------------

MCPProtocol::Reply MCPProtocol::handle(const String &p_json, const Context &p_context) {
	Call call;
	// Over HTTP the header decides the era; a 2025 revision or none is 2025.
	call.era_2026 = p_context.http && p_context.has_version_header && !is_handshake_version(p_context.version_header);
	call.session_id = p_context.session_id;

	JSON json;
	if (json.parse(p_json) != OK) {
		return _error(call, PARSE_ERROR, vformat("Parse error at line %d: %s.", json.get_error_line(), json.get_error_message()));
	}
	const Variant parsed = json.get_data();
	if (parsed.get_type() != Variant::DICTIONARY) {
		return _error(call, INVALID_REQUEST, "The body must be one JSON-RPC request or notification object (batches are not supported).");
	}
	const Dictionary message = parsed;
	const bool has_id = message.has("id");
	if (has_id) {
		const Variant::Type id_type = message["id"].get_type();
		if (id_type != Variant::STRING && id_type != Variant::FLOAT && id_type != Variant::INT) {
			return _error(call, INVALID_REQUEST, "The JSON-RPC \"id\" must be a string or a number.");
		}
		call.raw_id = mcp_json::find_raw_id(p_json);
	}
	if (String(message.get("jsonrpc", "")) != "2.0") {
		return _error(call, INVALID_REQUEST, "Invalid JSON-RPC 2.0 message: it needs \"jsonrpc\": \"2.0\".");
	}
	if (!message.has("method")) {
		Reply accepted; // a response to something we never asked: nothing to answer
		accepted.http_status = 202;
		accepted.era_2026 = call.era_2026;
		return accepted;
	}
	if (message["method"].get_type() != Variant::STRING) {
		return _error(call, INVALID_REQUEST, "The JSON-RPC \"method\" must be a string.");
	}
	call.method = message["method"];
	const Variant params = message.get("params", Dictionary());
	if (params.get_type() != Variant::DICTIONARY && params.get_type() != Variant::NIL) {
		if (!has_id) {
			Reply accepted; // a malformed notification: nothing to answer
			accepted.http_status = 202;
			return accepted;
		}
		return _error(call, INVALID_PARAMS, "\"params\" must be an object.");
	}
	call.params = params.get_type() == Variant::NIL ? Dictionary() : Dictionary(params);
	if (!p_context.http) {
		// stdio and in-process carry no headers: a request with the 2026
		// envelope is 2026 (initialize always opens the 2025 handshake).
		const Variant meta = call.params.get("_meta", Variant());
		call.era_2026 = call.method != "initialize" && meta.get_type() == Variant::DICTIONARY && Dictionary(meta).has(META_PROTOCOL_VERSION);
	} else if (!call.era_2026 && call.method != "initialize") {
		// 2025 over HTTP: everything but initialize belongs to a session.
		if (p_context.session_id.is_empty()) {
			Reply refused = _error(call, INVALID_REQUEST, "Bad Request: the Mcp-Session-Id header is missing; send initialize first (or speak MCP 2026-07-28, which needs no session).");
			refused.http_status = 400;
			return refused;
		}
		if (!has_session(p_context.session_id)) {
			Reply refused = _error(call, INVALID_REQUEST, "Session not found (it ended or expired): initialize a new one.");
			refused.http_status = 404;
			return refused;
		}
	}

	if (!has_id) {
		Reply accepted; // notifications (initialized, cancelled, ...) get no answer
		accepted.http_status = 202;
		accepted.era_2026 = call.era_2026;
		if (call.era_2026 && p_context.has_version_header && p_context.version_header != PROTOCOL_2026) {
			Dictionary data;
			data["supported"] = supported_versions();
			data["requested"] = p_context.version_header;
			return _error(call, UNSUPPORTED_PROTOCOL_VERSION, vformat("Unsupported protocol version '%s'.", p_context.version_header), data);
		}
		return accepted;
	}
	if (call.era_2026) {
		Reply refused;
		if (!_check_2026(call, p_context, refused)) {
			return refused;
		}
	}
	return _dispatch(call, p_context);
}

MCPProtocol::Reply MCPProtocol::_dispatch(Call &p_call, const Context &p_context) {
	const String &method = p_call.method;
	if (!p_call.session_id.is_empty()) {
		MutexLock lock(mutex);
		if (Session *session = sessions.getptr(p_call.session_id)) {
			session->last_used_msec = now_msec();
		}
	}
	if (method == "tools/list") {
		return _tools_list(p_call, p_context);
	}
	if (method == "tools/call") {
		return _tools_call(p_call, p_context);
	}
	if (method == "resources/list") {
		return _resources_list(p_call, p_context);
	}
	if (method == "resources/read") {
		return _resources_read(p_call, p_context);
	}
	if (method == "prompts/list") {
		// This server has no prompts; the list says so (and is cacheable like the others).
		Dictionary result;
		result["prompts"] = Array();
		_add_cache_hints(p_call, result);
		return _result(p_call, result);
	}
	if (method == "prompts/get") {
		Dictionary data;
		data["name"] = p_call.params.get("name", Variant());
		return _error(p_call, INVALID_PARAMS, vformat("Unknown prompt '%s': this server has no prompts (see prompts/list); its tools run the game's models.", p_call.params.get("name", "")), data);
	}
	if (method == "resources/templates/list") {
		Dictionary result;
		result["resourceTemplates"] = Array();
		_add_cache_hints(p_call, result);
		return _result(p_call, result);
	}
	if (p_call.era_2026) {
		if (method == "server/discover") {
			return _discover(p_call);
		}
		if (method == "subscriptions/listen") {
			return _listen(p_call, p_context);
		}
		const bool removed = method == "initialize" || method == "ping" || method == "logging/setLevel" ||
				method == "resources/subscribe" || method == "resources/unsubscribe";
		return _error(p_call, METHOD_NOT_FOUND, removed ? vformat("Method '%s' is not part of MCP 2026-07-28 (it was removed from the stateless revision).", method) : vformat("Method not found: '%s'.", method));
	}
	if (method == "initialize") {
		return _initialize(p_call, p_context);
	}
	if (method == "ping") {
		return _result(p_call, Dictionary());
	}
	if (method == "logging/setLevel") {
		return _logging_set_level(p_call);
	}
	return _error(p_call, METHOD_NOT_FOUND, vformat("Method not found: '%s'.", method));
}

// --- methods -------------------------------------------------------------------------

Dictionary MCPProtocol::_capabilities(bool p_2026) const {
	Dictionary list_changed;
	list_changed["listChanged"] = true; // 2026: delivered on subscriptions/listen, which this server serves
	Dictionary capabilities;
	capabilities["tools"] = list_changed;
	capabilities["resources"] = list_changed.duplicate();
	capabilities["prompts"] = Dictionary(); // an empty list, which never changes
	if (!p_2026) {
		capabilities["logging"] = Dictionary();
	}
	return capabilities;
}

static const char *INSTRUCTIONS = "Tools run the ExecuTorch models a running Godot game has loaded. Call list_models to see them, get_model_info for a model's methods, dtypes and shapes; run_inference or <model>.<method> runs one.";

MCPProtocol::Reply MCPProtocol::_initialize(const Call &p_call, const Context &p_context) {
	const Variant requested = p_call.params.get("protocolVersion", Variant());
	if (requested.get_type() != Variant::STRING) {
		return _error(p_call, INVALID_PARAMS, "initialize needs params.protocolVersion (a string).");
	}
	// Answer the client's version when we speak it, else our newest handshake
	// revision (the client then decides whether to continue).
	const String version = is_handshake_version(requested) && String(requested) != "2024-11-05" ? String(requested) : String(HANDSHAKE_VERSIONS[0]);
	Dictionary result;
	result["protocolVersion"] = version;
	result["capabilities"] = _capabilities(false);
	result["serverInfo"] = _server_info();
	result["instructions"] = INSTRUCTIONS;
	Reply reply = _result(p_call, result);
	if (p_context.http) {
		uint8_t random[16];
		if (OS::get_singleton()->get_entropy(random, sizeof(random)) != OK) {
			return _error(p_call, INVALID_REQUEST, "The server could not make a session id.");
		}
		const String id = String::hex_encode_buffer(random, sizeof(random));
		MutexLock lock(mutex);
		const uint64_t now = now_msec();
		_expire_sessions_locked(now);
		// At the cap, the session idle the longest makes way (one without an
		// open stream first).
		while ((int)sessions.size() >= limits.max_sessions && !sessions.is_empty()) {
			const String *oldest = nullptr;
			bool oldest_streaming = true;
			uint64_t oldest_used = UINT64_MAX;
			for (const KeyValue<String, Session> &entry : sessions) {
				const bool streaming = entry.value.stream != 0;
				if ((oldest_streaming && !streaming) || (streaming == oldest_streaming && entry.value.last_used_msec < oldest_used)) {
					oldest = &entry.key;
					oldest_streaming = streaming;
					oldest_used = entry.value.last_used_msec;
				}
			}
			const String victim = *oldest;
			if (Stream *stream = streams.getptr(sessions[victim].stream)) {
				stream->closed = true;
			}
			sessions.erase(victim);
		}
		Session session;
		session.last_used_msec = now;
		sessions.insert(id, session);
		reply.new_session = id;
	} else if (p_context.stdio_stream != 0) {
		MutexLock lock(mutex);
		if (Stream *stream = streams.getptr(p_context.stdio_stream)) {
			stream->tools = true;
			stream->resources = true;
			stream->log_level = 1;
		}
	}
	return reply;
}

MCPProtocol::Reply MCPProtocol::_discover(const Call &p_call) const {
	Dictionary result;
	result["supportedVersions"] = supported_versions();
	result["capabilities"] = _capabilities(true);
	result["instructions"] = INSTRUCTIONS;
	_add_cache_hints(p_call, result);
	return _result(p_call, result);
}

MCPProtocol::Reply MCPProtocol::_tools_list(const Call &p_call, const Context &p_context) const {
	int64_t offset = 0;
	const Variant cursor = p_call.params.get("cursor", Variant());
	if (cursor.get_type() != Variant::NIL) {
		const String text = cursor;
		if (cursor.get_type() != Variant::STRING || !text.is_valid_int() || text.to_int() < 0) {
			return _error(p_call, INVALID_PARAMS, vformat("Invalid cursor '%s'; pass the nextCursor of a previous tools/list.", text));
		}
		offset = text.to_int();
	}
	const Array all = toolbox.list_tools(p_context.scope);
	Dictionary result;
	result["tools"] = all.slice(offset, offset + TOOLS_PAGE_SIZE);
	if (offset + TOOLS_PAGE_SIZE < all.size()) {
		result["nextCursor"] = itos(offset + TOOLS_PAGE_SIZE);
	}
	_add_cache_hints(p_call, result);
	return _result(p_call, result);
}

MCPProtocol::Reply MCPProtocol::_tools_call(const Call &p_call, const Context &p_context) {
	const Variant name = p_call.params.get("name", Variant());
	const Variant arguments = p_call.params.get("arguments", Dictionary());
	if (name.get_type() != Variant::STRING || (arguments.get_type() != Variant::DICTIONARY && arguments.get_type() != Variant::NIL)) {
		return _error(p_call, INVALID_PARAMS, "tools/call needs params.name (a string) and optional params.arguments (an object).");
	}
	const MCPToolbox::Result called = toolbox.call(p_context.scope, name, arguments.get_type() == Variant::NIL ? Dictionary() : Dictionary(arguments));
	if (called.unknown_tool) {
		return _error(p_call, INVALID_PARAMS, called.error);
	}
	Dictionary result;
	Array content;
	if (!called.error.is_empty()) {
		content.push_back(text_content(called.error));
		result["content"] = content;
		result["isError"] = true;
		if (!p_call.era_2026) {
			Dictionary log;
			log["level"] = "error";
			log["logger"] = SERVER_NAME;
			log["data"] = vformat("Tool '%s' failed: %s", name, called.error);
			MutexLock lock(mutex);
			for (KeyValue<int64_t, Stream> &entry : streams) {
				if (!entry.value.is_2026 && entry.value.log_level >= 0 && entry.value.log_level <= 4) {
					_queue_locked(entry.value, "notifications/message", log);
				}
			}
		}
		return _result(p_call, result);
	}
	Dictionary structured;
	if (called.value.get_type() == Variant::DICTIONARY) {
		structured = called.value;
	} else {
		structured["result"] = called.value;
	}
	PackedStringArray non_finite;
	content.push_back(text_content(mcp_json::write(structured, &non_finite)));
	if (!non_finite.is_empty()) {
		// JSON has no NaN or infinity: those values are null above and in
		// structuredContent; say which they were.
		content.push_back(text_content(vformat("JSON cannot carry these values, so they are null: %s.", String(", ").join(non_finite))));
	}
	result["content"] = content;
	result["structuredContent"] = structured;
	result["isError"] = false;
	return _result(p_call, result);
}

MCPProtocol::Reply MCPProtocol::_resources_list(const Call &p_call, const Context &p_context) const {
	Array resources;
	const Dictionary listed = toolbox.list_models(p_context.scope, Dictionary()).value;
	for (const Variant &entry : Array(listed.get("models", Array()))) {
		const Dictionary model = entry;
		Dictionary resource;
		resource["uri"] = String(MODEL_RESOURCE_PREFIX) + String(model["name"]);
		resource["name"] = model["name"];
		resource["title"] = vformat("ExecuTorch model '%s'", model["name"]);
		resource["description"] = vformat("Methods of model '%s' (%s) with each input's and output's dtype, shape and dynamism (JSON).", model["name"], model["path"]);
		resource["mimeType"] = "application/json";
		resources.push_back(resource);
	}
	Dictionary result;
	result["resources"] = resources;
	_add_cache_hints(p_call, result);
	return _result(p_call, result);
}

MCPProtocol::Reply MCPProtocol::_resources_read(const Call &p_call, const Context &p_context) const {
	const String uri = p_call.params.get("uri", "");
	MCPToolbox::Result info;
	if (uri.begins_with(MODEL_RESOURCE_PREFIX)) {
		Dictionary arguments;
		arguments["model"] = uri.trim_prefix(MODEL_RESOURCE_PREFIX);
		info = toolbox.get_model_info(p_context.scope, arguments);
	}
	if (!uri.begins_with(MODEL_RESOURCE_PREFIX) || !info.error.is_empty()) {
		Dictionary data;
		data["uri"] = uri;
		// 2026 retired -32002 for resources that do not exist.
		return _error(p_call, p_call.era_2026 ? INVALID_PARAMS : RESOURCE_NOT_FOUND, vformat("Resource not found: '%s'.", uri), data);
	}
	Dictionary contents;
	contents["uri"] = uri;
	contents["mimeType"] = "application/json";
	contents["text"] = mcp_json::write(info.value);
	Array list;
	list.push_back(contents);
	Dictionary result;
	result["contents"] = list;
	_add_cache_hints(p_call, result);
	return _result(p_call, result);
}

MCPProtocol::Reply MCPProtocol::_logging_set_level(const Call &p_call) {
	const String level = p_call.params.get("level", "");
	for (int i = 0; i < 8; i++) {
		if (level == LOG_LEVELS[i]) {
			MutexLock lock(mutex);
			if (Session *session = sessions.getptr(p_call.session_id)) {
				session->log_level = i;
				if (Stream *stream = streams.getptr(session->stream)) {
					stream->log_level = i;
				}
			}
			return _result(p_call, Dictionary());
		}
	}
	return _error(p_call, INVALID_PARAMS, vformat("Unknown log level '%s'; use debug, info, notice, warning, error, critical, alert or emergency.", level));
}

// A long-lived request whose response is a stream of the notifications it
// asked for, each tagged with its id; the first says what is honoured.
MCPProtocol::Reply MCPProtocol::_listen(const Call &p_call, const Context &p_context) {
	const Dictionary wanted = p_call.params.get("notifications", Dictionary());
	Stream stream;
	stream.is_2026 = true;
	stream.http = p_context.http;
	stream.subscription_raw_id = p_call.raw_id;
	stream.tools = bool(wanted.get("toolsListChanged", false));
	stream.resources = bool(wanted.get("resourcesListChanged", false));
	stream.last_activity_msec = now_msec();
	Dictionary honoured;
	if (stream.tools) {
		honoured["toolsListChanged"] = true;
	}
	if (stream.resources) {
		honoured["resourcesListChanged"] = true;
	}
	Dictionary params;
	params["notifications"] = honoured;
	Reply reply;
	reply.era_2026 = true;
	// When the server stops, the listen request ends with its result.
	const String raw_id = p_call.raw_id.is_empty() ? String("null") : p_call.raw_id;
	reply.stream_end = vformat("{\"jsonrpc\":\"2.0\",\"id\":%s,\"result\":{\"resultType\":\"complete\",\"_meta\":{\"%s\":%s,\"%s\":%s}}}",
			raw_id, META_SUBSCRIPTION_ID, raw_id, META_SERVER_INFO, mcp_json::write(_server_info()));
	MutexLock lock(mutex);
	const int64_t id = next_stream++;
	Stream &added = streams.insert(id, stream)->value;
	_queue_locked(added, "notifications/subscriptions/acknowledged", params);
	reply.listen_stream = id;
	return reply;
}

// --- streams and sessions -----------------------------------------------------------

void MCPProtocol::_queue_locked(Stream &p_stream, const String &p_method, const Dictionary &p_params) {
	if (p_stream.closed || p_stream.pending.size() >= MAX_PENDING_NOTIFICATIONS) {
		return;
	}
	String params = mcp_json::write(p_params);
	if (p_stream.is_2026) {
		// The listen request's id, verbatim, in every notification's _meta.
		const String tag = vformat("\"_meta\":{\"%s\":%s}", META_SUBSCRIPTION_ID, p_stream.subscription_raw_id.is_empty() ? String("null") : p_stream.subscription_raw_id);
		params = params == "{}" ? "{" + tag + "}" : params.substr(0, params.length() - 1) + "," + tag + "}";
	}
	p_stream.pending.push_back(vformat("{\"jsonrpc\":\"2.0\",\"method\":\"%s\",\"params\":%s}", p_method, params));
}

void MCPProtocol::notify_models_changed(const String &p_what) {
	Dictionary log;
	log["level"] = "info";
	log["logger"] = SERVER_NAME;
	log["data"] = p_what;
	MutexLock lock(mutex);
	for (KeyValue<int64_t, Stream> &entry : streams) {
		Stream &stream = entry.value;
		if (stream.tools) {
			_queue_locked(stream, "notifications/tools/list_changed", Dictionary());
		}
		if (stream.resources) {
			_queue_locked(stream, "notifications/resources/list_changed", Dictionary());
		}
		if (!stream.is_2026 && stream.log_level >= 0 && stream.log_level <= 1) {
			_queue_locked(stream, "notifications/message", log);
		}
	}
}

void MCPProtocol::_expire_sessions_locked(uint64_t p_now) {
	LocalVector<String> expired;
	for (const KeyValue<String, Session> &entry : sessions) {
		if (entry.value.stream == 0 && p_now - entry.value.last_used_msec > limits.session_idle_msec) {
			expired.push_back(entry.key);
		}
	}
	for (const String &id : expired) {
		sessions.erase(id);
	}
}

bool MCPProtocol::has_session(const String &p_id) {
	MutexLock lock(mutex);
	_expire_sessions_locked(now_msec());
	return sessions.has(p_id);
}

bool MCPProtocol::end_session(const String &p_id) {
	MutexLock lock(mutex);
	Session *session = sessions.getptr(p_id);
	if (!session) {
		return false;
	}
	if (Stream *stream = streams.getptr(session->stream)) {
		stream->closed = true;
	}
	sessions.erase(p_id);
	return true;
}

int64_t MCPProtocol::open_session_stream(const String &p_id) {
	MutexLock lock(mutex);
	Session *session = sessions.getptr(p_id);
	if (!session || (session->stream != 0 && streams.has(session->stream))) {
		return 0; // one stream per session
	}
	Stream stream;
	stream.http = true;
	stream.log_level = session->log_level;
	stream.last_activity_msec = now_msec();
	const int64_t id = next_stream++;
	streams.insert(id, stream);
	session->stream = id;
	return id;
}

int64_t MCPProtocol::open_stream(bool p_2026, int p_log_level) {
	Stream stream;
	stream.is_2026 = p_2026;
	stream.tools = false; // until a handshake or a listen says what it wants
	stream.resources = false;
	stream.log_level = p_log_level;
	MutexLock lock(mutex);
	const int64_t id = next_stream++;
	streams.insert(id, stream);
	return id;
}

bool MCPProtocol::take_notifications(int64_t p_stream, LocalVector<String> &r_events) {
	MutexLock lock(mutex);
	Stream *stream = streams.getptr(p_stream);
	if (!stream) {
		return false;
	}
	for (const String &event : stream->pending) {
		r_events.push_back(event);
	}
	stream->pending.clear();
	stream->last_activity_msec = now_msec();
	return !stream->closed;
}

void MCPProtocol::close_stream(int64_t p_stream) {
	MutexLock lock(mutex);
	streams.erase(p_stream);
	for (KeyValue<String, Session> &entry : sessions) {
		if (entry.value.stream == p_stream) {
			entry.value.stream = 0;
			entry.value.last_used_msec = now_msec();
		}
	}
}

void MCPProtocol::set_limits(const Limits &p_limits) {
	MutexLock lock(mutex);
	limits = p_limits;
}

void MCPProtocol::clear_sessions() {
	MutexLock lock(mutex);
	sessions.clear();
	for (KeyValue<int64_t, Stream> &entry : streams) {
		entry.value.closed = entry.value.closed || entry.value.http;
	}
}

int MCPProtocol::get_session_count() const {
	MutexLock lock(mutex);
	return sessions.size();
}
