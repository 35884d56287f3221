#include "kinemyo/fusion/classic.hpp"

#include <cmath>
#include <limits>
#include <stdexcept>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include "kinemyo/common/checks.hpp"

namespace kinemyo::fusion {

namespace qn = kinemyo::quaternion;

namespace detail {
void check_fusion_fs(double fs) { kinemyo::detail::check_fs(fs); }

Quat check_q0(const Quat& q0) {
    const double n = qn::norm(q0);
    if (!(std::isfinite(n) && n > 0.0)) {
        throw std::invalid_argument("q0 must be a finite non-zero quaternion (w, x, y, z)");
    }
    return qn::normalized(q0);
}
}  // namespace detail

namespace {

/// 1 / sqrt(u) and 1 / sqrt(v) with one packed square root and one packed division where SSE2
/// is available (baseline on x86-64; the same IEEE results as the scalar form): the divider is
/// shared by every square root and division of the loop and limits its throughput.
inline void inv_sqrt2(double u, double v, double& ru, double& rv) noexcept {
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
inline bool norm2_ok(const double* v, double& n2) noexcept {
    n2 = v[0] * v[0] + v[1] * v[1] + v[2] * v[2];
    return n2 > 0.0 && n2 <= std::numeric_limits<double>::max();
}

void store_q(double* out, std::size_t i, const Quat& q) {
    for (std::size_t k = 0; k < 4; ++k) out[4 * i + k] = q[k];
}
void store_v(double* out, std::size_t i, const Vec3& v) {
    if (out) for (std::size_t k = 0; k < 3; ++k) out[3 * i + k] = v[k];
}
void check_gain(const char* name, double v) {
    if (!(std::isfinite(v) && v >= 0.0)) kinemyo::detail::fail_param(name, "a finite value >= 0", v);
}
Quat get_q(const StateRecord& s, const std::string& k) {
    const auto& v = kinemyo::detail::state_field(s, k, 4);
    return {v[0], v[1], v[2], v[3]};
}
Vec3 get_v(const StateRecord& s, const std::string& k) {
    const auto& v = kinemyo::detail::state_field(s, k, 3);
    return {v[0], v[1], v[2]};
}

}  // namespace

// ------------------------------------------------------------------------------------- Madgwick

Madgwick::Madgwick(const MadgwickParams& p) : p_(p) {
    detail::check_fusion_fs(p.fs);
    check_gain("beta", p.beta);
    p_.q0 = detail::check_q0(p.q0);
    q_init_ = qn::mul(qn::conj(kNwuToEnu), p_.q0);
    q_ = q_init_;
}

namespace {

/// Madgwick's 6D correction (gravity only) from the predicted step p = q + dt qdot: the
/// objective function and its Jacobian, Madgwick 2011 eqs. (25)-(26). False when the gradient
/// is zero (nothing written).
inline bool madgwick_acc_step(double& w, double& x, double& y, double& z, double qd0, double qd1, double qd2,
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
/// Written for a short chain from q to the next q (the loop is serial in time): every term
/// that does not depend on the horizontal field norm bx = |h_xy| is formed while its square
/// root is computed, and the two normalisations (of the gradient and of the corrected step)
/// are merged into one, q' = (p |gr| - dt beta gr) / sqrt(|gr|^2 (|p|^2 + (dt beta)^2)
/// - 2 dt beta (p . gr) |gr|), i.e. the same quantity as (p - dt beta gr / |gr|) normalised;
/// its square root and its reciprocal are taken in parallel. False when the gradient is zero.
inline bool madgwick_marg_step(double& w, double& x, double& y, double& z, const double* gyr, double ax, double ay,
                               double az, double mx, double my, double mz, double beta, double dt) noexcept {
    // rotation matrix R(q) (sensor -> earth), as in the objective function
    const double xx = x * x, yy = y * y, zz = z * z;
    const double xy = x * y, xz = x * z, yz = y * z, wx = w * x, wy = w * y, wz = w * z;
    const double r00 = 1.0 - 2.0 * (yy + zz), r01 = 2.0 * (xy - wz), r02 = 2.0 * (xz + wy);
    const double r10 = 2.0 * (xy + wz), r11 = 1.0 - 2.0 * (xx + zz), r12 = 2.0 * (yz - wx);
    const double r20 = 2.0 * (xz - wy), r21 = 2.0 * (yz + wx), r22 = 1.0 - 2.0 * (xx + yy);
    // the field in the earth frame, h = R m (eq. 45), folded into the x-z plane (eq. 46)
    const double hx = (r00 * mx + r01 * my) + r02 * mz;
    const double hy = (r10 * mx + r11 * my) + r12 * mz;
    const double bz = (r20 * mx + r21 * my) + r22 * mz;
    const double hxy2 = hx * hx + hy * hy;
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
    const double bx = std::sqrt(hxy2);
    const double f4 = bx * r00 + v4, f5 = bx * r01 + v5, f6 = bx * r02 + v6;
    const double bxw = bx * w2, bxx = bx * x2, bxy = bx * y2, bxz = bx * z2;
    const double gr0 = (ga0 + c00 * f4) + ((c01 - bxz) * f5 + bxy * f6);
    const double gr1 = (ga1 + c10 * f4) + ((c11 + bxy) * f5 + (c12 + bxz) * f6);
    const double gr2 = (ga2 + (c20 - (bxy + bxy)) * f4) + ((c21 + bxx) * f5 + (c22 + bxw) * f6);
    const double gr3 = (ga3 + (c30 - (bxz + bxz)) * f4) + ((c31 - bxw) * f5 + bxx * f6);
    const double gn2 = (gr0 * gr0 + gr1 * gr1) + (gr2 * gr2 + gr3 * gr3);
    // gn2 > 0 implies f != 0 (all terms are finite); below 1e-200 the merged form could
    // overflow its reciprocal, so take the two normalisations one after the other
    if (!(gn2 > 1e-200)) {
        if (!(gn2 > 0.0)) return false;
        const double pp = ppb - bdt * bdt;
        const double pg = p0 * gr0 + p1 * gr1 + p2 * gr2 + p3 * gr3;
        const double kdt = bdt / std::sqrt(gn2);
        const double inv = 1.0 / std::sqrt(pp - 2.0 * kdt * pg + bdt * bdt);
        w = (p0 - kdt * gr0) * inv;
        x = (p1 - kdt * gr1) * inv;
        y = (p2 - kdt * gr2) * inv;
        z = (p3 - kdt * gr3) * inv;
        return true;
    }
    const double pg2 = 2.0 * bdt * ((p0 * gr0 + p1 * gr1) + (p2 * gr2 + p3 * gr3));
    const double g = std::sqrt(gn2);
    const double t = gn2 * ppb - pg2 * g;
    const double r = (1.0 / t) * std::sqrt(t);  // 1 / sqrt(t): division and root in parallel
    w = (p0 * g - bdt * gr0) * r;
    x = (p1 * g - bdt * gr1) * r;
    y = (p2 * g - bdt * gr2) * r;
    z = (p3 * g - bdt * gr3) * r;
    return true;
}

}  // namespace

void Madgwick::update(const double* gyr, const double* acc, const double* mag, std::size_t n, double* q_out,
                      double* bias_out, std::uint8_t* flags_out) {
    // One tight loop with the state in registers: no temporaries, exact reciprocal square roots
    // (1 / std::sqrt, or sqrt and reciprocal in parallel), validity tests on squared norms
    // (false for NaN).
    const double dt = 1.0 / p_.fs;
    const double beta = p_.beta;
    constexpr double c = 0.70710678118654752440;  // kNwuToEnu = (c, 0, 0, c)
    constexpr double kMax2 = kMaxRate * kMaxRate;
    double w = q_[0], x = q_[1], y = q_[2], z = q_[3];
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
                        stepped = madgwick_marg_step(w, x, y, z, g, a[0] * ia, a[1] * ia, a[2] * ia, m[0] * im,
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
    q_ = {w, x, y, z};
}

StateRecord Madgwick::get_state() const { return {{"q", {q_[0], q_[1], q_[2], q_[3]}}}; }
void Madgwick::set_state(const StateRecord& s) { q_ = get_q(s, "q"); }

// --------------------------------------------------------------------------------------- Mahony

Mahony::Mahony(const MahonyParams& p) : p_(p) {
    detail::check_fusion_fs(p.fs);
    check_gain("kp", p.kp);
    check_gain("ki", p.ki);
    p_.q0 = detail::check_q0(p.q0);
    q_ = p_.q0;
    b_ = p_.b0;
}

namespace {

/// One 9D Mahony step (explicit complementary filter with the field's direction as the second
/// vector, as `ahrs.filters.Mahony.updateMARG`), with a and m normalised: updates q and the bias b.
///
/// Written for a short chain from q to the next q (the loop is serial in time). With the
/// homogeneous rotation matrix R = |q|^2 Rot(q) (exact for any non-zero q):
///   h = R m,  v_m = R^T (0, |h_xy|, h_z) / |R^T (0, |h_xy|, h_z)| = c (|h_xy| R^T e_y + h_z R^T e_z)
/// with c = 1 / |q|^4 (R^T preserves the norm up to |q|^2, and |(0, |h_xy|, h_z)| = |h| =
/// |q|^2 |m|, |m| = 1), so the error e = a x R^T e_z + m x v_m, the bias and the corrected rate
/// are all linear in the one square root |h_xy|: e = E0 + |h_xy| C1, and the unnormalised next
/// quaternion q + dt/2 q (x) (0, o) = P + |h_xy| D is formed with one multiply-add once the root is
/// known; everything else is computed while it is.
inline void mahony_marg_step(double& w, double& x, double& y, double& z, double& b0, double& b1, double& b2,
                             const double* g, double ax, double ay, double az, double mx, double my, double mz,
                             double kp, double kidt, double hdt) noexcept {
    const double ww = w * w, xx = x * x, yy = y * y, zz = z * z;
    const double xy = x * y, xz = x * z, yz = y * z, wx = w * x, wy = w * y, wz = w * z;
    const double r00 = (ww + xx) - (yy + zz), r01 = 2.0 * (xy - wz), r02 = 2.0 * (xz + wy);
    const double r10 = 2.0 * (xy + wz), r11 = (ww - xx) + (yy - zz), r12 = 2.0 * (yz - wx);
    const double r20 = 2.0 * (xz - wy), r21 = 2.0 * (yz + wx), r22 = (ww - xx) - (yy - zz);
    const double hx = (r00 * mx + r01 * my) + r02 * mz;
    const double hy = (r10 * mx + r11 * my) + r12 * mz;
    const double hz = (r20 * mx + r21 * my) + r22 * mz;
    const double hxy2 = hx * hx + hy * hy;
    const double s = (ww + xx) + (yy + zz);
    const double cc = 1.0 / (s * s);
    const double chz = cc * hz;
    // E0 = a x R^T e_z + c h_z (m x R^T e_z);  C1 = c (m x R^T e_y)
    const double e00 = (ay * r22 - az * r21) + chz * (my * r22 - mz * r21);
    const double e01 = (az * r20 - ax * r22) + chz * (mz * r20 - mx * r22);
    const double e02 = (ax * r21 - ay * r20) + chz * (mx * r21 - my * r20);
    const double c10 = cc * (my * r12 - mz * r11), c11 = cc * (mz * r10 - mx * r12), c12 = cc * (mx * r11 - my * r10);
    // rate: o = g - b_new + kp e = (g - b) + (kp + ki dt) e = O0 + |h_xy| K
    const double kk = kp + kidt;
    const double o0 = (g[0] - b0) + kk * e00, o1 = (g[1] - b1) + kk * e01, o2 = (g[2] - b2) + kk * e02;
    const double k0 = kk * c10, k1 = kk * c11, k2 = kk * c12;
    // P = q + dt/2 q (x) (0, O0);  D = dt/2 q (x) (0, K)
    const double hw = hdt * w, hx_ = hdt * x, hy_ = hdt * y, hz_ = hdt * z;
    const double pw = w - ((hx_ * o0 + hy_ * o1) + hz_ * o2);
    const double px = x + ((hw * o0 + hy_ * o2) - hz_ * o1);
    const double py = y + ((hw * o1 - hx_ * o2) + hz_ * o0);
    const double pz = z + ((hw * o2 + hx_ * o1) - hy_ * o0);
    const double dw = -((hx_ * k0 + hy_ * k1) + hz_ * k2);
    const double dx = (hw * k0 + hy_ * k2) - hz_ * k1;
    const double dy = (hw * k1 - hx_ * k2) + hz_ * k0;
    const double dz = (hw * k2 + hx_ * k1) - hy_ * k0;
    // ---- from here on everything waits for |h_xy|
    const double bxy = std::sqrt(hxy2);
    b0 -= kidt * (e00 + bxy * c10);  // the bias estimate integrates the error
    b1 -= kidt * (e01 + bxy * c11);
    b2 -= kidt * (e02 + bxy * c12);
    const double nw = pw + bxy * dw, nx = px + bxy * dx, ny = py + bxy * dy, nz = pz + bxy * dz;
    const double n2 = (nw * nw + nx * nx) + (ny * ny + nz * nz);
    const double in2 = 1.0 / n2, sn = std::sqrt(n2);  // 1 / sqrt(n2) = sqrt(n2) / n2, in parallel
    w = (nw * in2) * sn;
    x = (nx * in2) * sn;
    y = (ny * in2) * sn;
    z = (nz * in2) * sn;
}

}  // namespace

void Mahony::update(const double* gyr, const double* acc, const double* mag, std::size_t n, double* q_out,
                    double* bias_out, std::uint8_t* flags_out) {
    // One tight loop with the state in registers (see Madgwick::update).
    const double dt = 1.0 / p_.fs;
    const double kp = p_.kp, kidt = p_.ki * dt;
    const double hdt = 0.5 * dt;
    constexpr double kMax2 = kMaxRate * kMaxRate;
    double w = q_[0], x = q_[1], y = q_[2], z = q_[3];
    double b0 = b_[0], b1 = b_[1], b2 = b_[2];
    for (std::size_t i = 0; i < n; ++i) {
        const double* g = gyr + 3 * i;
        const double* a = acc + 3 * i;
        std::uint8_t flags = 0;
        const double g2 = g[0] * g[0] + g[1] * g[1] + g[2] * g[2];
        if (g2 < kMax2) {
            double an2 = 0.0;
            const bool acc_ok = norm2_ok(a, an2);
            bool mag_ok = false;
            bool done = false;
            double o0 = g[0] - b0, o1 = g[1] - b1, o2 = g[2] - b2;
            if (acc_ok) {
                double ia = 0.0;
                if (mag != nullptr) {
                    const double* m = mag + 3 * i;
                    double mn2 = 0.0;
                    mag_ok = norm2_ok(m, mn2);
                    double im = 0.0;
                    inv_sqrt2(an2, mn2, ia, im);
                    if (mag_ok) {
                        mahony_marg_step(w, x, y, z, b0, b1, b2, g, a[0] * ia, a[1] * ia, a[2] * ia, m[0] * im, m[1] * im,
                                         m[2] * im, kp, kidt, hdt);
                        done = true;
                    }
                } else {
                    ia = 1.0 / std::sqrt(an2);
                }
                const double ax = a[0] * ia, ay = a[1] * ia, az = a[2] * ia;
                if (!done) {
                    // predicted gravity direction in the sensor frame: third row of R(q)
                    const double vx = 2.0 * (x * z - w * y), vy = 2.0 * (y * z + w * x),
                                 vz = w * w - x * x - y * y + z * z;
                    const double e0 = ay * vz - az * vy, e1 = az * vx - ax * vz, e2 = ax * vy - ay * vx;
                    b0 -= kidt * e0;  // the bias estimate integrates the error
                    b1 -= kidt * e1;
                    b2 -= kidt * e2;
                    o0 = g[0] - b0 + kp * e0;
                    o1 = g[1] - b1 + kp * e1;
                    o2 = g[2] - b2 + kp * e2;
                }
            }
            if (!acc_ok) flags |= kAccSkipped;
            if (!mag_ok) flags |= kMagSkipped;
            if (!done) {
                const double nw = w + hdt * (-x * o0 - y * o1 - z * o2);
                const double nx = x + hdt * (w * o0 + y * o2 - z * o1);
                const double ny = y + hdt * (w * o1 - x * o2 + z * o0);
                const double nz = z + hdt * (w * o2 + x * o1 - y * o0);
                const double inv = 1.0 / std::sqrt(nw * nw + nx * nx + ny * ny + nz * nz);
                w = nw * inv;
                x = nx * inv;
                y = ny * inv;
                z = nz * inv;
            }
        } else {
            flags = kGyrSkipped | kAccSkipped | kMagSkipped;
        }
        double* qo = q_out + 4 * i;
        qo[0] = w;
        qo[1] = x;
        qo[2] = y;
        qo[3] = z;
        if (bias_out) {
            bias_out[3 * i] = b0;
            bias_out[3 * i + 1] = b1;
            bias_out[3 * i + 2] = b2;
        }
        if (flags_out) flags_out[i] = flags;
    }
    q_ = {w, x, y, z};
    b_ = {b0, b1, b2};
}

StateRecord Mahony::get_state() const {
    return {{"q", {q_[0], q_[1], q_[2], q_[3]}}, {"bias", {b_[0], b_[1], b_[2]}}};
}
void Mahony::set_state(const StateRecord& s) {
    const Quat q = get_q(s, "q");
    b_ = get_v(s, "bias");
    q_ = q;
}

// -------------------------------------------------------------------------------- Complementary

Complementary::Complementary(const ComplementaryParams& p) : p_(p) {
    detail::check_fusion_fs(p.fs);
    if (!(std::isfinite(p.gain) && p.gain >= 0.0 && p.gain <= 1.0)) {
        kinemyo::detail::fail_param("gain", "in [0, 1]", p.gain);
    }
    p_.q0 = detail::check_q0(p.q0);
    q_ = p_.q0;
}

void Complementary::update(const double* gyr, const double* acc, const double* mag, std::size_t n, double* q_out,
                           double* bias_out, std::uint8_t* flags_out) {
    const double dt = 1.0 / p_.fs;
    for (std::size_t i = 0; i < n; ++i) {
        const double* g = gyr + 3 * i;
        const double* a = acc + 3 * i;
        const double* m = mag ? mag + 3 * i : nullptr;
        std::uint8_t flags = 0;
        if (detail::finite3(g) && detail::norm3(g) < kMaxRate) {
            q_ = qn::normalized(qn::mul(q_, qn::from_rotvec({g[0] * dt, g[1] * dt, g[2] * dt})));
        } else {
            flags |= kGyrSkipped;
        }
        const double an = detail::norm3(a);
        const double mn = m ? detail::norm3(m) : 0.0;
        const bool acc_ok = std::isfinite(an) && an > 0.0;
        const bool mag_ok = m && std::isfinite(mn) && mn > 0.0;
        if (!acc_ok) flags |= kAccSkipped;
        if (!mag_ok) flags |= kMagSkipped;
        if (acc_ok) {
            // tilt: the smallest rotation that takes the measured "up" (earth frame) to z
            const Vec3 u = qn::rotate(q_, {a[0] / an, a[1] / an, a[2] / an});
            Quat corr = qn::normalized(Quat{1.0 + u[2], u[1], -u[0], 0.0});
            if (!(u[2] > -0.999999)) corr = {0.0, 1.0, 0.0, 0.0};
            Quat target = qn::mul(corr, q_);
            if (mag_ok) {
                const Vec3 h = qn::rotate(target, {m[0] / mn, m[1] / mn, m[2] / mn});
                if (h[0] * h[0] + h[1] * h[1] > 0.0) {
                    const double psi = std::atan2(h[0], h[1]);  // angle of the field east of north
                    target = qn::mul(Quat{std::cos(0.5 * psi), 0.0, 0.0, std::sin(0.5 * psi)}, target);
                }
            }
            double d = 0.0;
            for (std::size_t k = 0; k < 4; ++k) d += q_[k] * target[k];
            if (d < 0) for (auto& v : target) v = -v;
            Quat mix;
            for (std::size_t k = 0; k < 4; ++k) mix[k] = (1.0 - p_.gain) * q_[k] + p_.gain * target[k];
            q_ = qn::normalized(mix);
        }
        store_q(q_out, i, q_);
        store_v(bias_out, i, {0.0, 0.0, 0.0});
        if (flags_out) flags_out[i] = flags;
    }
}

StateRecord Complementary::get_state() const { return {{"q", {q_[0], q_[1], q_[2], q_[3]}}}; }
void Complementary::set_state(const StateRecord& s) { q_ = get_q(s, "q"); }

}  // namespace kinemyo::fusion
