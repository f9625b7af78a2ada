#include "executorch_resource_loader.h"

#include "executorch_model.h"

Ref<Resource> ResourceFormatLoaderExecuTorch::load(const String &p_path, const String &p_original_path, Error *r_error,
		bool p_use_sub_threads, float *r_progress, CacheMode p_cache_mode) {
	Ref<ExecuTorchModel> model;
	model.instantiate();
	// load_from_file prints the precise reason on failure.
	const bool loaded = model->load_from_file(p_path);
	if (r_error) {
		*r_error = loaded ? OK : ERR_FILE_CORRUPT;
	}
	return loaded ? Ref<Resource>(model) : Ref<Resource>();
}

void ResourceFormatLoaderExecuTorch::get_recognized_extensions(List<String> *p_extensions) const {
	p_extensions->push_back("pte");
}

bool ResourceFormatLoaderExecuTorch::handles_type(const String &p_type) const {
	return p_type == "ExecuTorchModel";
}

String ResourceFormatLoaderExecuTorch::get_resource_type(const String &p_path) const {
	return p_path.get_extension().to_lower() == "pte" ? "ExecuTorchModel" : String();
}
