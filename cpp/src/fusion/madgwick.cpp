// Madgwick's gradient-descent filter (6D and 9D), in its own file: it is compiled with
// -fno-math-errno and -ffp-contract=off (cpp/CMakeLists.txt) and its loop twice, for baseline
// x86-64 and for AVX-512F, chosen at run time.
#include <cmath>
#include <cstdint>

#include "classic_common.hpp"
#include "kinemyo/filters/sos_filter.hpp"  // simd_level(): the instruction set chosen for this process

namespace kinemyo::fusion {

namespace qn = kinemyo::quaternion;
using namespace classic_detail;

// ------------------------------------------------------------------------------------- Madgwick

Madgwick::Madgwick(const MadgwickParams& p) : p_(p) {
    detail::check_fusion_fs(p.fs);
    check_gain("beta", p.beta);
    p_.q0 = detail::check_q0(p.q0);
    q_init_ = qn::mul(qn::conj(kNwuToEnu), p_.q0);
    reset();
}

namespace {

/// Madgwick's 6D correction (gravity only) from the predicted step p = q + dt qdot: the
/// objective function and its Jacobian, Madgwick 2011 eqs. (25)-(26). False when the gradient
/// is zero (nothing written).
KINEMYO_FUSION_INLINE bool madgwick_acc_step(double& w, double& x, double& y, double& z, double qd0, double qd1, double qd2,
                              double qd3, double ax, double ay, double az, double beta, double dt) noexcept {
    const double f1 = 2.0 * (x * z - w * y) - ax;
    const double f2 = 2.0 * (w * x + y * z) - ay;
    const double f3 = 2.0 * (0.5 - x * x - y * y) - az;
    const double gr0 = -2.0 * y * f1 + 2.0 * x * f2;
    const double gr1 = 2.0 * z * f1 + 2.0 * w * f2 - 4.0 * x * f3;
    const double gr2 = -2.0 * w * f1 + 2.0 * z * f2 - 4.0 * y * f3;
    const double gr3 = 2.0 * x * f1 + 2.0 * y * f2;
    const double fn2 = f1 * f1 + f2 * f2 + f3 * f3;
    const double gn2 = gr0 * gr0 + gr1 * gr1 + gr2 * gr2 + gr3 * gr3;
    if (!(fn2 > 0.0 && gn2 > 0.0)) return false;
    // q + dt (qdot_gyr - k gr), k = beta / |gr|; its squared norm is
    // |p|^2 - 2 dt k (p . gr) + (dt beta)^2 with p = q + dt qdot_gyr, so the final
    // normalisation needs no second pass over the updated quaternion
    const double p0 = w + qd0 * dt, p1 = x + qd1 * dt, p2 = y + qd2 * dt, p3 = z + qd3 * dt;
    const double pp = p0 * p0 + p1 * p1 + p2 * p2 + p3 * p3;
    const double pg = p0 * gr0 + p1 * gr1 + p2 * gr2 + p3 * gr3;
    const double kdt = beta * dt / std::sqrt(gn2);
    const double inv = 1.0 / std::sqrt(pp - 2.0 * kdt * pg + beta * beta * dt * dt);
    w = (p0 - kdt * gr0) * inv;
    x = (p1 - kdt * gr1) * inv;
    y = (p2 - kdt * gr2) * inv;
    z = (p3 - kdt * gr3) * inv;
    return true;
}

/// Madgwick's 9D correction (gravity and magnetic field), eqs. (29)-(34), with a, m normalised.
///
/// Written for a short chain from one sample's quaternion to the next (the loop is serial in
/// time). The step carries its result unnormalised: n = q |n| with 1 / |n|^2 = it, and the unit
/// q = n sqrt(it) alongside. The field's rotation uses the homogeneous rotation matrix
/// R_h(n) = |n|^2 R(q), so h = R(q) m = it R_h(n) m and the horizontal norm bx = |h_xy| =
/// it |(R_h(n) m)_xy|: its square root is taken on n, while the previous step's division and
/// square root are still running, instead of after them. Every term that does not depend on bx is
/// formed while its root is computed, and the two normalisations (of the gradient and of the
/// corrected step) are merged into one: the next n = p |gr| - dt beta gr, whose squared norm
/// |gr|^2 (|p|^2 + (dt beta)^2) - 2 dt beta (p . gr) |gr| is known without summing its squares,
/// i.e. the same quantity as (p - dt beta gr / |gr|) normalised. False when the gradient is zero
/// (nothing written).
KINEMYO_FUSION_INLINE bool madgwick_marg_step(double& n0, double& n1, double& n2, double& n3, double& it, double& w, double& x,
                               double& y, double& z, const double* gyr, double ax, double ay, double az,
                               double mx, double my, double mz, double beta, double dt) noexcept {
    // the field in the earth frame on the unnormalised n: the critical chain to its square root
    const double nww = n0 * n0, nxx = n1 * n1, nyy = n2 * n2, nzz = n3 * n3;
    const double nxy = n1 * n2, nxz = n1 * n3, nyz = n2 * n3, nwx = n0 * n1, nwy = n0 * n2, nwz = n0 * n3;
    const double h00 = (nww + nxx) - (nyy + nzz), h01 = 2.0 * (nxy - nwz), h02 = 2.0 * (nxz + nwy);
    const double h10 = 2.0 * (nxy + nwz), h11 = (nww - nxx) + (nyy - nzz), h12 = 2.0 * (nyz - nwx);
    const double hxh = (h00 * mx + h01 * my) + h02 * mz;
    const double hyh = (h10 * mx + h11 * my) + h12 * mz;
    const double sh = std::sqrt(hxh * hxh + hyh * hyh);  // |(R_h(n) m)_xy|
    // rotation matrix R(q) = it R_h(n) (sensor -> earth), as in the objective function, and
    // h_z = R(q)_2 . m (eq. 45), folded into the x-z plane (eq. 46): also formed on n
    const double h20 = 2.0 * (nxz - nwy), h21 = 2.0 * (nyz + nwx), h22 = (nww - nxx) - (nyy - nzz);
    const double r00 = it * h00, r01 = it * h01, r02 = it * h02;
    const double r20 = it * h20, r21 = it * h21, r22 = it * h22;
    const double bz = it * ((h20 * mx + h21 * my) + h22 * mz);
    // gravity part of the objective function and of the gradient (eqs. 25-26)
    const double f1 = r20 - ax, f2 = r21 - ay, f3 = r22 - az;
    const double x2 = 2.0 * x, y2 = 2.0 * y, z2 = 2.0 * z, w2 = 2.0 * w;
    const double ga0 = -y2 * f1 + x2 * f2;
    const double ga1 = (z2 * f1 + w2 * f2) - 2.0 * x2 * f3;
    const double ga2 = (-w2 * f1 + z2 * f2) - 2.0 * y2 * f3;
    const double ga3 = x2 * f1 + y2 * f2;
    // field part: f_m = bx R^T e_x + bz R^T e_z - m (eq. 31), split into bx-terms and the rest
    const double v4 = bz * r20 - mx, v5 = bz * r21 - my, v6 = bz * r22 - mz;
    const double bz2 = 2.0 * bz;
    // Jacobian rows (eq. 32) without their bx-terms
    const double c00 = -bz2 * y, c01 = bz2 * x, c10 = bz2 * z, c11 = bz2 * w, c12 = -2.0 * bz2 * x;
    const double c20 = -bz2 * w, c21 = bz2 * z, c22 = -2.0 * bz2 * y, c30 = bz2 * x, c31 = bz2 * y;
    // p = q + dt/2 q (x) (0, g): the gyroscope's step (eq. 12-13)
    const double gx = 0.5 * dt * gyr[0], gy = 0.5 * dt * gyr[1], gz = 0.5 * dt * gyr[2];
    const double p0 = w - ((x * gx + y * gy) + z * gz), p1 = x + ((w * gx + y * gz) - z * gy);
    const double p2 = y + ((w * gy - x * gz) + z * gx), p3 = z + ((w * gz + x * gy) - y * gx);
    const double bdt = beta * dt;
    const double ppb = (p0 * p0 + p1 * p1) + (p2 * p2 + p3 * p3) + bdt * bdt;
    // ---- from here on everything waits for bx
    const double bx = sh * it;
    const double f4 = bx * r00 + v4, f5 = bx * r01 + v5, f6 = bx * r02 + v6;
    const double bxw = bx * w2, bxx = bx * x2, bxy = bx * y2, bxz = bx * z2;
    const double gr0 = (ga0 + c00 * f4) + ((c01 - bxz) * f5 + bxy * f6);
    const double gr1 = (ga1 + c10 * f4) + ((c11 + bxy) * f5 + (c12 + bxz) * f6);
    const double gr2 = (ga2 + (c20 - (bxy + bxy)) * f4) + ((c21 + bxx) * f5 + (c22 + bxw) * f6);
    const double gr3 = (ga3 + (c30 - (bxz + bxz)) * f4) + ((c31 - bxw) * f5 + bxx * f6);
    const double gn2 = (gr0 * gr0 + gr1 * gr1) + (gr2 * gr2 + gr3 * gr3);
    // gn2 > 0 implies f != 0 (all terms are finite). Below 1e-100 the merged form is not used:
    // the next step squares n (|n|^2 ~ gn2) and then its field terms again, which would underflow
    // (and the merged reciprocal overflow further down); take the two normalisations one after the
    // other and carry n = q, it = 1 instead
    if (!(gn2 > 1e-100)) {
        if (!(gn2 > 0.0)) return false;
        const double pp = ppb - bdt * bdt;
        const double pg = p0 * gr0 + p1 * gr1 + p2 * gr2 + p3 * gr3;
        const double kdt = bdt / std::sqrt(gn2);
        const double inv = 1.0 / std::sqrt(pp - 2.0 * kdt * pg + bdt * bdt);
        w = (p0 - kdt * gr0) * inv;
        x = (p1 - kdt * gr1) * inv;
        y = (p2 - kdt * gr2) * inv;
        z = (p3 - kdt * gr3) * inv;
        n0 = w, n1 = x, n2 = y, n3 = z, it = 1.0;
        return true;
    }
    const double pg2 = 2.0 * bdt * ((p0 * gr0 + p1 * gr1) + (p2 * gr2 + p3 * gr3));
    const double g = std::sqrt(gn2);
    n0 = p0 * g - bdt * gr0;
    n1 = p1 * g - bdt * gr1;
    n2 = p2 * g - bdt * gr2;
    n3 = p3 * g - bdt * gr3;
    const double t = gn2 * ppb - pg2 * g;  // |n|^2
    it = 1.0 / t;
    const double r = it * std::sqrt(t);  // 1 / sqrt(t): division and root in parallel
    w = n0 * r;
    x = n1 * r;
    y = n2 * r;
    z = n3 * r;
    return true;
}

/// The Madgwick loop (6D and 9D) over n samples from the state q (internal NWU frame) and the
/// 9D step's (n, it) (see madgwick_marg_step), both updated.
KINEMYO_FUSION_INLINE void madgwick_loop(double* qs, double* ns, double fs, double beta, const double* gyr, const double* acc,
                                         const double* mag, std::size_t n, double* q_out, double* bias_out,
                                         std::uint8_t* flags_out) noexcept {
    // One tight loop with the state in registers: no temporaries, exact reciprocal square roots
    // (1 / std::sqrt, or sqrt and reciprocal in parallel), validity tests on squared norms
    // (false for NaN).
    const double dt = 1.0 / fs;
    constexpr double c = 0.70710678118654752440;  // kNwuToEnu = (c, 0, 0, c)
    constexpr double kMax2 = kMaxRate * kMaxRate;
    double w = qs[0], x = qs[1], y = qs[2], z = qs[3];
    // the 9D step's unnormalised result n and 1 / |n|^2 (see madgwick_marg_step); every other
    // step leaves n = q, it = 1
    double n0 = ns[0], n1 = ns[1], n2 = ns[2], n3 = ns[3], it = ns[4];
    for (std::size_t i = 0; i < n; ++i) {
        const double* g = gyr + 3 * i;
        const double* a = acc + 3 * i;
        std::uint8_t flags = 0;
        const double g2 = g[0] * g[0] + g[1] * g[1] + g[2] * g[2];
        if (g2 < kMax2) {
            double an2 = 0.0;
            const bool acc_ok = norm2_ok(a, an2);
            bool mag_ok = false;
            bool stepped = false;  // the corrected step, already normalised
            double ia = 0.0;
            if (acc_ok) {
                if (mag != nullptr) {
                    const double* m = mag + 3 * i;
                    double mn2 = 0.0;
                    mag_ok = norm2_ok(m, mn2);
                    double im = 0.0;
                    inv_sqrt2(an2, mn2, ia, im);
                    if (mag_ok) {
                        stepped = madgwick_marg_step(n0, n1, n2, n3, it, w, x, y, z, g, a[0] * ia, a[1] * ia, a[2] * ia, m[0] * im,
                                                     m[1] * im, m[2] * im, beta, dt);
                    }
                } else {
                    ia = 1.0 / std::sqrt(an2);
                }
            }
            if (!acc_ok) flags |= kAccSkipped;
            if (!mag_ok) flags |= kMagSkipped;
            if (!stepped) {
                // rate of change from the gyroscope: 0.5 q (x) (0, g)
                const double qd0 = 0.5 * (-x * g[0] - y * g[1] - z * g[2]);
                const double qd1 = 0.5 * (w * g[0] + y * g[2] - z * g[1]);
                const double qd2 = 0.5 * (w * g[1] - x * g[2] + z * g[0]);
                const double qd3 = 0.5 * (w * g[2] + x * g[1] - y * g[0]);
                if (acc_ok && !mag_ok) {
                    stepped = madgwick_acc_step(w, x, y, z, qd0, qd1, qd2, qd3, a[0] * ia, a[1] * ia, a[2] * ia, beta, dt);
                }
                if (!stepped) {
                    w += qd0 * dt;
                    x += qd1 * dt;
                    y += qd2 * dt;
                    z += qd3 * dt;
                    const double inv = 1.0 / std::sqrt(w * w + x * x + y * y + z * z);
                    w *= inv;
                    x *= inv;
                    y *= inv;
                    z *= inv;
                }
                n0 = w, n1 = x, n2 = y, n3 = z, it = 1.0;
            }
        } else {
            flags = kGyrSkipped | kAccSkipped | kMagSkipped;
        }
        double* qo = q_out + 4 * i;
        qo[0] = c * (w - z);
        qo[1] = c * (x - y);
        qo[2] = c * (y + x);
        qo[3] = c * (z + w);
        if (bias_out) {
            bias_out[3 * i] = 0.0;
            bias_out[3 * i + 1] = 0.0;
            bias_out[3 * i + 2] = 0.0;
        }
        if (flags_out) flags_out[i] = flags;
    }
    qs[0] = w;
    qs[1] = x;
    qs[2] = y;
    qs[3] = z;
    ns[0] = n0;
    ns[1] = n1;
    ns[2] = n2;
    ns[3] = n3;
    ns[4] = it;
}

void madgwick_loop_base(double* qs, double* ns, double fs, double beta, const double* gyr,
                        const double* acc, const double* mag, std::size_t n, double* q_out, double* bias_out,
                        std::uint8_t* flags_out) noexcept {
    madgwick_loop(qs, ns, fs, beta, gyr, acc, mag, n, q_out, bias_out, flags_out);
}

#ifdef KINEMYO_FUSION_DISPATCH
// The same loop compiled for AVX-512F: the instructions are the same IEEE operations in the same
// order (this file is compiled with -ffp-contract=off, so no fused multiply-adds), only the
// encoding differs and 32 registers instead of 16 hold the 9D step's ~40 live values without
// spilling them to the stack: bit-identical results, about 10 % less time per sample.
#pragma GCC push_options
#pragma GCC target("avx512f")
void madgwick_loop_avx512(double* qs, double* ns, double fs, double beta, const double* gyr,
                          const double* acc, const double* mag, std::size_t n, double* q_out, double* bias_out,
                          std::uint8_t* flags_out) noexcept {
    madgwick_loop(qs, ns, fs, beta, gyr, acc, mag, n, q_out, bias_out, flags_out);
}
#pragma GCC pop_options
#endif

}  // namespace

void Madgwick::update(const double* gyr, const double* acc, const double* mag, std::size_t n, double* q_out,
                      double* bias_out, std::uint8_t* flags_out) {
    // the AVX-512F copy where the CPU has it (and KINEMYO_MAX_SIMD does not cap it): same results
#ifdef KINEMYO_FUSION_DISPATCH
    if (kinemyo::filters::simd_level() >= 2) {
        madgwick_loop_avx512(q_.data(), n_.data(), p_.fs, p_.beta, gyr, acc, mag, n, q_out, bias_out, flags_out);
        return;
    }
#endif
    madgwick_loop_base(q_.data(), n_.data(), p_.fs, p_.beta, gyr, acc, mag, n, q_out, bias_out, flags_out);
}

StateRecord Madgwick::get_state() const {
    return {{"q", {q_[0], q_[1], q_[2], q_[3]}}, {"n", {n_[0], n_[1], n_[2], n_[3], n_[4]}}};
}
void Madgwick::set_state(const StateRecord& s) {
    q_ = get_unit_q(s, "q");
    // n is used only if it belongs to this q (q = n sqrt(it)); a state without it (saved by an
    // earlier build) or with a q set by hand starts the next 9D step from q itself
    n_ = {q_[0], q_[1], q_[2], q_[3], 1.0};
    if (s.count("n") != 0) {
        const auto& v = kinemyo::detail::state_field(s, "n", 5);
        const double r = std::sqrt(v[4]);
        bool same = std::isfinite(r) && r > 0.0;
        for (std::size_t k = 0; k < 4 && same; ++k) same = std::abs(v[k] * r - q_[k]) <= 1e-12;
        if (same) n_ = {v[0], v[1], v[2], v[3], v[4]};
    }
}

}  // namespace kinemyo::fusion
