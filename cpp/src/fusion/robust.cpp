#include "kinemyo/fusion/robust.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <stdexcept>
#include <vector>

#include "kinemyo/common/checks.hpp"

namespace kinemyo::fusion {

namespace qn = kinemyo::quaternion;

namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr double kPi = 3.14159265358979323846;

double norm3v(const Vec3& v) { return std::sqrt(v[0] * v[0] + v[1] * v[1] + v[2] * v[2]); }
bool usable3(const double* v) {
    if (v == nullptr || !detail::finite3(v)) return false;
    const double nn = detail::norm3(v);
    return nn > 0.0 && std::isfinite(nn);
}
bool gyr_ok(const double* g) { return g[0] * g[0] + g[1] * g[1] + g[2] * g[2] < kMaxRate * kMaxRate; }  // false for NaN
bool unit_ok(const Quat& q) {
    const double n2 = q[0] * q[0] + q[1] * q[1] + q[2] * q[2] + q[3] * q[3];
    return std::isfinite(n2) && std::fabs(n2 - 1.0) < 1e-6;
}
Vec3 cross(const Vec3& a, const Vec3& b) {
    return {a[1] * b[2] - a[2] * b[1], a[2] * b[0] - a[0] * b[2], a[0] * b[1] - a[1] * b[0]};
}
double wrap(double a) { return std::remainder(a, 2.0 * kPi); }

/// Shortest rotation taking unit vector u onto unit vector v: normalise (1 + u.v, u x v).
Quat align(const Vec3& u, const Vec3& v) {
    const Vec3 ax = cross(u, v);
    const double c = u[0] * v[0] + u[1] * v[1] + u[2] * v[2];
    if (c < -1.0 + 1e-12) {  // 180 degrees about any axis orthogonal to u
        const Vec3 o = std::fabs(u[0]) < 0.9 ? Vec3{1, 0, 0} : Vec3{0, 1, 0};
        const Vec3 w = cross(u, o);
        const double wn = norm3v(w);
        return {0, w[0] / wn, w[1] / wn, w[2] / wn};
    }
    return qn::normalized(Quat{1.0 + c, ax[0], ax[1], ax[2]});
}

/// Initial orientation (ENU) from the accelerometer (tilt, heading 0) or accelerometer and
/// magnetometer (heading from the field).
Quat initial(const double* acc, const double* mag) {
    const double an = detail::norm3(acc);
    const Vec3 up{acc[0] / an, acc[1] / an, acc[2] / an};
    if (mag != nullptr && usable3(mag)) {
        Vec3 east = cross({mag[0], mag[1], mag[2]}, up);
        const double en = norm3v(east);
        if (en > 1e-12) {
            east = {east[0] / en, east[1] / en, east[2] / en};
            const Vec3 north = cross(up, east);
            const double R[9] = {east[0], east[1], east[2], north[0], north[1], north[2], up[0], up[1], up[2]};
            Quat q;
            qn::from_matrix(R, q.data(), 1);
            return q;
        }
    }
    return align(up, {0, 0, 1});
}

void check_pos(const char* name, double v) {
    if (!(std::isfinite(v) && v > 0)) kinemyo::detail::fail_param(name, "finite and > 0", v);
}
void check_nonneg(const char* name, double v) {
    if (!(std::isfinite(v) && v >= 0)) kinemyo::detail::fail_param(name, "finite and >= 0", v);
}

}  // namespace

bool set_robust_param(RobustParams& p, const std::string& k, double v) {
    double* fields[] = {&p.fs, &p.tau_acc, &p.tau_mag, &p.tau_bias_motion, &p.tau_bias_rest, &p.bias_max,
                        &p.rest_th_gyr, &p.rest_th_acc, &p.rest_min_t, &p.mag_norm_th, &p.mag_dip_th,
                        &p.mag_new_t, &p.mag_init_t, &p.acc_dev_scale};
    const char* names[] = {"fs", "tau_acc", "tau_mag", "tau_bias_motion", "tau_bias_rest", "bias_max",
                           "rest_th_gyr", "rest_th_acc", "rest_min_t", "mag_norm_th", "mag_dip_th",
                           "mag_new_t", "mag_init_t", "acc_dev_scale"};
    for (std::size_t i = 0; i < sizeof(names) / sizeof(names[0]); ++i) {
        if (k == names[i]) {
            *fields[i] = v;
            return true;
        }
    }
    return false;
}

