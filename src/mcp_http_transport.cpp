#include "mcp_http_transport.h"

#include "mcp_server_internal.h"

#include "core/io/ip.h"
#include "core/io/json.h"
#include "core/os/os.h"

namespace {

constexpr int POLL_SLICE_MSEC = 50; // how often a waiting thread checks for shutdown
constexpr uint64_t IDLE_TIMEOUT_MSEC = 60000; // keep-alive connection with no request
constexpr uint64_t REQUEST_TIMEOUT_MSEC = 10000; // from a request's first byte to its last
constexpr uint64_t WRITE_TIMEOUT_MSEC = 10000;
constexpr uint64_t SSE_KEEPALIVE_MSEC = 15000;
constexpr int MAX_HEAD_BYTES = 16384;

const char *reason_phrase(int p_status) {
	switch (p_status) {
		case 200:
			return "OK";
		case 202:
			return "Accepted";
		case 204:
			return "No Content";
		case 400:
			return "Bad Request";
		case 401:
			return "Unauthorized";
		case 403:
			return "Forbidden";
		case 404:
			return "Not Found";
		case 405:
			return "Method Not Allowed";
		case 406:
			return "Not Acceptable";
		case 408:
			return "Request Timeout";
		case 409:
			return "Conflict";
		case 411:
			return "Length Required";
		case 413:
			return "Content Too Large";
		case 415:
			return "Unsupported Media Type";
		case 421:
			return "Misdirected Request";
		case 431:
			return "Request Header Fields Too Large";
		case 503:
			return "Service Unavailable";
		default:
			return "Internal Server Error";
	}
}

uint64_t now_msec() {
	return OS::get_singleton()->get_ticks_msec();
}

// Compares secrets in time independent of where they differ.
bool constant_time_equals(const String &p_a, const String &p_b) {
	const CharString a = p_a.utf8();
	const CharString b = p_b.utf8();
	uint8_t difference = a.length() == b.length() ? 0 : 1;
	for (int i = 0; i < a.length(); i++) {
		difference |= (uint8_t)(a[i] ^ (i < b.length() ? b[i] : 0));
	}
	return difference == 0;
}

// "host", "host:port", "[::1]:port" -> the host part.
String host_without_port(const String &p_host) {
	if (p_host.begins_with("[")) {
		const int end = p_host.find("]");
		return end < 0 ? p_host : p_host.substr(0, end + 1);
	}
	const int colon = p_host.rfind(":");
	return colon < 0 ? p_host : p_host.substr(0, colon);
}

} // namespace

// --- Lifecycle --------------------------------------------------------------------

int MCPHttpTransport::start(int p_port, const Dictionary &p_options) {
	ERR_FAIL_COND_V_MSG(p_port < 0 || p_port > 65535, -1, vformat("The MCP server 'port' must be 0 (any free port) or 1-65535, not %d.", p_port));
	for (const Variant &key : p_options.keys()) {
		const String name = key;
		ERR_FAIL_COND_V_MSG(name != "token" && name != "bind_address" && name != "max_body_bytes" && name != "max_connections", -1,
				vformat("Unknown MCP server option '%s'; the options are token, bind_address, max_body_bytes, max_connections.", name));
	}
	token = p_options.get("token", "");
	bind_address = p_options.get("bind_address", "127.0.0.1");
	max_body_bytes = p_options.get("max_body_bytes", 1 << 20);
	max_connections = p_options.get("max_connections", 64);
	ERR_FAIL_COND_V_MSG(max_body_bytes < 1024, -1, "The MCP server option 'max_body_bytes' must be at least 1024.");
	ERR_FAIL_COND_V_MSG(max_connections < 1, -1, "The MCP server option 'max_connections' must be at least 1.");

	const IPAddress address(bind_address);
	ERR_FAIL_COND_V_MSG(!address.is_valid(), -1, vformat("The MCP server 'bind_address' '%s' is not an IP address.", bind_address));
	listener = Ref<NetSocket>(NetSocket::create());
	IP::Type ip_type = address.is_ipv4() ? IP::TYPE_IPV4 : IP::TYPE_IPV6;
	Error error = listener->open(NetSocket::Family::INET, NetSocket::TYPE_TCP, ip_type);
	ERR_FAIL_COND_V_MSG(error != OK, -1, "The MCP server cannot open a socket.");
	listener->set_blocking_enabled(false);
	listener->set_reuse_address_enabled(true);
	error = listener->bind(NetSocket::Address(address, (uint16_t)p_port));
	if (error == OK) {
		error = listener->listen(128);
	}
	if (error != OK) {
		listener->close();
		listener.unref();
		ERR_FAIL_V_MSG(-1, vformat("The MCP server cannot listen on %s:%d (%s). Is the port in use? Pass 0 to pick a free one.", bind_address, p_port, error_names[error]));
	}
	NetSocket::Address bound;
	listener->get_socket_address(&bound);
	port = bound.port();

	stopping.clear();
	running.set();
	accept_thread.start(_accept_loop, this);
	print_line(vformat("MCP server listening on http://%s:%d/mcp", bind_address.contains(":") ? "[" + bind_address + "]" : bind_address, port));
	return port;
}

