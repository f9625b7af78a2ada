# Base class of the GDScript suites: counted checks with messages that say
# what was expected and what came back.
extends RefCounted

const TOLERANCE := 1e-4
const MODELS := "res://models/"

var current_test := ""
var passed := 0
var failed := 0


func check(condition: bool, what: String) -> bool:
	if condition:
		passed += 1
	else:
		failed += 1
		print("  check failed in %s: %s" % [current_test, what])
	return condition


func check_equal(actual, expected, what: String) -> bool:
	return check(typeof(actual) == typeof(expected) and actual == expected,
			"%s: expected %s (%s), got %s (%s)" % [what, expected, type_string(typeof(expected)), actual, type_string(typeof(actual))])


func check_near(actual: float, expected: float, what: String) -> bool:
	return check(absf(actual - expected) < TOLERANCE, "%s: expected %.6f, got %.6f" % [what, expected, actual])


# Called by the runner after each test; suites free what they hold here.
func cleanup() -> void:
	pass


func load_runtime(model_file: String) -> ExecuTorchRuntime:
	var runtime := ExecuTorchRuntime.new()
	check(runtime.load_model_from_file(MODELS + model_file), "load_model_from_file(%s) returns true" % model_file)
	return runtime
