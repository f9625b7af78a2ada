// ExecuTorchTensor.from_image / to_image: images in and out of tensors in
// native code, one pass over the pixels (a GDScript loop over a 224x224
// frame is about a thousand times slower).

#include "executorch_tensor.h"

#include "core/math/math_funcs.h"

#include <executorch/runtime/core/portable_type/bfloat16.h>
#include <executorch/runtime/core/portable_type/half.h>

namespace {

// The Image format of a channel count, or FORMAT_MAX for none.
Image::Format format_of_channels(int64_t p_channels) {
	switch (p_channels) {
		case 1:
			return Image::FORMAT_L8;
		case 3:
			return Image::FORMAT_RGB8;
		case 4:
			return Image::FORMAT_RGBA8;
		default:
			return Image::FORMAT_MAX;
	}
}

bool is_float_dtype(ExecuTorchTensor::DType p_dtype) {
	return p_dtype == ExecuTorchTensor::DTYPE_FLOAT32 || p_dtype == ExecuTorchTensor::DTYPE_FLOAT64 ||
			p_dtype == ExecuTorchTensor::DTYPE_FLOAT16 || p_dtype == ExecuTorchTensor::DTYPE_BFLOAT16;
}

// Checks mean and std for `p_channels` channels: "" or the problem, a
// sentence that names the argument and the fix.
String check_normalization(const PackedFloat32Array &p_mean, const PackedFloat32Array &p_std, int64_t p_channels) {
	if (p_mean.is_empty() && p_std.is_empty()) {
		return String();
	}
	if (p_mean.is_empty() != p_std.is_empty()) {
		return "Pass both 'mean' and 'std' (one value per channel), or neither.";
	}
	if (p_mean.size() != p_channels || p_std.size() != p_channels) {
		return vformat("'mean' has %d value(s) and 'std' %d, but the image has %d channel(s); pass one value per channel.",
				p_mean.size(), p_std.size(), p_channels);
	}
	for (int64_t c = 0; c < p_channels; c++) {
		if (!Math::is_finite(p_mean[c]) || !Math::is_finite(p_std[c]) || p_std[c] == 0.0f) {
			return vformat("Channel %d has 'mean' %s and 'std' %s; each must be finite and each 'std' non-zero.", c,
					String::num_real(p_mean[c]), String::num_real(p_std[c]));
		}
	}
	return String();
}

template <typename T>
void store_normalized(const uint8_t *p_pixels, int64_t p_pixel_count, int64_t p_channels, bool p_channels_first,
		const float *p_scale, const float *p_offset, T *r_out) {
	if (p_channels_first) {
		for (int64_t c = 0; c < p_channels; c++) {
			const float scale = p_scale[c];
			const float offset = p_offset[c];
			const uint8_t *source = p_pixels + c;
			T *plane = r_out + c * p_pixel_count;
			for (int64_t i = 0; i < p_pixel_count; i++) {
				plane[i] = T(float(source[i * p_channels]) * scale + offset);
			}
		}
		return;
	}
	for (int64_t i = 0; i < p_pixel_count * p_channels; i++) {
		const int64_t c = i % p_channels;
		r_out[i] = T(float(p_pixels[i]) * p_scale[c] + p_offset[c]);
	}
}

// One element of a float tensor as a float.
float float_element(ExecuTorchTensor::DType p_dtype, const uint8_t *p_bytes, int64_t p_index) {
	switch (p_dtype) {
		case ExecuTorchTensor::DTYPE_FLOAT32:
			return reinterpret_cast<const float *>(p_bytes)[p_index];
		case ExecuTorchTensor::DTYPE_FLOAT64:
			return (float)reinterpret_cast<const double *>(p_bytes)[p_index];
		case ExecuTorchTensor::DTYPE_FLOAT16:
			return float(reinterpret_cast<const executorch::runtime::etensor::Half *>(p_bytes)[p_index]);
		default: // DTYPE_BFLOAT16: is_float_dtype() was checked
			return float(reinterpret_cast<const executorch::runtime::etensor::BFloat16 *>(p_bytes)[p_index]);
	}
}

} // namespace

