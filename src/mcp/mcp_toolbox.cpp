#include "mcp_toolbox.h"

#include "../executorch_registry.h"
#include "../executorch_platform.h"
#include "../executorch_tensor.h"

namespace {

// The JSON Schema type of a GDScript value, as a schema's "type" names it.
bool fits_json_type(const Variant &p_value, const String &p_type) {
	switch (p_value.get_type()) {
		case Variant::STRING:
		case Variant::STRING_NAME:
			return p_type == "string";
		case Variant::BOOL:
			return p_type == "boolean";
		case Variant::INT:
			return p_type == "integer" || p_type == "number";
		case Variant::FLOAT:
			return p_type == "number" || (p_type == "integer" && (double)p_value == Math::floor((double)p_value));
		case Variant::DICTIONARY:
			return p_type == "object";
		case Variant::NIL:
			return p_type == "null";
		default:
			return p_type == "array" && p_value.is_array();
	}
}

bool fits_schema_type(const Variant &p_value, const Variant &p_type) {
	if (p_type.get_type() == Variant::STRING) {
		return fits_json_type(p_value, p_type);
	}
	if (p_type.get_type() == Variant::ARRAY) {
		for (const Variant &one : Array(p_type)) {
			if (fits_json_type(p_value, one)) {
				return true;
			}
		}
		return false;
	}
	return true; // no type constraint
}

// "a Dictionary", as the GDScript developer and the agent both read it.
String type_phrase(const Variant &p_type) {
	static const char *const NAMES[][2] = { { "string", "String" }, { "number", "number" }, { "integer", "integer" },
		{ "boolean", "bool" }, { "object", "Dictionary" }, { "array", "Array" }, { "null", "null" } };
	PackedStringArray names;
	Array types;
	if (p_type.get_type() == Variant::ARRAY) {
		types = p_type;
	} else {
		types.push_back(p_type);
	}
	for (const Variant &type : types) {
		for (const auto &name : NAMES) {
			if (String(type) == name[0]) {
				names.push_back(name[1]);
			}
		}
	}
	return String(" or ").join(names);
}

String json_type_of(const String &p_dtype) {
	const ExecuTorchTensor::DTypeFacts *facts = ExecuTorchTensor::dtype_facts_of_name(p_dtype);
	return facts ? facts->json_type : "number";
}

bool is_input_key(const String &p_key) {
	return p_key.begins_with("input_") && p_key.length() > 6 && p_key.substr(6).is_valid_int() && p_key.substr(6).to_int() >= 0;
}

String names_of(const LocalVector<String> &p_names) {
	PackedStringArray names;
	for (const String &name : p_names) {
		names.push_back(name);
	}
	return String(", ").join(names);
}

} // namespace

MCPToolbox::MCPToolbox() {
	_register_spec_tools();
	// The table is served sorted by name.
	struct ByName {
		bool operator()(const Tool &p_a, const Tool &p_b) const { return p_a.name < p_b.name; }
	};
	spec_tools.sort_custom<ByName>();
}

// --- Models in scope -----------------------------------------------------------------

LocalVector<MCPToolbox::Model> MCPToolbox::_models(const Scope &p_scope) const {
	LocalVector<Model> models;
	if (p_scope.runtime.is_valid()) {
		if (p_scope.runtime->is_model_loaded()) {
			models.push_back({ p_scope.runtime->get_model_name(), p_scope.runtime });
		}
		return models;
	}
	for (const ExecuTorchRegistry::Entry &entry : ExecuTorchRegistry::get_singleton().entries()) {
		models.push_back({ entry.name, Ref<ExecuTorchRuntime>(entry.runtime) });
	}
	return models;
}

String MCPToolbox::_pick_model(const Scope &p_scope, const Dictionary &p_arguments, Model &r_model) const {
	const LocalVector<Model> models = _models(p_scope);
	LocalVector<String> names;
	for (const Model &model : models) {
		names.push_back(model.name);
	}
	if (p_arguments.has("model")) {
		const String wanted = p_arguments["model"];
		for (const Model &model : models) {
			if (model.name == wanted) {
				r_model = model;
				return String();
			}
		}
		return models.is_empty() ? vformat("No model named '%s': the game has no model loaded.", wanted)
								 : vformat("No model named '%s'; the game's models are: %s.", wanted, names_of(names));
	}
	if (models.size() == 1) {
		r_model = models[0];
		return String();
	}
	if (models.is_empty()) {
		return "No model is loaded in the game yet. Load one with ExecuTorchRuntime.load_model_from_file(), then call again.";
	}
	return vformat("The game has %d models loaded (%s); say which with the 'model' argument.", (int64_t)models.size(), names_of(names));
}

