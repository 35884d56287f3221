// Internal to the classic filters (madgwick.cpp, classic.cpp): small per-sample helpers and
// state accessors shared by Madgwick, Mahony and Complementary. Not installed.
#pragma once

#include <cmath>
#include <cstddef>
#include <limits>
#include <string>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include "kinemyo/common/checks.hpp"
#include "kinemyo/fusion/classic.hpp"

#if defined(__GNUC__) && !defined(__clang__) && (defined(__x86_64__) || defined(__i386__))
#define KINEMYO_FUSION_DISPATCH 1
#define KINEMYO_FUSION_INLINE inline __attribute__((always_inline))
#else
#define KINEMYO_FUSION_INLINE inline
#endif

namespace kinemyo::fusion::classic_detail {

/// 1 / sqrt(u) and 1 / sqrt(v) with one packed square root and one packed division where SSE2
/// is available (baseline on x86-64; the same IEEE results as the scalar form): the divider is
/// shared by every square root and division of the loop and limits its throughput.
KINEMYO_FUSION_INLINE void inv_sqrt2(double u, double v, double& ru, double& rv) noexcept {
#if defined(__SSE2__)
    const __m128d r = _mm_div_pd(_mm_set1_pd(1.0), _mm_sqrt_pd(_mm_set_pd(v, u)));
    ru = _mm_cvtsd_f64(r);
    rv = _mm_cvtsd_f64(_mm_unpackhi_pd(r, r));
#else
    ru = 1.0 / std::sqrt(u);
    rv = 1.0 / std::sqrt(v);
#endif
}

/// Squared norm of a 3-vector and whether it can be normalised (finite and non-zero; false for
/// NaN): the per-sample validity test of the accelerometer and magnetometer.
KINEMYO_FUSION_INLINE bool norm2_ok(const double* v, double& n2) noexcept {
    n2 = v[0] * v[0] + v[1] * v[1] + v[2] * v[2];
    return n2 > 0.0 && n2 <= std::numeric_limits<double>::max();
}

inline void store_q(double* out, std::size_t i, const Quat& q) {
    for (std::size_t k = 0; k < 4; ++k) out[4 * i + k] = q[k];
}
inline void store_v(double* out, std::size_t i, const Vec3& v) {
    if (out) for (std::size_t k = 0; k < 3; ++k) out[3 * i + k] = v[k];
}
inline void check_gain(const char* name, double v) {
    if (!(std::isfinite(v) && v >= 0.0)) kinemyo::detail::fail_param(name, "a finite value >= 0", v);
}
inline Quat get_q(const StateRecord& s, const std::string& k) {
    const auto& v = kinemyo::detail::state_field(s, k, 4);
    return {v[0], v[1], v[2], v[3]};
}
inline Vec3 get_v(const StateRecord& s, const std::string& k) {
    const auto& v = kinemyo::detail::state_field(s, k, 3);
    return {v[0], v[1], v[2]};
}
inline std::string vec_str(const double* v, std::size_t n) {
    std::string r = "[";
    for (std::size_t i = 0; i < n; ++i) r += (i ? ", " : "") + kinemyo::detail::to_str(v[i]);
    return r + "]";
}
/// A gyroscope bias (rad/s) must be finite with norm below kMaxRate: a larger one would make every
/// bias-corrected rate implausible. @throws std::invalid_argument naming `name`.
inline Vec3 check_bias(const char* name, const Vec3& b) {
    if (!(detail::finite3(b.data()) && detail::norm3(b.data()) < kMaxRate)) {
        kinemyo::detail::fail_param(name, "a finite gyroscope bias (rad/s) with norm < 1000 (the maximum rate)",
                                    vec_str(b.data(), 3));
    }
    return b;
}
/// The orientation of a state record: finite and non-zero (else std::invalid_argument), normalised
/// like `q0` when its norm is not 1 (a quaternion read from get_state is kept bit for bit).
inline Quat get_unit_q(const StateRecord& s, const std::string& k) {
    const Quat q = get_q(s, k);
    const double n = kinemyo::quaternion::norm(q);  // as detail::check_q0 for q0
    if (!(std::isfinite(n) && n > 0.0)) {
        kinemyo::detail::fail_param("state['" + k + "']", "a finite non-zero quaternion (w, x, y, z)",
                                    vec_str(q.data(), 4));
    }
    if (std::fabs(n - 1.0) <= 1e-12) return q;
    return kinemyo::quaternion::normalized(q);
}

}  // namespace kinemyo::fusion::classic_detail
