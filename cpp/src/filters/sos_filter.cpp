#include "kinemyo/filters/sos_filter.hpp"

#include <atomic>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <stdexcept>
#include <string>

#include "kinemyo/common/checks.hpp"

#if defined(__GNUC__)
#define KINEMYO_ALWAYS_INLINE inline __attribute__((always_inline))
#define KINEMYO_RESTRICT __restrict__
#else
#define KINEMYO_ALWAYS_INLINE inline
#define KINEMYO_RESTRICT
#endif

#if defined(__GNUC__) && (defined(__x86_64__) || defined(__i386__)) && !defined(__clang__)
#define KINEMYO_DISPATCH_AVX2 1
#include <immintrin.h>
#endif

namespace kinemyo::filters {
namespace {

constexpr std::size_t kBlock = 512;  // rows checked for non-finite values at once

constexpr int kMaxUnrolledSections = 8;
#ifndef KINEMYO_AVX2_PAIRS
#define KINEMYO_AVX2_PAIRS 4
#endif

namespace base {
// Portable 2 x double vector (GCC/Clang vector extension): one SSE2 register on baseline x86-64.
struct Ops {
    typedef double V __attribute__((vector_size(16)));
    static constexpr std::size_t W = 2;
    static constexpr int kMaxSectionsForPairs = 4;
    static inline V load(const double* p) {
        V v;
        std::memcpy(&v, p, sizeof(V));
        return v;
    }
    static inline V load(const float* p) {
        V v = {static_cast<double>(p[0]), static_cast<double>(p[1])};
        return v;
    }
    static inline void store(double* p, V v) { std::memcpy(p, &v, sizeof(V)); }
    static inline void store(float* p, V v) {
        p[0] = static_cast<float>(v[0]);
        p[1] = static_cast<float>(v[1]);
    }
    static inline V bcast(double v) { return V{v, v}; }
    static inline V fma(V a, V b, V c) { return a * b + c; }
    static inline V fnma(V a, V b, V c) { return c - a * b; }
    static inline V mul(V a, V b) { return a * b; }
};

#include "sos_kernel.inc"
}  // namespace base

template <class T>
void rows_base(const double* coef, std::size_t S, double* z, const T* x, T* y, std::size_t n,
               std::size_t C, std::ptrdiff_t stride, double* work) {
    base::blocked_rows<T>(coef, S, z, x, y, n, C, stride, work);
}

#ifdef KINEMYO_DISPATCH_AVX2
#pragma GCC push_options
#pragma GCC target("avx2,fma")
namespace avx2 {
// 4 x double in one AVX register, with fused multiply-add.
struct Ops {
    using V = __m256d;
    static constexpr std::size_t W = 4;
    static constexpr int kMaxSectionsForPairs = KINEMYO_AVX2_PAIRS;
    static inline V load(const double* p) { return _mm256_loadu_pd(p); }
    static inline V load(const float* p) { return _mm256_cvtps_pd(_mm_loadu_ps(p)); }
    static inline void store(double* p, V v) { _mm256_storeu_pd(p, v); }
    static inline void store(float* p, V v) { _mm_storeu_ps(p, _mm256_cvtpd_ps(v)); }
    static inline V bcast(double v) { return _mm256_set1_pd(v); }
    static inline V fma(V a, V b, V c) { return _mm256_fmadd_pd(a, b, c); }
    static inline V fnma(V a, V b, V c) { return _mm256_fnmadd_pd(a, b, c); }
    static inline V mul(V a, V b) { return _mm256_mul_pd(a, b); }
};
#include "sos_kernel.inc"
}  // namespace avx2

template <class T>
void rows_avx2(const double* coef, std::size_t S, double* z, const T* x, T* y, std::size_t n,
               std::size_t C, std::ptrdiff_t stride, double* work) {
    avx2::blocked_rows<T>(coef, S, z, x, y, n, C, stride, work);
}
#pragma GCC pop_options

#pragma GCC push_options
#pragma GCC target("avx512f")
namespace avx512 {
// 8 x double in one AVX-512 register; 32 registers hold the state of 16 channels of up to 4 sections.
struct Ops {
    using V = __m512d;
    static constexpr std::size_t W = 8;
    static constexpr int kMaxSectionsForPairs = 6;
    static inline V load(const double* p) { return _mm512_loadu_pd(p); }
    static inline V load(const float* p) { return _mm512_maskz_cvtps_pd(0xFF, _mm256_loadu_ps(p)); }
    static inline void store(double* p, V v) { _mm512_storeu_pd(p, v); }
    static inline void store(float* p, V v) {
        // zero-masked forms: the plain conversions trip -Wmaybe-uninitialized in GCC 12 headers
        _mm256_storeu_ps(p, _mm512_maskz_cvtpd_ps(0xFF, v));
    }
    static inline V bcast(double v) { return _mm512_set1_pd(v); }
    static inline V fma(V a, V b, V c) { return _mm512_fmadd_pd(a, b, c); }
    static inline V fnma(V a, V b, V c) { return _mm512_fnmadd_pd(a, b, c); }
    static inline V mul(V a, V b) { return _mm512_mul_pd(a, b); }
};
#include "sos_kernel.inc"
}  // namespace avx512

template <class T>
void rows_avx512(const double* coef, std::size_t S, double* z, const T* x, T* y, std::size_t n,
                 std::size_t C, std::ptrdiff_t stride, double* work) {
    avx512::blocked_rows<T>(coef, S, z, x, y, n, C, stride, work);
}
#pragma GCC pop_options

std::atomic<int> g_max_level{2};

// 0: baseline x86-64 (SSE2), 1: AVX2 + FMA, 2: AVX-512F — the best the CPU has, capped by
// set_max_simd_level (tests) and by the environment variable KINEMYO_MAX_SIMD (0, 1 or 2).
int cpu_level() {
    static const int level = [] {
        __builtin_cpu_init();
        int l = 0;
        if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) l = 1;
        if (l == 1 && __builtin_cpu_supports("avx512f")) l = 2;
        if (const char* env = std::getenv("KINEMYO_MAX_SIMD")) {
            const int cap = std::atoi(env);
            if (cap >= 0 && cap < l) l = cap;
        }
        return l;
    }();
    return level;
}

int active_level() { return std::min(cpu_level(), g_max_level.load(std::memory_order_relaxed)); }
#endif

template <class T>
void run_rows(const double* coef, std::size_t S, double* z, const T* x, T* y, std::size_t n,
              std::size_t C, std::ptrdiff_t stride, double* work) {
#ifdef KINEMYO_DISPATCH_AVX2
    const int level = active_level();
    if (level >= 2 && C >= 8) {
        rows_avx512<T>(coef, S, z, x, y, n, C, stride, work);
        return;
    }
    if (level >= 1) {
        rows_avx2<T>(coef, S, z, x, y, n, C, stride, work);
        return;
    }
#endif
    rows_base<T>(coef, S, z, x, y, n, C, stride, work);
}

// True if every value of x[0..count) is finite: x * 0 is 0 for finite x and NaN otherwise.
template <class T>
bool all_finite(const T* x, std::size_t count) {
    T acc = T(0);
    for (std::size_t i = 0; i < count; ++i) acc += x[i] * T(0);
    return acc == T(0);
}

}  // namespace

