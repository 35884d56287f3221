#include "kinemyo/fusion/robust.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <stdexcept>

#include "kinemyo/common/checks.hpp"
#include "kinemyo/filters/design.hpp"

namespace kinemyo::fusion {

namespace qn = kinemyo::quaternion;

namespace {
constexpr double kPi = 3.14159265358979323846;
constexpr double kDeg = kPi / 180.0;

double wrap(double a) { return std::remainder(a, 2.0 * kPi); }
double dot3(const Vec3& a, const Vec3& b) { return a[0] * b[0] + a[1] * b[1] + a[2] * b[2]; }

// The smallest rotation taking unit vector u to +z.
Quat to_vertical(const Vec3& u) {
    if (!(u[2] > -0.999999)) return {0.0, 1.0, 0.0, 0.0};
    return qn::normalized(Quat{1.0 + u[2], u[1], -u[0], 0.0});
}
}  // namespace

bool set_robust_param(RobustParams& p, const std::string& k, double v) {
    double* fields[] = {&p.fs, &p.tau_acc, &p.lin_acc_tol, &p.tau_mag, &p.tau_bias_motion, &p.tau_bias_rest, &p.bias_clip_dps,
                        &p.rest_gyr_dps, &p.rest_acc, &p.rest_min_s, &p.rest_tau, &p.mag_norm_tol,
                        &p.mag_dip_tol_deg, &p.mag_new_field_s, &p.mag_ref_tau};
    const char* names[] = {"fs", "tau_acc", "lin_acc_tol", "tau_mag", "tau_bias_motion", "tau_bias_rest", "bias_clip_dps",
                           "rest_gyr_dps", "rest_acc", "rest_min_s", "rest_tau", "mag_norm_tol",
                           "mag_dip_tol_deg", "mag_new_field_s", "mag_ref_tau"};
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
    auto positive = [](const char* name, double v) {
        if (!(std::isfinite(v) && v > 0.0)) kinemyo::detail::fail_param(name, "a finite value > 0", v);
    };
    positive("tau_acc", p.tau_acc);
    positive("tau_mag", p.tau_mag);
    positive("lin_acc_tol", p.lin_acc_tol);
    positive("tau_bias_motion", p.tau_bias_motion);
    positive("tau_bias_rest", p.tau_bias_rest);
    positive("bias_clip_dps", p.bias_clip_dps);
    positive("rest_gyr_dps", p.rest_gyr_dps);
    positive("rest_acc", p.rest_acc);
    positive("rest_min_s", p.rest_min_s);
    positive("rest_tau", p.rest_tau);
    positive("mag_norm_tol", p.mag_norm_tol);
    positive("mag_dip_tol_deg", p.mag_dip_tol_deg);
    positive("mag_new_field_s", p.mag_new_field_s);
    positive("mag_ref_tau", p.mag_ref_tau);
    dt_ = 1.0 / p.fs;
    // 2nd-order Butterworth with cut-off sqrt(2) / (2 pi tau): the time constant of VQF's convention.
    double fc = std::sqrt(2.0) / (2.0 * kPi * p.tau_acc);
    fc = std::min(fc, 0.4 * p.fs);
    const auto sos = filters::butter(2, {fc}, p.fs, filters::BandType::lowpass);
    lp_ = {sos[0][0], sos[0][1], sos[0][2], sos[0][4], sos[0][5]};
    const auto zi = filters::sosfilt_zi(sos);
    lp_zi_ = {zi[0][0], zi[0][1]};
}

void RobustAhrs::reset() { *this = RobustAhrs(p_); }

void RobustAhrs::update(const double* gyr, const double* acc, const double* mag, std::size_t n, double* q_out,
                        double* bias_out, std::uint8_t* flags_out) {
    for (std::size_t i = 0; i < n; ++i) {
        step(gyr + 3 * i, acc + 3 * i, mag ? mag + 3 * i : nullptr, q_out + 4 * i, bias_out ? bias_out + 3 * i : nullptr,
             flags_out ? flags_out + i : nullptr);
    }
}

void RobustAhrs::step(const double* g, const double* a, const double* m, double* q_out, double* b_out,
                      std::uint8_t* f_out) {
    std::uint8_t flags = 0;
    const bool gyr_ok = detail::finite3(g) && detail::norm3(g) < kMaxRate;
    const double an = detail::norm3(a);
    const bool acc_ok = std::isfinite(an) && an > 0.0;
    const double mn = m ? detail::norm3(m) : 0.0;
    const bool mag_ok = m && std::isfinite(mn) && mn > 0.0;
    if (!gyr_ok) flags |= kGyrSkipped;
    if (!acc_ok) flags |= kAccSkipped;
    if (!mag_ok) flags |= kMagSkipped;

    if (started_ == 0.0) {
        if (!acc_ok) {  // wait for a usable accelerometer sample to start
            for (std::size_t k = 0; k < 4; ++k) q_out[k] = std::numeric_limits<double>::quiet_NaN();
            if (b_out) for (std::size_t k = 0; k < 3; ++k) b_out[k] = bias_[k];
            if (f_out) *f_out = flags;
            return;
        }
        q_gyr_ = {1.0, 0.0, 0.0, 0.0};
        q_inc_ = to_vertical({a[0] / an, a[1] / an, a[2] / an});
        for (std::size_t c = 0; c < 3; ++c) {
            acc_z_[2 * c] = lp_zi_[0] * a[c];
            acc_z_[2 * c + 1] = lp_zi_[1] * a[c];
            a_lp_[c] = a[c];
            g_lp_[c] = gyr_ok ? g[c] : 0.0;
        }
        g_ref_ = an;
        started_ = 1.0;
    } else if (gyr_ok) {
        // 1. strapdown integration of the bias-corrected rate
        const Vec3 w{(g[0] - bias_[0]) * dt_, (g[1] - bias_[1]) * dt_, (g[2] - bias_[2]) * dt_};
        q_gyr_ = qn::normalized(qn::mul(q_gyr_, qn::from_rotvec(w)));
    }

    // 2. rest detection: gyroscope and accelerometer steady, and no rotation
    bool rest = false;
    if (gyr_ok && acc_ok) {
        const double k = dt_ / (p_.rest_tau + dt_);
        double dg = 0.0, da = 0.0, wr = 0.0;
        for (std::size_t c = 0; c < 3; ++c) {
            g_lp_[c] += k * (g[c] - g_lp_[c]);
            a_lp_[c] += k * (a[c] - a_lp_[c]);
            dg += (g[c] - g_lp_[c]) * (g[c] - g_lp_[c]);
            da += (a[c] - a_lp_[c]) * (a[c] - a_lp_[c]);
            wr += (g_lp_[c] - bias_[c]) * (g_lp_[c] - bias_[c]);
        }
        // steady gyroscope and accelerometer (deviations from their low-pass), and a bias-corrected
        // rate below the bias clip (a large initial bias must not prevent rest detection)
        const double th = p_.rest_gyr_dps * kDeg;
        const double th_rot = (p_.bias_clip_dps + p_.rest_gyr_dps) * kDeg;
        const bool steady = dg < th * th && wr < th_rot * th_rot && da < p_.rest_acc * p_.rest_acc;
        rest_time_ = steady ? rest_time_ + dt_ : 0.0;
        rest = rest_time_ >= p_.rest_min_s;
        if (rest) {
            flags |= kRest;
            const double kb = dt_ / (p_.tau_bias_rest + dt_);
            for (std::size_t c = 0; c < 3; ++c) bias_[c] += kb * (g[c] - bias_[c]);
        }
    } else {
        rest_time_ = 0.0;
    }

    // 3. inclination from the accelerometer low-passed in the quasi-inertial frame
    if (acc_ok) {
        const Vec3 ai = qn::rotate(q_gyr_, {a[0], a[1], a[2]});
        Vec3 af;
        for (std::size_t c = 0; c < 3; ++c) {
            double& z0 = acc_z_[2 * c];
            double& z1 = acc_z_[2 * c + 1];
            const double y = lp_[0] * ai[c] + z0;
            z0 = lp_[1] * ai[c] - lp_[3] * y + z1;
            z1 = lp_[2] * ai[c] - lp_[4] * y;
            af[c] = y;
        }
        Vec3 ae = qn::rotate(q_inc_, af);
        const double n = std::sqrt(dot3(ae, ae));
        if (n > 0.0 && std::isfinite(n)) {
            for (auto& v : ae) v /= n;
            // linear-acceleration level: deviation of the norm from gravity (reference learned slowly,
            // faster at rest), low-passed over 1 s; it scales the correction down
            g_ref_ += (rest ? dt_ / 1.0 : dt_ / 60.0) * (an - g_ref_);
            lin_dev_ += dt_ / (1.0 + dt_) * (std::abs(an - g_ref_) - lin_dev_);
            const double lvl = lin_dev_ / p_.lin_acc_tol;
            const double weight = 1.0 / (1.0 + lvl * lvl);
            Quat corr = to_vertical(ae);
            if (weight < 1.0) corr = qn::from_rotvec([&] {
                Vec3 v = qn::to_rotvec(corr);
                for (auto& x : v) x *= weight;
                return v;
            }());
            q_inc_ = qn::normalized(qn::mul(corr, q_inc_));
            if (!rest && gyr_ok) {
                // bias in motion: the correction undoes the drift R (b - b_hat) dt of the last step
                const Vec3 r = qn::to_rotvec(corr);
                const Vec3 rs = qn::rotate(qn::conj(qn::mul(q_inc_, q_gyr_)), r);
                for (std::size_t c = 0; c < 3; ++c) bias_[c] -= rs[c] / p_.tau_bias_motion;
            }
        }
    }
    const double clip = p_.bias_clip_dps * kDeg;
    for (auto& b : bias_) b = std::clamp(b, -clip, clip);

    // 4. heading from the magnetometer, with disturbance rejection
    const Quat q6 = qn::mul(q_inc_, q_gyr_);
    if (mag_ok) {
        const Vec3 me = qn::rotate(q6, {m[0], m[1], m[2]});
        const double dip = std::asin(std::clamp(-me[2] / mn, -1.0, 1.0));
        const double horiz = std::hypot(me[0], me[1]);
        bool disturbed = false;
        if (mag_init_ == 0.0) {
            mag_norm_ref_ = mn;
            mag_dip_ref_ = dip;
        } else {
            disturbed = std::abs(mn / mag_norm_ref_ - 1.0) > p_.mag_norm_tol ||
                        std::abs(dip - mag_dip_ref_) > p_.mag_dip_tol_deg * kDeg;
        }
        if (disturbed) {
            // a steady new field becomes the reference after mag_new_field_s
            const bool same = std::abs(mn / mag_norm_cand_ - 1.0) < 0.5 * p_.mag_norm_tol &&
                              std::abs(dip - mag_dip_cand_) < 0.5 * p_.mag_dip_tol_deg * kDeg;
            if (mag_cand_time_ > 0.0 && same) {
                mag_cand_time_ += dt_;
            } else {
                mag_norm_cand_ = mn;
                mag_dip_cand_ = dip;
                mag_cand_time_ = dt_;
            }
            if (mag_cand_time_ >= p_.mag_new_field_s) {
                mag_norm_ref_ = mag_norm_cand_;
                mag_dip_ref_ = mag_dip_cand_;
                disturbed = false;
                mag_cand_time_ = 0.0;
            }
        } else {
            mag_cand_time_ = 0.0;
        }
        if (disturbed) {
            flags |= kMagDisturbed;
        } else if (horiz > 0.0) {
            const double kr = dt_ / (p_.mag_ref_tau + dt_);
            mag_norm_ref_ += kr * (mn - mag_norm_ref_);
            mag_dip_ref_ += kr * (dip - mag_dip_ref_);
            const double psi = std::atan2(me[0], me[1]);  // field direction east of north
            // converge fast at the start (running mean), then with time constant tau_mag
            const double k = std::max(dt_ / p_.tau_mag, 1.0 / (mag_init_ + 1.0));
            const double step_rad = k * wrap(psi - delta_);
            delta_ = wrap(delta_ + step_rad);
            if (!rest && gyr_ok && mag_init_ * dt_ > p_.tau_mag) {
                // the heading correction undoes the drift of the vertical bias component
                const Vec3 rs = qn::rotate(qn::conj(qn::mul(Quat{std::cos(0.5 * delta_), 0.0, 0.0, std::sin(0.5 * delta_)}, q6)), {0.0, 0.0, step_rad});
                for (std::size_t c = 0; c < 3; ++c) bias_[c] -= rs[c] / p_.tau_bias_motion;
            }
            mag_init_ = std::min(mag_init_ + 1.0, 1e9);
        }
    }
    const Quat qh{std::cos(0.5 * delta_), 0.0, 0.0, std::sin(0.5 * delta_)};
    const Quat q = qn::mul(qh, q6);
    for (std::size_t k = 0; k < 4; ++k) q_out[k] = q[k];
    if (b_out) for (std::size_t k = 0; k < 3; ++k) b_out[k] = bias_[k];
    if (f_out) *f_out = flags;
}

StateRecord RobustAhrs::get_state() const {
    StateRecord s;
    s["started"] = {started_};
    s["q_gyr"] = {q_gyr_[0], q_gyr_[1], q_gyr_[2], q_gyr_[3]};
    s["q_inc"] = {q_inc_[0], q_inc_[1], q_inc_[2], q_inc_[3]};
    s["delta"] = {delta_};
    s["acc_lp"] = std::vector<double>(acc_z_.begin(), acc_z_.end());
    s["bias"] = {bias_[0], bias_[1], bias_[2]};
    s["rest_lp"] = {g_lp_[0], g_lp_[1], g_lp_[2], a_lp_[0], a_lp_[1], a_lp_[2]};
    s["rest_time"] = {rest_time_};
    s["lin"] = {g_ref_, lin_dev_};
    s["mag"] = {mag_init_, mag_norm_ref_, mag_dip_ref_, mag_norm_cand_, mag_dip_cand_, mag_cand_time_};
    return s;
}

void RobustAhrs::set_state(const StateRecord& s) {
    using kinemyo::detail::state_field;
    RobustAhrs t(*this);
    t.started_ = state_field(s, "started", 1)[0];
    const auto& qg = state_field(s, "q_gyr", 4);
    const auto& qi = state_field(s, "q_inc", 4);
    t.q_gyr_ = {qg[0], qg[1], qg[2], qg[3]};
    t.q_inc_ = {qi[0], qi[1], qi[2], qi[3]};
    t.delta_ = state_field(s, "delta", 1)[0];
    const auto& lp = state_field(s, "acc_lp", 6);
    std::copy(lp.begin(), lp.end(), t.acc_z_.begin());
    const auto& b = state_field(s, "bias", 3);
    t.bias_ = {b[0], b[1], b[2]};
    const auto& r = state_field(s, "rest_lp", 6);
    t.g_lp_ = {r[0], r[1], r[2]};
    t.a_lp_ = {r[3], r[4], r[5]};
    t.rest_time_ = state_field(s, "rest_time", 1)[0];
    const auto& lin = state_field(s, "lin", 2);
    t.g_ref_ = lin[0];
    t.lin_dev_ = lin[1];
    const auto& mg = state_field(s, "mag", 6);
    t.mag_init_ = mg[0];
    t.mag_norm_ref_ = mg[1];
    t.mag_dip_ref_ = mg[2];
    t.mag_norm_cand_ = mg[3];
    t.mag_dip_cand_ = mg[4];
    t.mag_cand_time_ = mg[5];
    *this = t;
}

}  // namespace kinemyo::fusion
