#pragma once
/// @file robust.hpp
/// kinemyo's orientation filter: robust to linear acceleration, gyroscope bias (estimated in
/// motion and at rest) and magnetic disturbances; offline forward-backward mode.

#include <cstdint>
#include <string>

#include "kinemyo/fusion/orientation_filter.hpp"

namespace kinemyo::fusion {

/// Parameters of RobustAhrs (defaults in brackets; times in seconds).
struct RobustParams {
    double fs = 100.0;             ///< sampling rate, Hz, > 0
    double tau_acc = 1.5;          ///< low-pass time constant of the inertial-frame accelerometer [1.5]
    double tau_mag = 3.0;          ///< time constant of the heading correction [3]
    double tau_bias_motion = 6.0;  ///< time constant of bias learning in motion [6]; <= 0 disables
    double tau_bias_rest = 0.5;    ///< time constant of bias learning at rest [0.5]; <= 0 disables
    double bias_max = 0.035;       ///< rad/s, clamp of the estimated bias per axis [0.035 = 2 deg/s]
    double rest_th_gyr = 0.01;     ///< rad/s, rest: per-sample gyro deviation from its 0.5-s low-pass [0.01];
                                   ///< the bias-corrected rate must also be below rest_th_gyr + bias_max.
                                   ///< Set about 3x above the per-sample gyro noise norm.
    double rest_th_acc = 0.5;      ///< m/s^2, rest: accelerometer deviation from its low-pass [0.5]
    double rest_min_t = 1.0;       ///< minimum time below the thresholds to declare rest [1]
    double mag_norm_th = 0.1;      ///< relative field-norm deviation that counts as a disturbance [0.1]
    double mag_dip_th = 0.1745;    ///< rad, dip deviation that counts as a disturbance [0.1745 = 10 deg]
    double mag_new_t = 20.0;       ///< a steady new field becomes the reference after this [20]
    double mag_init_t = 5.0;       ///< fast heading convergence after the first magnetometer sample [5]
    double acc_dev_scale = 1e9;    ///< m/s^2: accelerometer samples whose norm departs from 9.81 by d get the
                                   ///< low-pass gain scaled by 1 / (1 + (d / acc_dev_scale)^2) [1e9: off]
    double mag_lm_t = 3.0;         ///< a disturbed field steady (norm, dip, azimuth) this long becomes a heading
                                   ///< landmark, its azimuth measured with the gyroscope-held heading [3]
    double mag_az_th = 0.1745;     ///< rad, azimuth tolerance of a landmark and of a landmark candidate [10 deg]
    double mag_lm_tau = 3600.0;    ///< a landmark's azimuth relaxes to 0 (north) with this time constant [3600]
    double tau_acc_lin = 4.0;      ///< low-pass time constant used under strong linear acceleration [4]: the
                                   ///< two low-passes' outputs are blended with the weight of lin_acc_ref
    double lin_acc_ref = 0.3;      ///< m/s^2: bias learning in motion is slowed by 1 / (1 + L^2 / lin_acc_ref^2),
                                   ///< L = RMS linear acceleration seen by the low-pass (over tau_acc) [0.3]
};

/// Set one parameter by name (for bindings); false for an unknown name.
bool set_robust_param(RobustParams& p, const std::string& name, double value);

/// kinemyo's orientation filter (the default of `kinemyo.fusion.estimate`).
///
/// Structure after the published VQF filter (Laidig & Seel, "VQF: Highly accurate IMU orientation
/// estimation with bias estimation and magnetic disturbance rejection", Information Fusion 91,
/// 2023), implemented from that description: strapdown integration of the bias-corrected
/// gyroscope into a quasi-inertial frame; the accelerometer rotated into that frame and low-pass
/// filtered there (second-order Butterworth started as a running mean) so that linear
/// accelerations average out, its direction correcting the inclination — here two low-passes
/// (tau_acc, tau_acc_lin) blended by the measured linear-acceleration level; gyroscope bias learnt
/// in motion from VQF's measurement model (correction rate = low-passed earth-frame image of the
/// bias error, e = LP(R)(b - b_hat)) and from heading corrections, and at rest from the gyroscope;
/// heading from the magnetometer's horizontal component with time constant tau_mag, held while
/// the field's norm or dip departs from the reference (magnetic disturbance); a disturbed field
/// that stays steady in norm, dip and earth-frame azimuth for mag_lm_t becomes a landmark whose
/// azimuth is measured with the gyroscope-held heading, and the heading is corrected against it.
/// The first sample initialises the orientation from the accelerometer (heading 0) and, in 9D,
/// the magnetometer. Non-finite or implausible gyroscope samples give NaN output for that sample
/// with the state held; unusable accelerometer (non-finite, zero, >= 1e6 m/s^2) or magnetometer
/// samples skip that correction. The state is never poisoned. After a gyroscope gap the low-passes
/// restart as running means weighted by the expected rotation during the gap, and motion-bias
/// learning pauses while the inclination (and heading) re-levels (docs/fusion.md, "Gyroscope gaps").
class RobustAhrs final : public OrientationFilter {
public:
    explicit RobustAhrs(const RobustParams& p);
    void update(const double* gyr, const double* acc, const double* mag, std::size_t n, double* q_out,
                double* bias_out, std::uint8_t* flags_out) override;
    void reset() override { s_ = State{}; }
    [[nodiscard]] StateRecord get_state() const override;
    void set_state(const StateRecord& s) override;
    [[nodiscard]] std::unique_ptr<OrientationFilter> clone() const override { return std::make_unique<RobustAhrs>(*this); }
    [[nodiscard]] double fs() const noexcept override { return p_.fs; }
    [[nodiscard]] const RobustParams& params() const noexcept { return p_; }
    /// Current orientation (NaN before the first usable sample).
    [[nodiscard]] Quat quaternion() const;

