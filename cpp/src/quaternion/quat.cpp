// Array functions of kinemyo::quaternion (see quat.hpp for conventions).

#include "kinemyo/quaternion/quat.hpp"

#include <algorithm>
#include <stdexcept>

namespace kinemyo::quaternion {
namespace {

Quat load(const double* p) noexcept { return {p[0], p[1], p[2], p[3]}; }
void store(const Quat& q, double* p) noexcept {
    p[0] = q[0];
    p[1] = q[1];
    p[2] = q[2];
    p[3] = q[3];
}
constexpr double kPi = 3.14159265358979323846;

}  // namespace

void multiply(const double* a, const double* b, double* out, std::size_t n) {
    for (std::size_t i = 0; i < n; ++i) store(qmul(load(a + 4 * i), load(b + 4 * i)), out + 4 * i);
}

void conjugate(const double* q, double* out, std::size_t n) {
    for (std::size_t i = 0; i < n; ++i) store(qconj(load(q + 4 * i)), out + 4 * i);
}

void normalize(const double* q, double* out, std::size_t n) {
    for (std::size_t i = 0; i < n; ++i) store(qnormalize(load(q + 4 * i)), out + 4 * i);
}

void rotate(const double* q, const double* v, double* out, std::size_t n) {
    for (std::size_t i = 0; i < n; ++i) {
        const Vec3 r = qrotate(load(q + 4 * i), {v[3 * i], v[3 * i + 1], v[3 * i + 2]});
        out[3 * i] = r[0];
        out[3 * i + 1] = r[1];
        out[3 * i + 2] = r[2];
    }
}

void to_matrix(const double* qp, double* R, std::size_t n) {
    for (std::size_t i = 0; i < n; ++i) {
        const Quat q = qnormalize(load(qp + 4 * i));
        const double w = q[0], x = q[1], y = q[2], z = q[3];
        double* r = R + 9 * i;
        r[0] = 1 - 2 * (y * y + z * z);
        r[1] = 2 * (x * y - w * z);
        r[2] = 2 * (x * z + w * y);
        r[3] = 2 * (x * y + w * z);
        r[4] = 1 - 2 * (x * x + z * z);
        r[5] = 2 * (y * z - w * x);
        r[6] = 2 * (x * z - w * y);
        r[7] = 2 * (y * z + w * x);
        r[8] = 1 - 2 * (x * x + y * y);
    }
}

void from_matrix(const double* R, double* qp, std::size_t n) {
    for (std::size_t i = 0; i < n; ++i) {
        const double* r = R + 9 * i;
        const double tr = r[0] + r[4] + r[8];
        Quat q;
        // Shepperd: pick the largest of w, x, y, z to divide by.
        if (tr >= r[0] && tr >= r[4] && tr >= r[8]) {
            const double s = 2.0 * std::sqrt(1.0 + tr);
            q = {0.25 * s, (r[7] - r[5]) / s, (r[2] - r[6]) / s, (r[3] - r[1]) / s};
        } else if (r[0] >= r[4] && r[0] >= r[8]) {
            const double s = 2.0 * std::sqrt(1.0 + r[0] - r[4] - r[8]);
            q = {(r[7] - r[5]) / s, 0.25 * s, (r[1] + r[3]) / s, (r[2] + r[6]) / s};
        } else if (r[4] >= r[8]) {
            const double s = 2.0 * std::sqrt(1.0 + r[4] - r[0] - r[8]);
            q = {(r[2] - r[6]) / s, (r[1] + r[3]) / s, 0.25 * s, (r[5] + r[7]) / s};
        } else {
            const double s = 2.0 * std::sqrt(1.0 + r[8] - r[0] - r[4]);
            q = {(r[3] - r[1]) / s, (r[2] + r[6]) / s, (r[5] + r[7]) / s, 0.25 * s};
        }
        q = qnormalize(q);
        if (q[0] < 0) q = {-q[0], -q[1], -q[2], -q[3]};
        store(q, qp + 4 * i);
    }
}

void to_rotvec(const double* q, double* r, std::size_t n) {
    for (std::size_t i = 0; i < n; ++i) {
        const Vec3 v = qto_rotvec(qnormalize(load(q + 4 * i)));
        r[3 * i] = v[0];
        r[3 * i + 1] = v[1];
        r[3 * i + 2] = v[2];
    }
}

void from_rotvec(const double* r, double* q, std::size_t n) {
    for (std::size_t i = 0; i < n; ++i) store(qfrom_rotvec({r[3 * i], r[3 * i + 1], r[3 * i + 2]}), q + 4 * i);
}

void slerp(const double* q0p, const double* q1p, const double* t, double* out, std::size_t n) {
    for (std::size_t i = 0; i < n; ++i) {
        const Quat a = qnormalize(load(q0p + 4 * i));
        Quat b = qnormalize(load(q1p + 4 * i));
        double d = a[0] * b[0] + a[1] * b[1] + a[2] * b[2] + a[3] * b[3];
        if (d < 0) {
            b = {-b[0], -b[1], -b[2], -b[3]};
            d = -d;
        }
        d = std::min(d, 1.0);
        const double th = std::acos(d);
        double ca, cb;
        if (th < 1e-8) {
            ca = 1.0 - t[i];
            cb = t[i];
        } else {
            const double s = std::sin(th);
            ca = std::sin((1.0 - t[i]) * th) / s;
            cb = std::sin(t[i] * th) / s;
        }
        store(qnormalize({ca * a[0] + cb * b[0], ca * a[1] + cb * b[1], ca * a[2] + cb * b[2], ca * a[3] + cb * b[3]}),
              out + 4 * i);
    }
}

void angle_between(const double* a, const double* b, double* out, std::size_t n) {
    for (std::size_t i = 0; i < n; ++i) {
        const Quat e = qmul(qconj(qnormalize(load(a + 4 * i))), qnormalize(load(b + 4 * i)));
        const double vn = std::sqrt(e[1] * e[1] + e[2] * e[2] + e[3] * e[3]);
        out[i] = 2.0 * std::atan2(vn, std::fabs(e[0]));
    }
}

void heading_inclination(const double* qp, double* heading, double* inclination, double* q_heading,
                         double* q_inclination, std::size_t n) {
    for (std::size_t i = 0; i < n; ++i) {
        Quat q = qnormalize(load(qp + 4 * i));
        const double hn = std::sqrt(q[0] * q[0] + q[3] * q[3]);
        Quat qh;
        if (hn < 1e-12) {
            qh = {1.0, 0.0, 0.0, 0.0};  // heading undefined (upside down by 180 deg): take 0
        } else {
            qh = {q[0] / hn, 0.0, 0.0, q[3] / hn};
        }
        if (qh[0] < 0) qh = {-qh[0], -qh[1], -qh[2], -qh[3]};
        Quat qi = qmul(qconj(qh), q);
        if (qi[0] < 0) qi = {-qi[0], -qi[1], -qi[2], -qi[3]};
        qi[3] = 0.0;  // exactly zero by construction, up to rounding
        if (heading) heading[i] = 2.0 * std::atan2(qh[3], qh[0]);
        if (inclination) inclination[i] = 2.0 * std::atan2(std::sqrt(qi[1] * qi[1] + qi[2] * qi[2]), qi[0]);
        if (q_heading) store(qh, q_heading + 4 * i);
        if (q_inclination) store(qi, q_inclination + 4 * i);
    }
}

EulerSeq parse_euler_seq(const std::string& seq) {
    EulerSeq s{{0, 0, 0}, true};
    bool ok = seq.size() == 3;
    if (ok) {
        const bool lower = seq[0] >= 'x' && seq[0] <= 'z';
        s.extrinsic = lower;
        for (int k = 0; k < 3; ++k) {
            const char c = seq[static_cast<std::size_t>(k)];
            const char base = lower ? 'x' : 'X';
            if (c < base || c > base + 2) {
                ok = false;
                break;
            }
            s.axes[k] = c - base;
        }
        ok = ok && s.axes[0] != s.axes[1] && s.axes[1] != s.axes[2];
    }
    if (!ok) {
        throw std::invalid_argument(
            "seq must be 3 axis letters, all lower case (extrinsic, e.g. 'xyz') or all upper case "
            "(intrinsic, e.g. 'ZYX'), no axis twice in a row; got '" + seq + "'");
    }
    return s;
}

void from_euler(const EulerSeq& seq, const double* angles, double* q, std::size_t n) {
    for (std::size_t i = 0; i < n; ++i) {
        Quat e[3];
        for (int k = 0; k < 3; ++k) {
            const double h = 0.5 * angles[3 * i + static_cast<std::size_t>(k)];
            e[k] = {std::cos(h), 0.0, 0.0, 0.0};
            e[k][static_cast<std::size_t>(seq.axes[k] + 1)] = std::sin(h);
        }
        // intrinsic: e0 e1 e2; extrinsic: e2 e1 e0
        Quat r = seq.extrinsic ? qmul(qmul(e[2], e[1]), e[0]) : qmul(qmul(e[0], e[1]), e[2]);
        store(r, q + 4 * i);
    }
}

void to_euler(const EulerSeq& seq, const double* qp, double* angles, std::size_t n) {
    // General quaternion -> Euler method of Bernardes & Maxim (2022, PLoS ONE 17(11): e0276302).
    int i = seq.axes[0], j = seq.axes[1], k = seq.axes[2];
    if (!seq.extrinsic) std::swap(i, k);
    const bool symmetric = i == k;
    if (symmetric) k = 3 - i - j;
    const double sign = static_cast<double>((i - j) * (j - k) * (k - i) / 2);
    for (std::size_t r = 0; r < n; ++r) {
        const Quat q4 = qnormalize(load(qp + 4 * r));
        const double qv[3] = {q4[1], q4[2], q4[3]};
        const double qw = q4[0];
        double a, b, c, d;
        if (symmetric) {
            a = qw;
            b = qv[i];
            c = qv[j];
            d = qv[k] * sign;
        } else {
            a = qw - qv[j];
            b = qv[i] + qv[k] * sign;
            c = qv[j] + qw;
            d = qv[k] * sign - qv[i];
        }
        double ang[3];
        ang[1] = 2.0 * std::atan2(std::hypot(c, d), std::hypot(a, b));
        const double eps = 1e-7;
        int cas = 0;
        if (std::fabs(ang[1]) <= eps) cas = 1;
        else if (std::fabs(ang[1] - kPi) <= eps) cas = 2;
        const double half_sum = std::atan2(b, a);
        const double half_diff = std::atan2(d, c);
        if (cas == 0) {
            ang[0] = half_sum - half_diff;
            ang[2] = half_sum + half_diff;
        } else {
            ang[2] = 0.0;
            ang[0] = cas == 1 ? 2.0 * half_sum : -2.0 * half_diff;
        }
        if (!symmetric) {
            ang[2] *= sign;
            ang[1] -= kPi / 2;
        }
        if (!seq.extrinsic) std::swap(ang[0], ang[2]);
        for (double& x : ang) {
            if (x < -kPi) x += 2 * kPi;
            else if (x > kPi) x -= 2 * kPi;
        }
        angles[3 * r] = ang[0];
        angles[3 * r + 1] = ang[1];
        angles[3 * r + 2] = ang[2];
    }
}

}  // namespace kinemyo::quaternion
