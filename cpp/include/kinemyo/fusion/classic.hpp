#pragma once
/// @file classic.hpp
/// The classic orientation filters: Madgwick, Mahony, and a complementary filter.

#include "kinemyo/fusion/orientation_filter.hpp"

namespace kinemyo::fusion {

/// Parameters of Madgwick's filter.
struct MadgwickParams {
    double fs = 100.0;                 ///< sampling rate, Hz (> 0)
    double beta = 0.1;                 ///< gradient-descent gain, rad/s (>= 0); default 0.1
    Quat q0{1.0, 0.0, 0.0, 0.0};       ///< initial orientation (sensor -> ENU)
};

/// Madgwick's gradient-descent orientation filter (Madgwick, Harrison & Vaidyanathan, "Estimation
/// of IMU and MARG orientation using a gradient descent algorithm", IEEE ICORR 2011): the
/// quaternion rate of the gyroscope minus beta times the normalised gradient of the
/// accelerometer (and magnetometer) objective function, integrated with Euler steps of 1/fs and
/// renormalised. The same formulation as the PyPI package `ahrs` (`ahrs.filters.Madgwick`),
/// except that `ahrs` skips the whole update when a gyroscope sample is exactly zero.
/// The 9D formulation uses a reference field in the x-z plane (x magnetic north, z up, "NWU");
/// inputs and outputs here are ENU and are converted (q_enu = kNwuToEnu (x) q_nwu).
/// Zero-norm or non-finite accelerometer: gyroscope-only step; magnetometer: 6D step.
class Madgwick final : public OrientationFilter {
public:
    explicit Madgwick(const MadgwickParams& p);
    void update(const double* gyr, const double* acc, const double* mag, std::size_t n, double* q_out,
                double* bias_out, std::uint8_t* flags_out) override;
    void reset() override {
        q_ = q_init_;
        n_ = {q_init_[0], q_init_[1], q_init_[2], q_init_[3], 1.0};
    }
    [[nodiscard]] StateRecord get_state() const override;
    /// Restores a state from get_state. A q of norm != 1 is normalised (as q0).
    /// @throws std::invalid_argument for a missing or mis-sized field, a non-finite or zero q.
    void set_state(const StateRecord& s) override;
    [[nodiscard]] std::unique_ptr<OrientationFilter> clone() const override { return std::make_unique<Madgwick>(*this); }
    [[nodiscard]] double fs() const noexcept override { return p_.fs; }

private:
    MadgwickParams p_;
    Quat q_init_;  // internal frame: NWU
    Quat q_;
    // the last 9D step's unnormalised quaternion and 1 / its squared norm (q = n sqrt(it)), which
    // the next 9D step starts from: kept so that any split into calls gives the same bits
    std::array<double, 5> n_{};
};

/// Parameters of Mahony's filter.
struct MahonyParams {
    double fs = 100.0;                 ///< sampling rate, Hz (> 0)
    double kp = 1.0;                   ///< proportional gain, rad/s (>= 0); default 1.0
    double ki = 0.3;                   ///< integral gain (bias estimation), rad/s^2 (>= 0); default 0.3
    Quat q0{1.0, 0.0, 0.0, 0.0};       ///< initial orientation (sensor -> ENU)
    Vec3 b0{0.0, 0.0, 0.0};            ///< initial gyroscope bias estimate, rad/s (finite, norm < kMaxRate)
};

/// Mahony's explicit complementary filter (Mahony, Hamel & Pflimlin, "Nonlinear complementary
/// filters on the special orthogonal group", IEEE Trans. Autom. Control 53, 2008): the error is the
/// cross product of measured and predicted gravity (and magnetic field, projected to its
/// horizontal-north and vertical parts), fed back with kp and integrated with ki into a bias
/// estimate. The same formulation as `ahrs.filters.Mahony` (which also skips exactly-zero gyroscope
/// samples); reference frame ENU.
class Mahony final : public OrientationFilter {
public:
    explicit Mahony(const MahonyParams& p);
    void update(const double* gyr, const double* acc, const double* mag, std::size_t n, double* q_out,
                double* bias_out, std::uint8_t* flags_out) override;
    void reset() override {
        q_ = p_.q0;
        b_ = p_.b0;
    }
    [[nodiscard]] StateRecord get_state() const override;
    /// Restores a state from get_state. A q of norm != 1 is normalised (as q0).
    /// @throws std::invalid_argument for a missing or mis-sized field, a non-finite or zero q or a bias that is not finite with norm < kMaxRate.
    void set_state(const StateRecord& s) override;
    [[nodiscard]] std::unique_ptr<OrientationFilter> clone() const override { return std::make_unique<Mahony>(*this); }
    [[nodiscard]] double fs() const noexcept override { return p_.fs; }

private:
    MahonyParams p_;
    Quat q_;
    Vec3 b_;
};

/// Parameters of the complementary filter.
struct ComplementaryParams {
    double fs = 100.0;                 ///< sampling rate, Hz (> 0)
    double gain = 0.01;                ///< weight of the accelerometer/magnetometer orientation per sample, [0, 1]
    Quat q0{1.0, 0.0, 0.0, 0.0};       ///< initial orientation (sensor -> ENU)
};

/// Complementary filter on the quaternion (e.g. Valenti, Dryanovski & Xiao, "Keeping a good
/// attitude", Sensors 15, 2015, in its simplest form): gyroscope integration, then a normalised
/// linear interpolation by `gain` towards the orientation measured by the accelerometer (tilt,
/// keeping the current heading) and, with a magnetometer, the heading of the horizontal field.
class Complementary final : public OrientationFilter {
public:
    explicit Complementary(const ComplementaryParams& p);
    void update(const double* gyr, const double* acc, const double* mag, std::size_t n, double* q_out,
                double* bias_out, std::uint8_t* flags_out) override;
    void reset() override { q_ = p_.q0; }
    [[nodiscard]] StateRecord get_state() const override;
    /// Restores a state from get_state. A q of norm != 1 is normalised (as q0).
    /// @throws std::invalid_argument for a missing or mis-sized field, a non-finite or zero q.
    void set_state(const StateRecord& s) override;
    [[nodiscard]] std::unique_ptr<OrientationFilter> clone() const override {
        return std::make_unique<Complementary>(*this);
    }
    [[nodiscard]] double fs() const noexcept override { return p_.fs; }

private:
    ComplementaryParams p_;
    Quat q_;
};

}  // namespace kinemyo::fusion
