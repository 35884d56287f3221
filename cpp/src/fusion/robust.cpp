#include "kinemyo/fusion/robust.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <stdexcept>
#include <utility>
#include <vector>

#include "kinemyo/common/checks.hpp"

#if defined(__GNUC__) || defined(__clang__)
#define KINEMYO_NOINLINE __attribute__((noinline))
#elif defined(_MSC_VER)
#define KINEMYO_NOINLINE __declspec(noinline)
#else
#define KINEMYO_NOINLINE
#endif

namespace kinemyo::fusion {

namespace qn = kinemyo::quaternion;

namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr double kPi = 3.14159265358979323846;
constexpr double kOfflineMagGuardS = 2.0;  // s, offline heading: margin around detected disturbances
constexpr double kOfflineMagFactor = 2.5;  // offline heading smoothing time constant, in units of tau_mag
constexpr double kOfflineMagEndFit = 4.0;  // offline heading: line fitted over this many smoothing time constants
constexpr double kOfflineMagEndPad = 3.0;  // at each end and continued over this many
constexpr double kOfflineBiasFactor = 2.0;  // offline bias smoothing time constant, in units of tau_bias_motion

double dot3(const Vec3& a, const Vec3& b) { return a[0] * b[0] + a[1] * b[1] + a[2] * b[2]; }
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
/// Angle wrapped to [-pi, pi). Inside (-3.14, 3.14) the general formula returns its argument
/// unchanged (floor gives 0), so that common case skips the floor, which is a slow emulated call on
/// baseline x86-64.
inline double wrap(double a) {
    if (std::fabs(a) < 3.14) return a;
    return a - 2.0 * kPi * std::floor(a * (0.5 / kPi) + 0.5);
}

/// Quaternion of the rotation vector r (axis * angle). Below |r| = 0.1 rad (10 rad/s at 100 Hz)
/// cos(|r|/2) and sin(|r|/2)/|r| are evaluated from their Taylor series in h = |r|^2/4 (the first
/// omitted terms are below 3e-20), which needs neither a square root nor sin/cos; equal to the
/// libm expression to rounding. Above, libm.
inline Quat rotvec_quat(double rx, double ry, double rz) {
    const double a2 = rx * rx + ry * ry + rz * rz;
    if (a2 < 0.01) {
        const double h = 0.25 * a2;
        const double c = 1.0 + h * (-1.0 / 2.0 + h * (1.0 / 24.0 + h * (-1.0 / 720.0 + h * (1.0 / 40320.0))));
        const double sh = 0.5 + h * (-0.5 / 6.0 + h * (0.5 / 120.0 + h * (-0.5 / 5040.0 + h * (0.5 / 362880.0))));
        return {c, rx * sh, ry * sh, rz * sh};
    }
    const double a = std::sqrt(a2);
    const double sh = std::sin(0.5 * a) / a;
    return {std::cos(0.5 * a), rx * sh, ry * sh, rz * sh};
}

/// cos x and sin x for |x| <= pi/2 (half the heading correction, which is wrapped to [-pi, pi)):
/// Taylor series to degree 16 / 17 on |r| <= pi/4 (first omitted terms below 1e-19), the upper
/// part reduced by pi/2 (split in two doubles, so the reduction is exact). Equal to libm to
/// rounding; outside |x| <= pi/2, libm.
inline void sincos_half(double x, double& c, double& s) {
    constexpr double kPio2Hi = 1.5707963267948966;      // pi/2 rounded to double
    constexpr double kPio2Lo = 6.123233995736766e-17;   // pi/2 - kPio2Hi
    const double ax = std::fabs(x);
    if (!(ax <= kPio2Hi + 1e-15)) {
        c = std::cos(x);
        s = std::sin(x);
        return;
    }
    const bool upper = ax > 0.25 * kPi;
    const double r = upper ? (x > 0 ? (x - kPio2Hi) - kPio2Lo : (x + kPio2Hi) + kPio2Lo) : x;
    const double z = r * r;
    const double cr =
        1.0 + z * (-1.0 / 2 + z * (1.0 / 24 + z * (-1.0 / 720 + z * (1.0 / 40320 + z * (-1.0 / 3628800 +
        z * (1.0 / 479001600 + z * (-1.0 / 87178291200.0 + z * (1.0 / 20922789888000.0))))))));
    const double sr =
        r * (1.0 + z * (-1.0 / 6 + z * (1.0 / 120 + z * (-1.0 / 5040 + z * (1.0 / 362880 + z * (-1.0 / 39916800 +
        z * (1.0 / 6227020800.0 + z * (-1.0 / 1307674368000.0 + z * (1.0 / 355687428096000.0)))))))));
    if (!upper) {
        c = cr;
        s = sr;
    } else if (x > 0) {  // x = r + pi/2
        c = -sr;
        s = cr;
    } else {  // x = r - pi/2
        c = sr;
        s = -cr;
    }
}

/// (c, 0, 0, s) (x) q: a rotation about the vertical applied to q (the general product without
/// its zero terms; equal for finite q).
inline Quat zrot_mul(double c, double s, const Quat& q) {
    return {c * q[0] - s * q[3], c * q[1] - s * q[2], c * q[2] + s * q[1], c * q[3] + s * q[0]};
}

/// Renormalise a quaternion that is unit to within rounding (a product of unit quaternions): one
/// Newton step of 1/sqrt(n2) about 1, (3 - n2) / 2, whose error is O((n2 - 1)^2), i.e. exact to
/// rounding, without a square root or division. Falls back to the division otherwise.
inline Quat renorm(const Quat& q) {
    const double n2 = q[0] * q[0] + q[1] * q[1] + q[2] * q[2] + q[3] * q[3];
    if (std::fabs(n2 - 1.0) < 1e-8) {
        const double f = 1.5 - 0.5 * n2;
        return {q[0] * f, q[1] * f, q[2] * f, q[3] * f};
    }
    return qn::normalized(q);
}

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

/// Second-order Butterworth low-pass with cutoff sqrt(2) / (2 pi tau) (the choice of VQF), bilinear
/// transform with pre-warping; b (3) and a (2, a0 = 1) for the transposed direct form II.
void butterworth2(double tau, double dt, double* b, double* a) {
    const double fc = std::sqrt(2.0) / (2.0 * kPi * tau);
    const double c = std::tan(kPi * std::min(fc * dt, 0.49));
    const double d = c * c + std::sqrt(2.0) * c + 1.0;
    b[0] = c * c / d;
    b[1] = 2.0 * b[0];
    b[2] = b[0];
    a[0] = 2.0 * (c * c - 1.0) / d;
    a[1] = (1.0 - std::sqrt(2.0) * c + c * c) / d;
}

/// One step of nch parallel biquads (transposed direct form II); x, y, z1, z2 do not overlap, so
/// the loop vectorises. Kept out of line: inlined into the per-sample step, the compiler loses the
/// no-overlap information and emits scalar code (6D: 161 -> 147 ns/sample out of line).
KINEMYO_NOINLINE void biquads(const double* b, const double* a, const double* __restrict x, double* __restrict y,
                    double* __restrict z1, double* __restrict z2, int nch) {
    const double b0 = b[0], b1 = b[1], b2 = b[2], a0 = a[0], a1 = a[1];
    for (int i = 0; i < nch; ++i) {
        const double yi = b0 * x[i] + z1[i];
        y[i] = yi;
        z1[i] = b1 * x[i] - a0 * yi + z2[i];
        z2[i] = b2 * x[i] - a1 * yi;
    }
}

/// One step of nch parallel biquads. Like VQF, the filter starts as a running mean over its first
/// `n0` samples (count = samples so far, this one included) and then switches to the biquad from
/// its steady state at that mean, so that the start is not dominated by the first sample.
inline void lp_step(const double* b, const double* a, double n0, double count, const double* x, double* y, double* z1,
                    double* z2, int nch) {
    if (count <= n0) {
        for (int i = 0; i < nch; ++i) {
            y[i] += (x[i] - y[i]) / count;
            if (count == n0) {
                z1[i] = (1.0 - b[0]) * y[i];
                z2[i] = (b[2] - a[1]) * y[i];
            }
        }
        return;
    }
    biquads(b, a, x, y, z1, z2, nch);
}

/// Rows x and y of the rotation matrix of q (sensor -> earth), then the same rows times b.
void motion_channels(const Quat& q, const Vec3& b, double* c) {
    const double w = q[0], x = q[1], y = q[2], z = q[3];
    c[0] = 1.0 - 2.0 * (y * y + z * z);
    c[1] = 2.0 * (x * y - w * z);
    c[2] = 2.0 * (x * z + w * y);
    c[3] = 2.0 * (x * y + w * z);
    c[4] = 1.0 - 2.0 * (x * x + z * z);
    c[5] = 2.0 * (y * z - w * x);
    c[6] = c[0] * b[0] + c[1] * b[1] + c[2] * b[2];
    c[7] = c[3] * b[0] + c[4] * b[1] + c[5] * b[2];
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
                        &p.mag_new_t, &p.mag_init_t, &p.acc_dev_scale, &p.mag_lm_t, &p.mag_az_th,
                        &p.mag_lm_tau, &p.lin_acc_ref, &p.tau_acc_lin};
    const char* names[] = {"fs", "tau_acc", "tau_mag", "tau_bias_motion", "tau_bias_rest", "bias_max",
                           "rest_th_gyr", "rest_th_acc", "rest_min_t", "mag_norm_th", "mag_dip_th",
                           "mag_new_t", "mag_init_t", "acc_dev_scale", "mag_lm_t", "mag_az_th", "mag_lm_tau", "lin_acc_ref", "tau_acc_lin"};
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
    check_pos("mag_lm_t", p.mag_lm_t);
    check_pos("mag_az_th", p.mag_az_th);
    check_pos("mag_lm_tau", p.mag_lm_tau);
    check_pos("lin_acc_ref", p.lin_acc_ref);
    check_pos("tau_acc_lin", p.tau_acc_lin);
    dt_ = 1.0 / p.fs;
    k_acc_ = 1.0 - std::exp(-dt_ / p.tau_acc);
    k_lm_ = 1.0 - std::exp(-dt_ / p.mag_lm_tau);
    butterworth2(p.tau_acc, dt_, lp_b_, lp_a_);
    butterworth2(p.tau_acc_lin, dt_, lp2_b_, lp2_a_);
    lp_n_[0] = std::max(1.0, std::round(p.tau_acc / dt_));
    lp_n_[1] = std::max(1.0, std::round(p.tau_acc_lin / dt_));
    k_mag_ = 1.0 - std::exp(-dt_ / p.tau_mag);
    k_bm_ = p.tau_bias_motion > 0 ? dt_ / p.tau_bias_motion : 0.0;
    k_br_ = p.tau_bias_rest > 0 ? 1.0 - std::exp(-dt_ / p.tau_bias_rest) : 0.0;
    k_rest_lp_ = 1.0 - std::exp(-dt_ / 0.5);
    rest_g2_ = p.rest_th_gyr * p.rest_th_gyr;
    rest_a2_ = p.rest_th_acc * p.rest_th_acc;
    rest_r2_ = (p.rest_th_gyr + p.bias_max) * (p.rest_th_gyr + p.bias_max);
    inv_lin2_ = 1.0 / (p.lin_acc_ref * p.lin_acc_ref);
}

