#pragma once
/// @file ahrs.hpp
/// Orientation filters (AHRS): Madgwick, Mahony, Complementary and the project's flagship
/// RobustAHRS (gyro bias estimation in motion and at rest, rest detection, accelerometer correction
/// robust to linear acceleration, magnetic-disturbance rejection, optional offline mode).
///
/// Conventions: gyroscope rad/s, accelerometer m/s^2, magnetometer any unit; quaternions (w,x,y,z)
/// Hamilton, sensor -> earth. Earth frame ENU by default (NED by option). Without magnetometer the
/// heading is arbitrary and the first orientation has heading 0.
///
/// Every filter is a streaming object: `update(gyr, acc, mag, q, n)` takes n samples (mag may be
/// null for 6D) and writes n quaternions; any split of the data gives bit-identical output. The
/// first sample after construction/reset initialises the orientation (from `q0` when given, else
/// from the accelerometer and, in 9D, the magnetometer) and outputs it.
///
/// Non-finite policy: a non-finite gyroscope sample yields a NaN quaternion for that sample and
/// leaves the state untouched; a non-finite or zero-norm accelerometer (magnetometer) sample skips
/// the accelerometer (magnetometer) correction for that sample. State is never poisoned.

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "kinemyo/common/processor.hpp"
#include "kinemyo/quaternion/quat.hpp"

namespace kinemyo::fusion {

using quaternion::Quat;
using quaternion::Vec3;

/// Earth (reference) frame of the output quaternions.
enum class Frame { enu, ned };

/// Parse "ENU"/"NED" (case-insensitive). @throws std::invalid_argument.
Frame parse_frame(const std::string& s);

/// Options shared by the filters.
struct CommonParams {
    double fs = 100.0;          ///< sampling rate, Hz, > 0
    Frame frame = Frame::enu;   ///< output earth frame
    bool has_q0 = false;        ///< use q0 as the first orientation instead of acc/mag
    Quat q0{1.0, 0.0, 0.0, 0.0};///< initial orientation (w,x,y,z) in the output frame, normalised
};

/// Base of the orientation filters.
class OrientationFilter {
public:
    virtual ~OrientationFilter() = default;
    /// Process n samples: gyr, acc (and mag, or nullptr) are (n, 3) row-major; q is (n, 4).
    virtual void update(const double* gyr, const double* acc, const double* mag, double* q, std::size_t n) = 0;
    virtual void reset() = 0;
    [[nodiscard]] virtual StateRecord get_state() const = 0;
    virtual void set_state(const StateRecord& s) = 0;
    [[nodiscard]] virtual std::unique_ptr<OrientationFilter> clone() const = 0;
    /// Current orientation in the output frame (NaN before the first sample).
    [[nodiscard]] virtual Quat quaternion() const = 0;
};

/// Madgwick's gradient-descent filter (Madgwick, Harrison & Vaidyanathan 2011, IEEE ICORR),
/// formulated exactly as `ahrs.filters.Madgwick` (ahrs 0.4): it internally estimates orientation
/// relative to a North-West-Up frame (magnetic reference [bx, 0, bz]); the output is rotated to ENU
/// (q_ENU = q_z(+90 deg) (x) q_NWU) or NED (q_NED = q_x(180 deg) (x) q_NWU).
struct MadgwickParams : CommonParams {
    double beta = 0.1;  ///< gradient-descent gain, > 0 (ahrs: `gain`)
};

class Madgwick final : public OrientationFilter {
public:
    explicit Madgwick(const MadgwickParams& p);
    void update(const double* gyr, const double* acc, const double* mag, double* q, std::size_t n) override;
    void reset() override;
    [[nodiscard]] StateRecord get_state() const override;
    void set_state(const StateRecord& s) override;
    [[nodiscard]] std::unique_ptr<OrientationFilter> clone() const override { return std::make_unique<Madgwick>(*this); }
    [[nodiscard]] Quat quaternion() const override;
    [[nodiscard]] const MadgwickParams& params() const noexcept { return p_; }

private:
    MadgwickParams p_;
    double dt_;
    Quat f_;       // native (NWU) -> output frame
    Quat q_;       // native orientation
    bool init_ = false;
};

/// Mahony's explicit complementary filter with integral (bias) term (Mahony, Hamel & Pflimlin
/// 2008, IEEE Trans. Automatic Control), formulated exactly as `ahrs.filters.Mahony` (ahrs 0.4),
/// whose native frame is ENU (magnetic reference [0, |h_xy|, h_z]).
struct MahonyParams : CommonParams {
    double kp = 1.0;  ///< proportional gain, >= 0
    double ki = 0.3;  ///< integral gain, >= 0
    Vec3 b0{0.0, 0.0, 0.0};  ///< initial integral (bias) term, rad/s
};

class Mahony final : public OrientationFilter {
public:
    explicit Mahony(const MahonyParams& p);
    void update(const double* gyr, const double* acc, const double* mag, double* q, std::size_t n) override;
    void reset() override;
    [[nodiscard]] StateRecord get_state() const override;
    void set_state(const StateRecord& s) override;
    [[nodiscard]] std::unique_ptr<OrientationFilter> clone() const override { return std::make_unique<Mahony>(*this); }
    [[nodiscard]] Quat quaternion() const override;
    [[nodiscard]] Vec3 bias() const noexcept { return b_; }

private:
    MahonyParams p_;
    double dt_;
    Quat f_;
    Quat q_;
    Vec3 b_;
    bool init_ = false;
};

/// Complementary filter: gyro strapdown, then a fixed fraction `gain` of the rotation that aligns
/// the measured gravity (and, in 9D, the horizontal magnetic field) with the reference.
struct ComplementaryParams : CommonParams {
    double gain = 0.01;  ///< fraction of the acc/mag correction applied per sample, in [0, 1]
};

class Complementary final : public OrientationFilter {
public:
    explicit Complementary(const ComplementaryParams& p);
    void update(const double* gyr, const double* acc, const double* mag, double* q, std::size_t n) override;
    void reset() override;
    [[nodiscard]] StateRecord get_state() const override;
    void set_state(const StateRecord& s) override;
    [[nodiscard]] std::unique_ptr<OrientationFilter> clone() const override { return std::make_unique<Complementary>(*this); }
    [[nodiscard]] Quat quaternion() const override;

private:
    ComplementaryParams p_;
    double dt_;
    Quat f_;
    Quat q_;  // ENU
    bool init_ = false;
};

/// Parameters of RobustAHRS (defaults in brackets).
struct RobustParams : CommonParams {
    double tau_acc = 1.5;          ///< s, low-pass time constant of the inertial-frame accelerometer [1.5]
    double tau_mag = 3.0;          ///< s, time constant of the heading correction [3]
    double tau_bias_motion = 4.0;  ///< s, time constant of bias learning in motion [4]; <= 0 disables
    double tau_bias_rest = 0.5;    ///< s, time constant of bias learning at rest [0.5]; <= 0 disables
    double bias_max = 0.035;       ///< rad/s, clamp of the estimated bias per axis [2 deg/s]
    double rest_th_gyr = 0.01;     ///< rad/s, rest threshold on the per-sample gyro deviation from its
                                   ///< 0.5 s low-pass [0.01]; the bias-corrected rate must be below
                                   ///< rest_th_gyr + bias_max. Set ~3x above the per-sample gyro noise norm.
    double rest_th_acc = 0.5;      ///< m/s^2, rest threshold on the accelerometer deviation [0.5]
    double rest_min_t = 1.0;       ///< s, minimum duration below thresholds to declare rest [1]
    double mag_norm_th = 0.1;      ///< relative magnetic norm deviation for disturbance [0.1]
    double mag_dip_th = 0.1745;    ///< rad, dip deviation for disturbance [10 deg]
    double mag_new_t = 20.0;       ///< s, a stable new field is accepted as reference after this [20]
    double mag_init_t = 5.0;       ///< s, fast heading convergence window after the first mag sample [5]
    double acc_dev_scale = 1e9;    ///< m/s^2, acc samples whose norm departs from 9.81 by d get the
                                   ///< low-pass gain scaled by 1 / (1 + (d / acc_dev_scale)^2) [1e9: off]
};

/// The flagship filter: see the file comment and docs/fusion.md.
class RobustAHRS final : public OrientationFilter {
public:
    explicit RobustAHRS(const RobustParams& p);
    void update(const double* gyr, const double* acc, const double* mag, double* q, std::size_t n) override {
        update_ex(gyr, acc, mag, q, nullptr, nullptr, nullptr, n);
    }
    /// As update, also writing the bias estimate (n, 3) rad/s, the rest flag (n) and the magnetic
    /// disturbance flag (n) when the pointers are not null.
    void update_ex(const double* gyr, const double* acc, const double* mag, double* q, double* bias,
                   std::uint8_t* rest, std::uint8_t* mag_dist, std::size_t n);
    void reset() override;
    [[nodiscard]] StateRecord get_state() const override;
    void set_state(const StateRecord& s) override;
    [[nodiscard]] std::unique_ptr<OrientationFilter> clone() const override { return std::make_unique<RobustAHRS>(*this); }
    [[nodiscard]] Quat quaternion() const override;
    [[nodiscard]] Vec3 bias() const noexcept { return s_.bias; }
    [[nodiscard]] const RobustParams& params() const noexcept { return p_; }

