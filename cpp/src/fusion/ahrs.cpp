// Orientation filters of kinemyo::fusion (see ahrs.hpp).

#include "kinemyo/fusion/ahrs.hpp"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <limits>
#include <stdexcept>
#include <vector>

#include "kinemyo/common/checks.hpp"

namespace kinemyo::fusion {

using namespace kinemyo::quaternion;

namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr double kPi = 3.14159265358979323846;
constexpr double kSqrtHalf = 0.70710678118654752440;

bool finite3(const double* v) { return std::isfinite(v[0]) && std::isfinite(v[1]) && std::isfinite(v[2]); }
double norm3(const double* v) { return std::sqrt(v[0] * v[0] + v[1] * v[1] + v[2] * v[2]); }
double norm3(const Vec3& v) { return norm3(v.data()); }
/// finite and non-zero norm
bool usable3(const double* v) {
    if (v == nullptr || !finite3(v)) return false;
    const double nn = norm3(v);
    return nn > 0.0 && std::isfinite(nn);
}
/// 1/|v| when v is finite with a finite non-zero norm, else 0.
double inv_norm_usable(const double* v) {
    if (v == nullptr) return 0.0;
    const double n2 = v[0] * v[0] + v[1] * v[1] + v[2] * v[2];
    if (!(n2 > 0.0 && n2 < std::numeric_limits<double>::infinity())) return 0.0;  // NaN fails too
    return 1.0 / std::sqrt(n2);
}
/// q / |q| with one division.
Quat qnorm_fast(const Quat& q) {
    const double inv = 1.0 / std::sqrt(q[0] * q[0] + q[1] * q[1] + q[2] * q[2] + q[3] * q[3]);
    return {q[0] * inv, q[1] * inv, q[2] * inv, q[3] * inv};
}
/// Largest gyro rate accepted (rad/s); faster samples are treated as invalid (NaN output).
constexpr double kMaxGyr = 1e6;
bool gyr_ok(const double* g) { return g[0] * g[0] + g[1] * g[1] + g[2] * g[2] < kMaxGyr * kMaxGyr; }  // false for NaN
bool unit_ok(const Quat& q) {
    const double n2 = q[0] * q[0] + q[1] * q[1] + q[2] * q[2] + q[3] * q[3];
    return std::isfinite(n2) && std::fabs(n2 - 1.0) < 1e-6;
}
Vec3 cross(const Vec3& a, const Vec3& b) {
    return {a[1] * b[2] - a[2] * b[1], a[2] * b[0] - a[0] * b[2], a[0] * b[1] - a[1] * b[0]};
}
Quat qneg_if(const Quat& q) { return q[0] < 0 ? Quat{-q[0], -q[1], -q[2], -q[3]} : q; }
double wrap(double a) {
    while (a > kPi) a -= 2 * kPi;
    while (a < -kPi) a += 2 * kPi;
    return a;
}
void store4(const Quat& q, double* p) {
    for (std::size_t i = 0; i < 4; ++i) p[i] = q[i];
}
void store_nan4(double* p) {
    for (std::size_t i = 0; i < 4; ++i) p[i] = kNaN;
}

/// Shortest rotation taking unit vector u onto unit vector v: normalise (1 + u.v, u x v).
Quat align(const Vec3& u, const Vec3& v) {
    const Vec3 ax = cross(u, v);
    const double c = u[0] * v[0] + u[1] * v[1] + u[2] * v[2];
    if (c < -1.0 + 1e-12) {
        // 180 deg about any axis orthogonal to u
        Vec3 o = std::fabs(u[0]) < 0.9 ? Vec3{1, 0, 0} : Vec3{0, 1, 0};
        Vec3 w = cross(u, o);
        const double wn = norm3(w);
        return {0, w[0] / wn, w[1] / wn, w[2] / wn};
    }
    const Quat q{1.0 + c, ax[0], ax[1], ax[2]};
    const double inv = 1.0 / std::sqrt(q[0] * q[0] + q[1] * q[1] + q[2] * q[2] + q[3] * q[3]);
    return {q[0] * inv, q[1] * inv, q[2] * inv, q[3] * inv};
}

/// ENU -> output frame rotation.
Quat enu_to(Frame f) { return f == Frame::enu ? Quat{1, 0, 0, 0} : Quat{0, kSqrtHalf, kSqrtHalf, 0}; }

/// Initial orientation in ENU from acc (tilt, heading 0) or acc+mag (full, heading from mag).
Quat init_enu(const double* acc, const double* mag) {
    const double an = norm3(acc);
    const Vec3 up{acc[0] / an, acc[1] / an, acc[2] / an};
    if (mag != nullptr && usable3(mag)) {
        Vec3 east = cross({mag[0], mag[1], mag[2]}, up);
        const double en = norm3(east);
        if (en > 1e-12) {
            east = {east[0] / en, east[1] / en, east[2] / en};
            const Vec3 north = cross(up, east);
            const double R[9] = {east[0], east[1], east[2], north[0], north[1], north[2], up[0], up[1], up[2]};
            Quat q;
            from_matrix(R, q.data(), 1);
            return q;
        }
    }
    return align(up, {0, 0, 1});
}

/// Initial orientation in the output frame (6D: heading 0 in that frame).
Quat init_out(const double* acc, const double* mag, Frame f) {
    if (f == Frame::ned && (mag == nullptr || !usable3(mag))) {
        const double an = norm3(acc);
        return align({acc[0] / an, acc[1] / an, acc[2] / an}, {0, 0, -1});
    }
    return qneg_if(qnormalize(qmul(enu_to(f), init_enu(acc, mag))));
}

void check_common(const CommonParams& p) {
    detail::check_fs(p.fs);
    if (p.has_q0) {
        const double n = std::sqrt(p.q0[0] * p.q0[0] + p.q0[1] * p.q0[1] + p.q0[2] * p.q0[2] + p.q0[3] * p.q0[3]);
        if (!(std::isfinite(n) && n > 0)) detail::fail_param("q0", "a finite non-zero quaternion (w, x, y, z)", n);
    }
}

void check_nonneg(const char* name, double v) {
    if (!(std::isfinite(v) && v >= 0)) detail::fail_param(name, "finite and >= 0", v);
}
void check_pos(const char* name, double v) {
    if (!(std::isfinite(v) && v > 0)) detail::fail_param(name, "finite and > 0", v);
}

StateRecord quat_state(const Quat& q, bool init) {
    return {{"q", {q[0], q[1], q[2], q[3]}}, {"initialized", {init ? 1.0 : 0.0}}};
}
void load_quat_state(const StateRecord& s, Quat& q, bool& init) {
    const auto& qq = detail::state_field(s, "q", 4);
    const auto& ii = detail::state_field(s, "initialized", 1);
    q = {qq[0], qq[1], qq[2], qq[3]};
    init = ii[0] != 0.0;
}

}  // namespace