Ref<ExecuTorchTensor> ExecuTorchTensor::from_image(const Ref<Image> &p_image, int64_t p_channels, Layout p_layout, DType p_dtype,
		const PackedFloat32Array &p_mean, const PackedFloat32Array &p_std) {
	ERR_FAIL_COND_V_MSG(p_image.is_null(), Ref<ExecuTorchTensor>(), "The 'image' is null; pass an Image.");
	ERR_FAIL_COND_V_MSG(p_image->is_empty(), Ref<ExecuTorchTensor>(), "The 'image' is empty (no pixels); pass an Image with a size.");
	const Image::Format format = format_of_channels(p_channels);
	ERR_FAIL_COND_V_MSG(format == Image::FORMAT_MAX, Ref<ExecuTorchTensor>(),
			vformat("'channels' is %d; use 3 (RGB), 4 (RGBA) or 1 (luminance).", p_channels));
	ERR_FAIL_COND_V_MSG(p_layout != LAYOUT_NCHW && p_layout != LAYOUT_NHWC, Ref<ExecuTorchTensor>(),
			vformat("Unknown 'layout' %d; use ExecuTorchTensor.LAYOUT_NCHW or LAYOUT_NHWC.", (int64_t)p_layout));
	ERR_FAIL_COND_V_MSG(p_dtype != DTYPE_UINT8 && !is_float_dtype(p_dtype), Ref<ExecuTorchTensor>(),
			vformat("An image tensor's 'dtype' must be a float dtype or DTYPE_UINT8, not %d (%s).", (int64_t)p_dtype,
					is_valid_dtype(p_dtype) ? dtype_to_name(p_dtype) : "unknown"));
	ERR_FAIL_COND_V_MSG(p_dtype == DTYPE_UINT8 && (!p_mean.is_empty() || !p_std.is_empty()), Ref<ExecuTorchTensor>(),
			"DTYPE_UINT8 holds the image's bytes as they are; 'mean' and 'std' apply to float dtypes only.");
	const String normalization = check_normalization(p_mean, p_std, p_channels);
	ERR_FAIL_COND_V_MSG(!normalization.is_empty(), Ref<ExecuTorchTensor>(), normalization);

	// Godot's own conversions, on a copy only when the image is not already
	// plain 8-bit pixels with these channels.
	Ref<Image> pixels = p_image;
	if (p_image->get_format() != format || p_image->has_mipmaps()) {
		pixels = p_image->duplicate();
		if (pixels->is_compressed()) {
			ERR_FAIL_COND_V_MSG(pixels->decompress() != OK, Ref<ExecuTorchTensor>(),
					vformat("The 'image' is compressed as %s, which this build cannot decompress.", Image::get_format_name(p_image->get_format())));
		}
		pixels->clear_mipmaps();
		pixels->convert(format);
	}
	const int64_t width = pixels->get_width();
	const int64_t height = pixels->get_height();
	const int64_t pixel_count = width * height;
	const PackedByteArray data = pixels->get_data();
	ERR_FAIL_COND_V_MSG(data.size() < pixel_count * p_channels, Ref<ExecuTorchTensor>(), "The 'image' has fewer bytes than its size says.");

	Ref<ExecuTorchTensor> tensor;
	tensor.instantiate();
	tensor->dtype = p_dtype;
	if (p_layout == LAYOUT_NCHW) {
		tensor->shape = PackedInt64Array({ 1, p_channels, height, width });
	} else {
		tensor->shape = PackedInt64Array({ 1, height, width, p_channels });
	}
	tensor->bytes.resize(pixel_count * p_channels * element_size(p_dtype));
	uint8_t *out = tensor->bytes.ptrw();
	const uint8_t *source = data.ptr();
	const bool channels_first = p_layout == LAYOUT_NCHW;
	if (p_dtype == DTYPE_UINT8) {
		if (!channels_first || p_channels == 1) {
			memcpy(out, source, pixel_count * p_channels);
		} else {
			for (int64_t c = 0; c < p_channels; c++) {
				for (int64_t i = 0; i < pixel_count; i++) {
					out[c * pixel_count + i] = source[i * p_channels + c];
				}
			}
		}
		return tensor;
	}
	// (byte / 255 - mean) / std as one multiply-add per element.
	float scale[4];
	float offset[4];
	for (int64_t c = 0; c < p_channels; c++) {
		const float mean = p_mean.is_empty() ? 0.0f : p_mean[c];
		const float std = p_std.is_empty() ? 1.0f : p_std[c];
		scale[c] = 1.0f / (255.0f * std);
		offset[c] = -mean / std;
	}
	switch (p_dtype) {
		case DTYPE_FLOAT32:
			store_normalized(source, pixel_count, p_channels, channels_first, scale, offset, reinterpret_cast<float *>(out));
			break;
		case DTYPE_FLOAT64:
			store_normalized(source, pixel_count, p_channels, channels_first, scale, offset, reinterpret_cast<double *>(out));
			break;
		case DTYPE_FLOAT16:
			store_normalized(source, pixel_count, p_channels, channels_first, scale, offset,
					reinterpret_cast<executorch::runtime::etensor::Half *>(out));
			break;
		default: // DTYPE_BFLOAT16
			store_normalized(source, pixel_count, p_channels, channels_first, scale, offset,
					reinterpret_cast<executorch::runtime::etensor::BFloat16 *>(out));
			break;
	}
	return tensor;
}

