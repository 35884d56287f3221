#include "kinemyo/quaternion/quaternion.hpp"

#include <cctype>
#include <limits>
#include <utility>
#include <stdexcept>

namespace kinemyo::quaternion {
namespace {

constexpr double kPi = 3.14159265358979323846;

Quat load(const double* p, std::size_t np, std::size_t i) {
    const double* s = p + 4 * (np == 1 ? 0 : i);
    return {s[0], s[1], s[2], s[3]};
}
Vec3 load3(const double* p, std::size_t np, std::size_t i) {
    const double* s = p + 3 * (np == 1 ? 0 : i);
    return {s[0], s[1], s[2]};
}
void store(double* p, std::size_t i, const Quat& q) {
    for (int k = 0; k < 4; ++k) p[4 * i + static_cast<std::size_t>(k)] = q[static_cast<std::size_t>(k)];
}

double wrap(double a) {
    if (a > kPi) a -= 2.0 * kPi;
    if (a <= -kPi) a += 2.0 * kPi;
    return a;
}

struct Sequence {
    int axes[3];      // 0, 1, 2 for x, y, z, in the order the rotations are applied (extrinsic)
    bool intrinsic;
};

Sequence parse(const std::string& seq) {
    if (seq.size() != 3) throw std::invalid_argument("seq must be three axis letters such as 'xyz' or 'ZYX'; got '" + seq + "'");
    const bool upper = std::isupper(static_cast<unsigned char>(seq[0])) != 0;
    Sequence s{{0, 0, 0}, upper};
    for (int k = 0; k < 3; ++k) {
        const char c = seq[static_cast<std::size_t>(k)];
        const bool u = std::isupper(static_cast<unsigned char>(c)) != 0;
        const char l = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        if (u != upper || (l != 'x' && l != 'y' && l != 'z')) {
            throw std::invalid_argument("seq must be three axis letters, all lowercase (extrinsic) or all "
                                        "uppercase (intrinsic), such as 'xyz' or 'ZYX'; got '" + seq + "'");
        }
        s.axes[k] = l - 'x';
    }
    if (s.axes[0] == s.axes[1] || s.axes[1] == s.axes[2]) {
        throw std::invalid_argument("seq must not repeat an axis twice in a row; got '" + seq + "'");
    }
    return s;
}

Quat axis_rotation(int axis, double angle) {
    Quat q{std::cos(0.5 * angle), 0.0, 0.0, 0.0};
    q[static_cast<std::size_t>(1 + axis)] = std::sin(0.5 * angle);
    return q;
}

}  // namespace

void multiply(const double* a, std::size_t na, const double* b, std::size_t nb, double* out, std::size_t n) {
    for (std::size_t i = 0; i < n; ++i) store(out, i, mul(load(a, na, i), load(b, nb, i)));
}

void conjugate(const double* q, double* out, std::size_t n) {
    for (std::size_t i = 0; i < n; ++i) store(out, i, conj(load(q, n, i)));
}

void normalize(const double* q, double* out, std::size_t n) {
    const double nan = std::numeric_limits<double>::quiet_NaN();
    for (std::size_t i = 0; i < n; ++i) {
        const Quat v = load(q, n, i);
        const double m = norm(v);
        store(out, i, (std::isfinite(m) && m > 0.0) ? Quat{v[0] / m, v[1] / m, v[2] / m, v[3] / m} : Quat{nan, nan, nan, nan});
    }
}

void rotate(const double* q, std::size_t nq, const double* v, std::size_t nv, double* out, std::size_t n) {
    for (std::size_t i = 0; i < n; ++i) {
        const Vec3 r = rotate(load(q, nq, i), load3(v, nv, i));
        out[3 * i] = r[0];
        out[3 * i + 1] = r[1];
        out[3 * i + 2] = r[2];
    }
}

void to_matrix(const double* qa, double* out, std::size_t n) {
    for (std::size_t i = 0; i < n; ++i) {
        const Quat q = load(qa, n, i);
        const double w = q[0], x = q[1], y = q[2], z = q[3];
        double* m = out + 9 * i;
        m[0] = 1 - 2 * (y * y + z * z); m[1] = 2 * (x * y - w * z);     m[2] = 2 * (x * z + w * y);
        m[3] = 2 * (x * y + w * z);     m[4] = 1 - 2 * (x * x + z * z); m[5] = 2 * (y * z - w * x);
        m[6] = 2 * (x * z - w * y);     m[7] = 2 * (y * z + w * x);     m[8] = 1 - 2 * (x * x + y * y);
    }
}

void from_matrix(const double* ma, double* out, std::size_t n) {
    for (std::size_t i = 0; i < n; ++i) {
        const double* m = ma + 9 * i;
        const double tr = m[0] + m[4] + m[8];
        Quat q;
        if (tr > 0) {
            const double s = 2.0 * std::sqrt(1.0 + tr);
            q = {0.25 * s, (m[7] - m[5]) / s, (m[2] - m[6]) / s, (m[3] - m[1]) / s};
        } else if (m[0] > m[4] && m[0] > m[8]) {
            const double s = 2.0 * std::sqrt(1.0 + m[0] - m[4] - m[8]);
            q = {(m[7] - m[5]) / s, 0.25 * s, (m[1] + m[3]) / s, (m[2] + m[6]) / s};
        } else if (m[4] > m[8]) {
            const double s = 2.0 * std::sqrt(1.0 + m[4] - m[0] - m[8]);
            q = {(m[2] - m[6]) / s, (m[1] + m[3]) / s, 0.25 * s, (m[5] + m[7]) / s};
        } else {
            const double s = 2.0 * std::sqrt(1.0 + m[8] - m[0] - m[4]);
            q = {(m[3] - m[1]) / s, (m[2] + m[6]) / s, (m[5] + m[7]) / s, 0.25 * s};
        }
        q = normalized(q);
        if (q[0] < 0) q = {-q[0], -q[1], -q[2], -q[3]};
        store(out, i, q);
    }
}

void to_rotvec(const double* q, double* out, std::size_t n) {
    for (std::size_t i = 0; i < n; ++i) {
        const Vec3 r = to_rotvec(load(q, n, i));
        out[3 * i] = r[0];
        out[3 * i + 1] = r[1];
        out[3 * i + 2] = r[2];
    }
}

void from_rotvec(const double* r, double* out, std::size_t n) {
    for (std::size_t i = 0; i < n; ++i) store(out, i, from_rotvec(load3(r, n, i)));
}

void to_euler(const double* qa, double* out, std::size_t n, const std::string& seq_str) {
    const Sequence seq = parse(seq_str);
    // Work on the extrinsic sequence; an intrinsic sequence is the reversed extrinsic one.
    int ax[3] = {seq.axes[0], seq.axes[1], seq.axes[2]};
    if (seq.intrinsic) std::swap(ax[0], ax[2]);
    const int i = ax[0] + 1, j = ax[1] + 1;
    int k = ax[2] + 1;
    const bool proper = (i == k);
    if (proper) k = 6 - i - j;
    const double eps = static_cast<double>((i - j) * (j - k) * (k - i)) / 2.0;
    for (std::size_t s = 0; s < n; ++s) {
        const Quat q = load(qa, n, s);
        double a, b, c, d;
        if (proper) {
            a = q[0]; b = q[static_cast<std::size_t>(i)]; c = q[static_cast<std::size_t>(j)];
            d = q[static_cast<std::size_t>(k)] * eps;
        } else {
            a = q[0] - q[static_cast<std::size_t>(j)];
            b = q[static_cast<std::size_t>(i)] + q[static_cast<std::size_t>(k)] * eps;
            c = q[static_cast<std::size_t>(j)] + q[0];
            d = q[static_cast<std::size_t>(k)] * eps - q[static_cast<std::size_t>(i)];
        }
        const double nab = a * a + b * b, ncd = c * c + d * d;
        double t2 = std::acos(std::fmax(-1.0, std::fmin(1.0, 2.0 * nab / (nab + ncd) - 1.0)));
        const double tp = std::atan2(b, a), tm = std::atan2(d, c);
        double t1, t3;
        const double tol = 1e-7;
        // gimbal lock: the third angle of the sequence as given is 0 (SciPy's convention), i.e.
        // t3 of the extrinsic form, or t1 of the reversed extrinsic form of an intrinsic sequence;
        // the other takes the whole rotation about the locked axis (the general formulas with
        // that angle 0)
        if (std::abs(t2) < tol) {
            t1 = seq.intrinsic ? 0.0 : 2.0 * tp;
            t3 = seq.intrinsic ? 2.0 * tp : 0.0;
        } else if (std::abs(t2 - kPi) < tol) {
            t1 = seq.intrinsic ? 0.0 : -2.0 * tm;
            t3 = seq.intrinsic ? 2.0 * tm : 0.0;
        } else {
            t1 = tp - tm;
            t3 = tp + tm;
        }
        if (!proper) {
            t3 *= eps;
            t2 -= kPi / 2.0;
        }
        double r[3] = {wrap(t1), t2, wrap(t3)};
        if (seq.intrinsic) std::swap(r[0], r[2]);
        out[3 * s] = r[0];
        out[3 * s + 1] = r[1];
        out[3 * s + 2] = r[2];
    }
}

void from_euler(const double* angles, double* out, std::size_t n, const std::string& seq_str) {
    const Sequence seq = parse(seq_str);
    for (std::size_t s = 0; s < n; ++s) {
        const double* a = angles + 3 * s;
        const Quat q1 = axis_rotation(seq.axes[0], a[0]);
        const Quat q2 = axis_rotation(seq.axes[1], a[1]);
        const Quat q3 = axis_rotation(seq.axes[2], a[2]);
        // intrinsic: R = R1 R2 R3 (moving axes); extrinsic: R = R3 R2 R1 (fixed axes)
        Quat q = seq.intrinsic ? mul(mul(q1, q2), q3) : mul(mul(q3, q2), q1);
        if (q[0] < 0) q = {-q[0], -q[1], -q[2], -q[3]};
        store(out, s, q);
    }
}

void slerp(const double* q0a, std::size_t n0, const double* q1a, std::size_t n1, const double* t, std::size_t nt,
           double* out, std::size_t n) {
    for (std::size_t i = 0; i < n; ++i) {
        const Quat q0 = load(q0a, n0, i);
        Quat q1 = load(q1a, n1, i);
        const double tt = t[nt == 1 ? 0 : i];
        double d = q0[0] * q1[0] + q0[1] * q1[1] + q0[2] * q1[2] + q0[3] * q1[3];
        if (d < 0) {
            d = -d;
            q1 = {-q1[0], -q1[1], -q1[2], -q1[3]};
        }
        // The angle between q0 and q1 as 4-vectors from atan2(|q0 ^ q1|, q0 . q1): accurate for
        // every angle (acos(d) loses half the digits near d = 1) and independent of the inputs'
        // norms. The weights sin(a th) / sin(th) are then accurate down to tiny th, where the
        // series a (1 + (1 - a^2) th^2 / 6) (error O(th^4), below rounding) avoids 0 / 0. Constant
        // angular speed for every angle; t = 0 gives q0 and t = 1 gives (+-)q1 exactly.
        double w2 = 0.0;
        for (std::size_t a = 0; a < 4; ++a) {
            for (std::size_t b = a + 1; b < 4; ++b) {
                const double m = q0[a] * q1[b] - q0[b] * q1[a];
                w2 += m * m;
            }
        }
        const double th = std::atan2(std::sqrt(w2), d);
        auto weight = [th](double u) {
            if (th < 1e-8) return u * (1.0 + (1.0 - u * u) * (th * th) / 6.0);
            return std::sin(u * th) / std::sin(th);
        };
        const double s0 = weight(1.0 - tt), s1 = weight(tt);
        Quat r;
        for (std::size_t k = 0; k < 4; ++k) r[k] = s0 * q0[k] + s1 * q1[k];
        store(out, i, r);
    }
}

void angle_between(const double* q0a, std::size_t n0, const double* q1a, std::size_t n1, double* out, std::size_t n) {
    for (std::size_t i = 0; i < n; ++i) {
        const Quat d = mul(conj(load(q0a, n0, i)), load(q1a, n1, i));
        const double s = std::sqrt(d[1] * d[1] + d[2] * d[2] + d[3] * d[3]);
        out[i] = 2.0 * std::atan2(s, std::abs(d[0]));
    }
}

void heading_inclination(const double* qa, double* heading, double* inclination, std::size_t n, const Vec3& up) {
    for (std::size_t i = 0; i < n; ++i) {
        const Quat q = load(qa, n, i);
        const double p = q[1] * up[0] + q[2] * up[1] + q[3] * up[2];
        Quat h{q[0], p * up[0], p * up[1], p * up[2]};
        const double m = norm(h);
        h = m > 1e-12 ? Quat{h[0] / m, h[1] / m, h[2] / m, h[3] / m} : Quat{1.0, 0.0, 0.0, 0.0};
        store(heading, i, h);
        store(inclination, i, mul(conj(h), q));
    }
}

}  // namespace kinemyo::quaternion
