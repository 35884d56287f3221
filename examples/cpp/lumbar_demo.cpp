// kinemyo from C++ alone: lumbar angles from the orientations of two trunk sensors.
//
// Two quaternion streams (w, x, y, z; sensor -> earth, ENU) are built from known angles: the lower
// sensor (over S1) stands upright and turns slowly about the vertical, the upper one (over L1) is
// the lower one rotated by a flexion and a lateral bending (Cardan Z-X' of lumbar.hpp) and, in 6D
// mode, has its own heading drift. kinemyo::kinematics::lumbar_angles must give the angles back.
// Exit code 0 when it does (to 1e-6 deg), 1 otherwise.
#include <kinemyo/kinematics/lumbar.hpp>

#include <cmath>
#include <cstddef>
#include <cstdio>
#include <cstdlib>
#include <vector>

namespace {

using kinemyo::kinematics::Quat;
constexpr double kPi = 3.141592653589793;
constexpr double kDeg = kPi / 180.0;

Quat mul(const Quat& a, const Quat& b) {  // Hamilton product a (x) b
    return {a[0] * b[0] - a[1] * b[1] - a[2] * b[2] - a[3] * b[3],
            a[0] * b[1] + a[1] * b[0] + a[2] * b[3] - a[3] * b[2],
            a[0] * b[2] - a[1] * b[3] + a[2] * b[0] + a[3] * b[1],
            a[0] * b[3] + a[1] * b[2] - a[2] * b[1] + a[3] * b[0]};
}
Quat axis_angle(double ax, double ay, double az, double angle) {
    const double s = std::sin(angle / 2.0);
    return {std::cos(angle / 2.0), ax * s, ay * s, az * s};
}

}  // namespace

int main() {
    const double fs = 100.0;
    const std::size_t n = 1000;  // 10 s
    // Sensor axes = segment axes (X anterior, Y superior, Z right; identity mounts). Upright and
    // facing east: the sensor's Y axis is the earth's up, a +90 deg turn about the earth's X axis.
    const Quat upright = axis_angle(1, 0, 0, 90.0 * kDeg);

    std::vector<double> q_lower(4 * n), q_upper_9d(4 * n), q_upper_6d(4 * n), flex(n), lat(n);
    for (std::size_t i = 0; i < n; ++i) {
        const double t = static_cast<double>(i) / fs;
        flex[i] = 40.0 * std::sin(2.0 * kPi * 0.2 * t) * std::sin(2.0 * kPi * 0.2 * t);  // 0..40 deg forward bends
        lat[i] = 15.0 * std::sin(2.0 * kPi * 0.1 * t);                                     // +-15 deg side bends
        const Quat heading = axis_angle(0, 0, 1, 30.0 * kDeg * std::sin(2.0 * kPi * 0.05 * t));  // earth vertical
        const Quat lower = mul(heading, upright);
        // R_rel = R_Z(a) R_X(b) with flexion = -a, lateral bending = b
        const Quat rel = mul(axis_angle(0, 0, 1, -flex[i] * kDeg), axis_angle(1, 0, 0, lat[i] * kDeg));
        const Quat upper = mul(lower, rel);
        const Quat drift = axis_angle(0, 0, 1, 0.5 * kDeg * t);  // 6D: the upper heading drifts 0.5 deg/s
        const Quat upper_6d = mul(drift, upper);
        for (std::size_t k = 0; k < 4; ++k) {
            q_lower[4 * i + k] = lower[k];
            q_upper_9d[4 * i + k] = upper[k];
            q_upper_6d[4 * i + k] = upper_6d[k];
        }
    }

    bool ok = true;
    const char* mode_names[] = {"absolute (9D)", "align (6D, heading drift)"};
    for (int m = 0; m < 2; ++m) {
        kinemyo::kinematics::LumbarParams params;
        params.heading = m == 0 ? kinemyo::kinematics::HeadingMode::absolute : kinemyo::kinematics::HeadingMode::align;
        const std::vector<double>& q_upper = m == 0 ? q_upper_9d : q_upper_6d;
        std::vector<double> angles(3 * n);
        kinemyo::kinematics::lumbar_angles(params, q_upper.data(), q_lower.data(), n, angles.data());
        double err_flex = 0.0, err_lat = 0.0, err_axial = 0.0;
        bool axial_nan = true;
        for (std::size_t i = 0; i < n; ++i) {
            err_flex = std::fmax(err_flex, std::fabs(angles[3 * i] - flex[i]));
            err_lat = std::fmax(err_lat, std::fabs(angles[3 * i + 1] - lat[i]));
            if (m == 0) err_axial = std::fmax(err_axial, std::fabs(angles[3 * i + 2]));
            axial_nan = axial_nan && std::isnan(angles[3 * i + 2]);
        }
        // NaN errors (a NaN angle) fail these comparisons too
        const bool good = err_flex <= 1e-6 && err_lat <= 1e-6 && (m == 0 ? err_axial <= 1e-6 : axial_nan);
        if (m == 0)
            std::printf("%-26s max error: flexion %.2e deg, lateral bending %.2e deg, axial rotation %.2e deg  %s\n",
                        mode_names[m], err_flex, err_lat, err_axial, good ? "ok" : "FAILED");
        else
            std::printf("%-26s max error: flexion %.2e deg, lateral bending %.2e deg, axial rotation NaN (%s)  %s\n",
                        mode_names[m], err_flex, err_lat, axial_nan ? "as documented" : "NOT NaN", good ? "ok" : "FAILED");
        std::printf("%26s at t = 1.25 s: flexion %.3f deg (true %.3f), lateral bending %.3f deg (true %.3f)\n", "",
                    angles[3 * 125], flex[125], angles[3 * 125 + 1], lat[125]);
        ok = ok && good;
    }
    std::printf("%s\n", ok ? "lumbar_demo: angles recovered" : "lumbar_demo: FAILED");
    return ok ? EXIT_SUCCESS : EXIT_FAILURE;
}