void MCPHttpTransport::stop() {
	if (!running.is_set()) {
		return;
	}
	stopping.set();
	if (accept_thread.is_started()) {
		accept_thread.wait_to_finish();
	}
	_reap_finished(true);
	listener->close();
	listener.unref();
	running.clear();
	port = -1;
}

void MCPHttpTransport::_accept_loop(void *p_self) {
	MCPHttpTransport *self = static_cast<MCPHttpTransport *>(p_self);
	while (!self->stopping.is_set()) {
		self->_reap_finished(false);
		if (self->listener->poll(NetSocket::POLL_TYPE_IN, POLL_SLICE_MSEC) != OK) {
			continue;
		}
		NetSocket::Address peer;
		Ref<NetSocket> socket = self->listener->accept(peer);
		if (socket.is_null()) {
			continue;
		}
		socket->set_blocking_enabled(false);
		socket->set_tcp_no_delay_enabled(true);

		if ((int)self->connections.size() >= self->max_connections) {
			self->_write_response(socket, _status(503, "Too many connections to the MCP server; retry later.", true));
			socket->close();
			continue;
		}
		Connection *connection = memnew(Connection);
		connection->transport = self;
		connection->socket = socket;
		self->connections.push_back(connection);
		connection->thread.start(_connection_loop, connection);
	}
}

void MCPHttpTransport::_reap_finished(bool p_wait_for_all) {
	LocalVector<Connection *> done;
	for (int64_t i = (int64_t)connections.size() - 1; i >= 0; i--) {
		if (p_wait_for_all || connections[i]->finished.is_set()) {
			done.push_back(connections[i]);
			connections.remove_at_unordered(i);
		}
	}
	for (Connection *connection : done) {
		connection->thread.wait_to_finish(); // returns at once when finished; else within a poll slice of `stopping`
		connection->socket->close();
		memdelete(connection);
	}
}

// --- One connection ----------------------------------------------------------------

void MCPHttpTransport::_connection_loop(void *p_connection) {
	Connection *connection = static_cast<Connection *>(p_connection);
	MCPHttpTransport *self = connection->transport;
	LocalVector<uint8_t> buffer;
	while (!self->stopping.is_set()) {
		Request request;
		const ReadResult read = self->_read_request(connection->socket, buffer, request);
		if (read == READ_CLOSED) {
			break;
		}
		if (read != READ_OK) {
			const int status = read == READ_TIMEOUT ? 408 : read == READ_HEAD_TOO_LARGE ? 431 : read == READ_BODY_TOO_LARGE ? 413 : 400;
			const String message = read == READ_BODY_TOO_LARGE
					? vformat("The request body is larger than the MCP server's limit of %d bytes.", self->max_body_bytes)
					: String(reason_phrase(status));
			self->_write_response(connection->socket, _status(status, message, true));
			break;
		}
		if (request.method == "GET" && request.path == "/mcp") {
			// A GET that passes the checks becomes the session's SSE stream.
			Response checked = self->_handle(request);
			if (checked.status != 200) {
				self->_write_response(connection->socket, checked);
				if (checked.close) {
					break;
				}
				continue;
			}
			self->_serve_event_stream(connection->socket, request.headers.get("mcp-session-id"));
			break;
		}
		Response response = self->_handle(request);
		const String connection_header = request.headers.has("connection") ? request.headers["connection"].to_lower() : String();
		response.close = response.close || connection_header == "close";
		if (!self->_write_response(connection->socket, response) || response.close) {
			break;
		}
	}
	connection->finished.set();
}