// --- Arguments --------------------------------------------------------------------

String MCPToolbox::_check_arguments(const String &p_tool, const Dictionary &p_schema, const Dictionary &p_arguments) {
	const Dictionary properties = p_schema.get("properties", Dictionary());
	const Variant additional = p_schema.get("additionalProperties", true);
	for (const Variant &key : p_arguments.keys()) {
		const String name = key;
		if (properties.has(name)) {
			const Variant type = Dictionary(properties[name]).get("type", Variant());
			if (!fits_schema_type(p_arguments[key], type)) {
				return vformat("Argument '%s' of MCP tool '%s' must be a %s, not a %s.", name, p_tool, type_phrase(type),
						Variant::get_type_name(p_arguments[key].get_type()));
			}
		} else if (additional.get_type() == Variant::BOOL && !bool(additional)) {
			return vformat("MCP tool '%s' has no argument '%s'.", p_tool, name);
		}
	}
	for (const Variant &required : Array(p_schema.get("required", Array()))) {
		if (!p_arguments.has(required)) {
			return vformat("MCP tool '%s' needs argument '%s'.", p_tool, required);
		}
	}
	return String();
}

// --- The spec's tools -------------------------------------------------------------

MCPToolbox::Result MCPToolbox::list_models(const Scope &p_scope, const Dictionary &p_arguments) const {
	Array models;
	for (const Model &model : _models(p_scope)) {
		const Ref<ExecuTorchModel> program = model.runtime->get_model();
		if (program.is_null()) {
			continue; // unloaded since the scope was read
		}
		Dictionary entry;
		entry["name"] = model.name;
		entry["path"] = program->get_source_path();
		entry["methods"] = program->get_method_names();
		models.push_back(entry);
	}
	Dictionary result;
	result["models"] = models;
	return Result::success(result);
}

MCPToolbox::Result MCPToolbox::run_inference(const Scope &p_scope, const Dictionary &p_arguments) const {
	Model model;
	const String problem = _pick_model(p_scope, p_arguments, model);
	if (!problem.is_empty()) {
		return Result::failure(problem);
	}
	// The inputs come inside "inputs" or as top-level input_N (the concept's
	// shape, `{"input_0": [2.5]}`), not both.
	Dictionary inputs;
	bool top_level = false;
	for (const Variant &key : p_arguments.keys()) {
		const String name = key;
		if (name == "model" || name == "method" || name == "inputs") {
			continue;
		}
		if (!is_input_key(name)) {
			return Result::failure(vformat("MCP tool 'run_inference' has no argument '%s'. Model inputs are named input_0, input_1, ..., at the top level or inside 'inputs'.", name));
		}
		inputs[name] = p_arguments[key];
		top_level = true;
	}
	if (p_arguments.has("inputs")) {
		if (top_level) {
			return Result::failure("Pass the model inputs either inside 'inputs' or as top-level input_0, input_1, ... arguments, not both.");
		}
		inputs = p_arguments["inputs"];
	}
	const String method = p_arguments.get("method", "forward");
	Dictionary outputs;
	const String error = model.runtime->infer(inputs, method, outputs);
	return error.is_empty() ? Result::success(outputs) : Result::failure(error);
}

MCPToolbox::Result MCPToolbox::get_model_info(const Scope &p_scope, const Dictionary &p_arguments) const {
	Model model;
	const String problem = _pick_model(p_scope, p_arguments, model);
	if (!problem.is_empty()) {
		return Result::failure(problem);
	}
	const Dictionary info = model.runtime->describe_model();
	return info.is_empty() ? Result::failure(vformat("Model '%s' was unloaded.", model.name)) : Result::success(info);
}

Dictionary MCPToolbox::_health_of(const Model &p_model) const {
	const Dictionary health = p_model.runtime->describe_health();
	Dictionary entry;
	entry["name"] = p_model.name;
	entry["path"] = health["model_path"];
	entry["total_inferences"] = health["total_inferences"];
	entry["failed_inferences"] = health["failed_inferences"];
	entry["last_inference_time_ms"] = health["last_inference_time_ms"];
	return entry;
}

