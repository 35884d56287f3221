#include <doctest/doctest.h>

#include <cmath>
#include <random>
#include <stdexcept>
#include <vector>

#include "kinemyo/quaternion/quat.hpp"

using namespace kinemyo::quaternion;

namespace {
std::vector<double> rand_quats(std::size_t n, unsigned seed) {
    std::mt19937 rng(seed);
    std::normal_distribution<double> nd;
    std::vector<double> q(4 * n);
    for (std::size_t i = 0; i < n; ++i) {
        double s = 0;
        for (std::size_t k = 0; k < 4; ++k) {
            q[4 * i + k] = nd(rng);
            s += q[4 * i + k] * q[4 * i + k];
        }
        for (std::size_t k = 0; k < 4; ++k) q[4 * i + k] /= std::sqrt(s);
    }
    return q;
}
double same_rot_err(const double* a, const double* b) {
    return std::fabs(std::fabs(a[0] * b[0] + a[1] * b[1] + a[2] * b[2] + a[3] * b[3]) - 1.0);
}
}  // namespace

TEST_CASE("quaternion: product with conjugate is identity; rotate agrees with matrix") {
    const std::size_t n = 64;
    auto q = rand_quats(n, 1);
    std::vector<double> c(4 * n), p(4 * n), R(9 * n), v(3 * n, 0.5), r1(3 * n);
    conjugate(q.data(), c.data(), n);
    multiply(q.data(), c.data(), p.data(), n);
    to_matrix(q.data(), R.data(), n);
    rotate(q.data(), v.data(), r1.data(), n);
    for (std::size_t i = 0; i < n; ++i) {
        CHECK(p[4 * i] == doctest::Approx(1.0).epsilon(1e-14));
        for (std::size_t k = 0; k < 3; ++k) {
            const double m = R[9 * i + 3 * k] * 0.5 + R[9 * i + 3 * k + 1] * 0.5 + R[9 * i + 3 * k + 2] * 0.5;
            CHECK(r1[3 * i + k] == doctest::Approx(m).epsilon(1e-13));
        }
    }
}

TEST_CASE("quaternion: matrix, rotvec and Euler round trips") {
    const std::size_t n = 64;
    auto q = rand_quats(n, 2);
    std::vector<double> R(9 * n), q2(4 * n), rv(3 * n), e(3 * n);
    to_matrix(q.data(), R.data(), n);
    from_matrix(R.data(), q2.data(), n);
    for (std::size_t i = 0; i < n; ++i) CHECK(same_rot_err(&q[4 * i], &q2[4 * i]) < 1e-13);
    to_rotvec(q.data(), rv.data(), n);
    from_rotvec(rv.data(), q2.data(), n);
    for (std::size_t i = 0; i < n; ++i) CHECK(same_rot_err(&q[4 * i], &q2[4 * i]) < 1e-13);
    for (const char* s : {"xyz", "ZYX", "zxz", "YXY"}) {
        const auto seq = parse_euler_seq(s);
        to_euler(seq, q.data(), e.data(), n);
        from_euler(seq, e.data(), q2.data(), n);
        for (std::size_t i = 0; i < n; ++i) CHECK(same_rot_err(&q[4 * i], &q2[4 * i]) < 1e-13);
    }
    CHECK_THROWS_AS(parse_euler_seq("xxz"), std::invalid_argument);
    CHECK_THROWS_AS(parse_euler_seq("xY"), std::invalid_argument);
}

TEST_CASE("quaternion: slerp endpoints, angle, heading/inclination split") {
    const std::size_t n = 16;
    auto a = rand_quats(n, 3), b = rand_quats(n, 4);
    std::vector<double> t0(n, 0.0), t1(n, 1.0), o(4 * n), ang(n), h(n), inc(n), qh(4 * n), qi(4 * n), p(4 * n);
    slerp(a.data(), b.data(), t0.data(), o.data(), n);
    for (std::size_t i = 0; i < n; ++i) CHECK(same_rot_err(&a[4 * i], &o[4 * i]) < 1e-13);
    slerp(a.data(), b.data(), t1.data(), o.data(), n);
    for (std::size_t i = 0; i < n; ++i) CHECK(same_rot_err(&b[4 * i], &o[4 * i]) < 1e-13);
    angle_between(a.data(), a.data(), ang.data(), n);
    for (std::size_t i = 0; i < n; ++i) CHECK(ang[i] == doctest::Approx(0.0));
    heading_inclination(a.data(), h.data(), inc.data(), qh.data(), qi.data(), n);
    multiply(qh.data(), qi.data(), p.data(), n);
    for (std::size_t i = 0; i < n; ++i) {
        CHECK(same_rot_err(&a[4 * i], &p[4 * i]) < 1e-13);
        CHECK(qi[4 * i + 3] == 0.0);
        CHECK(inc[i] >= 0.0);
    }
}
