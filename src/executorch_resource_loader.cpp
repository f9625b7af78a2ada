#include "executorch_resource_loader.h"

#include "executorch_model.h"

Ref<Resource> ResourceFormatLoaderExecuTorch::load(const String &p_path, const String &p_original_path, Error *r_error,
		bool p_use_sub_threads, float *r_progress, CacheMode p_cache_mode) {
	Ref<ExecuTorchModel> model;
	model.instantiate();
	Error error = OK;
	const String reason = model->load(p_path, error);
	if (r_error) {
		*r_error = error; // the precise code: missing, unrecognized, corrupt, unavailable operator
	}
	ERR_FAIL_COND_V_MSG(!reason.is_empty(), Ref<Resource>(), reason);
	return model;
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