RobustAhrs::RobustAhrs(const RobustParams& p) : p_(p) {
    detail::check_fusion_fs(p.fs);
    check_pos("tau_acc", p.tau_acc);
    check_pos("tau_mag", p.tau_mag);
    if (!std::isfinite(p.tau_bias_motion)) kinemyo::detail::fail_param("tau_bias_motion", "finite (<= 0 disables)", p.tau_bias_motion);
    if (!std::isfinite(p.tau_bias_rest)) kinemyo::detail::fail_param("tau_bias_rest", "finite (<= 0 disables)", p.tau_bias_rest);
    check_nonneg("bias_max", p.bias_max);
    check_pos("rest_th_gyr", p.rest_th_gyr);
    check_pos("rest_th_acc", p.rest_th_acc);
    check_nonneg("rest_min_t", p.rest_min_t);
    check_pos("mag_norm_th", p.mag_norm_th);
    check_pos("mag_dip_th", p.mag_dip_th);
    check_pos("mag_new_t", p.mag_new_t);
    check_nonneg("mag_init_t", p.mag_init_t);
    check_pos("acc_dev_scale", p.acc_dev_scale);
    dt_ = 1.0 / p.fs;
    k_acc_ = 1.0 - std::exp(-dt_ / p.tau_acc);
    k_mag_ = 1.0 - std::exp(-dt_ / p.tau_mag);
    k_bm_ = p.tau_bias_motion > 0 ? dt_ / p.tau_bias_motion : 0.0;
    k_br_ = p.tau_bias_rest > 0 ? 1.0 - std::exp(-dt_ / p.tau_bias_rest) : 0.0;
    k_rest_lp_ = 1.0 - std::exp(-dt_ / 0.5);
}

Quat RobustAhrs::quaternion() const {
    if (!s_.init) return {kNaN, kNaN, kNaN, kNaN};
    const Quat qd{std::cos(0.5 * s_.delta), 0, 0, std::sin(0.5 * s_.delta)};
    return qn::mul(qd, qn::mul(s_.q_acc, s_.q_gyr));
}

void RobustAhrs::update(const double* gyr, const double* acc, const double* mag, std::size_t n, double* q_out,
                        double* bias_out, std::uint8_t* flags_out) {
    for (std::size_t k = 0; k < n; ++k) {
        step(gyr + 3 * k, acc + 3 * k, mag ? mag + 3 * k : nullptr, q_out + 4 * k, bias_out ? bias_out + 3 * k : nullptr,
             flags_out ? flags_out + k : nullptr);
    }
}

