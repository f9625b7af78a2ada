#include "mcp_server_internal.h"

#include "core/io/json.h"

void MCPServerInternal::_add_tool(const Tool &p_tool) {
	uint32_t position = 0;
	while (position < tools.size() && tools[position].name < p_tool.name) {
		position++;
	}
	tools.insert(position, p_tool);
}

Array MCPServerInternal::list_tools() const {
	Array list;
	for (const Tool &tool : tools) {
		Dictionary entry;
		entry["name"] = tool.name;
		entry["description"] = tool.description;
		entry["inputSchema"] = tool.input_schema.duplicate(true);
		list.push_back(entry);
	}
	return list;
}

bool MCPServerInternal::has_tool(const String &p_name) const {
	for (const Tool &tool : tools) {
		if (tool.name == p_name) {
			return true;
		}
	}
	return false;
}

Variant MCPServerInternal::call_tool(Object *p_target, const String &p_name, const Dictionary &p_arguments, String &r_error) const {
	const Tool *tool = nullptr;
	for (const Tool &candidate : tools) {
		if (candidate.name == p_name) {
			tool = &candidate;
			break;
		}
	}
	if (!tool) {
		PackedStringArray names;
		for (const Tool &candidate : tools) {
			names.push_back(candidate.name);
		}
		r_error = vformat("Unknown MCP tool '%s'; the tools are: %s.", p_name, String(", ").join(names));
		return Variant();
	}
	if (!p_target || !p_target->is_class(tool->class_name)) {
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
	Callable::CallError call_error;
	Variant result = p_target->callp(tool->method, pointers.ptr(), pointers.size(), call_error);
	if (call_error.error != Callable::CallError::CALL_OK) {
		r_error = vformat("Calling %s.%s for MCP tool '%s' failed: %s.", tool->class_name, tool->method, p_name,
				Variant::get_callable_error_text(Callable(p_target, tool->method), pointers.ptr(), pointers.size(), call_error));
		return Variant();
	}
	return result;
}

MCPServerInternal::MCPServerInternal() {
	_register_spec_tools();
}