Frame parse_frame(const std::string& s) {
    std::string u;
    for (char c : s) u += static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    if (u == "ENU") return Frame::enu;
    if (u == "NED") return Frame::ned;
    throw std::invalid_argument("frame must be 'ENU' or 'NED'; got '" + s + "'");
}

// ------------------------------------------------------------------------------------ Madgwick

Madgwick::Madgwick(const MadgwickParams& p) : p_(p) {
    check_common(p_);
    check_pos("beta", p_.beta);
    if (p_.has_q0) p_.q0 = qnormalize(p_.q0);
    dt_ = 1.0 / p_.fs;
    // native NWU -> ENU: +90 deg about z; NWU -> NED: 180 deg about x.
    f_ = p_.frame == Frame::enu ? Quat{kSqrtHalf, 0, 0, kSqrtHalf} : Quat{0, 1, 0, 0};
    reset();
}

void Madgwick::reset() {
    q_ = {1, 0, 0, 0};
    init_ = false;
}

Quat Madgwick::quaternion() const {
    if (!init_) return {kNaN, kNaN, kNaN, kNaN};
    return qmul(f_, q_);
}

StateRecord Madgwick::get_state() const { return quat_state(q_, init_); }
void Madgwick::set_state(const StateRecord& s) { load_quat_state(s, q_, init_); }

