// Module-wide ExecuTorch setup, called by the generated register_types.cpp.

#pragma once

// Initializes ExecuTorch's runtime once and routes its log lines into Godot's
// output (print_verbose / print_line / error macros) instead of raw stderr.
void initialize_executorch_support();
// Sends ExecuTorch's log lines back to stderr: Godot's printing is going away.
void uninitialize_executorch_support();

// The ExecuTorch package version the module was compiled against ("1.5.1+cpu").
const char *executorch_version_string();
