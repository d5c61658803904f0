// The portable half of the 8-bit GEMM: plans, multiplier tables, row gathering and the conv
// driver. The arithmetic itself is in gemm_int8_avx2.cc.
#include "quantlens/kernels/gemm_int8.h"

#include <algorithm>


namespace ql::kern {

RequantTable MakeRequantTable(std::span<const QuantizedMultiplier> m, int pad) {
  const size_t n = (m.size() + static_cast<size_t>(pad) - 1) / static_cast<size_t>(pad) *
                   static_cast<size_t>(pad);
  RequantTable t;
  t.mult.assign(n, 0);
  t.left_shift.assign(n, 0);
  t.right_shift.assign(n, 0);
  t.total_shift.assign(n, 31);
  for (size_t c = 0; c < m.size(); ++c) {
    t.mult[c] = m[c].multiplier;
    t.left_shift[c] = std::max(m[c].shift, 0);
    t.right_shift[c] = std::max(-m[c].shift, 0);
    t.total_shift[c] = 31 - m[c].shift;
  }
  return t;
}

bool RequantTableVectorizable(std::span<const QuantizedMultiplier> m) {
  // Left shifts of 31 or more and right shifts past 31 are outside the 32-bit lane shifts; the
  // single-rounding total shift must stay in 1..63.
  for (const QuantizedMultiplier& q : m)
    if (q.shift > 30 || q.shift < -31 || q.multiplier < 0) return false;
  return true;
}

bool Int8GemmSupported(const ConvQuantParams& p, int64_t k) {
  return !DotNeedsWideAccumulator(k) && k <= (int64_t{1} << 30) &&
         RequantTableVectorizable(p.multipliers);
}

Int8GemmPlan MakeInt8GemmPlan(const int16_t* weights, int n, int taps, int channels,
                              const ConvQuantParams& p, bool is_unsigned) {
  Int8GemmPlan plan;
  constexpr int nr = Int8GemmPlan::kNr;
  plan.taps = taps;
  plan.channels = channels;
  plan.channels_padded = (channels + 1) / 2 * 2;
  plan.k_pairs = taps * plan.channels_padded / 2;
  plan.n = n;
  plan.n_blocks = (n + nr - 1) / nr;
  plan.packed.assign(static_cast<size_t>(plan.n_blocks) * static_cast<size_t>(plan.k_pairs) * nr * 2, 0);
  for (int c = 0; c < n; ++c) {
    int16_t* block = plan.packed.data() + static_cast<size_t>(c / nr) * plan.k_pairs * nr * 2;
    for (int t = 0; t < taps; ++t)
      for (int i = 0; i < channels; ++i) {
        const int term = t * plan.channels_padded + i;  // position in the padded reduction
        block[(static_cast<size_t>(term / 2) * nr + static_cast<size_t>(c % nr)) * 2 + (term % 2)] =
            weights[(static_cast<int64_t>(c) * taps + t) * channels + i];
      }
  }
  plan.requant = MakeRequantTable(p.multipliers, nr);
  plan.rounding = p.rounding;
  plan.output_offset = p.output_offset;
  plan.act_min = p.act_min;
  plan.act_max = p.act_max;
  plan.is_unsigned = is_unsigned;
  return plan;
}

namespace {

// Output pixels per tile: a multiple of the microkernel's rows, small enough that a tile's input
// rows stay in L2 next to one weight column block.
int TileRows(const Int8GemmPlan& plan) {
  const int64_t row_bytes = static_cast<int64_t>(plan.k_pairs) * 4;
  int64_t rows = (64 * 1024) / std::max<int64_t>(row_bytes, 1);
  rows = std::clamp<int64_t>(rows, Int8GemmPlan::kMr * 4, 256);
  return static_cast<int>(rows / Int8GemmPlan::kMr * Int8GemmPlan::kMr);
}

size_t Align64(size_t bytes) { return (bytes + 63) / 64 * 64; }

// The scratch layout: the converted input, one row of zeros (taps in the padding point there),
// then one tap-pointer table per thread.
struct ScratchLayout {
  size_t converted = 0, zeros = 0, table = 0;  // bytes of each part (a table per thread)
};

ScratchLayout LayoutFor(const ConvGeometry& g, const Int8GemmPlan& plan) {
  ScratchLayout l;
  l.converted = Align64(static_cast<size_t>(g.batch) * static_cast<size_t>(g.in_h) *
                        static_cast<size_t>(g.in_w) * static_cast<size_t>(plan.channels_padded) *
                        sizeof(int16_t));
  l.zeros = Align64(static_cast<size_t>(plan.channels_padded) * sizeof(int16_t));
  l.table = Align64(static_cast<size_t>(TileRows(plan)) * static_cast<size_t>(plan.taps) *
                    sizeof(const int16_t*));
  return l;
}

}  // namespace

size_t Int8ConvScratchBytes(const ConvGeometry& g, const Int8GemmPlan& plan, int threads) {
  const ScratchLayout l = LayoutFor(g, plan);
  return l.converted + l.zeros + l.table * static_cast<size_t>(std::max(threads, 1));
}

template <typename T>
void Conv2DInt8Gemm(const ConvGeometry& g, int32_t input_offset, const Int8GemmPlan& plan,
                    const T* input, const int32_t* bias, T* output, const rt::KernelContext& ctx) {
  const ScratchLayout l = LayoutFor(g, plan);
  auto* base = static_cast<uint8_t*>(ctx.scratch());
  auto* converted = reinterpret_cast<int16_t*>(base);
  auto* zeros = reinterpret_cast<int16_t*>(base + l.converted);
  auto* tables = reinterpret_cast<const int16_t**>(base + l.converted + l.zeros);
  const int cin = plan.channels, cp = plan.channels_padded;
  // Scratch is shared with every other op: the zero row is written on every call.
  std::fill(zeros, zeros + cp, int16_t{0});
  // The input once, zero-point corrected and widened: every tap of every pixel reads it in place.
  const int64_t in_pixels = static_cast<int64_t>(g.batch) * g.in_h * g.in_w;
  ctx.ParallelFor(in_pixels, [&](int64_t begin, int64_t end, int) {
    for (int64_t px = begin; px < end; ++px) {
      const T* src = input + px * cin;
      int16_t* dst = converted + px * cp;
      for (int c = 0; c < cin; ++c) dst[c] = static_cast<int16_t>(static_cast<int32_t>(src[c]) - input_offset);
      if (cp > cin) dst[cin] = 0;
    }
  });

  const int64_t pixels = static_cast<int64_t>(g.batch) * g.out_h * g.out_w;
  const int threads = ctx.threads();
  int tile = TileRows(plan);
  // Fewer tiles than threads: smaller tiles, so that every thread has work.
  if (threads > 1 && pixels < static_cast<int64_t>(tile) * threads) {
    const int64_t per = (pixels + threads - 1) / threads;
    tile = static_cast<int>(std::max<int64_t>((per + 3) / 4 * 4, Int8GemmPlan::kMr));
  }
  const int64_t tiles = (pixels + tile - 1) / tile;
  const int taps = plan.taps;
  ctx.ParallelFor(tiles, [&](int64_t begin, int64_t end, int worker) {
    const int16_t** table = tables + static_cast<size_t>(worker) * (l.table / sizeof(const int16_t*));
    for (int64_t t = begin; t < end; ++t) {
      const int64_t first = t * tile;
      const int count = static_cast<int>(std::min<int64_t>(tile, pixels - first));
      for (int r = 0; r < count; ++r) {
        const int64_t px = first + r;
        const int ox = static_cast<int>(px % g.out_w);
        const int oy = static_cast<int>((px / g.out_w) % g.out_h);
        const int64_t b = px / (static_cast<int64_t>(g.out_w) * g.out_h);
        const int iy0 = oy * g.stride_h - g.pad_top, ix0 = ox * g.stride_w - g.pad_left;
        const int16_t** row = table + static_cast<size_t>(r) * taps;
        for (int ky = 0; ky < g.filter_h; ++ky) {
          const int iy = iy0 + ky * g.dilation_h;
          for (int kx = 0; kx < g.filter_w; ++kx) {
            const int ix = ix0 + kx * g.dilation_w;
            const bool inside = iy >= 0 && iy < g.in_h && ix >= 0 && ix < g.in_w;
            *row++ = inside ? converted + ((b * g.in_h + iy) * g.in_w + ix) * cp : zeros;
          }
        }
      }
      Int8GemmAvx2(plan, table, count, bias, output + first * g.out_c, g.out_c);
    }
  });
}

template void Conv2DInt8Gemm(const ConvGeometry&, int32_t, const Int8GemmPlan&, const int8_t*,
                             const int32_t*, int8_t*, const rt::KernelContext&);
template void Conv2DInt8Gemm(const ConvGeometry&, int32_t, const Int8GemmPlan&, const uint8_t*,
                             const int32_t*, uint8_t*, const rt::KernelContext&);

}  // namespace ql::kern
