// The module's editor side, compiled into editor binaries only (SCsub builds
// src/editor/ when env.editor_build; everything here is also behind
// TOOLS_ENABLED): the export plugin that ships ExecuTorch's libraries with a
// game, and the inspector that describes a .pte. register_types calls these
// at the EDITOR initialization level.

#pragma once

#ifdef TOOLS_ENABLED

void initialize_executorch_editor();
void uninitialize_executorch_editor();

#endif // TOOLS_ENABLED
