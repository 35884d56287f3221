#pragma once
/// @file robust.hpp
/// kinemyo's own orientation filter: robust to linear acceleration, gyroscope bias (estimated in
/// motion and at rest) and magnetic disturbances.

#include <array>
#include <string>

#include "kinemyo/fusion/orientation_filter.hpp"

namespace kinemyo::fusion {

/// Parameters of RobustAhrs (units and defaults; all times in seconds).
struct RobustParams {
    double fs = 100.0;               ///< sampling rate, Hz (> 0)
    double tau_acc = 1.5;            ///< low-pass time constant of the accelerometer in the quasi-inertial frame
    double lin_acc_tol = 0.5;        ///< linear-acceleration level (m/s^2) at which the inclination correction is halved
    double tau_mag = 9.0;            ///< time constant of the heading correction
    double tau_bias_motion = 10.0;   ///< time constant of the bias estimate from the inclination correction
    double tau_bias_rest = 3.0;      ///< time constant of the bias estimate at rest
    double bias_clip_dps = 5.0;      ///< largest gyroscope bias estimate, deg/s
    double rest_gyr_dps = 2.0;       ///< rest: gyroscope within this of its low-pass and of the bias, deg/s
    double rest_acc = 0.5;           ///< rest: accelerometer within this of its low-pass, m/s^2
    double rest_min_s = 1.5;         ///< rest: for at least this long
    double rest_tau = 0.5;           ///< time constant of the rest-detection low-pass
    double mag_norm_tol = 0.1;       ///< magnetic disturbance: relative change of the field norm
    double mag_dip_tol_deg = 10.0;   ///< magnetic disturbance: change of the dip angle, deg
    double mag_new_field_s = 20.0;   ///< a changed field that stays steady this long becomes the new reference
    double mag_ref_tau = 30.0;       ///< time constant of the reference field norm and dip while undisturbed
};

/// Set one parameter by name (for bindings); false for an unknown name.
bool set_robust_param(RobustParams& p, const std::string& name, double value);

/// kinemyo's orientation filter (the default of `kinemyo.fusion.estimate`).
///
/// Structure after the published VQF filter (Laidig & Seel, "VQF: Highly accurate IMU orientation
/// estimation with bias estimation and magnetic disturbance rejection", Information Fusion 91,
/// 2023), implemented here from that description:
/// - strapdown integration of the bias-corrected gyroscope into a quasi-inertial frame;
/// - the accelerometer rotated into that frame and low-pass filtered there (2nd-order
///   Butterworth, time constant tau_acc), so that linear accelerations average out while the
///   orientation change is already removed; the filtered direction corrects the inclination, fully
///   when the accelerometer norm equals gravity and less the more it departs from it (linear
///   acceleration level d: weight 1 / (1 + (d / lin_acc_tol)^2));
/// - gyroscope bias estimated in motion from the inclination corrections (time constant
///   tau_bias_motion; the two horizontal components are observable) and at rest (all three
///   components, time constant tau_bias_rest) — rest = gyroscope and accelerometer steady for
///   rest_min_s;
/// - heading from the magnetometer's horizontal component with time constant tau_mag, skipped
///   while the field's norm or dip angle departs from the reference (magnetic disturbance); a new
///   field that stays steady for mag_new_field_s becomes the reference.
/// Without a magnetometer (6D) the heading starts at 0 and drifts with the residual z bias.
/// Non-finite or zero-norm samples skip the corresponding correction (the state is never poisoned).
class RobustAhrs final : public OrientationFilter {
public:
    explicit RobustAhrs(const RobustParams& p);
    void update(const double* gyr, const double* acc, const double* mag, std::size_t n, double* q_out,
                double* bias_out, std::uint8_t* flags_out) override;
    void reset() override;
    [[nodiscard]] StateRecord get_state() const override;
    void set_state(const StateRecord& s) override;
    [[nodiscard]] std::unique_ptr<OrientationFilter> clone() const override { return std::make_unique<RobustAhrs>(*this); }
    [[nodiscard]] double fs() const noexcept override { return p_.fs; }
    [[nodiscard]] const RobustParams& params() const noexcept { return p_; }

private:
    void step(const double* g, const double* a, const double* m, double* q_out, double* b_out, std::uint8_t* f_out);
    RobustParams p_;
    // coefficients
    double dt_;
    std::array<double, 5> lp_;  // b0 b1 b2 a1 a2 of the accelerometer low-pass
    std::array<double, 2> lp_zi_;
    // state
    double started_ = 0.0;       // 1 after the first sample
    Quat q_gyr_{1.0, 0.0, 0.0, 0.0};
    Quat q_inc_{1.0, 0.0, 0.0, 0.0};
    double delta_ = 0.0;         // heading correction, rad
    std::array<double, 6> acc_z_{};  // low-pass delays [component][2]
    Vec3 bias_{0.0, 0.0, 0.0};
    Vec3 g_lp_{0.0, 0.0, 0.0};
    Vec3 a_lp_{0.0, 0.0, 0.0};
    double rest_time_ = 0.0;
    double g_ref_ = 0.0;         // reference accelerometer norm (gravity), learned
    double lin_dev_ = 0.0;       // low-passed |norm - g_ref|
    double mag_init_ = 0.0;      // number of undisturbed magnetometer samples used (capped)
    double mag_norm_ref_ = 0.0, mag_dip_ref_ = 0.0;
    double mag_norm_cand_ = 0.0, mag_dip_cand_ = 0.0, mag_cand_time_ = 0.0;
};

}  // namespace kinemyo::fusion