MCPToolbox::Result MCPToolbox::health_check(const Scope &p_scope, const Dictionary &p_arguments) const {
	if (p_scope.runtime.is_valid()) {
		return Result::success(p_scope.runtime->health_check());
	}
	Array models;
	int64_t total = 0;
	int64_t failed = 0;
	for (const Model &model : _models(p_scope)) {
		const Dictionary entry = _health_of(model);
		total += (int64_t)entry["total_inferences"];
		failed += (int64_t)entry["failed_inferences"];
		models.push_back(entry);
	}
	Dictionary health;
	health["status"] = models.is_empty() ? "no_model" : "ok";
	health["model_loaded"] = !models.is_empty();
	health["models"] = models;
	health["total_inferences"] = total;
	health["failed_inferences"] = failed;
	health["executorch_version"] = executorch_version_string();
	return Result::success(health);
}

// --- Model method tools -----------------------------------------------------------

// "<model>.<method>", its inputs as input_0..input_N lists of numbers sized
// from the method metadata.
Array MCPToolbox::_method_tools(const Model &p_model) const {
	Array list;
	const Dictionary info = p_model.runtime->describe_model();
	if (info.is_empty()) {
		return list;
	}
	const Dictionary methods = info["methods"];
	Array method_names = methods.keys();
	method_names.sort();
	for (const Variant &method_name : method_names) {
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
		tool["name"] = p_model.name + String::chr(MODEL_METHOD_SEPARATOR) + String(method_name);
		tool["description"] = vformat("Run method '%s' of model '%s' (%s): %d input(s), %d output(s). Returns output_0, output_1, ... as flat lists.",
				method_name, p_model.name, String(info["path"]).get_file(), inputs.size(), Array(method["outputs"]).size());
		tool["inputSchema"] = input_schema;
		tool["outputSchema"] = output_schema;
		list.push_back(tool);
	}
	return list;
}

// --- The table ------------------------------------------------------------------------

Array MCPToolbox::list_tools(const Scope &p_scope) const {
	Array all;
	for (const Tool &tool : spec_tools) {
		Dictionary entry;
		entry["name"] = tool.name;
		entry["description"] = tool.description;
		entry["inputSchema"] = tool.input_schema.duplicate(true);
		if (!tool.output_schema.is_empty()) {
			entry["outputSchema"] = tool.output_schema.duplicate(true);
		}
		all.push_back(entry);
	}
	for (const Model &model : _models(p_scope)) {
		all.append_array(_method_tools(model));
	}
	return all;
}

MCPToolbox::Result MCPToolbox::call(const Scope &p_scope, const String &p_name, const Dictionary &p_arguments) const {
	for (const Tool &tool : spec_tools) {
		if (tool.name == p_name) {
			const String problem = _check_arguments(p_name, tool.input_schema, p_arguments);
			return problem.is_empty() ? (this->*tool.handler)(p_scope, p_arguments) : Result::failure(problem);
		}
	}
	// "<model>.<method>": the model's own tool.
	const int separator = p_name.find_char(MODEL_METHOD_SEPARATOR);
	if (separator > 0) {
		const String model_name = p_name.substr(0, separator);
		const String method = p_name.substr(separator + 1);
		for (const Model &model : _models(p_scope)) {
			const Ref<ExecuTorchModel> program = model.runtime->get_model();
			if (model.name != model_name || program.is_null() || !program->get_method_names().has(method)) {
				continue;
			}
			for (const Variant &key : p_arguments.keys()) {
				if (!is_input_key(key)) {
					return Result::failure(vformat("MCP tool '%s' has no argument '%s'; its arguments are the model inputs input_0, input_1, ...", p_name, key));
				}
			}
			Dictionary outputs;
			const String error = model.runtime->infer(p_arguments, method, outputs);
			return error.is_empty() ? Result::success(outputs) : Result::failure(error);
		}
	}
	PackedStringArray names;
	for (const Variant &entry : list_tools(p_scope)) {
		names.push_back(Dictionary(entry)["name"]);
	}
	Result unknown = Result::failure(vformat("Unknown MCP tool '%s'; the tools are: %s.", p_name, String(", ").join(names)));
	unknown.unknown_tool = true;
	return unknown;
}