bool MCPHttpTransport::_receive_more(const Ref<NetSocket> &p_socket, LocalVector<uint8_t> &r_buffer, uint64_t p_deadline_msec) const {
	while (!stopping.is_set() && now_msec() < p_deadline_msec) {
		const Error polled = p_socket->poll(NetSocket::POLL_TYPE_IN, POLL_SLICE_MSEC);
		if (polled == ERR_BUSY) {
			continue;
		}
		if (polled != OK) {
			return false;
		}
		uint8_t chunk[8192];
		int received = 0;
		const Error error = p_socket->recv(chunk, sizeof(chunk), received);
		if (error == ERR_BUSY) {
			continue;
		}
		if (error != OK || received <= 0) {
			return false; // closed or failed
		}
		const uint32_t old_size = r_buffer.size();
		r_buffer.resize(old_size + received);
		memcpy(r_buffer.ptr() + old_size, chunk, received);
		return true;
	}
	return false;
}

MCPHttpTransport::ReadResult MCPHttpTransport::_read_request(const Ref<NetSocket> &p_socket, LocalVector<uint8_t> &r_buffer, Request &r_request) const {
	// The head: wait up to the idle timeout for its first byte, then up to the
	// request timeout for the rest.
	int64_t head_end = -1;
	uint64_t deadline = now_msec() + (r_buffer.is_empty() ? IDLE_TIMEOUT_MSEC : REQUEST_TIMEOUT_MSEC);
	while (true) {
		for (int64_t i = 3; i < (int64_t)r_buffer.size(); i++) {
			if (r_buffer[i - 3] == '\r' && r_buffer[i - 2] == '\n' && r_buffer[i - 1] == '\r' && r_buffer[i] == '\n') {
				head_end = i + 1;
				break;
			}
		}
		if (head_end >= 0) {
			break;
		}
		if (r_buffer.size() > MAX_HEAD_BYTES) {
			return READ_HEAD_TOO_LARGE;
		}
		const bool was_empty = r_buffer.is_empty();
		if (!_receive_more(p_socket, r_buffer, deadline)) {
			return (was_empty || stopping.is_set() || now_msec() < deadline) ? READ_CLOSED : READ_TIMEOUT;
		}
		if (was_empty) {
			deadline = now_msec() + REQUEST_TIMEOUT_MSEC;
		}
	}

	String head;
	head.append_utf8((const char *)r_buffer.ptr(), head_end);
	const PackedStringArray lines = head.split("\r\n", false);
	if (lines.is_empty()) {
		return READ_BAD_REQUEST;
	}
	const PackedStringArray request_line = lines[0].split(" ", false);
	if (request_line.size() != 3 || !request_line[2].begins_with("HTTP/1.")) {
		return READ_BAD_REQUEST;
	}
	r_request.method = request_line[0];
	r_request.path = request_line[1].get_slice("?", 0);
	for (int i = 1; i < lines.size(); i++) {
		const int colon = lines[i].find(":");
		if (colon <= 0) {
			return READ_BAD_REQUEST;
		}
		r_request.headers[lines[i].substr(0, colon).strip_edges().to_lower()] = lines[i].substr(colon + 1).strip_edges();
	}
	if (r_request.headers.has("transfer-encoding")) {
		return READ_BAD_REQUEST; // MCP clients send Content-Length; chunked bodies are not supported
	}

	int64_t length = 0;
	if (r_request.headers.has("content-length")) {
		const String text = r_request.headers["content-length"];
		if (!text.is_valid_int() || text.to_int() < 0) {
			return READ_BAD_REQUEST;
		}
		length = text.to_int();
	}
	if (length > max_body_bytes) {
		return READ_BODY_TOO_LARGE;
	}
	while ((int64_t)r_buffer.size() < head_end + length) {
		if (!_receive_more(p_socket, r_buffer, deadline)) {
			return (stopping.is_set() || now_msec() < deadline) ? READ_CLOSED : READ_TIMEOUT;
		}
	}
	r_request.body.resize(length);
	memcpy(r_request.body.ptrw(), r_buffer.ptr() + head_end, length);
	// Keep what follows (a pipelined request) for the next read.
	const int64_t used = head_end + length;
	const int64_t rest = r_buffer.size() - used;
	memmove(r_buffer.ptr(), r_buffer.ptr() + used, rest);
	r_buffer.resize(rest);
	return READ_OK;
}

bool MCPHttpTransport::_send_all(const Ref<NetSocket> &p_socket, const CharString &p_data) const {
	const uint64_t deadline = now_msec() + WRITE_TIMEOUT_MSEC;
	int offset = 0;
	while (offset < p_data.length()) {
		if (now_msec() > deadline || stopping.is_set()) {
			return false; // a client that never reads gives up its connection, nobody else's
		}
		int sent = 0;
		const Error error = p_socket->send((const uint8_t *)p_data.get_data() + offset, p_data.length() - offset, sent);
		if (error == ERR_BUSY) {
			p_socket->poll(NetSocket::POLL_TYPE_OUT, POLL_SLICE_MSEC);
			continue;
		}
		if (error != OK) {
			return false;
		}
		offset += sent;
	}
	return true;
}