    /// Evolving state (public so offline mode can hand it over to the backward pass).
    struct State {
        bool init = false;
        Quat q_gyr{1, 0, 0, 0};   // strapdown (inertial frame)
        Quat q_acc{1, 0, 0, 0};   // inclination correction (earth-frame)
        double delta = 0.0;       // heading correction, rad
        Vec3 acc_lp{0, 0, 0};     // low-passed acc in the inertial frame
        Vec3 bias{0, 0, 0};
        Vec3 gyr_lp{0, 0, 0};
        Vec3 accs_lp{0, 0, 0};    // low-passed acc in the sensor frame (rest detection)
        double rest_t = 0.0;      // time below rest thresholds, s
        bool rest = false;
        bool mag_ref_set = false;
        double mag_ref_norm = 0.0, mag_ref_dip = 0.0;
        double mag_cand_norm = 0.0, mag_cand_dip = 0.0, mag_cand_t = 0.0;
        double mag_t = 0.0;       // time since the first heading correction
        bool mag_init = false;
        bool mag_dist = false;
    };
    [[nodiscard]] const State& state() const noexcept { return s_; }
    void set_raw_state(const State& s) { s_ = s; }

private:
    void step(const double* g, const double* a, const double* m, double* qo, double* bo, std::uint8_t* ro,
              std::uint8_t* mo);
    RobustParams p_;
    double dt_, k_acc_, k_mag_, k_bm_, k_br_, k_rest_lp_;
    Quat f_;  // ENU -> output frame
    State s_;
};

/// Offline (forward-backward) RobustAHRS over a whole recording: a forward pass, a backward pass
/// started from the forward pass's final state (time-reversed, negated gyro), and a per-sample
/// slerp with forward weight k/(n-1). Writes q (n, 4) and, when not null, bias (n, 3).
void robust_offline(const RobustParams& p, const double* gyr, const double* acc, const double* mag, double* q,
                    double* bias, std::size_t n);

}  // namespace kinemyo::fusion