void Madgwick::update(const double* gyr, const double* acc, const double* mag, double* qo, std::size_t n) {
    const double beta = p_.beta;
    for (std::size_t k = 0; k < n; ++k) {
        const double* g = gyr + 3 * k;
        const double* a = acc + 3 * k;
        const double* m = mag ? mag + 3 * k : nullptr;
        if (!init_) {
            if (p_.has_q0) {
                q_ = qmul(qconj(f_), p_.q0);
            } else if (usable3(a)) {
                q_ = qmul(qconj(f_), init_out(a, m, p_.frame));
            } else {
                store_nan4(qo + 4 * k);
                continue;
            }
            init_ = true;
            store4(qmul(f_, q_), qo + 4 * k);
            continue;
        }
        if (!gyr_ok(g)) {
            store_nan4(qo + 4 * k);
            continue;
        }
        const Quat q = q_;
        Quat qd = qmul(q, {0.0, g[0], g[1], g[2]});
        qd = {0.5 * qd[0], 0.5 * qd[1], 0.5 * qd[2], 0.5 * qd[3]};
        const double ian = inv_norm_usable(a);
        if (ian > 0.0) {
            const double ax = a[0] * ian, ay = a[1] * ian, az = a[2] * ian;
            const double qw = q[0], qx = q[1], qy = q[2], qz = q[3];
            double grad[4];
            const double imn = inv_norm_usable(m);
            if (imn > 0.0) {
                const double mx = m[0] * imn, my = m[1] * imn, mz = m[2] * imn;
                const Quat h = qmul(q, qmul({0.0, mx, my, mz}, qconj(q)));
                const double bx = std::sqrt(h[1] * h[1] + h[2] * h[2]);
                const double bz = h[3];
                const double f[6] = {2.0 * (qx * qz - qw * qy) - ax,
                                     2.0 * (qw * qx + qy * qz) - ay,
                                     2.0 * (0.5 - qx * qx - qy * qy) - az,
                                     2.0 * bx * (0.5 - qy * qy - qz * qz) + 2.0 * bz * (qx * qz - qw * qy) - mx,
                                     2.0 * bx * (qx * qy - qw * qz) + 2.0 * bz * (qw * qx + qy * qz) - my,
                                     2.0 * bx * (qw * qy + qx * qz) + 2.0 * bz * (0.5 - qx * qx - qy * qy) - mz};
                const double J[6][4] = {
                    {-2.0 * qy, 2.0 * qz, -2.0 * qw, 2.0 * qx},
                    {2.0 * qx, 2.0 * qw, 2.0 * qz, 2.0 * qy},
                    {0.0, -4.0 * qx, -4.0 * qy, 0.0},
                    {-2.0 * bz * qy, 2.0 * bz * qz, -4.0 * bx * qy - 2.0 * bz * qw, -4.0 * bx * qz + 2.0 * bz * qx},
                    {-2.0 * bx * qz + 2.0 * bz * qx, 2.0 * bx * qy + 2.0 * bz * qw, 2.0 * bx * qx + 2.0 * bz * qz,
                     -2.0 * bx * qw + 2.0 * bz * qy},
                    {2.0 * bx * qy, 2.0 * bx * qz - 4.0 * bz * qx, 2.0 * bx * qw - 4.0 * bz * qy, 2.0 * bx * qx}};
                for (int c = 0; c < 4; ++c) {
                    double s = 0.0;
                    for (int r = 0; r < 6; ++r) s += J[r][c] * f[r];
                    grad[c] = s;
                }
            } else {
                const double f[3] = {2.0 * (qx * qz - qw * qy) - ax, 2.0 * (qw * qx + qy * qz) - ay,
                                     2.0 * (0.5 - qx * qx - qy * qy) - az};
                grad[0] = -2.0 * qy * f[0] + 2.0 * qx * f[1];
                grad[1] = 2.0 * qz * f[0] + 2.0 * qw * f[1] - 4.0 * qx * f[2];
                grad[2] = -2.0 * qw * f[0] + 2.0 * qz * f[1] - 4.0 * qy * f[2];
                grad[3] = 2.0 * qx * f[0] + 2.0 * qy * f[1];
            }
            const double gn = std::sqrt(grad[0] * grad[0] + grad[1] * grad[1] + grad[2] * grad[2] + grad[3] * grad[3]);
            if (gn > 0.0 && std::isfinite(gn)) {
                const double kb = beta / gn;
                for (std::size_t c = 0; c < 4; ++c) qd[c] -= kb * grad[c];
            }
        }
        Quat qn{q[0] + qd[0] * dt_, q[1] + qd[1] * dt_, q[2] + qd[2] * dt_, q[3] + qd[3] * dt_};
        qn = qnorm_fast(qn);
        if (unit_ok(qn)) {
            q_ = qn;
            store4(qmul(f_, q_), qo + 4 * k);
        } else {
            store_nan4(qo + 4 * k);  // overflow from huge input: state held
        }
    }
}

// ------------------------------------------------------------------------------------ Mahony

Mahony::Mahony(const MahonyParams& p) : p_(p) {
    check_common(p_);
    check_nonneg("kp", p_.kp);
    check_nonneg("ki", p_.ki);
    if (!finite3(p_.b0.data())) detail::fail_param("b0", "3 finite values (rad/s)", p_.b0[0]);
    if (p_.has_q0) p_.q0 = qnormalize(p_.q0);
    dt_ = 1.0 / p_.fs;
    f_ = enu_to(p_.frame);
    reset();
}

void Mahony::reset() {
    q_ = {1, 0, 0, 0};
    b_ = p_.b0;
    init_ = false;
}

Quat Mahony::quaternion() const {
    if (!init_) return {kNaN, kNaN, kNaN, kNaN};
    return qmul(f_, q_);
}