bool MCPHttpTransport::_write_response(const Ref<NetSocket> &p_socket, const Response &p_response) const {
	const CharString body = p_response.body.utf8();
	String head = vformat("HTTP/1.1 %d %s\r\n", p_response.status, reason_phrase(p_response.status));
	if (!body.is_empty() || p_response.status >= 400 || p_response.status == 200) {
		head += "Content-Type: " + p_response.content_type + "\r\n";
	}
	head += vformat("Content-Length: %d\r\n", body.length());
	for (const KeyValue<String, String> &header : p_response.headers) {
		head += header.key + ": " + header.value + "\r\n";
	}
	head += p_response.close ? "Connection: close\r\n\r\n" : "Connection: keep-alive\r\n\r\n";
	return _send_all(p_socket, head.utf8()) && (body.is_empty() || _send_all(p_socket, body));
}

// --- Routing and MCP's HTTP rules --------------------------------------------------

MCPHttpTransport::Response MCPHttpTransport::_status(int p_status, const String &p_message, bool p_close) {
	Response response;
	response.status = p_status;
	Dictionary body;
	body["error"] = p_message;
	response.body = JSON::stringify(body, "", false);
	response.close = p_close;
	return response;
}

MCPHttpTransport::Response MCPHttpTransport::_jsonrpc_status(int p_status, int p_code, const String &p_message) {
	Response response;
	response.status = p_status;
	response.body = JSON::stringify(MCPServerInternal::make_error(Variant(), p_code, p_message), "", false);
	return response;
}

bool MCPHttpTransport::_is_local_host(const String &p_host) const {
	const String host = host_without_port(p_host).to_lower();
	return host == "127.0.0.1" || host == "localhost" || host == "[::1]" || host == bind_address ||
			host == "[" + bind_address + "]";
}

MCPHttpTransport::Response MCPHttpTransport::_handle(const Request &p_request) {
	if (p_request.path != "/mcp") {
		return _status(404, vformat("No MCP endpoint at '%s'; use /mcp.", p_request.path));
	}
	// DNS rebinding: a page on evil.example resolving to 127.0.0.1 still sends
	// its own Host and Origin; only loopback names are this server's.
	if (!p_request.headers.has("host")) {
		return _status(400, "The request has no Host header.");
	}
	if (!_is_local_host(p_request.headers["host"])) {
		return _status(421, vformat("Host '%s' is not this server; connect to 127.0.0.1 or localhost.", p_request.headers["host"]));
	}
	if (p_request.headers.has("origin")) {
		const String origin = p_request.headers["origin"];
		const int scheme_end = origin.find("://");
		if (scheme_end < 0 || !_is_local_host(origin.substr(scheme_end + 3).get_slice("/", 0))) {
			return _status(403, vformat("Origin '%s' may not use this MCP server; only local pages may.", origin));
		}
	}
	if (!token.is_empty()) {
		const String authorization = p_request.headers.has("authorization") ? p_request.headers["authorization"] : String();
		if (!authorization.begins_with("Bearer ") || !constant_time_equals(authorization.substr(7).strip_edges(), token)) {
			Response response = _status(401, "This MCP server needs 'Authorization: Bearer <token>'.");
			response.headers["WWW-Authenticate"] = "Bearer realm=\"godot-executorch\"";
			return response;
		}
	}

	const String session_id = p_request.headers.has("mcp-session-id") ? p_request.headers["mcp-session-id"] : String();
	if (p_request.method == "POST") {
		return _handle_post(p_request, session_id);
	}
	if (p_request.method == "GET" || p_request.method == "DELETE") {
		if (session_id.is_empty()) {
			return _jsonrpc_status(400, MCPServerInternal::INVALID_REQUEST, "Bad Request: the Mcp-Session-Id header is missing.");
		}
		if (!server->has_session(session_id)) {
			return _jsonrpc_status(404, MCPServerInternal::INVALID_REQUEST, "Session not found: initialize a new one.");
		}
		if (p_request.method == "DELETE") {
			server->end_session(session_id);
			Response ended;
			ended.status = 200;
			return ended;
		}
		const String accept = p_request.headers.has("accept") ? p_request.headers["accept"] : String();
		if (!accept.contains("text/event-stream")) {
			return _status(406, "GET /mcp opens an event stream: send 'Accept: text/event-stream'.");
		}
		if (!server->open_stream(session_id)) {
			return _status(409, "This session already has an open event stream.");
		}
		return Response(); // 200: the caller turns the connection into the stream
	}
	Response response = _status(405, vformat("Method %s is not allowed on /mcp; use POST, GET or DELETE.", p_request.method));
	response.headers["Allow"] = "GET, POST, DELETE";
	return response;
}