    /// Evolving state (public so that the offline mode can hand it over to the backward pass).
    struct State {
        bool init = false;
        Quat q_gyr{1, 0, 0, 0};   // strapdown (quasi-inertial frame)
        Quat q_acc{1, 0, 0, 0};   // inclination correction (earth frame)
        double delta = 0.0;       // heading correction, rad
        Vec3 acc_lp{0, 0, 0};     // low-passed accelerometer, quasi-inertial frame
        Vec3 acc_z1{0, 0, 0}, acc_z2{0, 0, 0};  // second-order low-pass state (transposed direct form II)
        Vec3 acc2_lp{0, 0, 0}, acc2_z1{0, 0, 0}, acc2_z2{0, 0, 0};  // the slower low-pass (tau_acc_lin)
        double lin_ms = 0.0;      // mean square of the linear acceleration (inertial frame, low-passed)
        double lp_n = 0.0;        // accelerometer samples since the start (the low-passes start as running means)
        // motion bias (after VQF): rows x, y of R(q6) and of R(q6) b, low-passed like the accelerometer
        // by both low-passes: [filter][y, z1, z2][channel]
        double mb[2][3][8] = {};
        Vec3 bias{0, 0, 0};
        Vec3 gyr_lp{0, 0, 0};     // rest detection
        Vec3 accs_lp{0, 0, 0};    // rest detection (sensor frame)
        double rest_t = 0.0;
        bool rest = false;
        bool mag_ref_set = false;
        double mag_ref_norm = 0.0, mag_ref_dip = 0.0;
        double mag_cand_norm = 0.0, mag_cand_dip = 0.0, mag_cand_t = 0.0;
        double mag_t = 0.0;       // time since the first heading correction
        double mag_cand_az = 0.0;  // candidate field azimuth (estimated earth frame), rad
        bool mag_lm_set = false;   // landmark: a steady disturbed field used as heading reference
        double mag_lm_norm = 0.0, mag_lm_dip = 0.0, mag_lm_az = 0.0;
        bool mag_init = false;
        bool mag_dist = false;
        double gap_t = 0.0;       // s, length of the running gyroscope gap (samples skipped so far)
        double relevel_t = 0.0;   // s left of the re-levelling after a gap (motion-bias learning off)
    };
    [[nodiscard]] const State& state() const noexcept { return s_; }
    void set_raw_state(const State& s) { s_ = s; }

private:
    [[nodiscard]] Quat with_heading(const Quat& q6) const;  // q6 turned by the heading correction
    void step(const double* g, const double* a, const double* m, double* qo, double* bo, std::uint8_t* fo);
    RobustParams p_;
    double lp_b_[3] = {0, 0, 0}, lp_a_[2] = {0, 0};  // second-order Butterworth low-pass, tau_acc
    double lp2_b_[3] = {0, 0, 0}, lp2_a_[2] = {0, 0};  // the same for tau_acc_lin
    double lp_n_[2] = {1, 1};  // samples of the running-mean start of each low-pass (tau in samples)
    double k_lm_ = 0.0;
    double dt_ = 0.01, k_acc_ = 0.0, k_mag_ = 0.0, k_bm_ = 0.0, k_br_ = 0.0, k_rest_lp_ = 0.0;
    double rest_g2_ = 0.0, rest_a2_ = 0.0, rest_r2_ = 0.0;  // squared rest thresholds
    double inv_lin2_ = 0.0;                                 // 1 / lin_acc_ref^2
    State s_;
};

/// Offline (non-causal) RobustAhrs over a whole recording: a forward pass; a backward pass over the
/// time-reversed recording (negated gyroscope) started from the forward pass's final state (every
/// bias quantity negated); the forward pass again, started from the bias the backward pass ends
/// with (the first one has not converged at the start); per sample, bias and orientation of the
/// last two passes blended with a backward weight falling linearly from 1 at the first sample to 0
/// at the last, the bias then low-passed without lag (2 tau_bias_motion). The gyroscope corrected
/// by it is integrated again and the inclination taken from the zero-phase (forward-backward)
/// low-passed accelerometer in that frame; in 9D the residual field azimuth over undisturbed
/// samples is smoothed forwards and backwards (2.5 tau_mag; the record continued by a fitted line
/// at each end) and removed (the heading), in 6D the heading of the blend is kept. Writes q (n x 4)
/// and, when not null, the smoothed bias (n x 3, rad/s) and the second forward pass's flags (n).
/// Gyroscope gaps break the integrated frame: the inclination and heading smoothing run per
/// gap-free segment and the gap samples are slerped between the orientations at the gap's ends.
void robust_offline(const RobustParams& p, const double* gyr, const double* acc, const double* mag, std::size_t n,
                    double* q, double* bias, std::uint8_t* flags);

}  // namespace kinemyo::fusion
