# Prints the API the engine actually registered for the module's classes, as
# JSON, for tests/integration/test_docs_match_engine.py to compare with the
# generated doc_classes/*.xml.
extends SceneTree


func _initialize() -> void:
	var api := {}
	for name in OS.get_cmdline_user_args():
		var methods := []
		for method in ClassDB.class_get_method_list(name, true):
			methods.append({
				"name": method["name"],
				"args": method["args"].map(func(arg: Dictionary) -> String: return arg["name"]),
				"default_count": method["default_args"].size(),
				"static": bool(method["flags"] & METHOD_FLAG_STATIC),
				"const": bool(method["flags"] & METHOD_FLAG_CONST),
			})
		api[name] = {
			"methods": methods,
			"signals": ClassDB.class_get_signal_list(name, true).map(func(s: Dictionary) -> String: return s["name"]),
			"constants": Array(ClassDB.class_get_integer_constant_list(name, true)),
			"parent": ClassDB.get_parent_class(name),
			"properties": ClassDB.class_get_property_list(name, true).filter(
					func(p: Dictionary) -> bool: return p["usage"] & PROPERTY_USAGE_EDITOR or p["usage"] & PROPERTY_USAGE_SCRIPT_VARIABLE or p["usage"] & PROPERTY_USAGE_STORAGE
			).map(func(p: Dictionary) -> String: return p["name"]),
			"singleton": Engine.has_singleton(name),
		}
	print("API " + JSON.stringify(api))
	quit(0)
