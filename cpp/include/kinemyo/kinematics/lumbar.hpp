#pragma once
/// @file lumbar.hpp
/// Lumbar (two-segment) angles from the orientations of an upper and a lower trunk sensor.

#include <array>
#include <cstddef>

namespace kinemyo::kinematics {

/// Unit quaternion (w, x, y, z), Hamilton convention.
using Quat = std::array<double, 4>;

/// How the headings of the two sensors are related.
enum class HeadingMode {
    /// 6D fusion (no magnetometer): the two sensors' headings drift independently, so each
    /// sample the upper segment is turned about the earth vertical until the relative rotation has
    /// zero axial rotation (its anterior axis perpendicular to the lower segment's right axis).
    /// Flexion and lateral bending stay exact under any heading drift when the true axial rotation
    /// is small; axial rotation is not observable and is reported as NaN.
    align,
    /// 9D fusion (common magnetic north): headings are comparable; the heading offset of the
    /// neutral posture is removed by the calibration and axial rotation is reported.
    absolute
};

/// Parameters of the lumbar angle computation (what a Calibration holds).
///
/// Segment frames follow ISB (Wu et al., J. Biomech. 2002): X anterior, Y superior (cranial),
/// Z to the right. `upper_mount` / `lower_mount` rotate segment-frame vectors into sensor-frame
/// vectors (their columns are the segment axes in sensor coordinates), so the segment orientation
/// is q_segment = q_sensor (x) mount.
struct LumbarParams {
    Quat upper_mount{1.0, 0.0, 0.0, 0.0};
    Quat lower_mount{1.0, 0.0, 0.0, 0.0};
    /// Relative orientation of the neutral posture, removed from every sample (absolute mode).
    Quat neutral_offset{1.0, 0.0, 0.0, 0.0};
    HeadingMode heading = HeadingMode::align;
    /// Earth-frame vertical (up) of the orientation estimates: (0, 0, 1) for ENU and for NED the
    /// quaternion convention flips it to (0, 0, -1).
    std::array<double, 3> up{0.0, 0.0, 1.0};
};

/// Lumbar angles in degrees of n samples, written to `angles` (n x 3, row-major):
/// (flexion, lateral bending, axial rotation) of the upper segment relative to the lower one.
///
/// Cardan sequence Z-X'-Y'' of the relative rotation R = R_lower^T R_upper = R_Z(a) R_X(b) R_Y(c)
/// (the joint coordinate system of Grood & Suntay, J. Biomech. Eng. 1983, as ISB recommends for
/// the spine): flexion = -a (positive = forward bending, the superior axis tilting anteriorly),
/// lateral bending = b (positive = to the right), axial rotation = c (positive = the upper segment
/// turning to the left, counter-clockwise seen from above).
///
/// `q_upper`, `q_lower`: n x 4 sensor orientations (w, x, y, z), sensor -> earth; they need not be
/// normalised (they are). A sample with a non-finite or zero quaternion gives NaN angles.
///
/// Align mode near its singularity: when the upper segment's anterior axis is within
/// kAlignHoldDeg of the vertical (the segment tilted about 90 deg: a toe-touch bend), the heading
/// equation is ill-conditioned (gravity no longer fixes the heading), so the heading correction of
/// the last well-conditioned sample is held. `heading_carry` (optional, in/out) is that correction
/// in rad (NaN: none yet): a stream processed in chunks passes the same variable to every call and
/// gets the angles of one call over the whole stream.
void lumbar_angles(const LumbarParams& params, const double* q_upper, const double* q_lower,
                   std::size_t n, double* angles, double* heading_carry = nullptr);

/// Angle (deg) of the upper segment's anterior axis from the vertical below which align mode holds
/// the heading correction of the last well-conditioned sample (see lumbar_angles).
inline constexpr double kAlignHoldDeg = 10.0;

}  // namespace kinemyo::kinematics