Quat RobustAhrs::quaternion() const {
    if (!s_.init) return {kNaN, kNaN, kNaN, kNaN};
    return with_heading(qn::mul(s_.q_acc, s_.q_gyr));
}

Quat RobustAhrs::with_heading(const Quat& q6) const {
    if (s_.delta == 0.0) return q6;  // 6D: no heading correction
    double c, sn;
    sincos_half(0.5 * s_.delta, c, sn);
    return zrot_mul(c, sn, q6);
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
    // accelerometer norms of 1e6 m/s^2 (100,000 g) and more are beyond any sensor: skipped, which
    // keeps every state quantity bounded
    const double a_norm = detail::finite3(a) ? detail::norm3(a) : 0.0;
    const bool acc_ok = a_norm > 0.0 && a_norm < 1e6;
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
        s.acc2_lp = s.acc_lp;
        for (std::size_t i = 0; i < 3; ++i) {  // the low-passes start in their steady state
            s.acc_z1[i] = (1.0 - lp_b_[0]) * s.acc_lp[i];
            s.acc_z2[i] = (lp_b_[2] - lp_a_[1]) * s.acc_lp[i];
            s.acc2_z1[i] = (1.0 - lp2_b_[0]) * s.acc_lp[i];
            s.acc2_z2[i] = (lp2_b_[2] - lp2_a_[1]) * s.acc_lp[i];
        }
        {
            double c[8];
            motion_channels(s.q_gyr, s.bias, c);
            const double* bs[2] = {lp_b_, lp2_b_};
            const double* as[2] = {lp_a_, lp2_a_};
            for (int f = 0; f < 2; ++f) {
                for (int j = 0; j < 8; ++j) {
                    s.mb[f][0][j] = c[j];
                    s.mb[f][1][j] = (1.0 - bs[f][0]) * c[j];
                    s.mb[f][2][j] = (bs[f][2] - as[f][1]) * c[j];
                }
            }
        }
        s.lp_n = 1.0;
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
    if (!g_ok) {  // nothing to integrate: hold the orientation (documented), flag the sample
        flags |= kGyrSkipped;
        s.gap_t += dt_;
        emit(quaternion());
        return;
    }
    const double dt = dt_;
    // 0) the first gyroscope sample after a gap: the body turned by an unknown rotation meanwhile, so
    // the held orientation is off by it and the low-passed accelerometer (quasi-inertial frame) no
    // longer matches the sensor frame. Its expected size, th = |gyr_lp - bias| * gap (the rate of the
    // last 0.5 s held over the gap), is weighed against the accelerometer's per-sample inclination
    // error, sig = RMS linear acceleration / g (sqrt(lin_ms) / g): the low-passes go on as running
    // means (as at the start) in which their held output counts as c0 = sig^2 / th^2 samples
    // (inverse-variance weights; below one sample they restart from the next usable sample), so the
    // inclination re-levels as fast as the accelerometer allows. Where c0 exceeds a low-pass's start
    // length (a short gap, slow rotation, strong linear acceleration) that low-pass is untouched.
    // The re-levelling correction (and in 9D the heading's) comes from the gap, not from a bias
    // error, but VQF's model reads every steady correction as bias: motion-bias learning is off for
    // relevel_t s. Rest-bias learning goes on (it needs no orientation).
    if (s.gap_t > 0.0) {
        const Vec3 w{s.gyr_lp[0] - s.bias[0], s.gyr_lp[1] - s.bias[1], s.gyr_lp[2] - s.bias[2]};
        const double th2 = dot3(w, w) * s.gap_t * s.gap_t;     // rad^2
        const double sig2 = s.lin_ms * (1.0 / (9.81 * 9.81));  // rad^2
        if (th2 > 0.0 && sig2 < th2 * std::min(s.lp_n, lp_n_[1])) s.lp_n = std::floor(sig2 / th2);
        if (th2 > 0.0) {
            // a bias within the clamp turns the sensor by th in th / bias_max s: corrections until
            // then are not told apart from the gap's; at most until the low-pass (and in 9D the
            // heading, ~2 tau_mag) has re-converged
            const double cap = p_.tau_acc_lin + (s.mag_init ? 2.0 * p_.tau_mag : 0.0);
            s.relevel_t = std::max(s.relevel_t, std::min(std::sqrt(th2) / std::max(p_.bias_max, 1e-300), cap));
        }
        s.gap_t = 0.0;
    } else if (s.relevel_t > 0.0) {
        s.relevel_t = std::max(0.0, s.relevel_t - dt);
    }
    // 1) strapdown integration of the bias-corrected gyroscope
    const Vec3 gc{g[0] - s.bias[0], g[1] - s.bias[1], g[2] - s.bias[2]};
    s.q_gyr = renorm(qn::mul(s.q_gyr, rotvec_quat(gc[0] * dt, gc[1] * dt, gc[2] * dt)));
    // 2) rest: steady gyroscope and accelerometer (deviations from 0.5-s low-passes), slow rate
    for (std::size_t i = 0; i < 3; ++i) s.gyr_lp[i] += k_rest_lp_ * (g[i] - s.gyr_lp[i]);
    bool below = false;
    if (acc_ok) {
        for (std::size_t i = 0; i < 3; ++i) s.accs_lp[i] += k_rest_lp_ * (a[i] - s.accs_lp[i]);
        const Vec3 dg{g[0] - s.gyr_lp[0], g[1] - s.gyr_lp[1], g[2] - s.gyr_lp[2]};
        const Vec3 da{a[0] - s.accs_lp[0], a[1] - s.accs_lp[1], a[2] - s.accs_lp[2]};
        const Vec3 rate{s.gyr_lp[0] - s.bias[0], s.gyr_lp[1] - s.bias[1], s.gyr_lp[2] - s.bias[2]};
        below = dot3(dg, dg) < rest_g2_ && dot3(da, da) < rest_a2_ && dot3(rate, rate) < rest_r2_;
    }
    s.rest_t = below ? s.rest_t + dt : 0.0;
    s.rest = below && s.rest_t >= p_.rest_min_t;
    if (s.rest && k_br_ > 0) {
        for (std::size_t i = 0; i < 3; ++i) s.bias[i] += k_br_ * (g[i] - s.bias[i]);
    }
    // 3) inclination from the quasi-inertial low-passed accelerometer
    const bool learn_motion = k_bm_ > 0 && !s.rest && !(s.relevel_t > 0.0);
    Vec3 corr{0, 0, 0};  // earth-frame rotation vector of this sample's corrections
    double lin_w = 1.0;  // 1: no linear acceleration, -> 0 under strong linear acceleration
    if (acc_ok) {
        const Vec3 ai = qn::rotate(s.q_gyr, {a[0], a[1], a[2]});
        if (s.lp_n == 0.0) {  // restart after a gyroscope gap: the running means start at this sample
            s.acc_lp = ai;
            s.acc2_lp = ai;
        }
        const double dev = (a_norm - 9.81) / p_.acc_dev_scale;
        const double kw = 1.0 / (1.0 + dev * dev);
        const Vec3 x{s.acc_lp[0] + kw * (ai[0] - s.acc_lp[0]), s.acc_lp[1] + kw * (ai[1] - s.acc_lp[1]),
                     s.acc_lp[2] + kw * (ai[2] - s.acc_lp[2])};
        s.lp_n += 1.0;
        lp_step(lp_b_, lp_a_, lp_n_[0], s.lp_n, x.data(), s.acc_lp.data(), s.acc_z1.data(), s.acc_z2.data(), 3);
        lp_step(lp2_b_, lp2_a_, lp_n_[1], s.lp_n, x.data(), s.acc2_lp.data(), s.acc2_z1.data(), s.acc2_z2.data(), 3);
        const Vec3 dl{ai[0] - s.acc_lp[0], ai[1] - s.acc_lp[1], ai[2] - s.acc_lp[2]};
        s.lin_ms += k_acc_ * (dl[0] * dl[0] + dl[1] * dl[1] + dl[2] * dl[2] - s.lin_ms);
        lin_w = 1.0 / (1.0 + s.lin_ms * inv_lin2_);
        const Vec3 au{lin_w * s.acc_lp[0] + (1.0 - lin_w) * s.acc2_lp[0], lin_w * s.acc_lp[1] + (1.0 - lin_w) * s.acc2_lp[1],
                      lin_w * s.acc_lp[2] + (1.0 - lin_w) * s.acc2_lp[2]};
        const Vec3 ae = qn::rotate(s.q_acc, au);
        const double an = norm3v(ae);
        if (an > 0) {
            // shortest rotation of ae onto the vertical: normalise (|ae| + ae.z, ae x z) (align() on
            // the unit vector, without normalising ae first)
            Quat c;
            if (ae[2] < (-1.0 + 1e-12) * an) {
                c = align({ae[0] / an, ae[1] / an, ae[2] / an}, {0, 0, 1});
            } else {
                const double c0 = an + ae[2];
                const double inv = 1.0 / std::sqrt(c0 * c0 + ae[1] * ae[1] + ae[0] * ae[0]);
                c = {c0 * inv, ae[1] * inv, -ae[0] * inv, 0.0};
            }
            s.q_acc = renorm(qn::mul(c, s.q_acc));
            corr = {2.0 * c[1], 2.0 * c[2], 2.0 * c[3]};  // small-angle rotation vector
        }
    }
    const Quat q6 = qn::mul(s.q_acc, s.q_gyr);
    double mbe[2] = {0.0, 0.0};  // motion-bias measurement error, earth x and y, rad/s
    double mbr[6] = {0, 0, 0, 0, 0, 0};  // low-passed rows x, y of R
    if (acc_ok) {
        // VQF's motion-bias measurement: the inclination correction rate equals the low-passed
        // earth-frame image of the bias error, -corr / dt = LP(R b) - LP(R b_hat), so
        // e = -corr / dt + LP(R b_hat) - LP(R) b_hat = LP(R) (b - b_hat)
        double c[8];
        motion_channels(q6, s.bias, c);
        const double* bs[2] = {lp_b_, lp2_b_};
        const double* as[2] = {lp_a_, lp2_a_};
        double out[8];
        for (int j = 0; j < 8; ++j) out[j] = 0.0;
        for (int f = 0; f < 2; ++f) {
            const double wf = f == 0 ? lin_w : 1.0 - lin_w;
            lp_step(bs[f], as[f], lp_n_[f], s.lp_n, c, s.mb[f][0], s.mb[f][1], s.mb[f][2], 8);
            for (int j = 0; j < 8; ++j) out[j] += wf * s.mb[f][0][j];
        }
        for (int j = 0; j < 6; ++j) mbr[j] = out[j];
        mbe[0] = -corr[0] * p_.fs + out[6] - (out[0] * s.bias[0] + out[1] * s.bias[1] + out[2] * s.bias[2]);
        mbe[1] = -corr[1] * p_.fs + out[7] - (out[3] * s.bias[0] + out[4] * s.bias[1] + out[5] * s.bias[2]);
    }
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
        const double az = me[0] != 0.0 || me[1] != 0.0 ? std::atan2(me[0], me[1]) : 0.0;  // east of north
        // the reference is learnt over the first mag_init_t s (the inclination converges meanwhile)
        const bool learning = s.mag_t < p_.mag_init_t;
        const bool primary = learning || (std::fabs(nn / s.mag_ref_norm - 1.0) <= p_.mag_norm_th &&
                                          std::fabs(dip - s.mag_ref_dip) <= p_.mag_dip_th);
        const double az_e = wrap(az - s.delta);  // field azimuth in the estimated earth frame
        bool use = false;
        double ref_az = 0.0;  // azimuth the heading correction drives the field to
        if (primary) {
            const double kr = learning ? dt / (s.mag_t + dt) : dt / p_.mag_new_t;
            s.mag_ref_norm += kr * (nn - s.mag_ref_norm);
            s.mag_ref_dip += kr * (dip - s.mag_ref_dip);
            s.mag_cand_t = 0.0;
            use = true;
        } else if (s.mag_lm_set && std::fabs(nn / s.mag_lm_norm - 1.0) <= p_.mag_norm_th &&
                   std::fabs(dip - s.mag_lm_dip) <= p_.mag_dip_th && std::fabs(wrap(az_e - s.mag_lm_az)) <= p_.mag_az_th) {
            // a known steady disturbed field: a heading landmark whose azimuth was measured with the
            // gyroscope-held heading; it relaxes slowly to north in case the primary reference was
            // the disturbed one
            s.mag_lm_norm += 0.01 * (nn - s.mag_lm_norm);
            s.mag_lm_dip += 0.01 * (dip - s.mag_lm_dip);
            s.mag_lm_az = wrap(s.mag_lm_az - k_lm_ * s.mag_lm_az);
            ref_az = s.mag_lm_az;
            s.mag_cand_t = 0.0;
            use = true;
        } else {
            // disturbed: hold the heading (gyroscope), watch for a steady new field
            if (s.mag_cand_t > 0.0 && std::fabs(nn / s.mag_cand_norm - 1.0) < 0.5 * p_.mag_norm_th &&
                std::fabs(dip - s.mag_cand_dip) < 0.5 * p_.mag_dip_th && std::fabs(wrap(az_e - s.mag_cand_az)) < 0.5 * p_.mag_az_th) {
                s.mag_cand_t += dt;
                s.mag_cand_norm += 0.01 * (nn - s.mag_cand_norm);
                s.mag_cand_dip += 0.01 * (dip - s.mag_cand_dip);
                s.mag_cand_az = wrap(s.mag_cand_az + 0.01 * wrap(az_e - s.mag_cand_az));
            } else {
                s.mag_cand_norm = nn;
                s.mag_cand_dip = dip;
                s.mag_cand_az = az_e;
                s.mag_cand_t = dt;
            }
            if (s.mag_cand_t >= p_.mag_lm_t) {
                s.mag_lm_set = true;
                s.mag_lm_norm = s.mag_cand_norm;
                s.mag_lm_dip = s.mag_cand_dip;
                s.mag_lm_az = s.mag_cand_az;
                s.mag_cand_t = 0.0;
            }
        }
        s.mag_dist = !primary;
        if (use && (me[0] != 0.0 || me[1] != 0.0)) {
            const double target = wrap(az - ref_az);  // heading correction that puts the field at ref_az
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
    if (learn_motion && acc_ok) {  // inclination: LMS step on e = LP(R) (b - b_hat)
        const double bm = std::clamp(p_.bias_max, 0.0, 1e300);
        const double e0 = std::clamp(mbe[0], -bm, bm), e1 = std::clamp(mbe[1], -bm, bm);
        for (std::size_t i = 0; i < 3; ++i) s.bias[i] += k_bm_ * (mbr[i] * e0 + mbr[3 + i] * e1);
    }
    if (learn_motion && corr[2] != 0.0) {  // heading: a steady correction is the image of a bias error
        // the earth-frame vertical correction in the sensor frame: corr_z times row z of R(q6)
        const double w = q6[0], x = q6[1], y = q6[2], z = q6[3];
        const Vec3 es{corr[2] * (2.0 * (x * z - w * y)), corr[2] * (2.0 * (y * z + w * x)),
                      corr[2] * (1.0 - 2.0 * (x * x + y * y))};
        const double kh = k_bm_ * p_.fs;
        for (std::size_t i = 0; i < 3; ++i) s.bias[i] -= kh * es[i];
    }
    for (std::size_t i = 0; i < 3; ++i) s.bias[i] = std::clamp(s.bias[i], -p_.bias_max, p_.bias_max);
    const Quat q = with_heading(q6);
    if (!(unit_ok(q) && detail::finite3(s.bias.data()) && detail::finite3(s.acc_lp.data()) && std::isfinite(s.delta))) {
        s = State{};  // unreachable with inputs in the documented ranges; restart rather than go on poisoned
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
                     s.mag_cand_t, s.mag_t, s.mag_init ? 1.0 : 0.0, s.mag_dist ? 1.0 : 0.0}},
            {"acc_lp_state", {s.acc_z1[0], s.acc_z1[1], s.acc_z1[2], s.acc_z2[0], s.acc_z2[1], s.acc_z2[2], s.lin_ms,
                              s.acc2_lp[0], s.acc2_lp[1], s.acc2_lp[2], s.acc2_z1[0], s.acc2_z1[1], s.acc2_z1[2],
                              s.acc2_z2[0], s.acc2_z2[1], s.acc2_z2[2], s.lp_n}},
            {"motion_bias_lp", std::vector<double>(&s.mb[0][0][0], &s.mb[0][0][0] + 48)},
            {"mag_landmark", {s.mag_cand_az, s.mag_lm_set ? 1.0 : 0.0, s.mag_lm_norm, s.mag_lm_dip, s.mag_lm_az}},
            {"gyr_gap", {s.gap_t, s.relevel_t}}};
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
    const auto& lp = state_field(r, "acc_lp_state", 17);
    s.lp_n = lp[16];
    s.lin_ms = lp[6];
    s.acc2_lp = {lp[7], lp[8], lp[9]};
    s.acc2_z1 = {lp[10], lp[11], lp[12]};
    s.acc2_z2 = {lp[13], lp[14], lp[15]};
    s.acc_z1 = {lp[0], lp[1], lp[2]};
    s.acc_z2 = {lp[3], lp[4], lp[5]};
    const auto& mbv = state_field(r, "motion_bias_lp", 48);
    std::copy(mbv.begin(), mbv.end(), &s.mb[0][0][0]);
    const auto& lm = state_field(r, "mag_landmark", 5);
    s.mag_cand_az = lm[0];
    s.mag_lm_set = lm[1] != 0.0;
    s.mag_lm_norm = lm[2];
    s.mag_lm_dip = lm[3];
    s.mag_lm_az = lm[4];
    if (r.find("gyr_gap") != r.end()) {  // absent from states saved before 2026-11-29: no gap then
        const auto& gp = state_field(r, "gyr_gap", 2);
        s.gap_t = gp[0];
        s.relevel_t = gp[1];
    }
    s_ = s;
}

