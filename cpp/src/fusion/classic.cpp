#include "kinemyo/fusion/classic.hpp"

#include <cmath>
#include <limits>
#include <stdexcept>

#include "classic_common.hpp"

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

using namespace classic_detail;

// --------------------------------------------------------------------------------------- Mahony

Mahony::Mahony(const MahonyParams& p) : p_(p) {
    detail::check_fusion_fs(p.fs);
    check_gain("kp", p.kp);
    check_gain("ki", p.ki);
    p_.q0 = detail::check_q0(p.q0);
    p_.b0 = check_bias("b0", p.b0);
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
    // One tight loop with the state in registers (see madgwick_loop).
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
    const Quat q = get_unit_q(s, "q");
    // any finite bias: the filter itself can integrate one past kMaxRate with a large ki, and its
    // own state must round-trip (review, eighth session); only the user's b0 is bounded
    const Vec3 b = get_v(s, "bias");
    if (!detail::finite3(b.data()))
        kinemyo::detail::fail_param("state['bias']", "a finite gyroscope bias (rad/s)", vec_str(b.data(), 3));
    b_ = b;
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
void Complementary::set_state(const StateRecord& s) { q_ = get_unit_q(s, "q"); }

}  // namespace kinemyo::fusion