StateRecord Mahony::get_state() const {
    StateRecord s = quat_state(q_, init_);
    s["bias"] = {b_[0], b_[1], b_[2]};
    return s;
}
void Mahony::set_state(const StateRecord& s) {
    const auto& b = detail::state_field(s, "bias", 3);
    load_quat_state(s, q_, init_);
    b_ = {b[0], b[1], b[2]};
}

void Mahony::update(const double* gyr, const double* acc, const double* mag, double* qo, std::size_t n) {
    for (std::size_t k = 0; k < n; ++k) {
        const double* g = gyr + 3 * k;
        const double* a = acc + 3 * k;
        const double* m = mag ? mag + 3 * k : nullptr;
        if (!init_) {
            if (p_.has_q0) {
                q_ = qmul(qconj(f_), p_.q0);
            } else if (usable3(a)) {
                q_ = qmul(qconj(f_), init_out(a, m, p_.frame));
            } else {
                store_nan4(qo + 4 * k);
                continue;
            }
            init_ = true;
            store4(qmul(f_, q_), qo + 4 * k);
            continue;
        }
        if (!gyr_ok(g)) {
            store_nan4(qo + 4 * k);
            continue;
        }
        const Quat q = q_;
        Vec3 om{g[0], g[1], g[2]};
        Vec3 b = b_;
        const double ian = inv_norm_usable(a);
        if (ian > 0.0) {
            const Vec3 ah{a[0] * ian, a[1] * ian, a[2] * ian};
            const double w = q[0], x = q[1], y = q[2], z = q[3];
            const double R[9] = {1 - 2 * (y * y + z * z), 2 * (x * y - w * z), 2 * (x * z + w * y),
                                 2 * (x * y + w * z), 1 - 2 * (x * x + z * z), 2 * (y * z - w * x),
                                 2 * (x * z - w * y), 2 * (y * z + w * x), 1 - 2 * (x * x + y * y)};
            const Vec3 va{R[6], R[7], R[8]};  // R^T (0, 0, 1)
            Vec3 e = cross(ah, va);
            const double imn = inv_norm_usable(m);
            if (imn > 0.0) {
                const Vec3 mh{m[0] * imn, m[1] * imn, m[2] * imn};
                const Vec3 h{R[0] * mh[0] + R[1] * mh[1] + R[2] * mh[2], R[3] * mh[0] + R[4] * mh[1] + R[5] * mh[2],
                             R[6] * mh[0] + R[7] * mh[1] + R[8] * mh[2]};
                const double hy = std::sqrt(h[0] * h[0] + h[1] * h[1]);
                Vec3 vm{R[3] * hy + R[6] * h[2], R[4] * hy + R[7] * h[2], R[5] * hy + R[8] * h[2]};
                const double ivn = 1.0 / norm3(vm);
                vm = {vm[0] * ivn, vm[1] * ivn, vm[2] * ivn};
                const Vec3 em = cross(mh, vm);
                e = {e[0] + em[0], e[1] + em[1], e[2] + em[2]};
            }
            for (std::size_t i = 0; i < 3; ++i) {
                b[i] += -p_.ki * e[i] * dt_;
                om[i] = om[i] - b[i] + p_.kp * e[i];
            }
        }
        Quat qd = qmul(q, {0.0, om[0], om[1], om[2]});
        Quat qn{q[0] + 0.5 * qd[0] * dt_, q[1] + 0.5 * qd[1] * dt_, q[2] + 0.5 * qd[2] * dt_, q[3] + 0.5 * qd[3] * dt_};
        qn = qnorm_fast(qn);
        if (unit_ok(qn) &&
            finite3(b.data())) {
            q_ = qn;
            b_ = b;
            store4(qmul(f_, q_), qo + 4 * k);
        } else {
            store_nan4(qo + 4 * k);
        }
    }
}

// ------------------------------------------------------------------------------------ Complementary

Complementary::Complementary(const ComplementaryParams& p) : p_(p) {
    check_common(p_);
    if (!(std::isfinite(p_.gain) && p_.gain >= 0.0 && p_.gain <= 1.0)) detail::fail_param("gain", "in [0, 1]", p_.gain);
    if (p_.has_q0) p_.q0 = qnormalize(p_.q0);
    dt_ = 1.0 / p_.fs;
    f_ = enu_to(p_.frame);
    reset();
}

void Complementary::reset() {
    q_ = {1, 0, 0, 0};
    init_ = false;
}
Quat Complementary::quaternion() const {
    if (!init_) return {kNaN, kNaN, kNaN, kNaN};
    return qmul(f_, q_);
}
StateRecord Complementary::get_state() const { return quat_state(q_, init_); }
void Complementary::set_state(const StateRecord& s) { load_quat_state(s, q_, init_); }

