#include "mcp_server_internal.h"

#include "executorch_runtime.h"
#include "mcp_http_transport.h"

#include "core/error/error_macros.h"
#include "core/io/json.h"
#include "core/os/os.h"
#include "core/os/thread.h"

const char *const MCPServerInternal::SUPPORTED_PROTOCOL_VERSIONS[3] = { "2025-11-25", "2025-06-18", "2025-03-26" };
const char *const MCPServerInternal::LOG_LEVELS[8] = { "debug", "info", "notice", "warning", "error", "critical", "alert", "emergency" };

namespace {

// Collects the errors a tool's method prints on this thread (the runtime
// reports bad input through Godot's error macros), so an MCP client gets the
// same sentence a GDScript developer sees, as the tool's isError text.
class ThreadErrorCapture {
	ErrorHandlerList handler;
	Thread::ID thread_id;

	static void _on_error(void *p_self, const char *p_function, const char *p_file, int p_line, const char *p_error,
			const char *p_message, bool p_editor_notify, ErrorHandlerType p_type) {
		ThreadErrorCapture *self = static_cast<ThreadErrorCapture *>(p_self);
		if (Thread::get_caller_id() != self->thread_id || p_type == ERR_HANDLER_WARNING) {
			return;
		}
		const String message = String::utf8(p_message && p_message[0] ? p_message : p_error);
		self->messages.push_back(message.trim_prefix("ExecuTorch: "));
	}

	PackedStringArray messages;

public:
	// True when the call printed errors; r_error gets them as one sentence.
	bool failed(String &r_error) const {
		if (messages.is_empty()) {
			return false;
		}
		r_error = String(" ").join(messages);
		return true;
	}

	ThreadErrorCapture() {
		thread_id = Thread::get_caller_id();
		handler.errfunc = _on_error;
		handler.userdata = this;
		add_error_handler(&handler);
	}
	~ThreadErrorCapture() { remove_error_handler(&handler); }
};

Dictionary text_content(const String &p_text) {
	Dictionary content;
	content["type"] = "text";
	content["text"] = p_text;
	return content;
}

// JSON numbers arrive from Godot's parser as floats; an id of 1 must go back as 1.
Variant normalize_id(const Variant &p_id) {
	if (p_id.get_type() == Variant::FLOAT) {
		const double number = p_id;
		if (number == Math::floor(number) && Math::abs(number) < 9.0e15) {
			return (int64_t)number;
		}
	}
	return p_id;
}

String json_type_of(const String &p_dtype) {
	if (p_dtype == "bool") {
		return "boolean";
	}
	if (p_dtype.begins_with("int") || p_dtype.begins_with("uint")) {
		return "integer";
	}
	return "number";
}

} // namespace

// --- The tool table -------------------------------------------------------------

void MCPServerInternal::_add_tool(const Tool &p_tool) {
	uint32_t position = 0;
	while (position < tools.size() && tools[position].name < p_tool.name) {
		position++;
	}
	tools.insert(position, p_tool);
}

const MCPServerInternal::Tool *MCPServerInternal::_find_spec_tool(const String &p_name) const {
	for (const Tool &tool : tools) {
		if (tool.name == p_name) {
			return &tool;
		}
	}
	return nullptr;
}

