// Says, in every Linux export's log, that the game needs nothing beside it:
// ExecuTorch's runtime is linked statically into the engine and the export
// templates (SCsub), so the exported binary and its .pck are the whole game.
// (Until 2026-12 the engine linked the wheel's shared libraries and this plugin
// shipped them; a game exported by an older editor still carries them, unused.)

#pragma once

#ifdef TOOLS_ENABLED

#include "editor/export/editor_export_plugin.h"

class ExecuTorchExportPlugin : public EditorExportPlugin {
	GDCLASS(ExecuTorchExportPlugin, EditorExportPlugin);

protected:
	void _export_begin(const HashSet<String> &p_features, bool p_debug, const String &p_path, int p_flags) override;

public:
	String get_name() const override;
	bool supports_platform(const Ref<EditorExportPlatform> &p_export_platform) const override;
};

#endif // TOOLS_ENABLED
