// Image files for model inputs: decoding (PNG, JPEG, BMP via stb_image) and resizing.
//
// Resizing is plain bilinear interpolation with half-pixel centers and no antialiasing (the
// definition of TensorFlow's resize_bilinear with half_pixel_centers=true and OpenCV's INTER_LINEAR):
// the output pixel (y, x) samples the source at ((y + 0.5) * in_h / out_h - 0.5, same for x),
// clamped to the image. It is NOT PIL's Image.BILINEAR, which widens its filter when downscaling
// (antialiasing); the golden inputs were made with PIL, so exact golden comparisons must use the
// stored input .npy files, not images. An image that already has the requested size is returned
// unchanged, pixel for pixel.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "quantlens/util/status.h"

namespace ql::io {

// Interleaved 8-bit pixels, row-major: pixels[(y * width + x) * channels + c].
struct Image {
  int height = 0, width = 0, channels = 0;
  std::vector<uint8_t> pixels;
};

// Interpolated (not rounded) pixel values, same layout as Image.
struct FloatImage {
  int height = 0, width = 0, channels = 0;
  std::vector<float> values;
};

// Decodes `path` to `channels` channels: 1 (grayscale; colour images are converted with stb's
// luma weights) or 3 (RGB; grayscale is replicated, alpha dropped).
Result<Image> DecodeImage(const std::string& path, int channels);

// True if the file starts like a PNG, JPEG or BMP (by its magic bytes, not its name).
bool LooksLikeImage(const std::string& path);

// Bilinear resize (see the file comment) to out_h x out_w. Sizes must be positive. When the size
// already matches, the values are the exact pixel values.
Result<FloatImage> ResizeBilinear(const Image& image, int out_h, int out_w);

}  // namespace ql::io