// One tool per method of the loaded model: "model_<method>", its inputs as
// input_0..input_N lists of numbers sized from the method metadata.
Array MCPServerInternal::_model_tools() const {
	Array list;
	if (!target) {
		return list;
	}
	const ExecuTorchRuntime *runtime = _runtime();
	const Dictionary info = runtime ? runtime->describe_model() : Dictionary();
	if (info.is_empty()) {
		return list;
	}
	const Dictionary methods = info["methods"];
	for (const Variant &method_name : methods.keys()) {
		const Dictionary method = methods[method_name];
		Dictionary properties;
		Array required;
		const Array inputs = method["inputs"];
		for (int i = 0; i < inputs.size(); i++) {
			const Dictionary input = inputs[i];
			const int64_t numel = input["numel"];
			Dictionary items;
			items["type"] = json_type_of(input["dtype"]);
			Dictionary property;
			property["type"] = "array";
			property["items"] = items;
			property["minItems"] = numel;
			property["maxItems"] = numel;
			property["description"] = String(input["dynamism"]) == "static"
					? vformat("%s tensor of shape %s, flattened (%d values).", input["dtype"], input["shape"], numel)
					: vformat("%s tensor of shape %s, flattened (%d values); the model also takes smaller shapes (%s), but only as an ExecuTorchTensor from GDScript.",
							  input["dtype"], input["shape"], numel, input["dynamism"]);
			const String key = "input_" + itos(i);
			properties[key] = property;
			required.push_back(key);
		}
		Dictionary input_schema;
		input_schema["type"] = "object";
		input_schema["properties"] = properties;
		input_schema["required"] = required;
		input_schema["additionalProperties"] = false;
		Dictionary output_items;
		output_items["type"] = "array";
		Dictionary output_schema;
		output_schema["type"] = "object";
		output_schema["additionalProperties"] = output_items;

		Dictionary tool;
		tool["name"] = String(MODEL_TOOL_PREFIX) + String(method_name);
		tool["description"] = vformat("Run method '%s' of the loaded model (%s): %d input(s), %d output(s). Returns output_0, output_1, ... as flat lists.",
				method_name, String(info["path"]).get_file(), inputs.size(), Array(method["outputs"]).size());
		tool["inputSchema"] = input_schema;
		tool["outputSchema"] = output_schema;
		list.push_back(tool);
	}
	return list;
}

Array MCPServerInternal::_spec_tool_list() const {
	Array list;
	for (const Tool &tool : tools) {
		Dictionary entry;
		entry["name"] = tool.name;
		entry["description"] = tool.description;
		entry["inputSchema"] = tool.input_schema.duplicate(true);
		if (!tool.output_schema.is_empty()) {
			entry["outputSchema"] = tool.output_schema.duplicate(true);
		}
		list.push_back(entry);
	}
	return list;
}

ExecuTorchRuntime *MCPServerInternal::_runtime() const {
	return Object::cast_to<ExecuTorchRuntime>(target);
}

Array MCPServerInternal::list_tools() const {
	Array all = _spec_tool_list();
	all.append_array(_model_tools());
	return all;
}

// Whether "model_<method>" names a method of the loaded model: asks the model
// directly instead of building every tool's schema (this is on the call path).
bool MCPServerInternal::_is_model_tool(const String &p_name) const {
	const ExecuTorchRuntime *runtime = _runtime();
	const Ref<ExecuTorchModel> model = runtime ? runtime->get_model() : Ref<ExecuTorchModel>();
	return p_name.begins_with(MODEL_TOOL_PREFIX) && model.is_valid() &&
			model->get_method_names().has(p_name.trim_prefix(MODEL_TOOL_PREFIX));
}

bool MCPServerInternal::has_tool(const String &p_name) const {
	return _find_spec_tool(p_name) || _is_model_tool(p_name);
}

Variant MCPServerInternal::_call_model_tool(const String &p_method, const Dictionary &p_arguments, String &r_error) const {
	// run_inference validates names, counts and values and prints the reason.
	ExecuTorchRuntime *runtime = _runtime();
	ThreadErrorCapture capture;
	const Variant result = runtime ? Variant(runtime->run_inference(p_arguments, p_method)) : Variant();
	return capture.failed(r_error) ? Variant() : result;
}