Ref<Image> ExecuTorchTensor::to_image(Layout p_layout, const PackedFloat32Array &p_mean, const PackedFloat32Array &p_std) const {
	ERR_FAIL_COND_V_MSG(p_layout != LAYOUT_NCHW && p_layout != LAYOUT_NHWC, Ref<Image>(),
			vformat("Unknown 'layout' %d; use ExecuTorchTensor.LAYOUT_NCHW or LAYOUT_NHWC.", (int64_t)p_layout));
	ERR_FAIL_COND_V_MSG(dtype != DTYPE_UINT8 && !is_float_dtype(dtype), Ref<Image>(),
			vformat("A tensor of dtype %s is not an image; to_image() takes float dtypes and uint8.", dtype_to_name(dtype)));
	// [H, W], [C, H, W] / [H, W, C], [1, C, H, W] / [1, H, W, C].
	const int64_t rank = shape.size();
	const String not_an_image = vformat("The tensor's shape %s is not an image's: use [1, C, H, W] or [C, H, W] (LAYOUT_NCHW), "
										"[1, H, W, C] or [H, W, C] (LAYOUT_NHWC), or [H, W], with C of 1, 3 or 4.",
			shape);
	ERR_FAIL_COND_V_MSG(rank < 2 || rank > 4 || (rank == 4 && shape[0] != 1), Ref<Image>(), not_an_image);
	int64_t channels = 1;
	int64_t height = 0;
	int64_t width = 0;
	if (rank == 2) {
		height = shape[0];
		width = shape[1];
	} else {
		const int64_t first = rank - 3; // skips the batch dimension
		const bool channels_first = p_layout == LAYOUT_NCHW;
		channels = channels_first ? shape[first] : shape[first + 2];
		height = channels_first ? shape[first + 1] : shape[first];
		width = channels_first ? shape[first + 2] : shape[first + 1];
	}
	const Image::Format format = format_of_channels(channels);
	ERR_FAIL_COND_V_MSG(format == Image::FORMAT_MAX || height < 1 || width < 1 || height > Image::MAX_HEIGHT || width > Image::MAX_WIDTH,
			Ref<Image>(), not_an_image);
	ERR_FAIL_COND_V_MSG(dtype == DTYPE_UINT8 && (!p_mean.is_empty() || !p_std.is_empty()), Ref<Image>(),
			"A uint8 tensor holds the bytes as they are; 'mean' and 'std' apply to float tensors only.");
	const String normalization = check_normalization(p_mean, p_std, channels);
	ERR_FAIL_COND_V_MSG(!normalization.is_empty(), Ref<Image>(), normalization);

	const int64_t pixel_count = width * height;
	const bool channels_first = rank > 2 && p_layout == LAYOUT_NCHW;
	PackedByteArray pixels;
	pixels.resize(pixel_count * channels);
	uint8_t *out = pixels.ptrw();
	const uint8_t *in = bytes.ptr();
	for (int64_t c = 0; c < channels; c++) {
		const float std = p_std.is_empty() ? 1.0f : p_std[c];
		const float mean = p_mean.is_empty() ? 0.0f : p_mean[c];
		for (int64_t i = 0; i < pixel_count; i++) {
			const int64_t index = channels_first ? c * pixel_count + i : i * channels + c;
			uint8_t value;
			if (dtype == DTYPE_UINT8) {
				value = in[index];
			} else {
				// Rounded to nearest, clamped: a value past 1.0 saturates, never wraps.
				const float scaled = (float_element(dtype, in, index) * std + mean) * 255.0f;
				value = Math::is_nan(scaled) ? 0 : (uint8_t)CLAMP(Math::round(scaled), 0.0f, 255.0f);
			}
			out[i * channels + c] = value;
		}
	}
	return Image::create_from_data(width, height, false, format, pixels);
}