template <class T>
SosFilter<T>::SosFilter(const SosFilterParams& params) : params_(params), n_channels_(params.n_channels) {
    detail::check_positive_count("n_channels", n_channels_);
    params_.sos = validate_sos(params.sos);
    for (const auto& s : params_.sos) {
        coef_.insert(coef_.end(), {s[0], s[1], s[2], s[4], s[5]});
    }
    if (params_.init == InitMode::steady) zi_ = sosfilt_zi(params_.sos);
    z_.assign(params_.sos.size() * 2 * n_channels_, 0.0);
    primed_.assign(n_channels_, params_.init == InitMode::steady ? 0 : 1);
    nonfinite_.assign(n_channels_, 0);
    work_.assign(n_channels_, 0.0);
}

template <class T>
void SosFilter<T>::reset() {
    std::fill(z_.begin(), z_.end(), 0.0);
    std::fill(primed_.begin(), primed_.end(), params_.init == InitMode::steady ? 0 : 1);
    std::fill(nonfinite_.begin(), nonfinite_.end(), 0);
}

template <class T>
void SosFilter<T>::prime(const T* row) {
    const std::size_t C = n_channels_;
    for (std::size_t c = 0; c < C; ++c) {
        if (primed_[c]) continue;
        const double v = static_cast<double>(row[c]);
        if (!std::isfinite(v)) continue;
        for (std::size_t s = 0; s < zi_.size(); ++s) {
            z_[2 * s * C + c] = zi_[s][0] * v;
            z_[(2 * s + 1) * C + c] = zi_[s][1] * v;
        }
        primed_[c] = 1;
    }
}

template <class T>
void SosFilter<T>::process(const T* x, T* y, std::size_t n_samples) {
    process_rows(x, y, n_samples, static_cast<std::ptrdiff_t>(n_channels_));
}