Variant MCPServerInternal::call_tool(const String &p_name, const Dictionary &p_arguments, String &r_error, bool *r_unknown_tool) const {
	if (r_unknown_tool) {
		*r_unknown_tool = false;
	}
	ERR_FAIL_NULL_V_MSG(target, Variant(), "MCPServerInternal has no runtime to call.");
	const Tool *tool = _find_spec_tool(p_name);
	if (!tool) {
		if (_is_model_tool(p_name)) {
			return _call_model_tool(p_name.trim_prefix(MODEL_TOOL_PREFIX), p_arguments, r_error);
		}
		PackedStringArray names;
		for (const Variant &entry : list_tools()) {
			names.push_back(Dictionary(entry)["name"]);
		}
		r_error = vformat("Unknown MCP tool '%s'; the tools are: %s.", p_name, String(", ").join(names));
		if (r_unknown_tool) {
			*r_unknown_tool = true;
		}
		return Variant();
	}
	if (!target->is_class(tool->class_name)) {
		r_error = vformat("MCP tool '%s' is served by %s, which is not the object it was called on.", p_name, tool->class_name);
		return Variant();
	}
	for (const Variant &key : p_arguments.keys()) {
		bool known = false;
		for (const ToolArgument &argument : tool->arguments) {
			known = known || (key.is_string() && argument.name == String(key));
		}
		if (!known) {
			r_error = vformat("MCP tool '%s' has no argument '%s'.", p_name, key);
			return Variant();
		}
	}

	LocalVector<Variant> values;
	values.resize(tool->arguments.size());
	for (uint32_t i = 0; i < tool->arguments.size(); i++) {
		const ToolArgument &argument = tool->arguments[i];
		if (!p_arguments.has(argument.name)) {
			if (argument.required) {
				r_error = vformat("MCP tool '%s' needs argument '%s'.", p_name, argument.name);
				return Variant();
			}
			values[i] = argument.default_value;
			continue;
		}
		Variant value = p_arguments[argument.name];
		// JSON has one number type: accept an integral number for a float
		// parameter, and a whole float (2.0) for an int parameter.
		if (argument.type == Variant::FLOAT && value.get_type() == Variant::INT) {
			value = (double)value;
		} else if (argument.type == Variant::INT && value.get_type() == Variant::FLOAT && (double)value == Math::floor((double)value)) {
			value = (int64_t)(double)value;
		}
		if (argument.type != Variant::NIL && value.get_type() != argument.type) {
			r_error = vformat("Argument '%s' of MCP tool '%s' must be a %s, not a %s.", argument.name, p_name,
					Variant::get_type_name(argument.type), Variant::get_type_name(value.get_type()));
			return Variant();
		}
		values[i] = value;
	}

	LocalVector<const Variant *> pointers;
	for (const Variant &value : values) {
		pointers.push_back(&value);
	}
	ThreadErrorCapture capture;
	Callable::CallError call_error;
	Variant result = target->callp(tool->method, pointers.ptr(), pointers.size(), call_error);
	if (call_error.error != Callable::CallError::CALL_OK) {
		r_error = vformat("Calling %s.%s for MCP tool '%s' failed: %s.", tool->class_name, tool->method, p_name,
				Variant::get_callable_error_text(Callable(target, tool->method), pointers.ptr(), pointers.size(), call_error));
		return Variant();
	}
	return capture.failed(r_error) ? Variant() : result;
}

// --- JSON-RPC ---------------------------------------------------------------------

bool MCPServerInternal::is_supported_protocol_version(const String &p_version) {
	for (const char *version : SUPPORTED_PROTOCOL_VERSIONS) {
		if (p_version == version) {
			return true;
		}
	}
	return false;
}

Dictionary MCPServerInternal::make_error(const Variant &p_id, int p_code, const String &p_message) {
	Dictionary error;
	error["code"] = p_code;
	error["message"] = p_message;
	Dictionary response;
	response["jsonrpc"] = "2.0";
	response["id"] = normalize_id(p_id);
	response["error"] = error;
	return response;
}

Variant MCPServerInternal::_initialize(const Dictionary &p_params, Session *p_session, int &r_error_code, String &r_error) {
	const Variant requested = p_params.get("protocolVersion", Variant());
	if (requested.get_type() != Variant::STRING) {
		r_error_code = INVALID_PARAMS;
		r_error = "initialize needs params.protocolVersion (a string).";
		return Variant();
	}
	// Answer the client's version when we speak it, else our newest (the client
	// then decides whether to continue).
	const String version = is_supported_protocol_version(requested) ? String(requested) : String(SUPPORTED_PROTOCOL_VERSIONS[0]);
	Dictionary list_changed;
	list_changed["listChanged"] = true;
	Dictionary capabilities;
	capabilities["tools"] = list_changed;
	capabilities["resources"] = list_changed.duplicate();
	capabilities["logging"] = Dictionary();
	Dictionary server_info;
	server_info["name"] = SERVER_NAME;
	server_info["title"] = "Godot ExecuTorch";
	server_info["version"] = SERVER_VERSION;
	Dictionary result;
	result["protocolVersion"] = version;
	result["capabilities"] = capabilities;
	result["serverInfo"] = server_info;
	result["instructions"] = "Tools run the ExecuTorch model loaded in a running Godot game. Call get_model_info first to see its methods, dtypes and shapes; run_inference or model_<method> runs it.";
	return result;
}

