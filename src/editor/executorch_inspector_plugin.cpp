#include "executorch_inspector_plugin.h"

#ifdef TOOLS_ENABLED

#include "../executorch_model.h"

#include "editor/themes/editor_scale.h"
#include "scene/gui/box_container.h"
#include "scene/gui/label.h"
#include "scene/gui/tree.h"

namespace {

String shape_text(const PackedInt64Array &p_shape) {
	PackedStringArray sizes;
	for (int64_t size : p_shape) {
		sizes.push_back(itos(size));
	}
	return "[" + String(", ").join(sizes) + "]";
}

// "float32 [1, 4] static": one value's metadata, as the cell of a narrow dock reads it.
String describe_value(const Dictionary &p_value) {
	return vformat("%s %s %s", p_value.get("dtype", ""), shape_text(p_value.get("shape", PackedInt64Array())), p_value.get("dynamism", ""));
}

void add_value_rows(Tree *p_tree, TreeItem *p_method, const Array &p_values, const String &p_kind) {
	for (const Variant &entry : p_values) {
		const Dictionary value = entry;
		TreeItem *row = p_tree->create_item(p_method);
		row->set_text(0, vformat("%s %d: %s", p_kind, (int64_t)value.get("index", 0), describe_value(value)));
		row->set_tooltip_text(0, String(value.get("dynamism", "")) == "dynamic_bound"
						? String("dtype, shape, dynamism. The shape is an upper bound: the tensor may be smaller in any dimension.")
						: String("dtype, shape, dynamism."));
	}
}

Control *describe_model(ExecuTorchModel *p_model) {
	VBoxContainer *box = memnew(VBoxContainer);
	Label *title = memnew(Label);
	title->set_theme_type_variation("HeaderSmall");
	title->set_text("ExecuTorch program");
	box->add_child(title);

	Label *summary = memnew(Label);
	summary->set_autowrap_mode(TextServer::AUTOWRAP_WORD_SMART);
	box->add_child(summary);
	if (!p_model->is_loaded()) {
		summary->set_text("No program is loaded.");
		return box;
	}
	const PackedStringArray methods = p_model->get_method_names();
	summary->set_text(vformat("%s\n%s, %s; %d method(s).", p_model->get_source_path(),
			String::humanize_size(p_model->get_file_size()),
			p_model->is_memory_mapped() ? "memory-mapped" : "read into memory", methods.size()));

	// One column, a method per branch and a value per row: in the inspector's default width a
	// second column truncated the method names ("forwar") whatever the expand ratios.
	Tree *tree = memnew(Tree);
	tree->set_columns(1);
	tree->set_column_titles_visible(true);
	tree->set_column_title(0, "Methods: dtype, shape, dynamism");
	tree->set_hide_root(true);
	tree->set_select_mode(Tree::SELECT_ROW);
	TreeItem *root = tree->create_item();
	int rows = 1; // the titles
	for (const String &name : methods) {
		const Dictionary info = p_model->get_method_info(name);
		const PackedStringArray backends = info.get("backends", PackedStringArray());
		TreeItem *method = tree->create_item(root);
		method->set_text(0, vformat("%s (%s)", name, backends.is_empty() ? String("CPU kernels") : "delegates to " + String(", ").join(backends)));
		method->set_tooltip_text(0, "The backends this method's delegated parts run on; the rest runs on ExecuTorch's CPU kernels.");
		add_value_rows(tree, method, info.get("inputs", Array()), "input");
		add_value_rows(tree, method, info.get("outputs", Array()), "output");
		rows += 1 + Array(info.get("inputs", Array())).size() + Array(info.get("outputs", Array())).size();
	}
	// The inspector scrolls as a whole: show every row (up to 24) instead of a scrolled tree.
	const float row_height = tree->get_theme_font_size(SNAME("font_size")) + 14 * EDSCALE;
	tree->set_custom_minimum_size(Size2(0, MIN(rows, 24) * row_height + 12 * EDSCALE));
	box->add_child(tree);
	return box;
}

} // namespace

bool ExecuTorchModelInspectorPlugin::can_handle(Object *p_object) {
	return Object::cast_to<ExecuTorchModel>(p_object) != nullptr;
}

void ExecuTorchModelInspectorPlugin::parse_begin(Object *p_object) {
	ExecuTorchModel *model = Object::cast_to<ExecuTorchModel>(p_object);
	if (model) {
		add_custom_control(describe_model(model));
	}
}

ExecuTorchEditorPlugin::ExecuTorchEditorPlugin() {
	Ref<ExecuTorchModelInspectorPlugin> inspector;
	inspector.instantiate();
	add_inspector_plugin(inspector);
}

#endif // TOOLS_ENABLED
