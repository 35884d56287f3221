#pragma once
/// @file quat.hpp
/// Unit-quaternion algebra: inline single-quaternion helpers (used by the fusion filters) and
/// array functions vectorised over n quaternions.
///
/// Conventions: quaternions are (w, x, y, z), Hamilton product, and rotate sensor frame -> reference
/// (earth) frame: v_earth = q (x) v_sensor (x) q*. Rotation matrices are row-major 3x3 with
/// v_earth = R v_sensor. Angles are in radians. Arrays are contiguous, row-major: quaternions
/// (n, 4), vectors (n, 3), matrices (n, 3, 3).

#include <array>
#include <cmath>
#include <cstddef>
#include <string>

namespace kinemyo::quaternion {

/// One quaternion (w, x, y, z).
using Quat = std::array<double, 4>;
/// One 3-vector.
using Vec3 = std::array<double, 3>;

/// Hamilton product a (x) b.
inline Quat qmul(const Quat& a, const Quat& b) noexcept {
    return {a[0] * b[0] - a[1] * b[1] - a[2] * b[2] - a[3] * b[3],
            a[0] * b[1] + a[1] * b[0] + a[2] * b[3] - a[3] * b[2],
            a[0] * b[2] - a[1] * b[3] + a[2] * b[0] + a[3] * b[1],
            a[0] * b[3] + a[1] * b[2] - a[2] * b[1] + a[3] * b[0]};
}

/// Conjugate (the inverse of a unit quaternion).
inline Quat qconj(const Quat& q) noexcept { return {q[0], -q[1], -q[2], -q[3]}; }

/// Normalise to unit norm (a zero-norm quaternion gives NaN components; callers decide).
inline Quat qnormalize(const Quat& q) noexcept {
    const double n = std::sqrt(q[0] * q[0] + q[1] * q[1] + q[2] * q[2] + q[3] * q[3]);
    return {q[0] / n, q[1] / n, q[2] / n, q[3] / n};
}

/// Rotate v by q: q (x) (0, v) (x) q*  (q assumed unit).
inline Vec3 qrotate(const Quat& q, const Vec3& v) noexcept {
    // t = 2 * cross(q.xyz, v); v' = v + w t + cross(q.xyz, t)
    const double tx = 2.0 * (q[2] * v[2] - q[3] * v[1]);
    const double ty = 2.0 * (q[3] * v[0] - q[1] * v[2]);
    const double tz = 2.0 * (q[1] * v[1] - q[2] * v[0]);
    return {v[0] + q[0] * tx + (q[2] * tz - q[3] * ty),
            v[1] + q[0] * ty + (q[3] * tx - q[1] * tz),
            v[2] + q[0] * tz + (q[1] * ty - q[2] * tx)};
}

/// Quaternion of a rotation vector (axis * angle, radians). Below 0.05 rad a Taylor series
/// (exact to double precision there) replaces sin/cos: this is the per-sample gyro step.
inline Quat qfrom_rotvec(const Vec3& r) noexcept {
    const double a2 = r[0] * r[0] + r[1] * r[1] + r[2] * r[2];
    double c, s;
    if (a2 < 0.0025) {
        const double h2 = 0.25 * a2;  // (a/2)^2
        c = 1.0 - h2 * (1.0 / 2.0 - h2 * (1.0 / 24.0 - h2 * (1.0 / 720.0 - h2 * (1.0 / 40320.0))));
        s = 0.5 * (1.0 - h2 * (1.0 / 6.0 - h2 * (1.0 / 120.0 - h2 * (1.0 / 5040.0 - h2 * (1.0 / 362880.0)))));
    } else {
        const double a = std::sqrt(a2);
        c = std::cos(0.5 * a);
        s = std::sin(0.5 * a) / a;
    }
    return {c, r[0] * s, r[1] * s, r[2] * s};
}

/// Rotation vector of a quaternion (angle in [0, pi]).
inline Vec3 qto_rotvec(const Quat& q0) noexcept {
    Quat q = q0;
    if (q[0] < 0) q = {-q[0], -q[1], -q[2], -q[3]};
    const double vn = std::sqrt(q[1] * q[1] + q[2] * q[2] + q[3] * q[3]);
    const double angle = 2.0 * std::atan2(vn, q[0]);
    const double s = vn < 1e-12 ? 2.0 / q[0] : angle / vn;
    return {q[1] * s, q[2] * s, q[3] * s};
}

// ---- array functions (n items each; out may not alias inputs unless noted) ----

/// out = a (x) b for n pairs (out may alias a or b).
void multiply(const double* a, const double* b, double* out, std::size_t n);
/// out = conj(q) (out may alias q).
void conjugate(const double* q, double* out, std::size_t n);
/// out = q / |q|; zero-norm rows give NaN (out may alias q).
void normalize(const double* q, double* out, std::size_t n);
/// out_i = q_i (x) v_i (x) q_i*  (vectors (n, 3)).
void rotate(const double* q, const double* v, double* out, std::size_t n);
/// Rotation matrices (n, 3, 3), row-major, v_earth = R v_sensor.
void to_matrix(const double* q, double* R, std::size_t n);
/// Quaternions (w >= 0) from rotation matrices (Shepperd's method, re-normalised).
void from_matrix(const double* R, double* q, std::size_t n);
/// Rotation vectors (n, 3), radians, angle in [0, pi].
void to_rotvec(const double* q, double* r, std::size_t n);
/// Quaternions from rotation vectors.
void from_rotvec(const double* r, double* q, std::size_t n);
/// Spherical linear interpolation along the shortest arc, t in [0, 1] per row (n values).
void slerp(const double* q0, const double* q1, const double* t, double* out, std::size_t n);
/// Rotation angle (radians, [0, pi]) between orientations a_i and b_i.
void angle_between(const double* a, const double* b, double* out, std::size_t n);
/// Split q = q_heading (x) q_inclination, q_heading about the reference z axis, q_inclination
/// about a horizontal axis. Writes heading angle (rad, (-pi, pi]) and inclination angle (rad,
/// [0, pi]) when the pointers are not null, and the two quaternions when not null.
void heading_inclination(const double* q, double* heading, double* inclination, double* q_heading,
                         double* q_inclination, std::size_t n);

/// Parse an Euler sequence: 3 letters of xyz (extrinsic, lower case) or XYZ (intrinsic, upper
/// case), no axis twice in a row. @throws std::invalid_argument otherwise.
struct EulerSeq {
    int axes[3];
    bool extrinsic;
};
EulerSeq parse_euler_seq(const std::string& seq);
/// Quaternions from Euler angles (n, 3), radians, in `seq` (same meaning as scipy's Rotation).
void from_euler(const EulerSeq& seq, const double* angles, double* q, std::size_t n);
/// Euler angles (n, 3), radians, in `seq`; first and last angle in [-pi, pi], the middle in
/// [-pi/2, pi/2] (Tait-Bryan) or [0, pi] (proper Euler). At gimbal lock one outer angle is 0.
void to_euler(const EulerSeq& seq, const double* q, double* angles, std::size_t n);

}  // namespace kinemyo::quaternion