Variant MCPServerInternal::_tools_list(const Dictionary &p_params, int &r_error_code, String &r_error) const {
	int64_t offset = 0;
	const Variant cursor = p_params.get("cursor", Variant());
	if (cursor.get_type() != Variant::NIL) {
		const String text = cursor;
		if (cursor.get_type() != Variant::STRING || !text.is_valid_int() || text.to_int() < 0) {
			r_error_code = INVALID_PARAMS;
			r_error = vformat("Invalid cursor '%s'; pass the nextCursor of a previous tools/list.", text);
			return Variant();
		}
		offset = text.to_int();
	}
	const Array all = list_tools();
	Dictionary result;
	result["tools"] = all.slice(offset, offset + TOOLS_PAGE_SIZE);
	if (offset + TOOLS_PAGE_SIZE < all.size()) {
		result["nextCursor"] = itos(offset + TOOLS_PAGE_SIZE);
	}
	return result;
}

Variant MCPServerInternal::_tools_call(const Dictionary &p_params, int &r_error_code, String &r_error) {
	const Variant name = p_params.get("name", Variant());
	const Variant arguments = p_params.get("arguments", Dictionary());
	if (name.get_type() != Variant::STRING || (arguments.get_type() != Variant::DICTIONARY && arguments.get_type() != Variant::NIL)) {
		r_error_code = INVALID_PARAMS;
		r_error = "tools/call needs params.name (a string) and optional params.arguments (an object).";
		return Variant();
	}
	String tool_error;
	bool unknown_tool = false;
	const Variant value = call_tool(name, arguments.get_type() == Variant::NIL ? Dictionary() : Dictionary(arguments), tool_error, &unknown_tool);
	if (unknown_tool) {
		r_error_code = INVALID_PARAMS;
		r_error = tool_error;
		return Variant();
	}
	Dictionary result;
	Array content;
	if (!tool_error.is_empty()) {
		content.push_back(text_content(tool_error));
		result["content"] = content;
		result["isError"] = true;
		Dictionary log;
		log["level"] = "error";
		log["logger"] = SERVER_NAME;
		log["data"] = vformat("Tool '%s' failed: %s", name, tool_error);
		_broadcast("notifications/message", log, 4);
		return result;
	}
	Dictionary structured;
	if (value.get_type() == Variant::DICTIONARY) {
		structured = value;
	} else {
		structured["result"] = value;
	}
	content.push_back(text_content(JSON::stringify(structured, "", false)));
	result["content"] = content;
	result["structuredContent"] = structured;
	result["isError"] = false;
	return result;
}

Variant MCPServerInternal::_resources_list() const {
	Array resources;
	const ExecuTorchRuntime *runtime = _runtime();
	const Ref<ExecuTorchModel> model = runtime ? runtime->get_model() : Ref<ExecuTorchModel>();
	if (model.is_valid()) {
		Dictionary resource;
		resource["uri"] = "executorch://model/info";
		resource["name"] = model->get_source_path().get_file();
		resource["title"] = "Loaded ExecuTorch model";
		resource["description"] = "Methods of the loaded model with each input's and output's dtype and shape (JSON).";
		resource["mimeType"] = "application/json";
		resources.push_back(resource);
	}
	Dictionary result;
	result["resources"] = resources;
	return result;
}