void RobustAhrs::step(const double* g, const double* a, const double* m, double* qo, double* bo, std::uint8_t* fo) {
    State& s = s_;
    const bool acc_ok = usable3(a);
    const bool mag_ok = m != nullptr && usable3(m);
    const bool g_ok = gyr_ok(g);
    std::uint8_t flags = 0;
    if (!acc_ok) flags |= kAccSkipped;
    if (!mag_ok) flags |= kMagSkipped;
    auto emit = [&](const Quat& q) {
        for (std::size_t i = 0; i < 4; ++i) qo[i] = q[i];
        if (bo) for (std::size_t i = 0; i < 3; ++i) bo[i] = s.bias[i];
        if (s.rest) flags |= kRest;
        if (s.mag_dist) flags |= kMagDisturbed;
        if (fo) *fo = flags;
    };
    auto emit_nan = [&]() {
        for (std::size_t i = 0; i < 4; ++i) qo[i] = kNaN;
        if (bo) for (std::size_t i = 0; i < 3; ++i) bo[i] = s.bias[i];
        if (fo) *fo = static_cast<std::uint8_t>(flags | kGyrSkipped);
    };
    if (!s.init) {
        if (!acc_ok) {  // wait for a usable accelerometer sample to start
            emit_nan();
            return;
        }
        s.q_gyr = initial(a, nullptr);
        s.init = true;
        s.acc_lp = qn::rotate(s.q_gyr, {a[0], a[1], a[2]});
        s.accs_lp = {a[0], a[1], a[2]};
        if (detail::finite3(g)) s.gyr_lp = {g[0], g[1], g[2]};
        if (mag_ok) {  // 9D starts on the magnetometer heading
            const Vec3 me = qn::rotate(qn::mul(s.q_acc, s.q_gyr), {m[0], m[1], m[2]});
            const double nn = norm3v(me);
            if (me[0] != 0.0 || me[1] != 0.0) {
                s.delta = std::atan2(me[0], me[1]);
                s.mag_init = true;
                s.mag_t = 0.0;
                s.mag_ref_set = true;
                s.mag_ref_norm = nn;
                s.mag_ref_dip = std::asin(std::clamp(me[2] / nn, -1.0, 1.0));
            }
        }
        emit(quaternion());
        return;
    }
    if (!g_ok) {
        emit_nan();
        return;
    }
    const State backup = s;
    const double dt = dt_;
    // 1) strapdown integration of the bias-corrected gyroscope
    const Vec3 gc{g[0] - s.bias[0], g[1] - s.bias[1], g[2] - s.bias[2]};
    s.q_gyr = qn::normalized(qn::mul(s.q_gyr, qn::from_rotvec({gc[0] * dt, gc[1] * dt, gc[2] * dt})));
    // 2) rest: steady gyroscope and accelerometer (deviations from 0.5-s low-passes), slow rate
    for (std::size_t i = 0; i < 3; ++i) s.gyr_lp[i] += k_rest_lp_ * (g[i] - s.gyr_lp[i]);
    bool below = false;
    if (acc_ok) {
        for (std::size_t i = 0; i < 3; ++i) s.accs_lp[i] += k_rest_lp_ * (a[i] - s.accs_lp[i]);
        const Vec3 dg{g[0] - s.gyr_lp[0], g[1] - s.gyr_lp[1], g[2] - s.gyr_lp[2]};
        const Vec3 da{a[0] - s.accs_lp[0], a[1] - s.accs_lp[1], a[2] - s.accs_lp[2]};
        const Vec3 rate{s.gyr_lp[0] - s.bias[0], s.gyr_lp[1] - s.bias[1], s.gyr_lp[2] - s.bias[2]};
        below = norm3v(dg) < p_.rest_th_gyr && norm3v(da) < p_.rest_th_acc &&
                norm3v(rate) < p_.rest_th_gyr + p_.bias_max;
    }
    s.rest_t = below ? s.rest_t + dt : 0.0;
    s.rest = below && s.rest_t >= p_.rest_min_t;
    if (s.rest && k_br_ > 0) {
        for (std::size_t i = 0; i < 3; ++i) s.bias[i] += k_br_ * (g[i] - s.bias[i]);
    }
    // 3) inclination from the quasi-inertial low-passed accelerometer
    const bool learn_motion = k_bm_ > 0 && !s.rest;
    Vec3 corr{0, 0, 0};  // earth-frame rotation vector of this sample's corrections
    if (acc_ok) {
        const Vec3 ai = qn::rotate(s.q_gyr, {a[0], a[1], a[2]});
        const double dev = (detail::norm3(a) - 9.81) / p_.acc_dev_scale;
        const double kw = k_acc_ / (1.0 + dev * dev);
        for (std::size_t i = 0; i < 3; ++i) s.acc_lp[i] += kw * (ai[i] - s.acc_lp[i]);
        Vec3 ae = qn::rotate(s.q_acc, s.acc_lp);
        const double an = norm3v(ae);
        if (an > 0) {
            ae = {ae[0] / an, ae[1] / an, ae[2] / an};
            const Quat c = align(ae, {0, 0, 1});
            s.q_acc = qn::normalized(qn::mul(c, s.q_acc));
            corr = {2.0 * c[1], 2.0 * c[2], 2.0 * c[3]};  // small-angle rotation vector
        }
    }
    const Quat q6 = qn::mul(s.q_acc, s.q_gyr);
    // 4) heading from the magnetometer, with disturbance detection
    s.mag_dist = false;
    if (mag_ok && acc_ok) {
        const Vec3 me = qn::rotate(q6, {m[0], m[1], m[2]});
        const double nn = norm3v(me);
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
            const double target = std::atan2(me[0], me[1]);  // field direction east of north
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
    // 5) bias in motion: a steady correction is the earth-frame image of a bias error
    if (learn_motion && (corr[0] != 0.0 || corr[1] != 0.0 || corr[2] != 0.0)) {
        const Vec3 es = qn::rotate(qn::conj(q6), corr);
        for (std::size_t i = 0; i < 3; ++i) s.bias[i] -= k_bm_ / dt * es[i];
    }
    for (std::size_t i = 0; i < 3; ++i) s.bias[i] = std::clamp(s.bias[i], -p_.bias_max, p_.bias_max);
    const Quat q = quaternion();
    if (!(unit_ok(q) && detail::finite3(s.bias.data()) && detail::finite3(s.acc_lp.data()) && std::isfinite(s.delta))) {
        s = backup;  // overflow from huge inputs: never poison the state
        emit_nan();
        return;
    }
    emit(q);
}

StateRecord RobustAhrs::get_state() const {
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

void RobustAhrs::set_state(const StateRecord& r) {
    using kinemyo::detail::state_field;
    State s;
    auto q4 = [&](const char* name, Quat& q) {
        const auto& v = state_field(r, name, 4);
        q = {v[0], v[1], v[2], v[3]};
    };
    auto v3 = [&](const char* name, Vec3& x) {
        const auto& v = state_field(r, name, 3);
        x = {v[0], v[1], v[2]};
    };
    s.init = state_field(r, "initialized", 1)[0] != 0.0;
    q4("q_gyr", s.q_gyr);
    q4("q_acc", s.q_acc);
    s.delta = state_field(r, "delta", 1)[0];
    v3("acc_lp", s.acc_lp);
    v3("bias", s.bias);
    v3("gyr_lp", s.gyr_lp);
    v3("accs_lp", s.accs_lp);
    const auto& rs = state_field(r, "rest", 2);
    s.rest_t = rs[0];
    s.rest = rs[1] != 0.0;
    const auto& mg = state_field(r, "mag", 9);
    s.mag_ref_set = mg[0] != 0.0;
    s.mag_ref_norm = mg[1];
    s.mag_ref_dip = mg[2];
    s.mag_cand_norm = mg[3];
    s.mag_cand_dip = mg[4];
    s.mag_cand_t = mg[5];
    s.mag_t = mg[6];
    s.mag_init = mg[7] != 0.0;
    s.mag_dist = mg[8] != 0.0;
    s_ = s;
}

void robust_offline(const RobustParams& p, const double* gyr, const double* acc, const double* mag, std::size_t n,
                    double* q, double* bias, std::uint8_t* flags) {
    if (n == 0) return;
    RobustAhrs fwd(p);
    std::vector<double> bf(3 * n);
    fwd.update(gyr, acc, mag, n, q, bf.data(), flags);
    RobustAhrs::State st = fwd.state();
    if (!st.init) {
        if (bias) std::copy(bf.begin(), bf.end(), bias);
        return;
    }
    for (double& b : st.bias) b = -b;      // the reversed gyroscope is negated, so is its bias
    for (double& g : st.gyr_lp) g = -g;
    RobustAhrs bwd(p);
    bwd.set_raw_state(st);
    double g[3], qb[4], bb[3];
    const double w_den = n > 1 ? static_cast<double>(n - 1) : 1.0;
    for (std::size_t jj = n; jj-- > 0;) {
        const std::size_t src = jj + 1 < n ? jj + 1 : jj;  // the gyroscope of sample k+1 takes k+1 -> k
        for (std::size_t i = 0; i < 3; ++i) g[i] = -gyr[3 * src + i];
        if (jj + 1 == n) {  // the backward pass starts at the forward pass's last orientation
            const Quat q0 = bwd.quaternion();
            std::copy(q0.begin(), q0.end(), qb);
            for (std::size_t i = 0; i < 3; ++i) bb[i] = st.bias[i];
        } else {
            bwd.update(g, acc + 3 * jj, mag ? mag + 3 * jj : nullptr, 1, qb, bb, nullptr);
        }
        double* qf = q + 4 * jj;
        const double wb = 1.0 - static_cast<double>(jj) / w_den;
        const bool fok = std::isfinite(qf[0]);
        const bool bok = std::isfinite(qb[0]);
        if (fok && bok) {
            qn::slerp(qf, 1, qb, 1, &wb, 1, qf, 1);
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
