"""Generates the `executorch` Godot module from module_spec.yaml.

Data flows one way: YAML -> located YAML nodes (`located_yaml`) -> validated,
frozen spec objects (`model`) -> rendered files in memory (`render`) -> files
written only when their content changed (`output`). `cli` wires it together.
"""
