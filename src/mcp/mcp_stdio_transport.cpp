#include "mcp_stdio_transport.h"

#include "mcp_protocol.h"

#include "core/os/os.h"
#include "scene/main/scene_tree.h"

#include <poll.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdio>

namespace {

std::atomic<int> protocol_fd{ -1 }; // the process's real stdout while stdio is claimed
constexpr int POLL_SLICE_MSEC = 50;
constexpr int MAX_LINE_BYTES = 16 << 20; // one message; a longer line is answered with a parse error

} // namespace

bool MCPStdioTransport::is_requested() {
	if (!OS::get_singleton()) {
		return false;
	}
	for (const String &argument : OS::get_singleton()->get_cmdline_user_args()) {
		if (argument == SWITCH) {
			return true;
		}
	}
	return false;
}

void MCPStdioTransport::claim_stdout_if_requested() {
	if (protocol_fd.load() >= 0 || !is_requested()) {
		return;
	}
	fflush(stdout);
	const int kept = dup(STDOUT_FILENO);
	if (kept < 0 || dup2(STDERR_FILENO, STDOUT_FILENO) < 0) {
		fprintf(stderr, "ExecuTorch MCP: cannot set stdout aside for MCP over stdio (%s).\n", strerror(errno));
		if (kept >= 0) {
			close(kept);
		}
		return;
	}
	protocol_fd.store(kept);
}

void MCPStdioTransport::release_stdout() {
	const int kept = protocol_fd.exchange(-1);
	if (kept >= 0) {
		close(kept);
	}
}

bool MCPStdioTransport::start() {
	ERR_FAIL_COND_V_MSG(protocol_fd.load() < 0, false, vformat("MCP over stdio needs the %s switch on the command line (after --), which sets stdout aside at startup.", SWITCH));
	if (running.is_set()) {
		return true;
	}
	handshake_stream = protocol->open_stream(false, -1);
	stopping.clear();
	running.set();
	thread.start(_serve, this);
	print_line("MCP server serving stdio (stdout carries MCP messages; the engine's output goes to stderr).");
	return true;
}

void MCPStdioTransport::stop() {
	if (!running.is_set()) {
		return;
	}
	stopping.set();
	if (thread.is_started()) {
		thread.wait_to_finish();
	}
	protocol->close_stream(handshake_stream);
	for (int64_t stream : listen_streams) {
		protocol->close_stream(stream);
	}
	listen_streams.clear();
	running.clear();
}

void MCPStdioTransport::_write_line(const String &p_line) {
	const int fd = protocol_fd.load();
	if (fd < 0) {
		return;
	}
	const CharString text = (p_line + "\n").utf8();
	MutexLock lock(write_mutex);
	int offset = 0;
	while (offset < text.length()) {
		const ssize_t written = write(fd, text.get_data() + offset, text.length() - offset);
		if (written < 0 && errno == EINTR) {
			continue;
		}
		if (written <= 0) {
			return; // the client is gone; stdin's end will stop us
		}
		offset += (int)written;
	}
}

void MCPStdioTransport::_drain_notifications() {
	LocalVector<String> events;
	protocol->take_notifications(handshake_stream, events);
	for (int64_t i = (int64_t)listen_streams.size() - 1; i >= 0; i--) {
		if (!protocol->take_notifications(listen_streams[i], events)) {
			protocol->close_stream(listen_streams[i]);
			listen_streams.remove_at(i);
		}
	}
	for (const String &event : events) {
		_write_line(event);
	}
}

void MCPStdioTransport::_quit_game() {
	if (SceneTree *tree = SceneTree::get_singleton()) {
		print_line("MCP over stdio: the client closed stdin; quitting.");
		tree->quit(0);
	}
}

void MCPStdioTransport::_serve(void *p_self) {
	MCPStdioTransport *self = static_cast<MCPStdioTransport *>(p_self);
	LocalVector<char> line;
	bool overlong = false;
	MCPProtocol::Context context;
	context.stdio_stream = self->handshake_stream;
	while (!self->stopping.is_set()) {
		self->_drain_notifications();
		struct pollfd input = { STDIN_FILENO, POLLIN, 0 };
		const int ready = poll(&input, 1, POLL_SLICE_MSEC);
		if (ready < 0 && errno == EINTR) {
			continue;
		}
		if (ready <= 0) {
			continue;
		}
		char chunk[65536];
		const ssize_t received = read(STDIN_FILENO, chunk, sizeof(chunk));
		if (received < 0 && (errno == EINTR || errno == EAGAIN)) {
			continue;
		}
		if (received <= 0) {
			callable_mp_static(&MCPStdioTransport::_quit_game).call_deferred();
			break;
		}
		for (ssize_t i = 0; i < received; i++) {
			if (chunk[i] != '\n') {
				if ((int)line.size() < MAX_LINE_BYTES) {
					line.push_back(chunk[i]);
				} else {
					overlong = true;
				}
				continue;
			}
			String message;
			const bool utf8 = message.append_utf8(line.ptr(), line.size()) == OK;
			line.clear();
			if (overlong || !utf8) {
				overlong = false;
				self->_write_line("{\"jsonrpc\":\"2.0\",\"id\":null,\"error\":{\"code\":-32700,\"message\":\"Parse error: the line is not UTF-8 JSON or is longer than 16 MiB.\"}}");
				continue;
			}
			if (message.strip_edges().is_empty()) {
				continue;
			}
			const MCPProtocol::Reply reply = self->protocol->handle(message, context);
			if (!reply.body.is_empty()) {
				self->_write_line(reply.body);
			}
			if (reply.listen_stream != 0) {
				self->listen_streams.push_back(reply.listen_stream);
			}
			self->_drain_notifications();
		}
	}
}
