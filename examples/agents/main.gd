# 1,000 agents, one policy call per frame: every frame the agents' observations
# go into one [1000, 16] tensor, the policy (a 16-64-64-4 MLP exported with a
# dynamic batch) returns a [1000, 4] tensor of actions, and each agent
# accelerates by its row. The observations and actions are those of
# model_tools.training.steering_rule, which the policy learned to imitate.
extends Node2D

## The steering policy (python -m model_tools train policy), inside the .pck.
@export var policy: ExecuTorchModel
## How many agents; the policy takes up to 4,096 in one call.
@export_range(1, 4096) var agent_count := 1000

const OBSERVATIONS := 16
const ACTIONS := 4
const RING_SCALE := 160.0  # pixels per unit of the policy's lengths
const TOP_SPEED := 260.0  # pixels per second at velocity 1
const ACCELERATION := 1400.0  # pixels per second squared at action 1
const WALL_RANGE := 120.0  # a wall is "touching" (1) at 0 px and far (0) from this distance on

var positions := PackedVector2Array()
var velocities := PackedVector2Array()
var rings := PackedFloat32Array()  # each agent's ring radius, in policy units
var spins := PackedFloat32Array()  # +1 or -1
var observations := PackedFloat32Array()
var actions := PackedFloat32Array()
var target := Vector2.ZERO
var target_velocity := Vector2.ZERO
var time := 0.0
var frames := 0
var policy_msec := 0.0
var mouse_idle := 1e9  # seconds since the mouse last moved: then the target wanders


func _ready() -> void:
	if policy == null or not policy.is_loaded():
		push_error("No policy: train it with `python -m model_tools train policy --out examples/agents/models/policy.pte`.")
		get_tree().quit(1)
		return
	var random := RandomNumberGenerator.new()
	random.seed = 7
	var size := _arena()
	target = size / 2.0
	for i in agent_count:
		positions.append(Vector2(random.randf_range(0.0, size.x), random.randf_range(0.0, size.y)))
		velocities.append(Vector2.ZERO)
		rings.append(random.randf_range(0.4, 1.2))
		spins.append(1.0 if random.randf() < 0.5 else -1.0)
	observations.resize(agent_count * OBSERVATIONS)
	actions.resize(agent_count * ACTIONS)
	var multimesh := MultiMesh.new()
	multimesh.transform_format = MultiMesh.TRANSFORM_2D
	multimesh.use_colors = true
	# A small arrow pointing along +x, the agent's heading (2D vertices).
	var arrays := []
	arrays.resize(Mesh.ARRAY_MAX)
	arrays[Mesh.ARRAY_VERTEX] = PackedVector2Array([Vector2(6, 0), Vector2(-4, 3.5), Vector2(-4, -3.5)])
	var mesh := ArrayMesh.new()
	mesh.add_surface_from_arrays(Mesh.PRIMITIVE_TRIANGLES, arrays)
	multimesh.mesh = mesh
	multimesh.instance_count = agent_count
	$Agents.multimesh = multimesh


func _unhandled_input(event: InputEvent) -> void:
	if event is InputEventMouseMotion:
		mouse_idle = 0.0


func _process(delta: float) -> void:
	time += delta
	frames += 1
	mouse_idle += delta
	var size := _arena()
	var previous_target := target
	if mouse_idle < 2.0:
		target = get_viewport().get_mouse_position()
	else:  # no mouse: a wandering target (also what a screenshot without a player shows)
		target = size / 2.0 + Vector2(cos(time * 0.5) * size.x * 0.3, sin(time * 0.8) * size.y * 0.25)
	target_velocity = (target - previous_target) / maxf(delta, 1e-3)

	_observe(size)
	var started := Time.get_ticks_usec()
	var outputs := policy.execute("forward", [ExecuTorchTensor.create(observations, PackedInt64Array([agent_count, OBSERVATIONS]))])
	if outputs.is_empty():
		return  # the error is printed
	actions = outputs[0].get_data()
	policy_msec = (Time.get_ticks_usec() - started) / 1000.0
	_act(delta, size)

	$Status.text = "%d agents, one policy call per frame: %.3f ms  ·  %d fps  ·  move the mouse" % [
			agent_count, policy_msec, Engine.get_frames_per_second()]
	if frames % 60 == 0:
		print("frame %d: %d agents, policy %.3f ms per frame (one execute), %d fps, median distance off their rings %.0f px" % [
				frames, agent_count, policy_msec, Engine.get_frames_per_second(), _median_off_ring()])


# Each agent's 16 observations, in the units the policy was trained on.
func _observe(size: Vector2) -> void:
	var target_motion := target_velocity / TOP_SPEED
	for i in agent_count:
		var o := i * OBSERVATIONS
		var to_target := (target - positions[i]) / RING_SCALE
		var velocity := velocities[i] / TOP_SPEED
		observations[o] = to_target.x
		observations[o + 1] = to_target.y
		observations[o + 2] = velocity.x
		observations[o + 3] = velocity.y
		observations[o + 4] = rings[i]
		observations[o + 5] = spins[i]
		observations[o + 6] = clampf(1.0 - positions[i].x / WALL_RANGE, 0.0, 1.0)
		observations[o + 7] = clampf(1.0 - (size.x - positions[i].x) / WALL_RANGE, 0.0, 1.0)
		observations[o + 8] = clampf(1.0 - positions[i].y / WALL_RANGE, 0.0, 1.0)
		observations[o + 9] = clampf(1.0 - (size.y - positions[i].y) / WALL_RANGE, 0.0, 1.0)
		observations[o + 10] = clampf(target_motion.x, -0.5, 0.5)
		observations[o + 11] = clampf(target_motion.y, -0.5, 0.5)
		var a := i * ACTIONS
		observations[o + 12] = actions[a]
		observations[o + 13] = actions[a + 1]
		observations[o + 14] = actions[a + 2]
		observations[o + 15] = actions[a + 3]


# Each agent's row of actions: 0-1 acceleration, 2 how far off its ring (colour), 3 effort (size).
func _act(delta: float, size: Vector2) -> void:
	var multimesh: MultiMesh = $Agents.multimesh
	for i in agent_count:
		var a := i * ACTIONS
		var velocity := velocities[i] + Vector2(actions[a], actions[a + 1]) * ACCELERATION * delta
		velocity = velocity.limit_length(TOP_SPEED * 1.2)
		velocities[i] = velocity
		positions[i] = (positions[i] + velocity * delta).clamp(Vector2.ZERO, size)
		var off_ring := actions[a + 2]
		var colour := Color(0.35, 0.85, 1.0).lerp(Color(1.0, 0.45, 0.25), clampf(absf(off_ring), 0.0, 1.0))
		var scale := 1.0 + actions[a + 3]
		multimesh.set_instance_transform_2d(i, Transform2D(velocity.angle(), Vector2(scale, 1.0), 0.0, positions[i]))
		multimesh.set_instance_color(i, colour)


# How well the agents follow: the median of |distance to the target - ring radius|.
func _median_off_ring() -> float:
	var off := PackedFloat32Array()
	for i in agent_count:
		off.append(absf(positions[i].distance_to(target) - rings[i] * RING_SCALE))
	off.sort()
	return off[off.size() / 2]


# The window's size; headless (no window: the viewport is 64x64), the project's.
func _arena() -> Vector2:
	if DisplayServer.get_name() == "headless":
		return Vector2(ProjectSettings.get_setting("display/window/size/viewport_width"),
				ProjectSettings.get_setting("display/window/size/viewport_height"))
	return get_viewport_rect().size
