// Ships ExecuTorch's shared libraries with every Linux export. The engine
// links them (module_spec.yaml's link_libraries) and finds them beside itself
// ($ORIGIN rpath), so a game exported without them stops at start with
// "libexecutorch.so: cannot open shared object file".

#pragma once

#ifdef TOOLS_ENABLED

#include "editor/export/editor_export_plugin.h"

class ExecuTorchExportPlugin : public EditorExportPlugin {
	GDCLASS(ExecuTorchExportPlugin, EditorExportPlugin);

	// The folder holding the export template this export uses, or "" when
	// Godot has none for it (the export then fails on its own).
	String _template_folder(bool p_debug) const;

protected:
	void _export_begin(const HashSet<String> &p_features, bool p_debug, const String &p_path, int p_flags) override;

public:
	String get_name() const override;
	bool supports_platform(const Ref<EditorExportPlatform> &p_export_platform) const override;

	// Where each library is looked for, in order: beside the export template,
	// then beside the running editor.
	static PackedStringArray library_folders(const String &p_template_folder);
};

#endif // TOOLS_ENABLED
