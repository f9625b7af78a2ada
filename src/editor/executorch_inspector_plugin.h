// Describes an ExecuTorchModel (a .pte selected in the FileSystem dock, or a
// model property opened in the inspector): its file, and for each method the
// inputs' and outputs' dtype, shape and shape dynamism and the backends it
// delegates to, read from ExecuTorch's method metadata.

#pragma once

#ifdef TOOLS_ENABLED

#include "editor/inspector/editor_inspector.h"
#include "editor/plugins/editor_plugin.h"

class ExecuTorchModelInspectorPlugin : public EditorInspectorPlugin {
	GDCLASS(ExecuTorchModelInspectorPlugin, EditorInspectorPlugin);

public:
	bool can_handle(Object *p_object) override;
	void parse_begin(Object *p_object) override;
};

class ExecuTorchEditorPlugin : public EditorPlugin {
	GDCLASS(ExecuTorchEditorPlugin, EditorPlugin);

public:
	String get_plugin_name() const override { return "ExecuTorch"; }

	ExecuTorchEditorPlugin();
};

#endif // TOOLS_ENABLED