Variant MCPServerInternal::_resources_read(const Dictionary &p_params, int &r_error_code, String &r_error) const {
	const String uri = p_params.get("uri", "");
	const ExecuTorchRuntime *runtime = _runtime();
	const Dictionary info = runtime ? runtime->describe_model() : Dictionary();
	if (uri != "executorch://model/info" || info.is_empty()) {
		r_error_code = RESOURCE_NOT_FOUND;
		r_error = vformat("Resource not found: '%s'.", uri);
		return Variant();
	}
	Dictionary contents;
	contents["uri"] = uri;
	contents["mimeType"] = "application/json";
	contents["text"] = JSON::stringify(info, "", false);
	Array list;
	list.push_back(contents);
	Dictionary result;
	result["contents"] = list;
	return result;
}

Variant MCPServerInternal::_logging_set_level(const Dictionary &p_params, Session *p_session, int &r_error_code, String &r_error) {
	const String level = p_params.get("level", "");
	for (int i = 0; i < 8; i++) {
		if (level == LOG_LEVELS[i]) {
			if (p_session) {
				p_session->log_level = i;
			}
			return Dictionary();
		}
	}
	r_error_code = INVALID_PARAMS;
	r_error = vformat("Unknown log level '%s'; use debug, info, notice, warning, error, critical, alert or emergency.", level);
	return Variant();
}

Dictionary MCPServerInternal::handle_message(const Variant &p_message, const String &p_session_id) {
	if (p_message.get_type() != Variant::DICTIONARY) {
		return make_error(Variant(), INVALID_REQUEST, "A JSON-RPC message must be an object (batches are not supported).");
	}
	const Dictionary message = p_message;
	const bool has_id = message.has("id");
	const Variant id = message.get("id", Variant());
	if (String(message.get("jsonrpc", "")) != "2.0" || (has_id && id.get_type() != Variant::STRING && id.get_type() != Variant::FLOAT && id.get_type() != Variant::INT)) {
		return make_error(has_id ? id : Variant(), INVALID_REQUEST, "Invalid JSON-RPC 2.0 message: it needs \"jsonrpc\": \"2.0\" and a string or number \"id\".");
	}
	if (!message.has("method")) {
		return Dictionary(); // a response to a server request, or garbage without an id: nothing to answer
	}
	if (message["method"].get_type() != Variant::STRING) {
		return make_error(id, INVALID_REQUEST, "The JSON-RPC \"method\" must be a string.");
	}
	const String method = message["method"];
	const Variant params_value = message.get("params", Dictionary());
	if (params_value.get_type() != Variant::DICTIONARY && params_value.get_type() != Variant::NIL) {
		return has_id ? make_error(id, INVALID_PARAMS, "\"params\" must be an object.") : Dictionary();
	}
	const Dictionary params = params_value.get_type() == Variant::NIL ? Dictionary() : Dictionary(params_value);

	if (!has_id) {
		return Dictionary(); // notifications (e.g. notifications/initialized) get no answer
	}

	int error_code = 0;
	String error;
	Variant result;
	if (method == "initialize") {
		MutexLock lock(session_mutex);
		result = _initialize(params, sessions.getptr(p_session_id), error_code, error);
	} else if (method == "ping") {
		result = Dictionary();
	} else if (method == "tools/list") {
		result = _tools_list(params, error_code, error);
	} else if (method == "tools/call") {
		result = _tools_call(params, error_code, error);
	} else if (method == "resources/list") {
		result = _resources_list();
	} else if (method == "resources/templates/list") {
		Dictionary templates;
		templates["resourceTemplates"] = Array();
		result = templates;
	} else if (method == "resources/read") {
		result = _resources_read(params, error_code, error);
	} else if (method == "logging/setLevel") {
		MutexLock lock(session_mutex);
		result = _logging_set_level(params, sessions.getptr(p_session_id), error_code, error);
	} else {
		error_code = METHOD_NOT_FOUND;
		error = vformat("Method not found: '%s'.", method);
	}
	if (error_code != 0) {
		return make_error(id, error_code, error);
	}
	Dictionary response;
	response["jsonrpc"] = "2.0";
	response["id"] = normalize_id(id);
	response["result"] = result;
	return response;
}

