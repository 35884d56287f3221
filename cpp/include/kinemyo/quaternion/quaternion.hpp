#pragma once
/// @file quaternion.hpp
/// Unit-quaternion algebra over arrays. Quaternions are (w, x, y, z), Hamilton convention; an
/// orientation rotates sensor-frame vectors into the reference (earth) frame: v_e = q (x) v_s (x) q*.
/// Array functions take n quaternions as n x 4 row-major doubles; an argument of length 1 is
/// broadcast against n (pass n1 = 1 or n).

#include <array>
#include <cmath>
#include <cstddef>
#include <string>

namespace kinemyo::quaternion {

using Quat = std::array<double, 4>;
using Vec3 = std::array<double, 3>;

inline Quat mul(const Quat& a, const Quat& b) noexcept {
    return {a[0] * b[0] - a[1] * b[1] - a[2] * b[2] - a[3] * b[3],
            a[0] * b[1] + a[1] * b[0] + a[2] * b[3] - a[3] * b[2],
            a[0] * b[2] - a[1] * b[3] + a[2] * b[0] + a[3] * b[1],
            a[0] * b[3] + a[1] * b[2] - a[2] * b[1] + a[3] * b[0]};
}

inline Quat conj(const Quat& q) noexcept { return {q[0], -q[1], -q[2], -q[3]}; }

inline double norm(const Quat& q) noexcept { return std::sqrt(q[0] * q[0] + q[1] * q[1] + q[2] * q[2] + q[3] * q[3]); }

/// Normalised copy; the identity for a zero or non-finite quaternion is NOT substituted: the
/// result is NaN then (callers decide).
inline Quat normalized(const Quat& q) noexcept {
    const double n = norm(q);
    return {q[0] / n, q[1] / n, q[2] / n, q[3] / n};
}

/// Rotate v by unit quaternion q: q (x) v (x) q*.
inline Vec3 rotate(const Quat& q, const Vec3& v) noexcept {
    const double tx = 2.0 * (q[2] * v[2] - q[3] * v[1]);
    const double ty = 2.0 * (q[3] * v[0] - q[1] * v[2]);
    const double tz = 2.0 * (q[1] * v[1] - q[2] * v[0]);
    return {v[0] + q[0] * tx + (q[2] * tz - q[3] * ty), v[1] + q[0] * ty + (q[3] * tx - q[1] * tz),
            v[2] + q[0] * tz + (q[1] * ty - q[2] * tx)};
}

/// Quaternion of a rotation vector (axis * angle, radians).
inline Quat from_rotvec(const Vec3& r) noexcept {
    const double a = std::sqrt(r[0] * r[0] + r[1] * r[1] + r[2] * r[2]);
    if (a < 1e-8) {  // Taylor expansion keeps full precision for tiny angles
        const double s = 0.5 - a * a / 48.0;
        return normalized(Quat{1.0 - a * a / 8.0, r[0] * s, r[1] * s, r[2] * s});
    }
    const double s = std::sin(0.5 * a) / a;
    return {std::cos(0.5 * a), r[0] * s, r[1] * s, r[2] * s};
}

/// Rotation vector (axis * angle, radians, angle in [0, pi]) of a unit quaternion.
inline Vec3 to_rotvec(const Quat& q_in) noexcept {
    const Quat q = q_in[0] < 0 ? Quat{-q_in[0], -q_in[1], -q_in[2], -q_in[3]} : q_in;
    const double s = std::sqrt(q[1] * q[1] + q[2] * q[2] + q[3] * q[3]);
    const double a = 2.0 * std::atan2(s, q[0]);
    const double k = s < 1e-12 ? 2.0 / q[0] : a / s;
    return {q[1] * k, q[2] * k, q[3] * k};
}

// ---------------------------------------------------------------------------- array functions

/// out[i] = a[i or 0] (x) b[i or 0], i < n.
void multiply(const double* a, std::size_t na, const double* b, std::size_t nb, double* out, std::size_t n);
/// out[i] = conj(q[i]).
void conjugate(const double* q, double* out, std::size_t n);
/// out[i] = q[i] / |q[i]|; a zero or non-finite quaternion gives NaN.
void normalize(const double* q, double* out, std::size_t n);
/// out[i] = q[i or 0] v[i or 0] q[i or 0]*, vectors n x 3.
void rotate(const double* q, std::size_t nq, const double* v, std::size_t nv, double* out, std::size_t n);
/// Rotation matrices (n x 3 x 3, row-major) of unit quaternions.
void to_matrix(const double* q, double* out, std::size_t n);
/// Unit quaternions (w >= 0) of rotation matrices (Shepperd's method).
void from_matrix(const double* m, double* out, std::size_t n);
void to_rotvec(const double* q, double* out, std::size_t n);
void from_rotvec(const double* r, double* out, std::size_t n);

/// Euler angles (radians) of a sequence of three axes: lowercase letters (e.g. "xyz") are
/// extrinsic (fixed axes), uppercase ("ZYX") intrinsic (moving axes) — scipy's Rotation
/// convention; Tait-Bryan ("xyz") and proper Euler ("zxz") sequences. Angles: first and third in
/// (-pi, pi], second in [-pi/2, pi/2] (Tait-Bryan) or [0, pi] (proper). At gimbal lock the third
/// angle is set to 0. Conversion after Bernardes & Viollet, "Quaternion to Euler angles
/// conversion: a direct, general and computationally efficient method", PLoS ONE 17, 2022.
/// @throws std::invalid_argument for an invalid sequence.
void to_euler(const double* q, double* out, std::size_t n, const std::string& seq);
void from_euler(const double* angles, double* out, std::size_t n, const std::string& seq);

/// Spherical linear interpolation q(t) = q0 (q0* q1)^t along the shorter arc; t per sample.
/// Constant angular speed at every angle, however small (no switch to linear interpolation);
/// t = 0 gives q0 and t = 1 gives q1 (or -q1) exactly. q0, q1 unit quaternions.
void slerp(const double* q0, std::size_t n0, const double* q1, std::size_t n1, const double* t, std::size_t nt,
           double* out, std::size_t n);
/// Rotation angle (radians, [0, pi]) between orientations: angle of q0* q1.
void angle_between(const double* q0, std::size_t n0, const double* q1, std::size_t n1, double* out, std::size_t n);
/// Split q = heading (x) inclination, heading a rotation about the reference vertical `up` and
/// inclination a rotation about a horizontal axis (swing-twist decomposition). Outputs n x 4 each.
void heading_inclination(const double* q, double* heading, double* inclination, std::size_t n, const Vec3& up);

}  // namespace kinemyo::quaternion