void Complementary::update(const double* gyr, const double* acc, const double* mag, double* qo, std::size_t n) {
    for (std::size_t k = 0; k < n; ++k) {
        const double* g = gyr + 3 * k;
        const double* a = acc + 3 * k;
        const double* m = mag ? mag + 3 * k : nullptr;
        if (!init_) {
            if (p_.has_q0) {
                q_ = qmul(qconj(f_), p_.q0);
            } else if (usable3(a)) {
                q_ = qmul(qconj(f_), init_out(a, m, p_.frame));
            } else {
                store_nan4(qo + 4 * k);
                continue;
            }
            init_ = true;
            store4(qmul(f_, q_), qo + 4 * k);
            continue;
        }
        if (!gyr_ok(g)) {
            store_nan4(qo + 4 * k);
            continue;
        }
        Quat q = qnormalize(qmul(q_, qfrom_rotvec({g[0] * dt_, g[1] * dt_, g[2] * dt_})));
        if (usable3(a)) {
            const double an = norm3(a);
            const Vec3 ae = qrotate(q, {a[0] / an, a[1] / an, a[2] / an});
            const Quat c = align(ae, {0, 0, 1});
            const Vec3 rv = qto_rotvec(c);
            q = qnormalize(qmul(qfrom_rotvec({rv[0] * p_.gain, rv[1] * p_.gain, rv[2] * p_.gain}), q));
            if (m != nullptr && usable3(m)) {
                const Vec3 me = qrotate(q, {m[0], m[1], m[2]});
                if (me[0] != 0.0 || me[1] != 0.0) {
                    const double d = std::atan2(me[0], me[1]) * p_.gain;
                    q = qnormalize(qmul({std::cos(0.5 * d), 0, 0, std::sin(0.5 * d)}, q));
                }
            }
        }
        if (unit_ok(q)) {
            q_ = q;
            store4(qmul(f_, q_), qo + 4 * k);
        } else {
            store_nan4(qo + 4 * k);
        }
    }
}

// ------------------------------------------------------------------------------------ RobustAHRS

RobustAHRS::RobustAHRS(const RobustParams& p) : p_(p) {
    check_common(p_);
    check_pos("tau_acc", p_.tau_acc);
    check_pos("tau_mag", p_.tau_mag);
    if (!std::isfinite(p_.tau_bias_motion)) detail::fail_param("tau_bias_motion", "finite (<= 0 disables)", p_.tau_bias_motion);
    if (!std::isfinite(p_.tau_bias_rest)) detail::fail_param("tau_bias_rest", "finite (<= 0 disables)", p_.tau_bias_rest);
    check_nonneg("bias_max", p_.bias_max);
    check_pos("rest_th_gyr", p_.rest_th_gyr);
    check_pos("rest_th_acc", p_.rest_th_acc);
    check_nonneg("rest_min_t", p_.rest_min_t);
    check_pos("mag_norm_th", p_.mag_norm_th);
    check_pos("mag_dip_th", p_.mag_dip_th);
    check_pos("mag_new_t", p_.mag_new_t);
    check_nonneg("mag_init_t", p_.mag_init_t);
    check_pos("acc_dev_scale", p_.acc_dev_scale);
    if (p_.has_q0) p_.q0 = qnormalize(p_.q0);
    dt_ = 1.0 / p_.fs;
    k_acc_ = 1.0 - std::exp(-dt_ / p_.tau_acc);
    k_mag_ = 1.0 - std::exp(-dt_ / p_.tau_mag);
    k_bm_ = p_.tau_bias_motion > 0 ? dt_ / p_.tau_bias_motion : 0.0;
    k_br_ = p_.tau_bias_rest > 0 ? 1.0 - std::exp(-dt_ / p_.tau_bias_rest) : 0.0;
    k_rest_lp_ = 1.0 - std::exp(-dt_ / 0.5);
    f_ = enu_to(p_.frame);
    reset();
}

void RobustAHRS::reset() { s_ = State{}; }

Quat RobustAHRS::quaternion() const {
    if (!s_.init) return {kNaN, kNaN, kNaN, kNaN};
    const Quat qd{std::cos(0.5 * s_.delta), 0, 0, std::sin(0.5 * s_.delta)};
    return qmul(f_, qmul(qd, qmul(s_.q_acc, s_.q_gyr)));
}

