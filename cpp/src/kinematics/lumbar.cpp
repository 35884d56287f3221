#include "kinemyo/kinematics/lumbar.hpp"

#include <cmath>
#include <limits>

namespace kinemyo::kinematics {
namespace {

constexpr double kRadToDeg = 57.295779513082320876798154814105;

Quat mul(const Quat& a, const Quat& b) {
    return {a[0] * b[0] - a[1] * b[1] - a[2] * b[2] - a[3] * b[3],
            a[0] * b[1] + a[1] * b[0] + a[2] * b[3] - a[3] * b[2],
            a[0] * b[2] - a[1] * b[3] + a[2] * b[0] + a[3] * b[1],
            a[0] * b[3] + a[1] * b[2] - a[2] * b[1] + a[3] * b[0]};
}

Quat conj(const Quat& q) { return {q[0], -q[1], -q[2], -q[3]}; }

bool normalise(Quat& q) {
    const double n = std::sqrt(q[0] * q[0] + q[1] * q[1] + q[2] * q[2] + q[3] * q[3]);
    if (!(std::isfinite(n) && n > 0.0)) return false;
    for (auto& v : q) v /= n;
    return true;
}

using Vec3 = std::array<double, 3>;

Vec3 rotate(const Quat& q, const Vec3& v) {
    // v + 2w (u x v) + 2 u x (u x v)
    const Vec3 u{q[1], q[2], q[3]};
    const Vec3 t{2.0 * (u[1] * v[2] - u[2] * v[1]), 2.0 * (u[2] * v[0] - u[0] * v[2]),
                 2.0 * (u[0] * v[1] - u[1] * v[0])};
    return {v[0] + q[0] * t[0] + (u[1] * t[2] - u[2] * t[1]),
            v[1] + q[0] * t[1] + (u[2] * t[0] - u[0] * t[2]),
            v[2] + q[0] * t[2] + (u[0] * t[1] - u[1] * t[0])};
}

double dot(const Vec3& a, const Vec3& b) { return a[0] * b[0] + a[1] * b[1] + a[2] * b[2]; }
Vec3 cross(const Vec3& a, const Vec3& b) {
    return {a[1] * b[2] - a[2] * b[1], a[2] * b[0] - a[0] * b[2], a[0] * b[1] - a[1] * b[0]};
}

double wrap(double a) {
    constexpr double kPi = 3.14159265358979323846;
    return std::remainder(a, 2.0 * kPi);
}

// Heading correction for 6D orientations: the rotation angle d about the earth vertical v, applied
// to the upper segment, for which the upper segment's anterior axis u is perpendicular to the
// lower segment's right axis w — i.e. the relative Z-X-Y Cardan angles have zero axial rotation.
// u(d).w = A + B cos d + C sin d with A = (u.v)(v.w), B = u_perp.w, C = (v x u_perp).w. Of the two
// roots, the one that leaves the smaller relative rotation between the segments is taken (the
// larger |w| of conj(sl) turn(d) su): the other root turns the upper segment round. (Choosing the
// root nearest to the heading difference of the two horizontally projected anterior axes failed
// once the upper segment tilts past 90 deg from vertical — a toe-touch bend with the pelvis
// flexed — because that projection then points backwards: 50 deg of flexion read -132 to -170.)
Quat turn_about(const Vec3& v, double d) {
    const double h = 0.5 * d, s = std::sin(h);
    return {std::cos(h), s * v[0], s * v[1], s * v[2]};
}

double align_angle(const Quat& su, const Quat& sl, const Vec3& v) {
    const Vec3 u = rotate(su, {1.0, 0.0, 0.0});
    const Vec3 w = rotate(sl, {0.0, 0.0, 1.0});
    const Vec3 xl = rotate(sl, {1.0, 0.0, 0.0});
    const double uv = dot(u, v);
    const Vec3 up{u[0] - uv * v[0], u[1] - uv * v[1], u[2] - uv * v[2]};
    const double xv = dot(xl, v);
    const Vec3 xp{xl[0] - xv * v[0], xl[1] - xv * v[1], xl[2] - xv * v[2]};
    // heading difference of the horizontal projections (fallback and tie-breaker)
    const double d0 = std::atan2(dot(cross(up, xp), v), dot(up, xp));
    const double A = uv * dot(v, w);
    const double B = dot(up, w);
    const double C = dot(cross(v, up), w);
    const double R = std::hypot(B, C);
    if (!(R > 1e-9)) return d0;
    const double phi = std::atan2(C, B);
    const double k = std::acos(std::fmax(-1.0, std::fmin(1.0, -A / R)));
    const double d1 = wrap(phi + k), d2 = wrap(phi - k);
    const Quat slc = conj(sl);
    const double w1 = std::abs(mul(slc, mul(turn_about(v, d1), su))[0]);
    const double w2 = std::abs(mul(slc, mul(turn_about(v, d2), su))[0]);
    if (std::abs(w1 - w2) > 1e-12) return w1 > w2 ? d1 : d2;
    // equal rotations (a double root): the one nearer the projected heading difference
    return std::abs(wrap(d1 - d0)) <= std::abs(wrap(d2 - d0)) ? d1 : d2;
}

}  // namespace

void lumbar_angles(const LumbarParams& params, const double* q_upper, const double* q_lower,
                   std::size_t n, double* angles, double* heading_carry) {
    const double nan = std::numeric_limits<double>::quiet_NaN();
    const bool align = params.heading == HeadingMode::align;
    // |u . v| above this: the anterior axis within kAlignHoldDeg of the vertical
    const double hold_dot = std::cos(kAlignHoldDeg / kRadToDeg);
    double carry = heading_carry != nullptr ? *heading_carry : nan;
    const Quat off_inv = conj(params.neutral_offset);
    for (std::size_t i = 0; i < n; ++i) {
        Quat qu{q_upper[4 * i], q_upper[4 * i + 1], q_upper[4 * i + 2], q_upper[4 * i + 3]};
        Quat ql{q_lower[4 * i], q_lower[4 * i + 1], q_lower[4 * i + 2], q_lower[4 * i + 3]};
        double* out = angles + 3 * i;
        if (!normalise(qu) || !normalise(ql)) {
            out[0] = out[1] = out[2] = nan;
            continue;
        }
        Quat su = mul(qu, params.upper_mount);
        const Quat sl = mul(ql, params.lower_mount);
        Quat rel;
        if (align) {
            const Vec3 u = rotate(su, {1.0, 0.0, 0.0});
            double d;
            if (std::abs(dot(u, params.up)) > hold_dot && std::isfinite(carry)) {
                d = carry;  // ill-conditioned: hold the last well-conditioned correction
            } else {
                d = align_angle(su, sl, params.up);
                if (std::abs(dot(u, params.up)) <= hold_dot) carry = d;
            }
            su = mul(turn_about(params.up, d), su);
            rel = mul(conj(sl), su);
        } else {
            rel = mul(off_inv, mul(conj(sl), su));
        }
        // Rotation matrix entries needed for the Z-X-Y Cardan angles.
        const double w = rel[0], x = rel[1], y = rel[2], z = rel[3];
        const double r01 = 2.0 * (x * y - w * z);
        const double r11 = 1.0 - 2.0 * (x * x + z * z);
        const double r21 = 2.0 * (y * z + w * x);
        const double r20 = 2.0 * (x * z - w * y);
        const double r22 = 1.0 - 2.0 * (x * x + y * y);
        const double a = std::atan2(-r01, r11);
        const double b = std::asin(std::fmax(-1.0, std::fmin(1.0, r21)));
        const double c = std::atan2(-r20, r22);
        out[0] = -a * kRadToDeg;
        out[1] = b * kRadToDeg;
        out[2] = align ? nan : c * kRadToDeg;
    }
    if (heading_carry != nullptr) *heading_carry = carry;
}

}  // namespace kinemyo::kinematics
