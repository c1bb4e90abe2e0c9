// Unfolding for the convolution kernels (layers/kernels/convolution.h): im2col copies the input
// values a tile of output columns reads into a matrix, col2im adds such a matrix back onto the
// input positions.
#pragma once

#include <cstdint>

#include <netkit/layers/kernels/convolution.h>

namespace netkit::kernels {

// col [patch, c1 - c0] (rows `ld` apart) for the output columns [c0, c1) (flat indices i OW + j)
// of one example and group; x points at the group's first input channel [C/G, H, W]:
//   col[(c KH + p) KW + q, i OW + j - c0] = x[c, i sh - ph + p dh, j sw - pw + q dw], 0 outside.
void im2col(const float* x, const ConvDims& d, int64_t c0, int64_t c1, float* col, int64_t ld);

// The adjoint of im2col: x[c, i sh - ph + p dh, j sw - pw + q dw] += col[(c KH + p) KW + q, ...]
// for every entry inside the input, in row order of col. col is workspace: entries that fall
// outside the input may be overwritten (with 0).
void col2im_add(float* col, const ConvDims& d, int64_t c0, int64_t c1, int64_t ld, float* x);

}  // namespace netkit::kernels
