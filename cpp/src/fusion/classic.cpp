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
    const double dt = 1.0 / p_.fs;
    for (std::size_t i = 0; i < n; ++i) {
        const double* g = gyr + 3 * i;
        const double* a = acc + 3 * i;
        const double* m = mag ? mag + 3 * i : nullptr;
        std::uint8_t flags = 0;
        if (!detail::finite3(g) || !(detail::norm3(g) < kMaxRate)) {
            flags |= kGyrSkipped;
            store_q(q_out, i, qn::mul(kNwuToEnu, q_));
            store_v(bias_out, i, {0.0, 0.0, 0.0});
            if (flags_out) flags_out[i] = flags | kAccSkipped | kMagSkipped;
            continue;
        }
        const double w = q_[0], x = q_[1], y = q_[2], z = q_[3];
        // Rate of change from the gyroscope: 0.5 q (x) (0, g)
        Quat qdot = qn::mul(q_, Quat{0.0, g[0], g[1], g[2]});
        for (auto& v : qdot) v *= 0.5;
        const double an = detail::norm3(a);
        const bool acc_ok = std::isfinite(an) && an > 0.0;
        const double mn = m ? detail::norm3(m) : 0.0;
        const bool mag_ok = m && std::isfinite(mn) && mn > 0.0;
        if (!acc_ok) flags |= kAccSkipped;
        if (!mag_ok) flags |= kMagSkipped;
        if (acc_ok) {
            const double ax = a[0] / an, ay = a[1] / an, az = a[2] / an;
            // objective function (gravity) and its Jacobian, Madgwick 2011 eqs. (25)-(26)
            const double f1 = 2.0 * (x * z - w * y) - ax;
            const double f2 = 2.0 * (w * x + y * z) - ay;
            const double f3 = 2.0 * (0.5 - x * x - y * y) - az;
            double gr[4] = {-2.0 * y * f1 + 2.0 * x * f2,
                            2.0 * z * f1 + 2.0 * w * f2 - 4.0 * x * f3,
                            -2.0 * w * f1 + 2.0 * z * f2 - 4.0 * y * f3,
                            2.0 * x * f1 + 2.0 * y * f2};
            double fn2 = f1 * f1 + f2 * f2 + f3 * f3;
            if (mag_ok) {
                const double mx = m[0] / mn, my = m[1] / mn, mz = m[2] / mn;
                // reference field: the measured field rotated to the earth frame, folded into x-z
                const Vec3 h = qn::rotate(q_, {mx, my, mz});
                const double bx = std::sqrt(h[0] * h[0] + h[1] * h[1]), bz = h[2];
                // eqs. (29)-(32)
                const double f4 = 2.0 * bx * (0.5 - y * y - z * z) + 2.0 * bz * (x * z - w * y) - mx;
                const double f5 = 2.0 * bx * (x * y - w * z) + 2.0 * bz * (w * x + y * z) - my;
                const double f6 = 2.0 * bx * (w * y + x * z) + 2.0 * bz * (0.5 - x * x - y * y) - mz;
                gr[0] += -2.0 * bz * y * f4 + (-2.0 * bx * z + 2.0 * bz * x) * f5 + 2.0 * bx * y * f6;
                gr[1] += 2.0 * bz * z * f4 + (2.0 * bx * y + 2.0 * bz * w) * f5 + (2.0 * bx * z - 4.0 * bz * x) * f6;
                gr[2] += (-4.0 * bx * y - 2.0 * bz * w) * f4 + (2.0 * bx * x + 2.0 * bz * z) * f5 +
                         (2.0 * bx * w - 4.0 * bz * y) * f6;
                gr[3] += (-4.0 * bx * z + 2.0 * bz * x) * f4 + (-2.0 * bx * w + 2.0 * bz * y) * f5 + 2.0 * bx * x * f6;
                fn2 += f4 * f4 + f5 * f5 + f6 * f6;
            }
            const double gn = std::sqrt(gr[0] * gr[0] + gr[1] * gr[1] + gr[2] * gr[2] + gr[3] * gr[3]);
            if (fn2 > 0.0 && gn > 0.0) {
                for (std::size_t k = 0; k < 4; ++k) qdot[k] -= p_.beta * gr[k] / gn;
            }
        }
        Quat qn1{q_[0] + qdot[0] * dt, q_[1] + qdot[1] * dt, q_[2] + qdot[2] * dt, q_[3] + qdot[3] * dt};
        q_ = qn::normalized(qn1);
        store_q(q_out, i, qn::mul(kNwuToEnu, q_));
        store_v(bias_out, i, {0.0, 0.0, 0.0});
        if (flags_out) flags_out[i] = flags;
    }
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
    const double dt = 1.0 / p_.fs;
    for (std::size_t i = 0; i < n; ++i) {
        const double* g = gyr + 3 * i;
        const double* a = acc + 3 * i;
        const double* m = mag ? mag + 3 * i : nullptr;
        std::uint8_t flags = 0;
        if (!detail::finite3(g) || !(detail::norm3(g) < kMaxRate)) {
            store_q(q_out, i, q_);
            store_v(bias_out, i, b_);
            if (flags_out) flags_out[i] = kGyrSkipped | kAccSkipped | kMagSkipped;
            continue;
        }
        Vec3 om{g[0] - b_[0], g[1] - b_[1], g[2] - b_[2]};
        const double an = detail::norm3(a);
        const bool acc_ok = std::isfinite(an) && an > 0.0;
        const double mn = m ? detail::norm3(m) : 0.0;
        const bool mag_ok = m && std::isfinite(mn) && mn > 0.0;
        if (!acc_ok) flags |= kAccSkipped;
        if (!mag_ok) flags |= kMagSkipped;
        if (acc_ok) {
            const Vec3 an_v{a[0] / an, a[1] / an, a[2] / an};
            const Quat qc = qn::conj(q_);
            const Vec3 va = qn::rotate(qc, {0.0, 0.0, 1.0});  // predicted gravity direction, sensor frame
            Vec3 e{an_v[1] * va[2] - an_v[2] * va[1], an_v[2] * va[0] - an_v[0] * va[2], an_v[0] * va[1] - an_v[1] * va[0]};
            if (mag_ok) {
                const Vec3 mv{m[0] / mn, m[1] / mn, m[2] / mn};
                const Vec3 h = qn::rotate(q_, mv);
                Vec3 vm = qn::rotate(qc, {0.0, std::sqrt(h[0] * h[0] + h[1] * h[1]), h[2]});
                const double vn = std::sqrt(vm[0] * vm[0] + vm[1] * vm[1] + vm[2] * vm[2]);
                for (auto& v : vm) v /= vn;
                e[0] += mv[1] * vm[2] - mv[2] * vm[1];
                e[1] += mv[2] * vm[0] - mv[0] * vm[2];
                e[2] += mv[0] * vm[1] - mv[1] * vm[0];
            }
            for (std::size_t k = 0; k < 3; ++k) {
                b_[k] += -p_.ki * e[k] * dt;  // bias estimate integrates the error
                om[k] = g[k] - b_[k] + p_.kp * e[k];
            }
        }
        Quat qdot = qn::mul(q_, Quat{0.0, om[0], om[1], om[2]});
        Quat q1{q_[0] + 0.5 * qdot[0] * dt, q_[1] + 0.5 * qdot[1] * dt, q_[2] + 0.5 * qdot[2] * dt, q_[3] + 0.5 * qdot[3] * dt};
        q_ = qn::normalized(q1);
        store_q(q_out, i, q_);
        store_v(bias_out, i, b_);
        if (flags_out) flags_out[i] = flags;
    }
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
