#include "mcp_http_transport.h"

#include "mcp_json.h"
#include "mcp_protocol.h"

#include "core/io/ip.h"
#include "core/os/os.h"

namespace {

constexpr int POLL_SLICE_MSEC = 50; // how often a waiting thread checks for shutdown and eviction
constexpr uint64_t KEEPALIVE_IDLE_MSEC = 30000; // between requests on a connection that has been served
constexpr uint64_t BODY_TIMEOUT_MSEC = 10000; // from the end of a head to the end of its body
constexpr uint64_t WRITE_TIMEOUT_MSEC = 10000;
constexpr uint64_t SSE_KEEPALIVE_MSEC = 15000;
constexpr int MAX_HEAD_BYTES = 16384;
constexpr int MAX_CONTENT_LENGTH_DIGITS = 15;
// The request headers that route a 2026 request; each may appear once.
const char *const ROUTING_HEADERS[] = { "mcp-protocol-version", "mcp-method", "mcp-name" };

const char *reason_phrase(int p_status) {
	switch (p_status) {
		case 200:
			return "OK";
		case 202:
			return "Accepted";
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

// "host:port", "[::1]:port", "host" -> the host part and the port (-1: none given).
void split_host(const String &p_host, String &r_name, int &r_port) {
	String rest;
	if (p_host.begins_with("[")) {
		const int end = p_host.find("]");
		r_name = end < 0 ? p_host : p_host.substr(0, end + 1);
		rest = end < 0 ? String() : p_host.substr(end + 1);
	} else {
		const int colon = p_host.rfind(":");
		r_name = colon < 0 ? p_host : p_host.substr(0, colon);
		rest = colon < 0 ? String() : p_host.substr(colon);
	}
	r_port = -1;
	if (rest.begins_with(":")) {
		const String digits = rest.substr(1);
		r_port = !digits.is_empty() && digits.length() <= 5 && digits.is_valid_int() && !digits.contains("-") && !digits.contains("+") ? digits.to_int() : -2;
	} else if (!rest.is_empty()) {
		r_port = -2; // garbage after the host
	}
}

bool is_plain_digits(const String &p_text) {
	if (p_text.is_empty() || p_text.length() > MAX_CONTENT_LENGTH_DIGITS) {
		return false;
	}
	for (int i = 0; i < p_text.length(); i++) {
		if (p_text[i] < '0' || p_text[i] > '9') {
			return false;
		}
	}
	return true;
}

String header_or_empty(const MCPHttpTransport::Request &p_request, const String &p_name) {
	const String *value = p_request.headers.getptr(p_name);
	return value ? *value : String();
}

} // namespace

// --- Lifecycle --------------------------------------------------------------------

int MCPHttpTransport::start(int64_t p_port, const Options &p_options) {
	ERR_FAIL_COND_V_MSG(running.is_set(), -1, vformat("The MCP server is already running on port %d; call stop() first.", port));
	ERR_FAIL_COND_V_MSG(p_port < 0 || p_port > 65535, -1, vformat("The MCP server 'port' must be 0 (any free port) or 1-65535, not %d.", p_port));
	options = p_options;
	const IPAddress address(options.bind_address);
	ERR_FAIL_COND_V_MSG(!address.is_valid(), -1, vformat("The MCP server 'bind_address' '%s' is not an IP address.", options.bind_address));
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
		ERR_FAIL_V_MSG(-1, vformat("The MCP server cannot listen on %s:%d (%s). Is the port in use? Pass 0 to pick a free one.", options.bind_address, p_port, error_names[error]));
	}
	NetSocket::Address bound;
	listener->get_socket_address(&bound);
	port = bound.port();

	stopping.clear();
	running.set();
	accept_thread.start(_accept_loop, this);
	const String host = options.bind_address.contains(":") ? "[" + options.bind_address + "]" : options.bind_address;
	print_line(vformat("MCP server listening on http://%s:%d/mcp", host, port));
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

bool MCPHttpTransport::_make_room() {
	int live = 0;
	Connection *longest_waiting = nullptr;
	for (Connection *connection : connections) {
		if (connection->evict.is_set() || connection->finished.is_set()) {
			continue;
		}
		live++;
		if (connection->phase.load() == PHASE_WAITING &&
				(!longest_waiting || connection->waiting_since.load() < longest_waiting->waiting_since.load())) {
			longest_waiting = connection;
		}
	}
	if (live < options.max_connections) {
		return true;
	}
	if (!longest_waiting) {
		return false;
	}
	// It notices within a poll slice and closes; it no longer counts.
	longest_waiting->evict.set();
	return true;
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

		if (!self->_make_room()) {
			self->_write_response(socket, _status(503, "Every connection to the MCP server is busy; retry shortly.", true));
			socket->close();
			continue;
		}
		Connection *connection = memnew(Connection);
		connection->transport = self;
		connection->socket = socket;
		connection->waiting_since.store(now_msec());
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
	bool served = false;
	while (!self->stopping.is_set() && !connection->evict.is_set()) {
		connection->phase.store(PHASE_WAITING);
		connection->waiting_since.store(now_msec());
		Request request;
		const ReadResult read = self->_read_request(connection, served, buffer, request);
		if (read == READ_CLOSED) {
			break;
		}
		connection->phase.store(PHASE_BUSY);
		if (read != READ_OK) {
			const int status = read == READ_TIMEOUT ? 408 : read == READ_HEAD_TOO_LARGE ? 431 : read == READ_BODY_TOO_LARGE ? 413 : 400;
			const String message = read == READ_BODY_TOO_LARGE
					? vformat("The request body is larger than the MCP server's limit of %d bytes.", self->options.max_body_bytes)
					: String(reason_phrase(status));
			self->_write_response(connection->socket, _status(status, message, true));
			break;
		}
		served = true;
		int64_t stream = 0;
		String stream_end;
		Response response = self->_handle(request, stream, stream_end);
		if (stream != 0) {
			connection->phase.store(PHASE_STREAMING);
			self->_serve_event_stream(connection, stream, stream_end);
			break;
		}
		const String connection_header = header_or_empty(request, "connection").to_lower();
		response.close = response.close || connection_header == "close";
		if (!self->_write_response(connection->socket, response) || response.close) {
			break;
		}
	}
	connection->finished.set();
}

bool MCPHttpTransport::_receive_more(Connection *p_connection, LocalVector<uint8_t> &r_buffer, uint64_t p_deadline_msec) const {
	const Ref<NetSocket> &socket = p_connection->socket;
	while (!stopping.is_set() && !p_connection->evict.is_set() && now_msec() < p_deadline_msec) {
		const Error polled = socket->poll(NetSocket::POLL_TYPE_IN, POLL_SLICE_MSEC);
		if (polled == ERR_BUSY) {
			continue;
		}
		if (polled != OK) {
			return false;
		}
		uint8_t chunk[8192];
		int received = 0;
		const Error error = socket->recv(chunk, sizeof(chunk), received);
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

MCPHttpTransport::ReadResult MCPHttpTransport::_read_request(Connection *p_connection, bool p_served_before, LocalVector<uint8_t> &r_buffer, Request &r_request) const {
	// The head: a connection waits for its first request at most the idle
	// timeout, and a kept-alive one a while longer for its next; once bytes
	// come, the whole head must arrive within the idle timeout.
	int64_t head_end = -1;
	const uint64_t started = now_msec();
	uint64_t deadline = started + (p_served_before && r_buffer.is_empty() ? KEEPALIVE_IDLE_MSEC : options.idle_timeout_msec);
	bool restarted = !r_buffer.is_empty() || !p_served_before;
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
		if (!_receive_more(p_connection, r_buffer, deadline)) {
			// Silence or an unfinished head: the connection is closed, not answered.
			return READ_CLOSED;
		}
		if (!restarted) {
			deadline = now_msec() + options.idle_timeout_msec;
			restarted = true;
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
		const String name = lines[i].substr(0, colon).strip_edges().to_lower();
		r_request.headers[name] = lines[i].substr(colon + 1).strip_edges();
		r_request.header_counts[name] = (r_request.header_counts.has(name) ? r_request.header_counts[name] : 0) + 1;
	}
	if (r_request.headers.has("transfer-encoding")) {
		return READ_BAD_REQUEST; // MCP clients send Content-Length; chunked bodies are not supported
	}

	int64_t length = 0;
	if (r_request.headers.has("content-length")) {
		// Plain digits only: "+42", "-1", " 4 2" and "0x10" are not lengths.
		const String text = r_request.headers["content-length"];
		if (!is_plain_digits(text) || r_request.header_counts["content-length"] > 1) {
			return READ_BAD_REQUEST;
		}
		length = text.to_int();
	}
	if (length > options.max_body_bytes) {
		return READ_BODY_TOO_LARGE;
	}
	const uint64_t body_deadline = now_msec() + BODY_TIMEOUT_MSEC;
	while ((int64_t)r_buffer.size() < head_end + length) {
		if (!_receive_more(p_connection, r_buffer, body_deadline)) {
			return (stopping.is_set() || p_connection->evict.is_set() || now_msec() < body_deadline) ? READ_CLOSED : READ_TIMEOUT;
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
	if (!body.is_empty()) {
		head += "Content-Type: " + p_response.content_type + "\r\n";
	}
	head += vformat("Content-Length: %d\r\n", body.length());
	for (const KeyValue<String, String> &header : p_response.headers) {
		head += header.key + ": " + header.value + "\r\n";
	}
	head += p_response.close ? "Connection: close\r\n\r\n" : "Connection: keep-alive\r\n\r\n";
	// One send for head and body: with TCP_NODELAY two sends are two segments,
	// and the client wakes for a head it cannot use yet (measured: the wakeup
	// and the second syscall were the largest costs of a small tools/call).
	CharString message = head.utf8();
	const int head_length = message.length();
	message.resize_uninitialized(head_length + body.length() + 1); // + the NUL a CharString ends with
	memcpy(message.ptrw() + head_length, body.get_data(), body.length());
	message.ptrw()[head_length + body.length()] = '\0';
	return _send_all(p_socket, message);
}

// --- Routing and MCP's HTTP rules --------------------------------------------------

MCPHttpTransport::Response MCPHttpTransport::_status(int p_status, const String &p_message, bool p_close) {
	Response response;
	response.status = p_status;
	Dictionary body;
	body["error"] = p_message;
	response.body = mcp_json::write(body);
	response.close = p_close;
	return response;
}

MCPHttpTransport::Response MCPHttpTransport::_jsonrpc_status(int p_status, int p_code, const String &p_message, const String &p_raw_id) {
	Dictionary error;
	error["code"] = p_code;
	error["message"] = p_message;
	Dictionary rest;
	rest["error"] = error;
	Response response;
	response.status = p_status;
	response.body = mcp_json::write_response(p_raw_id, rest);
	return response;
}

// DNS rebinding: a page on evil.example resolving to 127.0.0.1 still sends its
// own Host and Origin; only loopback names, with this server's port, are ours.
bool MCPHttpTransport::_is_this_server(const String &p_host) const {
	String name;
	int host_port = -1;
	split_host(p_host.strip_edges(), name, host_port);
	name = name.to_lower();
	const bool local = name == "127.0.0.1" || name == "localhost" || name == "[::1]" || name == options.bind_address ||
			name == "[" + options.bind_address + "]";
	return local && (host_port == port || (host_port == -1 && port == 80));
}

MCPHttpTransport::Response MCPHttpTransport::_handle(const Request &p_request, int64_t &r_stream, String &r_stream_end) {
	if (p_request.path != "/mcp") {
		return _status(404, vformat("No MCP endpoint at '%s'; use /mcp.", p_request.path));
	}
	if (!p_request.headers.has("host")) {
		return _status(400, "The request has no Host header.");
	}
	if (!_is_this_server(p_request.headers["host"])) {
		return _status(421, vformat("Host '%s' is not this server; connect to 127.0.0.1:%d or localhost:%d.", p_request.headers["host"], port, port));
	}
	if (p_request.headers.has("origin")) {
		const String origin = p_request.headers["origin"];
		const int scheme_end = origin.find("://");
		String name;
		int origin_port = -1;
		split_host(scheme_end < 0 ? String() : origin.substr(scheme_end + 3).get_slice("/", 0), name, origin_port);
		name = name.to_lower();
		// A page served by this machine may call; a page from elsewhere may not.
		if (scheme_end < 0 || !(name == "127.0.0.1" || name == "localhost" || name == "[::1]") || origin_port == -2) {
			return _status(403, vformat("Origin '%s' may not use this MCP server; only local pages may.", origin));
		}
	}
	if (!options.token.is_empty()) {
		const String authorization = header_or_empty(p_request, "authorization");
		if (!authorization.begins_with("Bearer ") || !constant_time_equals(authorization.substr(7).strip_edges(), options.token)) {
			Response response = _status(401, "This MCP server needs 'Authorization: Bearer <token>'.");
			response.headers["WWW-Authenticate"] = "Bearer realm=\"godot-executorch\"";
			return response;
		}
	}
	// The era: a 2025 revision (or no header) is the handshake era.
	const bool era_2026 = p_request.headers.has("mcp-protocol-version") &&
			!MCPProtocol::is_handshake_version(p_request.headers["mcp-protocol-version"]);
	return era_2026 ? _handle_2026(p_request, r_stream, r_stream_end) : _handle_2025(p_request, r_stream);
}

MCPHttpTransport::Response MCPHttpTransport::_handle_2026(const Request &p_request, int64_t &r_stream, String &r_stream_end) {
	if (p_request.method != "POST") {
		Response response = _status(405, vformat("MCP %s is stateless: send each request as a POST to /mcp.", MCPProtocol::PROTOCOL_2026));
		response.headers["Allow"] = "POST";
		return response;
	}
	const String content_type = header_or_empty(p_request, "content-type").to_lower();
	if (!content_type.begins_with("application/json")) {
		return _status(400, "POST /mcp carries JSON-RPC: send 'Content-Type: application/json'.");
	}
	const String accept = header_or_empty(p_request, "accept");
	if (!accept.is_empty() && !accept.contains("application/json") && !accept.contains("*/*")) {
		return _status(406, "Send 'Accept: application/json, text/event-stream': answers are JSON, subscriptions/listen an event stream.");
	}
	String text;
	if (text.append_utf8((const char *)p_request.body.ptr(), p_request.body.size()) != OK) {
		return _jsonrpc_status(400, MCPProtocol::PARSE_ERROR, "Parse error: the body is not UTF-8.", String());
	}
	MCPProtocol::Context context;
	context.http = true;
	context.has_version_header = true;
	context.version_header = p_request.headers["mcp-protocol-version"];
	context.has_method_header = p_request.headers.has("mcp-method");
	context.method_header = header_or_empty(p_request, "mcp-method");
	context.has_name_header = p_request.headers.has("mcp-name");
	context.name_header = header_or_empty(p_request, "mcp-name");
	for (const char *name : ROUTING_HEADERS) {
		const int *count = p_request.header_counts.getptr(name);
		context.duplicate_routing_header = context.duplicate_routing_header || (count && *count > 1);
	}
	const MCPProtocol::Reply reply = protocol->handle(text, context);
	if (reply.listen_stream != 0) {
		if (!accept.contains("text/event-stream")) {
			protocol->close_stream(reply.listen_stream);
			return _status(406, "subscriptions/listen answers with an event stream: send 'Accept: text/event-stream'.");
		}
		r_stream = reply.listen_stream;
		r_stream_end = reply.stream_end;
		return Response();
	}
	Response response;
	response.status = reply.http_status;
	response.body = reply.body;
	return response;
}

MCPHttpTransport::Response MCPHttpTransport::_handle_2025(const Request &p_request, int64_t &r_stream) {
	const String session_id = header_or_empty(p_request, "mcp-session-id");
	if (p_request.method == "GET" || p_request.method == "DELETE") {
		if (session_id.is_empty()) {
			return _jsonrpc_status(400, MCPProtocol::INVALID_REQUEST, "Bad Request: the Mcp-Session-Id header is missing.", String());
		}
		if (!protocol->has_session(session_id)) {
			return _jsonrpc_status(404, MCPProtocol::INVALID_REQUEST, "Session not found (it ended or expired): initialize a new one.", String());
		}
		if (p_request.method == "DELETE") {
			protocol->end_session(session_id);
			Response ended;
			ended.status = 200;
			return ended;
		}
		if (!header_or_empty(p_request, "accept").contains("text/event-stream")) {
			return _status(406, "GET /mcp opens an event stream: send 'Accept: text/event-stream'.");
		}
		const int64_t stream = protocol->open_session_stream(session_id);
		if (stream == 0) {
			return _status(409, "This session already has an open event stream.");
		}
		r_stream = stream;
		return Response();
	}
	if (p_request.method != "POST") {
		Response response = _status(405, vformat("Method %s is not allowed on /mcp; use POST, GET or DELETE.", p_request.method));
		response.headers["Allow"] = "GET, POST, DELETE";
		return response;
	}
	const String content_type = header_or_empty(p_request, "content-type").to_lower();
	if (!content_type.is_empty() && !content_type.begins_with("application/json")) {
		return _status(415, "POST /mcp carries JSON-RPC: send 'Content-Type: application/json'.");
	}
	String text;
	if (text.append_utf8((const char *)p_request.body.ptr(), p_request.body.size()) != OK) {
		return _jsonrpc_status(400, MCPProtocol::PARSE_ERROR, "Parse error: the body is not UTF-8.", String());
	}
	MCPProtocol::Context context;
	context.http = true;
	context.session_id = session_id; // MCPProtocol checks it: every request but initialize needs one
	context.has_version_header = p_request.headers.has("mcp-protocol-version");
	context.version_header = header_or_empty(p_request, "mcp-protocol-version");
	const MCPProtocol::Reply reply = protocol->handle(text, context);
	Response response;
	response.status = reply.http_status;
	response.body = reply.body;
	if (!reply.new_session.is_empty()) {
		response.headers["Mcp-Session-Id"] = reply.new_session;
	}
	return response;
}

void MCPHttpTransport::_serve_event_stream(Connection *p_connection, int64_t p_stream, const String &p_end) {
	const Ref<NetSocket> &socket = p_connection->socket;
	const CharString head = String("HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nCache-Control: no-cache\r\nX-Accel-Buffering: no\r\nConnection: keep-alive\r\n\r\n").utf8();
	bool open = _send_all(socket, head);
	uint64_t last_write = now_msec();
	LocalVector<String> events;
	bool ended_by_server = false;
	while (open) {
		if (stopping.is_set()) {
			ended_by_server = true;
			break;
		}
		events.clear();
		const bool alive = protocol->take_notifications(p_stream, events);
		for (const String &event : events) {
			open = open && _send_all(socket, ("event: message\ndata: " + event + "\n\n").utf8());
			last_write = now_msec();
		}
		if (!alive) {
			ended_by_server = true; // the session ended or the server stopped
			break;
		}
		if (now_msec() - last_write > SSE_KEEPALIVE_MSEC) {
			open = _send_all(socket, String(": keep-alive\n\n").utf8());
			last_write = now_msec();
		}
		// Wake on shutdown or when the client hangs up (readable EOF).
		if (socket->poll(NetSocket::POLL_TYPE_IN, POLL_SLICE_MSEC) == OK) {
			uint8_t scratch[256];
			int received = 0;
			const Error error = socket->recv(scratch, sizeof(scratch), received);
			open = open && (error == ERR_BUSY || (error == OK && received > 0));
		}
	}
	if (open && ended_by_server && !p_end.is_empty()) {
		_send_all(socket, ("event: message\ndata: " + p_end + "\n\n").utf8());
	}
	protocol->close_stream(p_stream);
}
