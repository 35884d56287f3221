#include <doctest/doctest.h>

#include <cmath>
#include <random>
#include <stdexcept>
#include <vector>

#include "kinemyo/fusion/ahrs.hpp"

using namespace kinemyo::fusion;

namespace {
struct Data {
    std::vector<double> g, a, m;
};
Data make(std::size_t n) {
    std::mt19937 rng(7);
    std::normal_distribution<double> nd;
    Data d{std::vector<double>(3 * n), std::vector<double>(3 * n), std::vector<double>(3 * n)};
    for (std::size_t i = 0; i < 3 * n; ++i) {
        d.g[i] = 0.3 * nd(rng);
        d.a[i] = 0.2 * nd(rng) + (i % 3 == 2 ? 9.81 : 0.0);
        d.m[i] = nd(rng) + (i % 3 == 1 ? 20.0 : (i % 3 == 2 ? -40.0 : 0.0));
    }
    return d;
}

void check_chunks(OrientationFilter& f, const Data& d, std::size_t n, bool mag) {
    std::vector<double> whole(4 * n), parts(4 * n);
    f.reset();
    f.update(d.g.data(), d.a.data(), mag ? d.m.data() : nullptr, whole.data(), n);
    f.reset();
    std::size_t s = 0;
    for (std::size_t c : {std::size_t{1}, std::size_t{7}, std::size_t{0}, std::size_t{100}}) {
        f.update(&d.g[3 * s], &d.a[3 * s], mag ? &d.m[3 * s] : nullptr, &parts[4 * s], c);
        s += c;
    }
    const auto st = f.get_state();
    auto copy = f.clone();
    copy->set_state(st);
    copy->update(&d.g[3 * s], &d.a[3 * s], mag ? &d.m[3 * s] : nullptr, &parts[4 * s], n - s);
    for (std::size_t i = 0; i < 4 * n; ++i) CHECK(parts[i] == whole[i]);
    for (std::size_t i = 0; i < n; ++i) {
        const double* q = &whole[4 * i];
        CHECK(std::sqrt(q[0] * q[0] + q[1] * q[1] + q[2] * q[2] + q[3] * q[3]) == doctest::Approx(1.0));
    }
}
}  // namespace

TEST_CASE("fusion: chunk invariance, state round trip, unit output") {
    const std::size_t n = 400;
    const Data d = make(n);
    MadgwickParams mp;
    Madgwick mg(mp);
    MahonyParams hp;
    Mahony mh(hp);
    ComplementaryParams cp;
    Complementary co(cp);
    RobustParams rp;
    RobustAHRS ro(rp);
    for (bool mag : {false, true}) {
        check_chunks(mg, d, n, mag);
        check_chunks(mh, d, n, mag);
        check_chunks(co, d, n, mag);
        check_chunks(ro, d, n, mag);
    }
}

TEST_CASE("fusion: parameter errors name the parameter") {
    MadgwickParams mp;
    mp.fs = 0.0;
    CHECK_THROWS_AS(Madgwick{mp}, std::invalid_argument);
    MahonyParams hp;
    hp.ki = -1;
    CHECK_THROWS_AS(Mahony{hp}, std::invalid_argument);
    RobustParams rp;
    rp.tau_acc = -1;
    CHECK_THROWS_AS(RobustAHRS{rp}, std::invalid_argument);
    CHECK_THROWS_AS(parse_frame("xyz"), std::invalid_argument);
}

TEST_CASE("fusion: NaN gyro gives NaN output and holds the state") {
    const std::size_t n = 50;
    Data d = make(n);
    d.g[3 * 20] = std::nan("");
    RobustParams rp;
    RobustAHRS ro(rp);
    std::vector<double> q(4 * n);
    ro.update(d.g.data(), d.a.data(), d.m.data(), q.data(), n);
    CHECK(std::isnan(q[4 * 20]));
    CHECK(std::isfinite(q[4 * 49]));
}

TEST_CASE("fusion: offline mode runs and gives unit quaternions") {
    const std::size_t n = 300;
    const Data d = make(n);
    RobustParams rp;
    std::vector<double> q(4 * n), b(3 * n);
    robust_offline(rp, d.g.data(), d.a.data(), d.m.data(), q.data(), b.data(), n);
    for (std::size_t i = 0; i < n; ++i) {
        const double* x = &q[4 * i];
        CHECK(std::sqrt(x[0] * x[0] + x[1] * x[1] + x[2] * x[2] + x[3] * x[3]) == doctest::Approx(1.0));
    }
}