namespace {

/// Zero-phase low-pass of n x 3 samples (in place): the Butterworth of tau forwards, then backwards,
/// each starting as a running mean over tau (as the real-time filter does).
void filtfilt3(double tau, double dt, std::vector<double>& x, std::size_t n) {
    double b[3], a[2];
    butterworth2(tau, dt, b, a);
    const double n0 = std::max(1.0, std::round(tau / dt));
    for (int dir = 0; dir < 2; ++dir) {
        double y[3] = {0, 0, 0}, z1[3] = {0, 0, 0}, z2[3] = {0, 0, 0};
        for (std::size_t jj = 0; jj < n; ++jj) {
            const std::size_t k = dir == 0 ? jj : n - 1 - jj;
            lp_step(b, a, n0, static_cast<double>(jj + 1), &x[3 * k], y, z1, z2, 3);
            for (int i = 0; i < 3; ++i) x[3 * k + i] = y[i];
        }
    }
}

/// filtfilt3 with the record extended at both ends by the straight line fitted (least squares) to
/// its first / last `fit` samples, over `pad` samples, then cropped. A zero-phase low-pass near the
/// ends of a record otherwise sees one side only: it lags a trend and averages half as much. A
/// drift that is locally linear (a constant residual bias integrates to one) is continued as such,
/// so the smoothed value at an end is the local linear fit rather than a one-sided average.
void filtfilt3_linear_ends(double tau, double dt, std::vector<double>& x, std::size_t n, std::size_t fit,
                           std::size_t pad) {
    fit = std::min(fit, n);
    // a pad beyond 1e6 samples (3 smoothing time constants at an absurd rate) would only cost
    // memory: the extrapolated line is there for the filter's transients to decay on
    pad = std::min<std::size_t>(pad, 1000000);
    if (n < 2 || fit < 2 || pad == 0) {
        filtfilt3(tau, dt, x, n);
        return;
    }
    std::vector<double> ext(3 * (n + 2 * pad));
    std::copy(x.begin(), x.begin() + static_cast<std::ptrdiff_t>(3 * n), ext.begin() + static_cast<std::ptrdiff_t>(3 * pad));
    for (int side = 0; side < 2; ++side) {
        for (int c = 0; c < 3; ++c) {
            // line through samples j = 0..fit-1 counted from the end, value at j
            double sj = 0, sv = 0, sjj = 0, sjv = 0;
            for (std::size_t j = 0; j < fit; ++j) {
                const std::size_t k = side == 0 ? j : n - 1 - j;
                const double v = x[3 * k + static_cast<std::size_t>(c)], jd = static_cast<double>(j);
                sj += jd;
                sv += v;
                sjj += jd * jd;
                sjv += jd * v;
            }
            const double fn = static_cast<double>(fit);
            const double slope = (fn * sjv - sj * sv) / (fn * sjj - sj * sj);
            const double icpt = (sv - slope * sj) / fn;
            for (std::size_t j = 1; j <= pad; ++j) {  // j samples beyond the end
                const double v = icpt - slope * static_cast<double>(j);
                const std::size_t k = side == 0 ? pad - j : pad + n - 1 + j;
                ext[3 * k + static_cast<std::size_t>(c)] = v;
            }
        }
    }
    filtfilt3(tau, dt, ext, n + 2 * pad);
    std::copy(ext.begin() + static_cast<std::ptrdiff_t>(3 * pad), ext.begin() + static_cast<std::ptrdiff_t>(3 * (pad + n)), x.begin());
}

/// Offline inclination: strapdown integration of the gyroscope corrected by the smoothed (forward-
/// backward) bias, the accelerometer in that quasi-inertial frame low-passed without phase lag
/// (forward-backward, fast and slow low-passes blended by the linear-acceleration level as in real
/// time), the inclination from its direction; the heading of each sample is kept from q. Done per
/// gap-free segment [s0, s1) (see gyro_segments): across a gyroscope gap the integrated frame is off
/// by the unknown rotation during the gap, so a low-pass across it would spread that step onto both
/// sides. Samples outside every segment are left alone.
void offline_smooth_inclination(const RobustParams& p, const double* gyr, const double* acc, std::size_t n,
                                const double* bias, double* q, bool keep_heading,
                                const std::vector<std::pair<std::size_t, std::size_t>>& segs) {
    const double dt = 1.0 / p.fs;
    std::vector<Quat> qg(n);
    Quat cur{1, 0, 0, 0};
    for (std::size_t k = 0; k < n; ++k) {
        const double* g = gyr + 3 * k;
        const double* b = bias + 3 * k;
        if (k > 0 && gyr_ok(g) && detail::finite3(b)) {
            cur = qn::normalized(qn::mul(cur, qn::from_rotvec({(g[0] - b[0]) * dt, (g[1] - b[1]) * dt, (g[2] - b[2]) * dt})));
        }
        qg[k] = cur;
    }
    const double kl = 1.0 - std::exp(-dt / p.tau_acc);
    const double r2 = p.lin_acc_ref * p.lin_acc_ref;
    for (const auto& [s0, s1] : segs) {
        const std::size_t m = s1 - s0;
        std::vector<double> ai(3 * m), lf, ls;
        Vec3 last{0, 0, 0};
        bool have = false;
        std::size_t first = m;
        for (std::size_t j = 0; j < m; ++j) {
            const double* a = acc + 3 * (s0 + j);
            if (usable3(a) && detail::norm3(a) < 1e6) {
                last = qn::rotate(qg[s0 + j], {a[0], a[1], a[2]});
                if (!have) first = j;
                have = true;
            }
            for (int i = 0; i < 3; ++i) ai[3 * j + i] = last[i];
        }
        if (!have) continue;
        for (std::size_t j = 0; j < first; ++j) for (int i = 0; i < 3; ++i) ai[3 * j + i] = ai[3 * first + i];
        lf = ai;
        ls = ai;
        filtfilt3(p.tau_acc, dt, lf, m);
        filtfilt3(p.tau_acc_lin, dt, ls, m);
        // linear-acceleration level: mean square deviation from the fast low-pass, smoothed both ways
        std::vector<double> lm(m);
        double v = 0.0;
        for (std::size_t j = 0; j < m; ++j) {
            double d2 = 0.0;
            for (int i = 0; i < 3; ++i) d2 += (ai[3 * j + i] - lf[3 * j + i]) * (ai[3 * j + i] - lf[3 * j + i]);
            v = j == 0 ? d2 : v + kl * (d2 - v);
            lm[j] = v;
        }
        for (std::size_t jj = m - 1; jj-- > 0;) lm[jj] += kl * (lm[jj + 1] - lm[jj]);
        for (std::size_t j = 0; j < m; ++j) {
            double* qk = q + 4 * (s0 + j);
            if (!std::isfinite(qk[0])) continue;
            const double w = 1.0 / (1.0 + lm[j] / r2);
            Vec3 u{w * lf[3 * j] + (1 - w) * ls[3 * j], w * lf[3 * j + 1] + (1 - w) * ls[3 * j + 1],
                   w * lf[3 * j + 2] + (1 - w) * ls[3 * j + 2]};
            const double un = norm3v(u);
            if (!(un > 0.0) || !std::isfinite(un)) continue;
            u = {u[0] / un, u[1] / un, u[2] / un};
            const Quat q6 = qn::mul(align(u, {0, 0, 1}), qg[s0 + j]);
            if (!keep_heading) {
                for (int i = 0; i < 4; ++i) qk[i] = q6[i];
                continue;
            }
            // keep the heading of q: the twist about z of q (x) q6*
            const Quat e = qn::mul(Quat{qk[0], qk[1], qk[2], qk[3]}, qn::conj(q6));
            const double hn = std::sqrt(e[0] * e[0] + e[3] * e[3]);
            const Quat h = hn > 1e-12 ? Quat{e[0] / hn, 0, 0, e[3] / hn} : Quat{1, 0, 0, 0};
            const Quat r = qn::normalized(qn::mul(h, q6));
            for (int i = 0; i < 4; ++i) qk[i] = r[i];
        }
    }
}

/// Offline heading: the residual azimuth of the field (east of north) in the final frame, over the
/// samples the forward pass found undisturbed, smoothed forwards and backwards (tau_mag) and averaged,
/// then removed by a rotation about the vertical. Per gap-free segment (the heading error steps at a
/// gyroscope gap as the inclination does); samples outside every segment are left alone.
void offline_smooth_heading(const RobustParams& p, const double* mag, std::size_t n, const std::uint8_t* fl, double* q,
                            const std::vector<std::pair<std::size_t, std::size_t>>& segs) {
    std::vector<double> r(n, 0.0);
    std::vector<char> ok(n, 0);
    for (std::size_t i = 0; i < n; ++i) {
        const double* qi = q + 4 * i;
        if ((fl[i] & (kMagDisturbed | kMagSkipped | kAccSkipped | kGyrSkipped)) != 0 || !std::isfinite(qi[0])) continue;
        const Vec3 me = qn::rotate(Quat{qi[0], qi[1], qi[2], qi[3]}, {mag[3 * i], mag[3 * i + 1], mag[3 * i + 2]});
        if (me[0] == 0.0 && me[1] == 0.0) continue;
        r[i] = std::atan2(me[0], me[1]);
        ok[i] = 1;
    }
    // samples within kOfflineMagGuardS of a disturbed one are not used either (the detection lags
    // the onset of a disturbance); the residual is unwrapped, interpolated linearly across unused
    // samples, then low-passed without lag (Butterworth tau_mag forwards and backwards)
    const auto guard = static_cast<std::size_t>(std::llround(kOfflineMagGuardS * p.fs));
    std::vector<char> use(ok);
    std::size_t since = guard + 1;
    for (std::size_t i = 0; i < n; ++i) {  // forwards: after a disturbance
        since = (fl[i] & kMagDisturbed) ? 0 : since + 1;
        if (since <= guard) use[i] = 0;
    }
    since = guard + 1;
    for (std::size_t jj = n; jj-- > 0;) {  // backwards: before a disturbance
        since = (fl[jj] & kMagDisturbed) ? 0 : since + 1;
        if (since <= guard) use[jj] = 0;
    }
    const double tau_h = kOfflineMagFactor * p.tau_mag;
    for (const auto& [s0, s1] : segs) {
        const std::size_t m = s1 - s0;
        std::vector<std::size_t> idx;  // used samples, counted from s0
        for (std::size_t i = 0; i < m; ++i) if (use[s0 + i]) idx.push_back(i);
        if (idx.empty()) continue;
        std::vector<double> un(idx.size());
        un[0] = r[s0 + idx[0]];
        for (std::size_t j = 1; j < idx.size(); ++j) un[j] = un[j - 1] + wrap(r[s0 + idx[j]] - un[j - 1]);
        std::vector<double> x(3 * m, 0.0);
        std::size_t j = 0;
        for (std::size_t i = 0; i < m; ++i) {
            while (j + 1 < idx.size() && idx[j + 1] <= i) ++j;
            double v;
            if (i <= idx[0]) v = un[0];
            else if (j + 1 >= idx.size()) v = un.back();
            else {
                const double t = static_cast<double>(i - idx[j]) / static_cast<double>(idx[j + 1] - idx[j]);
                v = un[j] + t * (un[j + 1] - un[j]);
            }
            x[3 * i] = v;
        }
        filtfilt3_linear_ends(tau_h, 1.0 / p.fs, x, m, static_cast<std::size_t>(std::llround(kOfflineMagEndFit * tau_h * p.fs)),
                              static_cast<std::size_t>(std::llround(kOfflineMagEndPad * tau_h * p.fs)));
        for (std::size_t i = 0; i < m; ++i) {
            double* qi = q + 4 * (s0 + i);
            if (!std::isfinite(qi[0])) continue;
            const double sm = x[3 * i];
            const Quat rot{std::cos(0.5 * sm), 0, 0, std::sin(0.5 * sm)};
            const Quat out = qn::normalized(qn::mul(rot, Quat{qi[0], qi[1], qi[2], qi[3]}));
            for (int c = 0; c < 4; ++c) qi[c] = out[c];
        }
    }
}

/// Gap-free segments [s0, s1) of a recording: a gyroscope gap (samples k > 0 whose rate is unusable,
/// which the filter skips) ends one; the next starts at the first usable sample after it.
std::vector<std::pair<std::size_t, std::size_t>> gyro_segments(const double* gyr, std::size_t n) {
    std::vector<std::pair<std::size_t, std::size_t>> segs;
    std::size_t s0 = 0;
    bool in = true;
    for (std::size_t k = 1; k < n; ++k) {
        const bool ok = gyr_ok(gyr + 3 * k);
        if (in && !ok) segs.emplace_back(s0, k);
        if (!in && ok) s0 = k;
        in = ok;
    }
    if (in) segs.emplace_back(s0, n);
    return segs;
}

/// Orientation inside each gyroscope gap (between segments): unknown to the filter, which held it;
/// offline both ends are known, so the slerp between the last sample before and the first after
/// (at a record's end: the adjacent one, held).
void offline_fill_gaps(double* q, std::size_t n, const std::vector<std::pair<std::size_t, std::size_t>>& segs) {
    for (std::size_t j = 0; j < segs.size(); ++j) {
        const std::size_t g0 = segs[j].second, g1 = j + 1 < segs.size() ? segs[j + 1].first : n;  // gap [g0, g1)
        if (g0 >= g1) continue;
        const double* qa = q + 4 * (g0 - 1);
        const double* qb = g1 < n ? q + 4 * g1 : qa;
        if (!std::isfinite(qa[0]) || !std::isfinite(qb[0])) continue;
        for (std::size_t k = g0; k < g1; ++k) {
            const double t = static_cast<double>(k - g0 + 1) / static_cast<double>(g1 - g0 + 1);
            qn::slerp(qa, 1, qb, 1, &t, 1, q + 4 * k, 1);
        }
    }
}

}  // namespace