String MCPServerInternal::handle_json(const String &p_json, const String &p_session_id) {
	JSON json;
	if (json.parse(p_json) != OK) {
		return JSON::stringify(make_error(Variant(), PARSE_ERROR,
									   vformat("Parse error at line %d: %s.", json.get_error_line(), json.get_error_message())),
				"", false);
	}
	const Dictionary response = handle_message(json.get_data(), p_session_id);
	return response.is_empty() ? String() : JSON::stringify(response, "", false);
}

// --- Sessions and notifications -------------------------------------------------

String MCPServerInternal::create_session() {
	uint8_t random[16];
	if (OS::get_singleton()->get_entropy(random, sizeof(random)) != OK) {
		return String();
	}
	String id = String::hex_encode_buffer(random, sizeof(random));
	MutexLock lock(session_mutex);
	sessions.insert(id, Session());
	return id;
}

bool MCPServerInternal::has_session(const String &p_id) const {
	MutexLock lock(session_mutex);
	return sessions.has(p_id);
}

bool MCPServerInternal::end_session(const String &p_id) {
	MutexLock lock(session_mutex);
	return sessions.erase(p_id);
}

bool MCPServerInternal::open_stream(const String &p_id) {
	MutexLock lock(session_mutex);
	Session *session = sessions.getptr(p_id);
	if (!session || session->stream_open) {
		return false; // one SSE stream per session
	}
	session->stream_open = true;
	return true;
}

void MCPServerInternal::close_stream(const String &p_id) {
	MutexLock lock(session_mutex);
	if (Session *session = sessions.getptr(p_id)) {
		session->stream_open = false;
	}
}

bool MCPServerInternal::take_notifications(const String &p_id, LocalVector<String> &r_events) {
	MutexLock lock(session_mutex);
	Session *session = sessions.getptr(p_id);
	if (!session) {
		return false;
	}
	for (const String &event : session->pending) {
		r_events.push_back(event);
	}
	session->pending.clear();
	return true;
}

// Queues a notification for every session with an open stream; `p_level` >= 0
// marks a log message, delivered only to sessions whose level admits it.
void MCPServerInternal::_broadcast(const String &p_method, const Dictionary &p_params, int p_level) {
	Dictionary notification;
	notification["jsonrpc"] = "2.0";
	notification["method"] = p_method;
	notification["params"] = p_params;
	const String text = JSON::stringify(notification, "", false);
	MutexLock lock(session_mutex);
	for (KeyValue<String, Session> &entry : sessions) {
		Session &session = entry.value;
		if (!session.stream_open || (p_level >= 0 && p_level < session.log_level)) {
			continue;
		}
		if (session.pending.size() < 256) { // a stream nobody reads must not grow without bound
			session.pending.push_back(text);
		}
	}
}

void MCPServerInternal::notify_model_changed(const String &p_what) {
	_broadcast("notifications/tools/list_changed", Dictionary());
	_broadcast("notifications/resources/list_changed", Dictionary());
	Dictionary log;
	log["level"] = "info";
	log["logger"] = SERVER_NAME;
	log["data"] = p_what;
	_broadcast("notifications/message", log, 1);
}

// --- HTTP transport -----------------------------------------------------------------

int MCPServerInternal::start_http(int p_port, const Dictionary &p_options) {
	ERR_FAIL_COND_V_MSG(transport && transport->is_running(), -1,
			vformat("The MCP server is already running on port %d; call stop_mcp_server() first.", transport->get_port()));
	if (!transport) {
		transport = memnew(MCPHttpTransport(this));
	}
	return transport->start(p_port, p_options);
}

void MCPServerInternal::stop_http() {
	if (transport) {
		transport->stop();
	}
}

bool MCPServerInternal::is_http_running() const {
	return transport && transport->is_running();
}

int MCPServerInternal::get_http_port() const {
	return is_http_running() ? transport->get_port() : -1;
}

MCPServerInternal::MCPServerInternal() {
	_register_spec_tools();
}

MCPServerInternal::~MCPServerInternal() {
	if (transport) {
		memdelete(transport); // its destructor stops it
	}
}