template <class T>
void SosFilter<T>::process_rows(const T* x, T* y, std::size_t n_samples, std::ptrdiff_t stride) {
    const std::size_t C = n_channels_;
    const std::size_t S = params_.sos.size();
    std::size_t t = 0;
    while (t < n_samples) {
        const std::size_t n = std::min(kBlock, n_samples - t);
        const T* xb = x + static_cast<std::ptrdiff_t>(t) * stride;
        T* yb = y + static_cast<std::ptrdiff_t>(t) * stride;
        // The n rows of this block occupy one contiguous span whichever way they are walked.
        const T* lo = stride >= 0 ? xb : xb + static_cast<std::ptrdiff_t>(n - 1) * stride;
        bool primed = true;
        if (!zi_.empty()) {
            for (std::size_t c = 0; c < C && primed; ++c) primed = primed_[c] != 0;
        }
        if (primed && all_finite(lo, n * C)) {
            run_rows<T>(coef_.data(), S, z_.data(), xb, yb, n, C, stride, work_.data());
            t += n;
            continue;
        }
        // Slow path, one row at a time: priming and/or non-finite samples in this block.
        for (std::size_t r = 0; r < n; ++r) {
            const T* xr = xb + static_cast<std::ptrdiff_t>(r) * stride;
            T* yr = yb + static_cast<std::ptrdiff_t>(r) * stride;
            if (!zi_.empty()) prime(xr);
            if (all_finite(xr, C)) {
                bool row_primed = true;
                for (std::size_t c = 0; c < C; ++c) row_primed = row_primed && primed_[c];
                if (row_primed) {
                    run_rows<T>(coef_.data(), S, z_.data(), xr, yr, 1, C, stride, work_.data());
                    continue;
                }
            }
            // Per channel: held state and NaN output where the sample is non-finite.
            for (std::size_t c = 0; c < C; ++c) {
                const double v = static_cast<double>(xr[c]);
                if (!std::isfinite(v)) {
                    ++nonfinite_[c];
                    yr[c] = std::numeric_limits<T>::quiet_NaN();
                    continue;
                }
                double cur = v;
                for (std::size_t s = 0; s < S; ++s) {
                    const double* k = coef_.data() + 5 * s;
                    double& z0 = z_[2 * s * C + c];
                    double& z1 = z_[(2 * s + 1) * C + c];
                    const double yo = k[0] * cur + z0;
                    z0 = k[1] * cur - k[3] * yo + z1;
                    z1 = k[2] * cur - k[4] * yo;
                    cur = yo;
                }
                yr[c] = static_cast<T>(cur);
            }
        }
        t += n;
    }
}

template <class T>
StateRecord SosFilter<T>::get_state() const {
    StateRecord s;
    s["z"] = z_;
    s["primed"] = std::vector<double>(primed_.begin(), primed_.end());
    s["n_nonfinite"] = std::vector<double>(nonfinite_.begin(), nonfinite_.end());
    return s;
}

template <class T>
void SosFilter<T>::set_state(const StateRecord& state) {
    const auto& z = detail::state_field(state, "z", z_.size());
    const auto& primed = detail::state_field(state, "primed", n_channels_);
    const auto& nf = detail::state_field(state, "n_nonfinite", n_channels_);
    z_ = z;
    for (std::size_t c = 0; c < n_channels_; ++c) {
        primed_[c] = primed[c] != 0.0 ? 1 : 0;
        nonfinite_[c] = static_cast<std::int64_t>(nf[c]);
    }
}

template <class T>
void sosfilt(const Sos& sos, const T* x, T* y, std::size_t n_samples, std::size_t n_channels) {
    SosFilter<T> f(SosFilterParams{sos, n_channels, InitMode::zero});
    f.process(x, y, n_samples);
}