void robust_offline(const RobustParams& p, const double* gyr, const double* acc, const double* mag, std::size_t n,
                    double* q, double* bias, std::uint8_t* flags) {
    if (n == 0) return;
    RobustAhrs fwd(p);
    // the offline windows (the heading smoother's end fits, the disturbance guard, the bias
    // smoother) in samples must be representable: found by fuzzing (fs = 1e308 read out of bounds)
    const double longest = p.fs * std::max({kOfflineMagGuardS, kOfflineMagEndFit * kOfflineMagFactor * p.tau_mag,
                                            kOfflineBiasFactor * std::fabs(p.tau_bias_motion)});
    if (!(longest <= 1e15))
        throw std::invalid_argument("offline fusion: fs x tau_mag / tau_bias_motion too large (smoothing windows "
                                    "of more than 1e15 samples)");
    std::vector<double> bf(3 * n);
    std::vector<std::uint8_t> flv(flags ? 0 : n);
    std::uint8_t* fl = flags ? flags : flv.data();
    fwd.update(gyr, acc, mag, n, q, bf.data(), fl);
    RobustAhrs::State st = fwd.state();
    if (!st.init) {
        if (bias) std::copy(bf.begin(), bf.end(), bias);
        return;
    }
    for (double& b : st.bias) b = -b;      // the reversed gyroscope is negated, so is its bias
    for (double& g : st.gyr_lp) g = -g;
    // and so are the low-passed earth-frame images of the bias (R b_hat, channels 6 and 7 of the
    // motion-bias filters, linear in b_hat): left as they were, the backward pass would read a
    // bias error of twice the bias at its start and take tau_bias_motion to recover
    for (auto& filt : st.mb)
        for (auto& row : filt) {
            row[6] = -row[6];
            row[7] = -row[7];
        }
    // the gap bookkeeping belongs to the forward pass's position: the backward pass starts where
    // the forward one's held orientation is right, and counts a gap at its own start itself
    // (carried over, a record ending in a gap had that gap counted twice; review)
    st.gap_t = 0.0;
    st.relevel_t = 0.0;
    RobustAhrs bwd(p);
    bwd.set_raw_state(st);
    // the backward pass over the reversed recording, its bias stored in the forward convention
    std::vector<double> qbv(4 * n), bbv(3 * n);
    {
        double g[3];
        const Quat q0 = bwd.quaternion();  // it starts at the forward pass's last orientation
        std::copy(q0.begin(), q0.end(), qbv.begin() + static_cast<std::ptrdiff_t>(4 * (n - 1)));
        for (std::size_t i = 0; i < 3; ++i) bbv[3 * (n - 1) + i] = -st.bias[i];
        for (std::size_t jj = n - 1; jj-- > 0;) {
            for (std::size_t i = 0; i < 3; ++i) g[i] = -gyr[3 * (jj + 1) + i];  // sample k+1's rate takes k+1 -> k
            bwd.update(g, acc + 3 * jj, mag ? mag + 3 * jj : nullptr, 1, &qbv[4 * jj], &bbv[3 * jj], nullptr);
            for (std::size_t i = 0; i < 3; ++i) bbv[3 * jj + i] = -bbv[3 * jj + i];
        }
    }
    // The forward pass started from zero bias and needs a time that depends on the movement to
    // converge (the bias along gravity is observed only as the sensor turns: tens of seconds), so its
    // start is unreliable, whereas the backward pass ends there with a bias learnt over the whole
    // recording. The bias changes over minutes (temperature), so that value is the best prior for the
    // start: the forward pass runs once more, started from it, and both passes are converged
    // throughout.
    {
        RobustAhrs::State s0{};
        for (std::size_t i = 0; i < 3; ++i) s0.bias[i] = bbv[i];
        if (detail::finite3(s0.bias.data())) {
            RobustAhrs fwd2(p);
            fwd2.set_raw_state(s0);
            fwd2.update(gyr, acc, mag, n, q, bf.data(), fl);
        }
    }
    std::vector<double> bl(3 * n);  // blended bias
    const double w_den = n > 1 ? static_cast<double>(n - 1) : 1.0;
    for (std::size_t k = 0; k < n; ++k) {
        const double wb = 1.0 - static_cast<double>(k) / w_den;  // backward weight: 1 at the start, 0 at the end
        double* qf = q + 4 * k;
        const double* qb = &qbv[4 * k];
        const bool fok = std::isfinite(qf[0]);
        const bool bok = std::isfinite(qb[0]);
        if (fok && bok) {
            qn::slerp(qf, 1, qb, 1, &wb, 1, qf, 1);
        } else if (bok) {
            std::copy(qb, qb + 4, qf);
        }
        for (std::size_t i = 0; i < 3; ++i) {
            const double f = bf[3 * k + i], b = bbv[3 * k + i];
            bl[3 * k + i] = std::isfinite(f) && std::isfinite(b) ? (1.0 - wb) * f + wb * b : f;
        }
    }
    // the bias itself changes over minutes (temperature); each pass's estimate fluctuates on the
    // scale of its learning time constant (measurement noise), so the blend is smoothed without lag
    if (p.tau_bias_motion > 0) filtfilt3(kOfflineBiasFactor * p.tau_bias_motion, 1.0 / p.fs, bl, n);
    if (bias) std::copy(bl.begin(), bl.end(), bias);
    // gyroscope gaps break the integrated frame: the smoothing runs per gap-free segment, and the
    // gaps are filled by interpolation between the orientations at their ends
    const auto segs = gyro_segments(gyr, n);
    offline_smooth_inclination(p, gyr, acc, n, bl.data(), q, mag == nullptr, segs);
    if (mag != nullptr) offline_smooth_heading(p, mag, n, fl, q, segs);
    offline_fill_gaps(q, n, segs);
}

}  // namespace kinemyo::fusion
