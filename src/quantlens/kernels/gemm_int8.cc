// The portable half of the 8-bit GEMM: plans, multiplier tables, row gathering and the conv
// driver. The arithmetic itself is in gemm_int8_avx2.cc.
#include "quantlens/kernels/gemm_int8.h"

#include <algorithm>

#include "quantlens/kernels/conv_patch.h"

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

Int8GemmPlan MakeInt8GemmPlan(const int16_t* weights, int n, int k, const ConvQuantParams& p,
                              bool is_unsigned) {
  Int8GemmPlan plan;
  constexpr int nr = Int8GemmPlan::kNr;
  plan.k = k;
  plan.k_pairs = (k + 1) / 2;
  plan.n = n;
  plan.n_blocks = (n + nr - 1) / nr;
  plan.packed.assign(static_cast<size_t>(plan.n_blocks) * static_cast<size_t>(plan.k_pairs) * nr * 2, 0);
  for (int c = 0; c < n; ++c) {
    const int16_t* row = weights + static_cast<int64_t>(c) * k;
    int16_t* block = plan.packed.data() + static_cast<size_t>(c / nr) * plan.k_pairs * nr * 2;
    for (int i = 0; i < k; ++i)
      block[(static_cast<size_t>(i / 2) * nr + static_cast<size_t>(c % nr)) * 2 + (i % 2)] = row[i];
  }
  plan.requant = MakeRequantTable(p.multipliers, nr);
  plan.rounding = p.rounding;
  plan.output_offset = p.output_offset;
  plan.act_min = p.act_min;
  plan.act_max = p.act_max;
  plan.is_unsigned = is_unsigned;
  return plan;
}

template <typename T>
void GatherConvRows(const ConvGeometry& g, const T* input, int32_t input_offset, int64_t first,
                    int count, int16_t* rows, int64_t lda) {
  const int k = g.filter_h * g.filter_w * g.in_c;
  auto convert = [input_offset](T q) {
    return static_cast<int16_t>(static_cast<int32_t>(q) - input_offset);
  };
  const bool pointwise = g.filter_h == 1 && g.filter_w == 1 && g.stride_h == 1 &&
                         g.stride_w == 1 && g.pad_top == 0 && g.pad_left == 0 &&
                         g.out_h == g.in_h && g.out_w == g.in_w;
  for (int r = 0; r < count; ++r) {
    const int64_t px = first + r;
    int16_t* dst = rows + r * lda;
    if (pointwise) {
      // A 1x1 stride-1 unpadded conv reads each pixel's channels in place.
      const T* src = input + px * g.in_c;
      for (int c = 0; c < k; ++c) dst[c] = convert(src[c]);
    } else {
      const int ox = static_cast<int>(px % g.out_w);
      const int oy = static_cast<int>((px / g.out_w) % g.out_h);
      const int b = static_cast<int>(px / (static_cast<int64_t>(g.out_w) * g.out_h));
      GatherPatch(g, input, b, oy, ox, dst, convert);
    }
    if (k % 2) dst[k] = 0;
  }
}

namespace {

// Rows per tile: the tile's gathered rows (tile * k_pairs * 2 int16) should stay in L2 next to
// one weight column block, and a tile is a multiple of the microkernel's rows.
int TileRows(const Int8GemmPlan& plan) {
  const int64_t row_bytes = static_cast<int64_t>(plan.k_pairs) * 4;
  int64_t rows = (64 * 1024) / std::max<int64_t>(row_bytes, 1);
  rows = std::clamp<int64_t>(rows, Int8GemmPlan::kMr * 4, 256);
  return static_cast<int>(rows / Int8GemmPlan::kMr * Int8GemmPlan::kMr);
}

}  // namespace

size_t Int8ConvScratchBytes(const Int8GemmPlan& plan, int threads) {
  return static_cast<size_t>(TileRows(plan)) * static_cast<size_t>(plan.k_pairs) * 2 *
         sizeof(int16_t) * static_cast<size_t>(std::max(threads, 1));
}

template <typename T>
void Conv2DInt8Gemm(const ConvGeometry& g, int32_t input_offset, const Int8GemmPlan& plan,
                    const T* input, const int32_t* bias, T* output, const rt::KernelContext& ctx) {
  const int64_t pixels = static_cast<int64_t>(g.batch) * g.out_h * g.out_w;
  const int threads = ctx.threads();
  int tile = TileRows(plan);
  // Fewer tiles than threads: smaller tiles, so that every thread has work.
  if (threads > 1 && pixels < static_cast<int64_t>(tile) * threads) {
    const int64_t per = (pixels + threads - 1) / threads;
    tile = static_cast<int>(std::max<int64_t>((per + 3) / 4 * 4, Int8GemmPlan::kMr));
  }
  const int64_t lda = static_cast<int64_t>(plan.k_pairs) * 2;
  const int64_t tiles = (pixels + tile - 1) / tile;
  auto* scratch = static_cast<int16_t*>(ctx.scratch());
  const int64_t per_thread = static_cast<int64_t>(TileRows(plan)) * lda;
  ctx.ParallelFor(tiles, [&](int64_t begin, int64_t end, int worker) {
    int16_t* rows = scratch + worker * per_thread;
    for (int64_t t = begin; t < end; ++t) {
      const int64_t first = t * tile;
      const int count = static_cast<int>(std::min<int64_t>(tile, pixels - first));
      GatherConvRows(g, input, input_offset, first, count, rows, lda);
      Int8GemmAvx2(plan, rows, lda, count, bias, output + first * g.out_c, g.out_c);
    }
  });
}

template void GatherConvRows(const ConvGeometry&, const int8_t*, int32_t, int64_t, int, int16_t*, int64_t);
template void GatherConvRows(const ConvGeometry&, const uint8_t*, int32_t, int64_t, int, int16_t*, int64_t);
template void Conv2DInt8Gemm(const ConvGeometry&, int32_t, const Int8GemmPlan&, const int8_t*,
                             const int32_t*, int8_t*, const rt::KernelContext&);
template void Conv2DInt8Gemm(const ConvGeometry&, int32_t, const Int8GemmPlan&, const uint8_t*,
                             const int32_t*, uint8_t*, const rt::KernelContext&);

}  // namespace ql::kern