MCPHttpTransport::Response MCPHttpTransport::_handle_post(const Request &p_request, const String &p_session_id) {
	const String content_type = p_request.headers.has("content-type") ? p_request.headers["content-type"].to_lower() : String();
	if (!content_type.is_empty() && !content_type.begins_with("application/json")) {
		return _status(415, "POST /mcp carries JSON-RPC: send 'Content-Type: application/json'.");
	}
	if (p_request.headers.has("mcp-protocol-version") && !MCPServerInternal::is_supported_protocol_version(p_request.headers["mcp-protocol-version"])) {
		return _jsonrpc_status(400, MCPServerInternal::INVALID_REQUEST,
				vformat("Unsupported MCP-Protocol-Version '%s'; this server speaks 2025-11-25, 2025-06-18 and 2025-03-26.", p_request.headers["mcp-protocol-version"]));
	}
	String text;
	if (text.append_utf8((const char *)p_request.body.ptr(), p_request.body.size()) != OK) {
		return _jsonrpc_status(400, MCPServerInternal::PARSE_ERROR, "Parse error: the body is not UTF-8.");
	}
	JSON json;
	if (json.parse(text) != OK) {
		return _jsonrpc_status(400, MCPServerInternal::PARSE_ERROR,
				vformat("Parse error at line %d: %s.", json.get_error_line(), json.get_error_message()));
	}
	const Variant message = json.get_data();
	const String rpc_method = message.get_type() == Variant::DICTIONARY ? String(Dictionary(message).get("method", "")) : String();

	String session_id = p_session_id; // replaced by a new session on initialize
	bool new_session = false;
	if (rpc_method == "initialize") {
		session_id = server->create_session();
		new_session = true;
	} else if (rpc_method == "server/discover") {
		session_id = String(); // the stateless era's probe needs no session; it is answered "method not found"
	} else if (session_id.is_empty()) {
		return _jsonrpc_status(400, MCPServerInternal::INVALID_REQUEST, "Bad Request: the Mcp-Session-Id header is missing; send initialize first.");
	} else if (!server->has_session(session_id)) {
		return _jsonrpc_status(404, MCPServerInternal::INVALID_REQUEST, "Session not found: initialize a new one.");
	}

	const Dictionary reply = server->handle_message(message, session_id);
	Response response;
	if (reply.is_empty()) {
		response.status = 202; // a notification or a response: accepted, nothing to say
		return response;
	}
	if (new_session) {
		if (reply.has("error")) {
			server->end_session(session_id);
		} else {
			response.headers["Mcp-Session-Id"] = session_id;
		}
	}
	response.status = 200;
	response.body = JSON::stringify(reply, "", false);
	return response;
}

void MCPHttpTransport::_serve_event_stream(const Ref<NetSocket> &p_socket, const String &p_session_id) {
	const CharString head = String("HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nCache-Control: no-cache\r\nConnection: keep-alive\r\n\r\n").utf8();
	bool open = _send_all(p_socket, head);
	uint64_t last_write = now_msec();
	LocalVector<String> events;
	while (open && !stopping.is_set()) {
		events.clear();
		if (!server->take_notifications(p_session_id, events)) {
			break; // the session was deleted
		}
		for (const String &event : events) {
			open = open && _send_all(p_socket, ("event: message\ndata: " + event + "\n\n").utf8());
			last_write = now_msec();
		}
		if (now_msec() - last_write > SSE_KEEPALIVE_MSEC) {
			open = _send_all(p_socket, String(": keep-alive\n\n").utf8());
			last_write = now_msec();
		}
		// Wake on shutdown or when the client hangs up (readable EOF).
		if (p_socket->poll(NetSocket::POLL_TYPE_IN, POLL_SLICE_MSEC) == OK) {
			uint8_t scratch[256];
			int received = 0;
			const Error error = p_socket->recv(scratch, sizeof(scratch), received);
			open = open && (error == ERR_BUSY || (error == OK && received > 0));
		}
	}
	server->close_stream(p_session_id);
}