StateRecord RobustAHRS::get_state() const {
    const State& s = s_;
    return {{"initialized", {s.init ? 1.0 : 0.0}},
            {"q_gyr", {s.q_gyr.begin(), s.q_gyr.end()}},
            {"q_acc", {s.q_acc.begin(), s.q_acc.end()}},
            {"delta", {s.delta}},
            {"acc_lp", {s.acc_lp.begin(), s.acc_lp.end()}},
            {"bias", {s.bias.begin(), s.bias.end()}},
            {"gyr_lp", {s.gyr_lp.begin(), s.gyr_lp.end()}},
            {"accs_lp", {s.accs_lp.begin(), s.accs_lp.end()}},
            {"rest", {s.rest_t, s.rest ? 1.0 : 0.0}},
            {"mag", {s.mag_ref_set ? 1.0 : 0.0, s.mag_ref_norm, s.mag_ref_dip, s.mag_cand_norm, s.mag_cand_dip,
                     s.mag_cand_t, s.mag_t, s.mag_init ? 1.0 : 0.0, s.mag_dist ? 1.0 : 0.0}}};
}

void RobustAHRS::set_state(const StateRecord& r) {
    State s;
    auto q4 = [&](const char* name, Quat& q) {
        const auto& v = detail::state_field(r, name, 4);
        q = {v[0], v[1], v[2], v[3]};
    };
    auto v3 = [&](const char* name, Vec3& x) {
        const auto& v = detail::state_field(r, name, 3);
        x = {v[0], v[1], v[2]};
    };
    s.init = detail::state_field(r, "initialized", 1)[0] != 0.0;
    q4("q_gyr", s.q_gyr);
    q4("q_acc", s.q_acc);
    s.delta = detail::state_field(r, "delta", 1)[0];
    v3("acc_lp", s.acc_lp);

    v3("bias", s.bias);
    v3("gyr_lp", s.gyr_lp);
    v3("accs_lp", s.accs_lp);
    const auto& rs = detail::state_field(r, "rest", 2);
    s.rest_t = rs[0];
    s.rest = rs[1] != 0.0;
    const auto& m = detail::state_field(r, "mag", 9);
    s.mag_ref_set = m[0] != 0.0;
    s.mag_ref_norm = m[1];
    s.mag_ref_dip = m[2];
    s.mag_cand_norm = m[3];
    s.mag_cand_dip = m[4];
    s.mag_cand_t = m[5];
    s.mag_t = m[6];
    s.mag_init = m[7] != 0.0;
    s.mag_dist = m[8] != 0.0;
    s_ = s;
}

void RobustAHRS::update_ex(const double* gyr, const double* acc, const double* mag, double* q, double* bias,
                           std::uint8_t* rest, std::uint8_t* mag_dist, std::size_t n) {
    for (std::size_t k = 0; k < n; ++k) {
        step(gyr + 3 * k, acc + 3 * k, mag ? mag + 3 * k : nullptr, q + 4 * k, bias ? bias + 3 * k : nullptr,
             rest ? rest + k : nullptr, mag_dist ? mag_dist + k : nullptr);
    }
}

