# Runs GDScript test suites headless and prints a sentinel line that the pytest
# harness (tests/integration/) requires: a crash or an early exit loses it.
#
#   godot --headless --path tests/project --script res://run_suites.gd -- res://suites/test_linear.gd ...
#
# Each suite extends res://test_suite.gd; every method named test_* runs in
# declaration order on a fresh suite instance.
extends SceneTree

const SENTINEL := "GDSCRIPT SUITES FINISHED"


func _initialize() -> void:
	var passed := 0
	var failed := 0
	var paths := OS.get_cmdline_user_args()
	if paths.is_empty():
		printerr("run_suites.gd: name at least one suite after `--`.")
		quit(2)
		return
	for path in paths:
		var script: GDScript = load(path)
		if script == null or not script.can_instantiate():
			print("FAIL %s: cannot load the suite (see the script error above)" % path)
			failed += 1
			continue
		var tests_run := 0
		for method in script.get_script_method_list():
			var name: String = method["name"]
			if not name.begins_with("test_"):
				continue
			tests_run += 1
			var suite = script.new()
			suite.current_test = "%s::%s" % [path.get_file(), name]
			await suite.call(name)  # a test may await frames (async inference)
			passed += suite.passed
			failed += suite.failed
			print("%s %s (%d checks)" % ["ok  " if suite.failed == 0 else "FAIL", suite.current_test, suite.passed + suite.failed])
			suite.cleanup()
		if tests_run == 0:
			print("FAIL %s: no test_* methods" % path)
			failed += 1
	print("%s: %d checks passed, %d failed" % [SENTINEL, passed, failed])
	quit(0 if failed == 0 else 1)
