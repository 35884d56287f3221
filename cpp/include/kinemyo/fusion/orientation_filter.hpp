#pragma once
/// @file orientation_filter.hpp
/// Common interface of the orientation filters (AHRS) of the core.
///
/// Conventions: gyroscope rad/s, accelerometer m/s^2 (any unit works: only its direction is used),
/// magnetometer any unit (only its direction is used); arrays n x 3 row-major. Output quaternions
/// (w, x, y, z), Hamilton, sensor -> earth; earth frame ENU (x east, y north, z up) when a
/// magnetometer is used; without one (6D) the heading is arbitrary and starts at the initial
/// orientation's. Per-sample flags (bit field) report what the filter did.

#include <cstdint>
#include <memory>

#include "kinemyo/common/processor.hpp"
#include "kinemyo/quaternion/quaternion.hpp"

namespace kinemyo::fusion {

using quaternion::Quat;
using quaternion::Vec3;

/// Bits of the per-sample flags.
enum FusionFlags : std::uint8_t {
    kRest = 1,             ///< rest detected (gyro and accelerometer steady)
    kMagDisturbed = 2,     ///< field departs from the reference: heading held, or corrected against a landmark
    kAccSkipped = 4,       ///< accelerometer sample unusable (zero norm or non-finite): no tilt correction
    kMagSkipped = 8,       ///< magnetometer sample unusable or absent for this sample
    kGyrSkipped = 16,      ///< gyroscope sample non-finite: orientation held
};

/// An orientation filter. `update` processes n samples; the result never depends on how a
/// recording is split into calls (chunk invariance).
class OrientationFilter {
public:
    virtual ~OrientationFilter() = default;
    /// @param gyr n x 3 rad/s; @param acc n x 3; @param mag n x 3 or nullptr (6D);
    /// @param q_out n x 4; @param bias_out n x 3 rad/s or nullptr; @param flags_out n or nullptr.
    virtual void update(const double* gyr, const double* acc, const double* mag, std::size_t n, double* q_out,
                        double* bias_out, std::uint8_t* flags_out) = 0;
    virtual void reset() = 0;
    [[nodiscard]] virtual StateRecord get_state() const = 0;
    virtual void set_state(const StateRecord& s) = 0;
    [[nodiscard]] virtual std::unique_ptr<OrientationFilter> clone() const = 0;
    /// Sampling rate in Hz.
    [[nodiscard]] virtual double fs() const noexcept = 0;
    BusyFlag& busy() noexcept { return busy_; }

private:
    BusyFlag busy_;
};

/// Rotation of the magnetic-north frame used by Madgwick's formulation (x north, y west, z up:
/// "NWU") into ENU: +90 degrees about z. q_enu = kNwuToEnu (x) q_nwu.
inline constexpr Quat kNwuToEnu{0.70710678118654752440, 0.0, 0.0, 0.70710678118654752440};

/// Gyroscope samples faster than this (rad/s, about 57,000 deg/s: beyond any MEMS range) are
/// treated as invalid like non-finite ones: the orientation is held for that sample.
inline constexpr double kMaxRate = 1000.0;

namespace detail {
inline bool finite3(const double* v) { return std::isfinite(v[0]) && std::isfinite(v[1]) && std::isfinite(v[2]); }
inline double norm3(const double* v) { return std::sqrt(v[0] * v[0] + v[1] * v[1] + v[2] * v[2]); }
void check_fusion_fs(double fs);
Quat check_q0(const Quat& q0);
}  // namespace detail

}  // namespace kinemyo::fusion