void RobustAHRS::step(const double* g, const double* a, const double* m, double* qo, double* bo, std::uint8_t* ro,
                      std::uint8_t* mo) {
    State& s = s_;
    const bool acc_ok = usable3(a);
    const bool mag_ok = m != nullptr && usable3(m);
    auto emit = [&]() {
        store4(quaternion(), qo);
        if (bo) {
            bo[0] = s.bias[0];
            bo[1] = s.bias[1];
            bo[2] = s.bias[2];
        }
        if (ro) *ro = s.rest ? 1 : 0;
        if (mo) *mo = s.mag_dist ? 1 : 0;
    };
    if (!s.init) {
        if (p_.has_q0) {
            s.q_gyr = qmul(qconj(f_), p_.q0);
            s.mag_init = true;
            s.mag_t = p_.mag_init_t;
        } else if (acc_ok) {
            s.q_gyr = qmul(qconj(f_), init_out(a, nullptr, p_.frame));
        } else {
            store_nan4(qo);
            if (bo) bo[0] = bo[1] = bo[2] = kNaN;
            if (ro) *ro = 0;
            if (mo) *mo = 0;
            return;
        }
        s.init = true;
        if (acc_ok) {
            s.acc_lp = qrotate(s.q_gyr, {a[0], a[1], a[2]});

            s.accs_lp = {a[0], a[1], a[2]};
        } else {
            s.acc_lp = qrotate(s.q_gyr, {0, 0, 9.81});
        }
        if (finite3(g)) s.gyr_lp = {g[0], g[1], g[2]};
        // fall through: the first sample also gets its mag heading (so 9D starts on the mag heading)
        if (mag_ok && !s.mag_init) {
            const Vec3 me = qrotate(qmul(s.q_acc, s.q_gyr), {m[0], m[1], m[2]});
            const double nn = norm3(me);
            if (me[0] != 0.0 || me[1] != 0.0) {
                s.delta = std::atan2(me[0], me[1]);
                s.mag_init = true;
                s.mag_t = 0.0;
                s.mag_ref_set = true;
                s.mag_ref_norm = nn;
                s.mag_ref_dip = std::asin(std::clamp(me[2] / nn, -1.0, 1.0));
            }
        }
        emit();
        return;
    }
    if (!gyr_ok(g)) {
        store_nan4(qo);
        if (bo) bo[0] = bo[1] = bo[2] = kNaN;
        if (ro) *ro = 0;
        if (mo) *mo = 0;
        return;
    }
    const State backup = s;
    const double dt = dt_;
    // 1) strapdown integration of the bias-corrected gyro
    const Vec3 gc{g[0] - s.bias[0], g[1] - s.bias[1], g[2] - s.bias[2]};
    s.q_gyr = qnormalize(qmul(s.q_gyr, qfrom_rotvec({gc[0] * dt, gc[1] * dt, gc[2] * dt})));
    // 2) rest detection: deviations from 0.5 s low-passed signals and the bias-corrected rate
    for (std::size_t i = 0; i < 3; ++i) s.gyr_lp[i] += k_rest_lp_ * (g[i] - s.gyr_lp[i]);
    bool below = false;
    if (acc_ok) {
        for (std::size_t i = 0; i < 3; ++i) s.accs_lp[i] += k_rest_lp_ * (a[i] - s.accs_lp[i]);
        const Vec3 dg{g[0] - s.gyr_lp[0], g[1] - s.gyr_lp[1], g[2] - s.gyr_lp[2]};
        const Vec3 da{a[0] - s.accs_lp[0], a[1] - s.accs_lp[1], a[2] - s.accs_lp[2]};
        const Vec3 rate{s.gyr_lp[0] - s.bias[0], s.gyr_lp[1] - s.bias[1], s.gyr_lp[2] - s.bias[2]};
        below = norm3(dg) < p_.rest_th_gyr && norm3(da) < p_.rest_th_acc && norm3(rate) < p_.rest_th_gyr + p_.bias_max;
    }
    s.rest_t = below ? s.rest_t + dt : 0.0;
    s.rest = below && s.rest_t >= p_.rest_min_t;
    if (s.rest && k_br_ > 0) {
        for (std::size_t i = 0; i < 3; ++i) s.bias[i] += k_br_ * (g[i] - s.bias[i]);
    }
    // 3) inclination correction from the inertial-frame low-passed accelerometer
    const bool learn_motion = k_bm_ > 0 && !s.rest;
    Vec3 corr{0, 0, 0};  // earth-frame correction rotation vector applied this sample
    if (acc_ok) {
        const Vec3 ai = qrotate(s.q_gyr, {a[0], a[1], a[2]});
        const double dev = (norm3(a) - 9.81) / p_.acc_dev_scale;
        const double kw = k_acc_ / (1.0 + dev * dev);
        for (std::size_t i = 0; i < 3; ++i) s.acc_lp[i] += kw * (ai[i] - s.acc_lp[i]);
        Vec3 ae = qrotate(s.q_acc, s.acc_lp);
        const double an = norm3(ae);
        if (an > 0) {
            ae = {ae[0] / an, ae[1] / an, ae[2] / an};
            const Quat c = align(ae, {0, 0, 1});
            s.q_acc = qnormalize(qmul(c, s.q_acc));
            corr = {2.0 * c[1], 2.0 * c[2], 2.0 * c[3]};  // small-angle rotation vector (c[0] ~ 1)
        }
    }
    const Quat q6 = qmul(s.q_acc, s.q_gyr);
    // 4) heading correction from the magnetometer with disturbance detection
    s.mag_dist = false;
    if (mag_ok && acc_ok) {
        const Vec3 me = qrotate(q6, {m[0], m[1], m[2]});
        const double nn = norm3(me);
        const double dip = std::asin(std::clamp(me[2] / nn, -1.0, 1.0));
        if (!s.mag_ref_set) {
            s.mag_ref_set = true;
            s.mag_ref_norm = nn;
            s.mag_ref_dip = dip;
        }
        bool dist = std::fabs(nn / s.mag_ref_norm - 1.0) > p_.mag_norm_th || std::fabs(dip - s.mag_ref_dip) > p_.mag_dip_th;
        if (dist) {
            if (std::fabs(nn / s.mag_cand_norm - 1.0) < p_.mag_norm_th && std::fabs(dip - s.mag_cand_dip) < p_.mag_dip_th) {
                s.mag_cand_t += dt;
                s.mag_cand_norm += 0.01 * (nn - s.mag_cand_norm);
                s.mag_cand_dip += 0.01 * (dip - s.mag_cand_dip);
            } else {
                s.mag_cand_norm = nn;
                s.mag_cand_dip = dip;
                s.mag_cand_t = 0.0;
            }
            if (s.mag_cand_t >= p_.mag_new_t) {
                s.mag_ref_norm = s.mag_cand_norm;
                s.mag_ref_dip = s.mag_cand_dip;
                dist = false;
            }
        } else {
            const double kr = dt / p_.mag_new_t;
            s.mag_ref_norm += kr * (nn - s.mag_ref_norm);
            s.mag_ref_dip += kr * (dip - s.mag_ref_dip);
            s.mag_cand_t = 0.0;
        }
        s.mag_dist = dist;
        if (!dist && (me[0] != 0.0 || me[1] != 0.0)) {
            const double target = std::atan2(me[0], me[1]);
            if (!s.mag_init) {
                s.delta = target;
                s.mag_init = true;
                s.mag_t = 0.0;
            } else {
                double kk = k_mag_;
                if (s.mag_t < p_.mag_init_t) kk = std::max(kk, dt / (s.mag_t + dt));
                const double d = kk * wrap(target - s.delta);
                s.delta = wrap(s.delta + d);
                if (s.mag_t >= p_.mag_init_t) corr[2] += d;
                s.mag_t += dt;
            }
        }
    }
    // 5) bias learning in motion: a steady correction is the earth-frame image of a bias error
    if (learn_motion && (corr[0] != 0.0 || corr[1] != 0.0 || corr[2] != 0.0)) {
        const Vec3 es = qrotate(qconj(q6), corr);
        for (std::size_t i = 0; i < 3; ++i) s.bias[i] -= k_bm_ / dt * es[i];
    }
    for (std::size_t i = 0; i < 3; ++i) s.bias[i] = std::clamp(s.bias[i], -p_.bias_max, p_.bias_max);
    const Quat qn = quaternion();
    if (!(unit_ok(qn) &&
          finite3(s.bias.data()) && finite3(s.acc_lp.data()) && std::isfinite(s.delta))) {
        s = backup;  // overflow from huge input: never poison the state
        store_nan4(qo);
        if (bo) bo[0] = bo[1] = bo[2] = kNaN;
        if (ro) *ro = 0;
        if (mo) *mo = 0;
        return;
    }
    store4(qn, qo);
    if (bo) {
        bo[0] = s.bias[0];
        bo[1] = s.bias[1];
        bo[2] = s.bias[2];
    }
    if (ro) *ro = s.rest ? 1 : 0;
    if (mo) *mo = s.mag_dist ? 1 : 0;
}

