#include "executorch_export_plugin.h"

#ifdef TOOLS_ENABLED

#include "../executorch_platform.h"

#include "editor/export/editor_export_platform.h"

String ExecuTorchExportPlugin::get_name() const {
	return "ExecuTorch runtime";
}

bool ExecuTorchExportPlugin::supports_platform(const Ref<EditorExportPlatform> &p_export_platform) const {
	return p_export_platform.is_valid() && p_export_platform->get_os_name() == "Linux";
}

void ExecuTorchExportPlugin::_export_begin(const HashSet<String> &p_features, bool p_debug, const String &p_path, int p_flags) {
	const String message = vformat("ExecuTorch %s is linked into the engine: nothing to ship beside %s.",
			executorch_version_string(), p_path.get_file());
	// The export's message list: the Export dialog shows it, and a headless
	// export prints it ("ExecuTorch runtime: ...") when it ends.
	if (get_export_platform().is_valid()) {
		get_export_platform()->add_message(EditorExportPlatform::EXPORT_MESSAGE_INFO, get_name(), message);
	}
}

#endif // TOOLS_ENABLED
