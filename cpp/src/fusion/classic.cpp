#include "kinemyo/fusion/classic.hpp"

#include <cmath>
#include <limits>
#include <stdexcept>

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

/// A magnetometer sample, normalised (m), and the field rotated to the earth frame by q
/// (h = q (x) m (x) q*, expanded), as Madgwick and Mahony both need it.
struct EarthField {
    double mx, my, mz, hx, hy, hz;
};

/// False (nothing written) for a zero, non-finite or overflowing sample.
inline bool earth_field(const double* m, double w, double x, double y, double z, EarthField& f) noexcept {
    const double mn2 = m[0] * m[0] + m[1] * m[1] + m[2] * m[2];
    if (!(mn2 > 0.0 && mn2 <= std::numeric_limits<double>::max())) return false;
    const double im = 1.0 / std::sqrt(mn2);
    f.mx = m[0] * im;
    f.my = m[1] * im;
    f.mz = m[2] * im;
    const double tx = 2.0 * (y * f.mz - z * f.my), ty = 2.0 * (z * f.mx - x * f.mz), tz = 2.0 * (x * f.my - y * f.mx);
    f.hx = f.mx + w * tx + (y * tz - z * ty);
    f.hy = f.my + w * ty + (z * tx - x * tz);
    f.hz = f.mz + w * tz + (x * ty - y * tx);
    return true;
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

void Madgwick::update(const double* gyr, const double* acc, const double* mag, std::size_t n, double* q_out,
                      double* bias_out, std::uint8_t* flags_out) {
    // One tight loop with the state in registers: no temporaries, one reciprocal square root per
    // normalisation (exact: 1 / std::sqrt), validity tests on squared norms (false for NaN).
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
            // rate of change from the gyroscope: 0.5 q (x) (0, g)
            double qd0 = 0.5 * (-x * g[0] - y * g[1] - z * g[2]);
            double qd1 = 0.5 * (w * g[0] + y * g[2] - z * g[1]);
            double qd2 = 0.5 * (w * g[1] - x * g[2] + z * g[0]);
            double qd3 = 0.5 * (w * g[2] + x * g[1] - y * g[0]);
            const double an2 = a[0] * a[0] + a[1] * a[1] + a[2] * a[2];
            const bool acc_ok = an2 > 0.0 && an2 <= std::numeric_limits<double>::max();
            bool mag_ok = false;
            bool stepped = false;  // the corrected step, already normalised
            if (acc_ok) {
                const double ia = 1.0 / std::sqrt(an2);
                const double ax = a[0] * ia, ay = a[1] * ia, az = a[2] * ia;
                // objective function (gravity) and its Jacobian, Madgwick 2011 eqs. (25)-(26)
                const double f1 = 2.0 * (x * z - w * y) - ax;
                const double f2 = 2.0 * (w * x + y * z) - ay;
                const double f3 = 2.0 * (0.5 - x * x - y * y) - az;
                double gr0 = -2.0 * y * f1 + 2.0 * x * f2;
                double gr1 = 2.0 * z * f1 + 2.0 * w * f2 - 4.0 * x * f3;
                double gr2 = -2.0 * w * f1 + 2.0 * z * f2 - 4.0 * y * f3;
                double gr3 = 2.0 * x * f1 + 2.0 * y * f2;
                double fn2 = f1 * f1 + f2 * f2 + f3 * f3;
                if (mag != nullptr) {
                    EarthField ef;
                    mag_ok = earth_field(mag + 3 * i, w, x, y, z, ef);
                    if (mag_ok) {
                        const double mx = ef.mx, my = ef.my, mz = ef.mz;
                        // reference field: the measured field rotated to the earth frame, folded into x-z
                        const double hx = ef.hx, hy = ef.hy, bz = ef.hz;
                        const double bx = std::sqrt(hx * hx + hy * hy);
                        // eqs. (29)-(32)
                        const double f4 = 2.0 * bx * (0.5 - y * y - z * z) + 2.0 * bz * (x * z - w * y) - mx;
                        const double f5 = 2.0 * bx * (x * y - w * z) + 2.0 * bz * (w * x + y * z) - my;
                        const double f6 = 2.0 * bx * (w * y + x * z) + 2.0 * bz * (0.5 - x * x - y * y) - mz;
                        gr0 += -2.0 * bz * y * f4 + (-2.0 * bx * z + 2.0 * bz * x) * f5 + 2.0 * bx * y * f6;
                        gr1 += 2.0 * bz * z * f4 + (2.0 * bx * y + 2.0 * bz * w) * f5 + (2.0 * bx * z - 4.0 * bz * x) * f6;
                        gr2 += (-4.0 * bx * y - 2.0 * bz * w) * f4 + (2.0 * bx * x + 2.0 * bz * z) * f5 +
                               (2.0 * bx * w - 4.0 * bz * y) * f6;
                        gr3 += (-4.0 * bx * z + 2.0 * bz * x) * f4 + (-2.0 * bx * w + 2.0 * bz * y) * f5 +
                               2.0 * bx * x * f6;
                        fn2 += f4 * f4 + f5 * f5 + f6 * f6;
                    }
                }
                const double gn2 = gr0 * gr0 + gr1 * gr1 + gr2 * gr2 + gr3 * gr3;
                if (fn2 > 0.0 && gn2 > 0.0) {
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
                    stepped = true;
                }
            }
            if (!acc_ok) flags |= kAccSkipped;
            if (!mag_ok) flags |= kMagSkipped;
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

void Mahony::update(const double* gyr, const double* acc, const double* mag, std::size_t n, double* q_out,
                    double* bias_out, std::uint8_t* flags_out) {
    // One tight loop with the state in registers (see Madgwick::update).
    const double dt = 1.0 / p_.fs;
    const double kp = p_.kp, kidt = p_.ki * dt;
    constexpr double kMax2 = kMaxRate * kMaxRate;
    double w = q_[0], x = q_[1], y = q_[2], z = q_[3];
    double b0 = b_[0], b1 = b_[1], b2 = b_[2];
    for (std::size_t i = 0; i < n; ++i) {
        const double* g = gyr + 3 * i;
        const double* a = acc + 3 * i;
        std::uint8_t flags = 0;
        const double g2 = g[0] * g[0] + g[1] * g[1] + g[2] * g[2];
        if (g2 < kMax2) {
            double o0 = g[0] - b0, o1 = g[1] - b1, o2 = g[2] - b2;
            const double an2 = a[0] * a[0] + a[1] * a[1] + a[2] * a[2];
            const bool acc_ok = an2 > 0.0 && an2 <= std::numeric_limits<double>::max();
            bool mag_ok = false;
            if (acc_ok) {
                const double ia = 1.0 / std::sqrt(an2);
                const double ax = a[0] * ia, ay = a[1] * ia, az = a[2] * ia;
                // predicted gravity direction in the sensor frame: third row of R(q)
                const double vx = 2.0 * (x * z - w * y), vy = 2.0 * (y * z + w * x), vz = w * w - x * x - y * y + z * z;
                double e0 = ay * vz - az * vy, e1 = az * vx - ax * vz, e2 = ax * vy - ay * vx;
                if (mag != nullptr) {
                    EarthField ef;
                    mag_ok = earth_field(mag + 3 * i, w, x, y, z, ef);
                    if (mag_ok) {
                        const double mx = ef.mx, my = ef.my, mz = ef.mz;
                        // h = q (x) m (x) q*, folded to (0, |h_xy|, h_z), rotated back to the sensor frame
                        const double hx = ef.hx, hy = ef.hy, hz = ef.hz;
                        // (0, |h_xy|, h_z) / |h|: the rotation back preserves the norm, so the
                        // normalisation of the predicted field is computed here, in parallel with
                        // the horizontal norm instead of after the rotation
                        const double iv = 1.0 / std::sqrt(hx * hx + hy * hy + hz * hz);
                        const double by = std::sqrt(hx * hx + hy * hy) * iv, bz = hz * iv;
                        // R^T (0, by, bz): rotate by q* = (w, -x, -y, -z)
                        const double ux = 2.0 * (-y * bz + z * by), uy = 2.0 * (x * bz), uz = 2.0 * (-x * by);
                        const double wx = w * ux + (-y * uz + z * uy);
                        const double wy = by + w * uy + (-z * ux + x * uz);
                        const double wz = bz + w * uz + (-x * uy + y * ux);
                        e0 += my * wz - mz * wy;
                        e1 += mz * wx - mx * wz;
                        e2 += mx * wy - my * wx;
                    }
                }
                b0 -= kidt * e0;  // the bias estimate integrates the error
                b1 -= kidt * e1;
                b2 -= kidt * e2;
                o0 = g[0] - b0 + kp * e0;
                o1 = g[1] - b1 + kp * e1;
                o2 = g[2] - b2 + kp * e2;
            }
            if (!acc_ok) flags |= kAccSkipped;
            if (!mag_ok) flags |= kMagSkipped;
            const double h = 0.5 * dt;
            const double nw = w + h * (-x * o0 - y * o1 - z * o2);
            const double nx = x + h * (w * o0 + y * o2 - z * o1);
            const double ny = y + h * (w * o1 - x * o2 + z * o0);
            const double nz = z + h * (w * o2 + x * o1 - y * o0);
            const double inv = 1.0 / std::sqrt(nw * nw + nx * nx + ny * ny + nz * nz);
            w = nw * inv;
            x = nx * inv;
            y = ny * inv;
            z = nz * inv;
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
