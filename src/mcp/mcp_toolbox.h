// The MCP tools agents call: the ones module_spec.yaml declares (each served
// by the member function its `handler` names, registered by the generated
// mcp_tools.gen.cpp) and one `<model>.<method>` tool per method of every
// loaded model, described from ExecuTorch's method metadata.
//
// Tools act on a scope: the whole game (every model in ExecuTorchRegistry) for
// the server, or one runtime for its own call_mcp_tool()/list_mcp_tools().
// They call the runtime's and the model's C++ API, which report failure as a
// value; nothing printed is ever read back.
//
// Thread safety: the tool table is immutable after construction; everything
// else is read from the registry and the runtimes, which guard themselves.

#pragma once

#include "../executorch_runtime.h"

#include "core/templates/local_vector.h"
#include "core/variant/dictionary.h"

class MCPToolbox {
public:
	struct Scope {
		Ref<ExecuTorchRuntime> runtime; // null: the whole game
	};

	struct Result {
		Variant value;
		String error; // a failed call: the tool answers isError with this text
		bool unknown_tool = false; // not a tool at all: a protocol error
		static Result failure(const String &p_error) {
			Result result;
			result.error = p_error;
			return result;
		}
		static Result success(const Variant &p_value) {
			Result result;
			result.value = p_value;
			return result;
		}
	};

	typedef Result (MCPToolbox::*Handler)(const Scope &p_scope, const Dictionary &p_arguments) const;

	struct Tool {
		String name;
		String description;
		Dictionary input_schema;
		Dictionary output_schema; // empty: the tool declares none
		Handler handler = nullptr;
	};

	// The separator of `<model>.<method>` tool names (model names have no '.').
	static constexpr char32_t MODEL_METHOD_SEPARATOR = '.';

private:
	LocalVector<Tool> spec_tools; // sorted by name; immutable after construction

	// Defined in the generated mcp_tools.gen.cpp, from the spec's mcp_tools.
	void _register_spec_tools();

	struct Model {
		String name;
		Ref<ExecuTorchRuntime> runtime;
	};
	LocalVector<Model> _models(const Scope &p_scope) const;
	// The model a tool's optional 'model' argument picks in the scope.
	String _pick_model(const Scope &p_scope, const Dictionary &p_arguments, Model &r_model) const;
	// Checks the arguments against a tool's input schema (top-level types,
	// required and unknown names); returns the problem or "".
	static String _check_arguments(const String &p_tool, const Dictionary &p_schema, const Dictionary &p_arguments);
	Array _method_tools(const Model &p_model) const;
	Dictionary _health_of(const Model &p_model) const;

public:
	// Handlers, named by module_spec.yaml's mcp_tools.
	Result list_models(const Scope &p_scope, const Dictionary &p_arguments) const;
	Result run_inference(const Scope &p_scope, const Dictionary &p_arguments) const;
	Result get_model_info(const Scope &p_scope, const Dictionary &p_arguments) const;
	Result health_check(const Scope &p_scope, const Dictionary &p_arguments) const;

	// The tools in `p_scope`: the spec's sorted by name, then each model's
	// method tools, by model and method.
	Array list_tools(const Scope &p_scope) const;
	Result call(const Scope &p_scope, const String &p_name, const Dictionary &p_arguments) const;

	MCPToolbox();
};
