// EMG passes of kinemyo::metrics: periodogram windows, spectral moments, block sums of squares.

#include "kinemyo/metrics/emg.hpp"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <type_traits>
#include <vector>

#include "kinemyo/common/checks.hpp"

namespace kinemyo::metrics {

namespace {

// The per-sample kernels are templated on the channel count CC (0 = known only at run time): with a
// compile-time count the inner channel loop is unrolled into SIMD code with per-channel
// accumulators in registers. dispatch_channels() picks the instance for the usual counts.
template <class F>
void dispatch_channels(std::size_t c, F&& f) {
    switch (c) {
        case 1: f(std::integral_constant<std::size_t, 1>{}); break;
        case 2: f(std::integral_constant<std::size_t, 2>{}); break;
        case 4: f(std::integral_constant<std::size_t, 4>{}); break;
        case 8: f(std::integral_constant<std::size_t, 8>{}); break;
        case 16: f(std::integral_constant<std::size_t, 16>{}); break;
        default: f(std::integral_constant<std::size_t, 0>{}); break;
    }
}

constexpr std::size_t kMaxStackChannels = 16;

template <std::size_t CC, class T, class U>
void frames_kernel(const T* __restrict x, std::size_t c_rt, std::size_t nw, std::size_t step, std::size_t w0,
                   std::size_t n_frames, const double* __restrict taper, U* __restrict out) {
    const std::size_t c = CC ? CC : c_rt;
    std::vector<double> heap(CC ? 0 : 2 * c);
    double stack[2 * kMaxStackChannels];
    double* sum = CC ? stack : heap.data();
    double* mean = sum + c;
    const double inv = 1.0 / static_cast<double>(nw);
    std::vector<float> taperf(std::is_same_v<U, float> ? nw : 0);
    for (std::size_t i = 0; i < taperf.size(); ++i) taperf[i] = static_cast<float>(taper[i]);
    for (std::size_t w = 0; w < n_frames; ++w) {
        const T* __restrict src = x + (w0 + w) * step * c;
        U* __restrict dst = out + w * nw * c;
        // 1) per-channel sums (in double), one accumulator per channel along the rows
        for (std::size_t ch = 0; ch < c; ++ch) sum[ch] = 0.0;
        for (std::size_t i = 0; i < nw; ++i) {
            const T* r = src + i * c;
            for (std::size_t ch = 0; ch < c; ++ch) sum[ch] += static_cast<double>(r[ch]);
        }
        for (std::size_t ch = 0; ch < c; ++ch) mean[ch] = sum[ch] * inv;
        // 2) mean removed, taper applied; same layout as the input (contiguous reads and writes).
        //    float output: computed in float (4 lanes per SSE op; one rounding more than in double,
        //    below the float32 resolution of the output anyway).
        if constexpr (std::is_same_v<U, float> && std::is_same_v<T, float>) {
            float meanf[CC ? CC : 1];
            std::vector<float> heapf(CC ? 0 : c);
            float* mf = CC ? meanf : heapf.data();
            for (std::size_t ch = 0; ch < c; ++ch) mf[ch] = static_cast<float>(mean[ch]);
            for (std::size_t i = 0; i < nw; ++i) {
                const T* r = src + i * c;
                U* o = dst + i * c;
                const float tp = taperf[i];
                for (std::size_t ch = 0; ch < c; ++ch) o[ch] = (r[ch] - mf[ch]) * tp;
            }
        } else {
            for (std::size_t i = 0; i < nw; ++i) {
                const T* r = src + i * c;
                U* o = dst + i * c;
                const double tp = taper[i];
                for (std::size_t ch = 0; ch < c; ++ch) {
                    o[ch] = static_cast<U>((static_cast<double>(r[ch]) - mean[ch]) * tp);
                }
            }
        }
        // a non-finite mean (a NaN/inf sample in the window): the whole channel of the frame is NaN
        for (std::size_t ch = 0; ch < c; ++ch) {
            if (std::isfinite(mean[ch])) continue;
            for (std::size_t i = 0; i < nw; ++i) dst[i * c + ch] = std::numeric_limits<U>::quiet_NaN();
        }
    }
}

template <std::size_t CC, class T>
void block_ss_kernel(const T* __restrict x, std::size_t n, std::size_t c_rt, std::size_t d, double* __restrict out) {
    const std::size_t c = CC ? CC : c_rt;
    const std::size_t nb = (n + d - 1) / d;
    std::vector<double> heap(CC ? 0 : c);
    double stack[kMaxStackChannels];
    double* acc = CC ? stack : heap.data();
    for (std::size_t j = 0; j < nb; ++j) {
        for (std::size_t ch = 0; ch < c; ++ch) acc[ch] = 0.0;
        const std::size_t i1 = std::min(n, (j + 1) * d);
        for (std::size_t i = j * d; i < i1; ++i) {
            const T* row = x + i * c;
            for (std::size_t ch = 0; ch < c; ++ch) {
                const double v = static_cast<double>(row[ch]);
                acc[ch] += v * v;
            }
        }
        double* o = out + j * c;
        for (std::size_t ch = 0; ch < c; ++ch) o[ch] = acc[ch];
    }
}

}  // namespace

template <class T, class U>
void spectral_frames(const T* x, std::size_t n, std::size_t c, std::size_t nw, std::size_t step,
                     std::size_t w0, std::size_t n_frames, const double* taper, U* out) {
    detail::check_positive_count("nw", nw);
    detail::check_positive_count("step", step);
    detail::check_positive_count("c", c);
    if (n_frames == 0) return;
    // every frame within the signal: (w0 + n_frames - 1) step + nw <= n, checked without overflow
    // (the plain product wrapped around for huge w0 or step and let a frame start before x)
    const std::size_t last_start = nw <= n ? (n - nw) / step : 0;
    if (nw > n || w0 > last_start || n_frames - 1 > last_start - w0) {
        detail::fail_param("w0 + n_frames", "such that every frame ends within the signal (n = " +
                                               detail::to_str(n) + ")", w0 + n_frames);
    }
    dispatch_channels(c, [&](auto cc) {
        frames_kernel<decltype(cc)::value, T, U>(x, c, nw, step, w0, n_frames, taper, out);
    });
}

template <class T>
void spectral_moments(const std::complex<T>* spec, const SpectraLayout& L, std::size_t b0, std::size_t b1,
                      const double* freqs, double df, double* mnf, double* mdf) {
    if (!(b1 > b0 && b1 <= L.n_bins)) {
        detail::fail_param("b1", "in (b0, n_bins] = (" + detail::to_str(b0) + ", " + detail::to_str(L.n_bins) + "]",
                           b1);
    }
    const std::size_t nb = b1 - b0;
    const std::size_t c = L.n_channels;
    const double nan = std::numeric_limits<double>::quiet_NaN();
    std::vector<double> p(nb * c);  // power, [bin][channel]
    std::vector<double> tot(c);
    std::vector<double> fm(c);
    for (std::size_t w = 0; w < L.n_frames; ++w) {
        const std::complex<T>* sw = spec + static_cast<std::ptrdiff_t>(w) * L.frame_stride;
        std::fill(tot.begin(), tot.end(), 0.0);
        std::fill(fm.begin(), fm.end(), 0.0);
        // power and its first two moments; the channels are independent accumulators
        for (std::size_t k = 0; k < nb; ++k) {
            const std::complex<T>* sk = sw + static_cast<std::ptrdiff_t>(b0 + k) * L.bin_stride;
            const double f = freqs[k];
            double* pk = p.data() + k * c;
            for (std::size_t ch = 0; ch < c; ++ch) {
                const std::complex<T> z = sk[static_cast<std::ptrdiff_t>(ch) * L.channel_stride];
                const double re = static_cast<double>(z.real());
                const double im = static_cast<double>(z.imag());
                const double v = re * re + im * im;
                pk[ch] = v;
                tot[ch] += v;
                fm[ch] += f * v;
            }
        }
        for (std::size_t ch = 0; ch < c; ++ch) {
            const std::size_t o = w * c + ch;
            const double t = tot[ch];
            if (!(std::isfinite(t) && t > 0.0)) {
                mnf[o] = nan;
                mdf[o] = nan;
                continue;
            }
            mnf[o] = fm[ch] / t;
            // first bin at which the cumulative power reaches half the total
            const double half = 0.5 * t;
            double cum = 0.0, prev = 0.0;
            std::size_t j = 0;
            for (; j < nb; ++j) {
                prev = cum;
                cum += p[j * c + ch];
                if (cum >= half) break;
            }
            if (j == nb) {  // unreachable in exact arithmetic: the last bin completes the total
                j = nb - 1;
                cum = half;
            }
            const double frac = cum > prev ? (half - prev) / (cum - prev) : 0.0;
            mdf[o] = freqs[j] - 0.5 * df + frac * df;
        }
    }
}

template <class T>
void block_sum_squares(const T* x, std::size_t n, std::size_t c, std::size_t d, double* out) {
    detail::check_positive_count("d", d);
    detail::check_positive_count("c", c);
    dispatch_channels(c, [&](auto cc) { block_ss_kernel<decltype(cc)::value, T>(x, n, c, d, out); });
}

namespace {

template <std::size_t CC, class T>
void dec_rms_kernel(const T* x, std::size_t n, std::size_t c_rt, std::size_t d, std::size_t wb, T* __restrict out) {
    const std::size_t c = CC ? CC : c_rt;
    const std::size_t nb = (n + d - 1) / d;
    // cs[j * c + ch]: sum of the finite block sums of squares of blocks [0, j) (one array, built in
    // place: block sums first, then their prefix sums)
    std::vector<double> cs((nb + 1) * c);
    for (std::size_t ch = 0; ch < c; ++ch) cs[ch] = 0.0;
    block_ss_kernel<CC, T>(x, n, c, d, cs.data() + c);
    // non-finite blocks (rare): counted in a second prefix array, left out of the sums
    std::vector<std::uint32_t> bad;
    for (std::size_t i = c; i < cs.size(); ++i) {
        if (std::isfinite(cs[i])) continue;
        if (bad.empty()) bad.assign(cs.size(), 0);
        bad[i] = 1;
        cs[i] = 0.0;
    }
    for (std::size_t j = 1; j <= nb; ++j) {
        double* c1 = cs.data() + j * c;
        const double* c0 = c1 - c;
        for (std::size_t ch = 0; ch < c; ++ch) c1[ch] += c0[ch];
    }
    for (std::size_t i = c; i < bad.size(); ++i) bad[i] += bad[i - c];
    // window of blocks [j - hb, j - hb + wb): centred on sample j d - 1/2 for an even wb (the
    // full-rate centred window's centre is j d + 1/2), on j d + (d - 1)/2 for an odd one (half a
    // block); (wb - 1) / 2 for an even wb put the centre d - 1 samples late (review)
    const std::size_t hb = wb % 2 == 0 ? wb / 2 : (wb - 1) / 2;
    const std::size_t short_last = n % d == 0 ? 0 : d - n % d;  // samples missing from the last block
    for (std::size_t j = 0; j < nb; ++j) {
        const std::size_t lo = j > hb ? j - hb : 0;
        const std::size_t hi = std::min(nb, j + wb - hb);
        const double inv = 1.0 / static_cast<double>((hi - lo) * d - (hi == nb ? short_last : 0));
        const double* ch_hi = cs.data() + hi * c;
        const double* ch_lo = cs.data() + lo * c;
        T* o = out + j * c;
        for (std::size_t ch = 0; ch < c; ++ch) {
            o[ch] = static_cast<T>(std::sqrt(std::max((ch_hi[ch] - ch_lo[ch]) * inv, 0.0)));
        }
        if (!bad.empty()) {
            for (std::size_t ch = 0; ch < c; ++ch) {
                if (bad[hi * c + ch] != bad[lo * c + ch]) o[ch] = std::numeric_limits<T>::quiet_NaN();
            }
        }
    }
}

}  // namespace

template <class T>
void decimated_moving_rms(const T* x, std::size_t n, std::size_t c, std::size_t d, std::size_t wb, T* out) {
    detail::check_positive_count("d", d);
    detail::check_positive_count("c", c);
    detail::check_positive_count("wb", wb);
    if (n == 0) return;
    dispatch_channels(c, [&](auto cc) { dec_rms_kernel<decltype(cc)::value, T>(x, n, c, d, wb, out); });
}

template void decimated_moving_rms<float>(const float*, std::size_t, std::size_t, std::size_t, std::size_t, float*);
template void decimated_moving_rms<double>(const double*, std::size_t, std::size_t, std::size_t, std::size_t,
                                           double*);
template void spectral_frames<float, float>(const float*, std::size_t, std::size_t, std::size_t, std::size_t,
                                            std::size_t, std::size_t, const double*, float*);
template void spectral_frames<float, double>(const float*, std::size_t, std::size_t, std::size_t, std::size_t,
                                             std::size_t, std::size_t, const double*, double*);
template void spectral_frames<double, double>(const double*, std::size_t, std::size_t, std::size_t, std::size_t,
                                              std::size_t, std::size_t, const double*, double*);
template void spectral_moments<float>(const std::complex<float>*, const SpectraLayout&, std::size_t, std::size_t,
                                      const double*, double, double*, double*);
template void spectral_moments<double>(const std::complex<double>*, const SpectraLayout&, std::size_t, std::size_t,
                                       const double*, double, double*, double*);
template void block_sum_squares<float>(const float*, std::size_t, std::size_t, std::size_t, double*);
template void block_sum_squares<double>(const double*, std::size_t, std::size_t, std::size_t, double*);

}  // namespace kinemyo::metrics