void robust_offline(const RobustParams& p, const double* gyr, const double* acc, const double* mag, double* q,
                    double* bias, std::size_t n) {
    if (n == 0) return;
    RobustAHRS fwd(p);
    std::vector<double> bf(3 * n);
    fwd.update_ex(gyr, acc, mag, q, bf.data(), nullptr, nullptr, n);
    RobustParams pb = p;
    pb.has_q0 = false;
    RobustAHRS bwd(pb);
    RobustAHRS::State st = fwd.state();
    if (!st.init) {
        if (bias) std::copy(bf.begin(), bf.end(), bias);
        return;
    }
    for (double& b : st.bias) b = -b;
    bwd.set_raw_state(st);
    double g[3], qb[4], bb[3];
    const double w_den = n > 1 ? static_cast<double>(n - 1) : 1.0;
    for (std::size_t jj = n; jj-- > 0;) {
        const std::size_t src = jj + 1 < n ? jj + 1 : jj;  // gyro of sample k+1 takes k+1 -> k
        for (std::size_t i = 0; i < 3; ++i) g[i] = -gyr[3 * src + i];
        if (jj + 1 == n) {
            // the backward pass starts at the forward pass's last orientation
            const Quat q0 = bwd.quaternion();
            store4(q0, qb);
            bb[0] = -st.bias[0];
            bb[1] = -st.bias[1];
            bb[2] = -st.bias[2];
        } else {
            bwd.update_ex(g, acc + 3 * jj, mag ? mag + 3 * jj : nullptr, qb, bb, nullptr, nullptr, 1);
        }
        double* qf = q + 4 * jj;
        const double wb = 1.0 - static_cast<double>(jj) / w_den;
        const bool fok = std::isfinite(qf[0]);
        const bool bok = std::isfinite(qb[0]);
        if (fok && bok) {
            slerp(qf, qb, &wb, qf, 1);
        } else if (bok) {
            std::copy(qb, qb + 4, qf);
        }
        if (bias) {
            for (std::size_t i = 0; i < 3; ++i) {
                const double f = bf[3 * jj + i], b = -bb[i];
                bias[3 * jj + i] = std::isfinite(f) && std::isfinite(b) ? (1.0 - wb) * f + wb * b : f;
            }
        }
    }
}

}  // namespace kinemyo::fusion
