// The module's own initialization, called by the generated register_types at
// each level (module_spec.yaml's hooks). It is the one place that knows every
// layer, so it calls each in turn: the runtime's support first, the MCP server
// (the top layer) last, and tears down in mirror order.

#pragma once

void initialize_executorch_core();
void uninitialize_executorch_core();
void initialize_executorch_scene();
void uninitialize_executorch_scene();