template <class T>
void sosfiltfilt(const Sos& sos_in, const T* x, T* y, std::size_t n_samples, std::size_t C,
                 std::size_t padlen) {
    if (n_samples <= padlen) {
        throw std::invalid_argument("x must have more than padlen = " + std::to_string(padlen) +
                                    " samples along axis 0 for sosfiltfilt; got " +
                                    std::to_string(n_samples));
    }
    const Sos sos = validate_sos(sos_in);
    const auto zi = sosfilt_zi(sos);
    const std::size_t S = sos.size();
    const std::size_t n = n_samples;
    const T nan = std::numeric_limits<T>::quiet_NaN();
    auto finite = [](T v) { return std::isfinite(static_cast<double>(v)); };
    SosFilter<T> f(SosFilterParams{sos, C, InitMode::zero});
    // Delays in the steady state of seed[c] per channel.
    auto set_initial = [&](const std::vector<double>& seed) {
        StateRecord st = f.get_state();
        auto& z = st["z"];
        for (std::size_t s = 0; s < S; ++s) {
            for (std::size_t c = 0; c < C; ++c) {
                z[2 * s * C + c] = zi[s][0] * seed[c];
                z[(2 * s + 1) * C + c] = zi[s][1] * seed[c];
            }
        }
        f.set_state(st);
    };
    // Non-finite samples ("hold" policy). Each channel's odd extensions are built around its first
    // (f0) and last (f1) finite samples, so leading / trailing non-finite samples are held like any
    // other and the result on x[f0..f1] is SciPy's on that span. A pad sample whose mirror is
    // non-finite (or outside [f0, f1]) is itself non-finite, i.e. held. The delays are seeded
    // from the first finite sample each pass meets, never from a non-finite one.
    // Everything that reads x is done before y is written, since y may alias x.
    std::vector<std::size_t> f0(C, n), f1(C, n);  // n: the channel has no finite sample
    for (std::size_t c = 0; c < C; ++c) {
        for (std::size_t t = 0; t < n; ++t) {
            if (finite(x[t * C + c])) { f0[c] = t; break; }
        }
        if (f0[c] == n) continue;
        for (std::size_t t = n; t-- > f0[c];) {
            if (finite(x[t * C + c])) { f1[c] = t; break; }
        }
    }
    // head[i] = 2 x[f0] - x[f0 + padlen - i], tail[i] = 2 x[f1] - x[f1 - 1 - i], i = 0..padlen-1
    // (with no non-finite samples: f0 = 0, f1 = n - 1, SciPy's odd extension).
    std::vector<T> head(padlen * C), tail(padlen * C);
    for (std::size_t i = 0; i < padlen; ++i) {
        for (std::size_t c = 0; c < C; ++c) {
            T h = nan, tl = nan;
            if (f0[c] < n) {
                const std::size_t mh = f0[c] + padlen - i;
                if (mh <= f1[c] && finite(x[mh * C + c])) {
                    h = static_cast<T>(T(2) * x[f0[c] * C + c] - x[mh * C + c]);
                }
                if (f1[c] >= f0[c] + 1 + i) {
                    const std::size_t mt = f1[c] - 1 - i;
                    if (finite(x[mt * C + c])) tl = static_cast<T>(T(2) * x[f1[c] * C + c] - x[mt * C + c]);
                }
            }
            head[i * C + c] = h;
            tail[i * C + c] = tl;
        }
    }
    // Forward seed: the first finite value of [head | x] per channel (head[0] without drop-outs).
    std::vector<double> seed(C, 0.0);
    for (std::size_t c = 0; c < C; ++c) {
        if (f0[c] == n) continue;
        seed[c] = static_cast<double>(x[f0[c] * C + c]);
        for (std::size_t i = 0; i < padlen; ++i) {
            if (finite(head[i * C + c])) { seed[c] = static_cast<double>(head[i * C + c]); break; }
        }
    }
    set_initial(seed);
    std::vector<T> scratch(padlen * C);
    f.process(head.data(), scratch.data(), padlen);
    f.process(x, y, n);
    f.process(tail.data(), tail.data(), padlen);
    // Backward pass, seeded with the first finite forward output met walking back from the end.
    for (std::size_t c = 0; c < C; ++c) {
        seed[c] = 0.0;
        bool found = false;
        for (std::size_t i = padlen; i-- > 0 && !found;) {
            const T v = tail[i * C + c];
            if (finite(v)) { seed[c] = static_cast<double>(v); found = true; }
        }
        for (std::size_t t = n; t-- > 0 && !found;) {
            const T v = y[t * C + c];
            if (finite(v)) { seed[c] = static_cast<double>(v); found = true; }
        }
    }
    f.reset();
    set_initial(seed);
    const auto back = -static_cast<std::ptrdiff_t>(C);
    if (padlen > 0) {
        T* tl = tail.data() + (padlen - 1) * C;
        f.process_rows(tl, tl, padlen, back);
    }
    T* yl = y + (n - 1) * C;
    f.process_rows(yl, yl, n, back);
}

int simd_level() noexcept {
#ifdef KINEMYO_DISPATCH_AVX2
    return active_level();
#else
    return 0;
#endif
}

void set_max_simd_level(int level) noexcept {
#ifdef KINEMYO_DISPATCH_AVX2
    g_max_level.store(level < 0 ? 0 : level, std::memory_order_relaxed);
#else
    (void)level;
#endif
}

template class SosFilter<float>;
template class SosFilter<double>;
template void sosfilt<float>(const Sos&, const float*, float*, std::size_t, std::size_t);
template void sosfilt<double>(const Sos&, const double*, double*, std::size_t, std::size_t);
template void sosfiltfilt<float>(const Sos&, const float*, float*, std::size_t, std::size_t, std::size_t);
template void sosfiltfilt<double>(const Sos&, const double*, double*, std::size_t, std::size_t, std::size_t);

}  // namespace kinemyo::filters
