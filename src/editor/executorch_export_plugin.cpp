#include "executorch_export_plugin.h"

#ifdef TOOLS_ENABLED

#include "module_info.gen.h" // generated: in the module folder, on the include path

#include "core/io/file_access.h"
#include "core/os/os.h"
#include "core/version.h"
#include "editor/export/editor_export_platform.h"
#include "editor/file_system/editor_paths.h"

String ExecuTorchExportPlugin::get_name() const {
	return "ExecuTorch runtime libraries";
}

bool ExecuTorchExportPlugin::supports_platform(const Ref<EditorExportPlatform> &p_export_platform) const {
	// ExecuTorch's wheel ships Linux libraries only (config.py builds linuxbsd only).
	return p_export_platform.is_valid() && p_export_platform->get_os_name() == "Linux";
}

String ExecuTorchExportPlugin::_template_folder(bool p_debug) const {
	const Ref<EditorExportPreset> preset = get_export_preset();
	const String custom = preset.is_valid() ? String(preset->get(p_debug ? "custom_template/debug" : "custom_template/release")) : String();
	if (!custom.strip_edges().is_empty()) {
		return custom.strip_edges().get_base_dir();
	}
	// Godot's own lookup (EditorExportPlatform::find_export_template).
	return EditorPaths::get_singleton()->get_export_templates_dir().path_join(GODOT_VERSION_FULL_CONFIG);
}

PackedStringArray ExecuTorchExportPlugin::library_folders(const String &p_template_folder) {
	PackedStringArray folders;
	if (!p_template_folder.is_empty()) {
		folders.push_back(p_template_folder);
	}
	const String editor_folder = OS::get_singleton()->get_executable_path().get_base_dir();
	if (!folders.has(editor_folder)) {
		folders.push_back(editor_folder);
	}
	return folders;
}

void ExecuTorchExportPlugin::_export_begin(const HashSet<String> &p_features, bool p_debug, const String &p_path, int p_flags) {
	const PackedStringArray folders = library_folders(_template_folder(p_debug));
	for (const char *library : EXECUTORCH_LINK_LIBRARIES) {
		String found;
		for (const String &folder : folders) {
			const String candidate = folder.path_join(library);
			if (FileAccess::exists(candidate)) {
				found = candidate;
				break;
			}
		}
		if (found.is_empty()) {
			const String message = vformat(
					"The exported game needs %s, which is neither beside the export template nor beside the editor (looked in: %s). "
					"Install the templates with `scons platform=linuxbsd profile=full templates`, or copy the library from the "
					"executorch wheel's lib/ folder beside the template.",
					library, String(", ").join(folders));
			ERR_PRINT(message);
			if (get_export_platform().is_valid()) {
				get_export_platform()->add_message(EditorExportPlatform::EXPORT_MESSAGE_ERROR, get_name(), message);
			}
			// Added anyway: copying a missing file fails the export, so no game
			// that cannot start is written.
			found = folders[0].path_join(library);
		}
		add_shared_object(found, Vector<String>());
	}
}

#endif // TOOLS_ENABLED
