// MCPServerInternal: the MCP tool table and its dispatch. The tools are
// declared in module_spec.yaml and registered by the generated
// mcp_tools.gen.cpp; calling one validates the arguments against the tool's
// declared parameters and calls the bound method on the target object, so an
// in-process call and (later) a network call take the same path.

#pragma once

#include "mcp_server_internal.gen.h"

#include "core/object/ref_counted.h"
#include "core/templates/local_vector.h"

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
		String class_name; // the class whose method serves the tool
		StringName method;
		LocalVector<ToolArgument> arguments; // in the method's parameter order
	};

private:
	LocalVector<Tool> tools; // sorted by name

	void _add_tool(const Tool &p_tool);
	// Defined in the generated mcp_tools.gen.cpp, from the spec's mcp_tools.
	void _register_spec_tools();

protected:
	static void _bind_methods();

public:
	MCP_SERVER_INTERNAL_GENERATED_API

	// Calls tool `p_name` on `p_target` with `p_arguments`. On failure returns
	// null and sets `r_error` to a sentence naming the problem.
	Variant call_tool(Object *p_target, const String &p_name, const Dictionary &p_arguments, String &r_error) const;

	MCPServerInternal();
};
