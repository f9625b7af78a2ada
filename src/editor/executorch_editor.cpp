#include "executorch_editor.h"

#ifdef TOOLS_ENABLED

#include "executorch_export_plugin.h"
#include "executorch_inspector_plugin.h"

#include "editor/editor_node.h"
#include "editor/export/editor_export.h"
#include "editor/plugins/editor_plugin.h"

namespace {

// Runs once the editor exists (EditorExport is made by EditorNode), as
// modules/gdscript registers its export plugin.
void add_export_plugin() {
	Ref<ExecuTorchExportPlugin> plugin;
	plugin.instantiate();
	EditorExport::get_singleton()->add_export_plugin(plugin);
}

} // namespace

void initialize_executorch_editor() {
	EditorNode::add_init_callback(add_export_plugin);
	EditorPlugins::add_by_type<ExecuTorchEditorPlugin>();
}

void uninitialize_executorch_editor() {
	// The editor frees its plugins and EditorExport its export plugins.
}

#endif // TOOLS_ENABLED
