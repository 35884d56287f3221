#include <doctest/doctest.h>

#include <cmath>
#include <limits>
#include <random>
#include <stdexcept>
#include <vector>

#include "kinemyo/onset/movement.hpp"

using namespace kinemyo::onset;

TEST_CASE("movement_onsets: half-sine movements on noise, refined back to the rest band") {
    const double fs = 200.0;
    const std::size_t n = 20 * 200;
    std::mt19937 rng(3);
    std::normal_distribution<double> noise(0.0, 0.01);
    std::vector<double> g(3 * n);
    for (auto& v : g) v = noise(rng);
    const std::vector<std::size_t> truth{800, 1800, 2800};
    for (std::size_t t : truth) {
        for (std::size_t k = 0; k < 400; ++k) g[3 * (t + k)] += 1.5 * std::sin(3.14159265358979323846 * static_cast<double>(k) / 400.0);
    }
    MovementParams p;
    p.fs = fs;
    p.rest_end = 2.0;
    const auto on = movement_onsets(g.data(), n, 3, p);
    REQUIRE(on.size() == 3);
    for (std::size_t i = 0; i < 3; ++i) {
        CHECK(std::abs(static_cast<double>(on[i]) - static_cast<double>(truth[i])) <= 0.03 * fs);
        CHECK(on[i] <= static_cast<std::int64_t>(truth[i]) + 6);  // refined back, not at the crossing
    }
    // a movement inside the rest window, or closer than min_gap to the previous one, is not reported
    p.min_gap = 6.0;
    CHECK(movement_onsets(g.data(), n, 3, p).size() == 1);
    // NaN rows carry no information; +inf rows are a very large speed
    std::vector<double> h(3 * n, 0.0);
    h[3 * 1000] = std::numeric_limits<double>::quiet_NaN();
    p = MovementParams{};
    p.fs = fs;
    CHECK(movement_onsets(h.data(), n, 3, p).empty());
    for (std::size_t i = 1500; i < 1560; ++i) h[3 * i + 1] = std::numeric_limits<double>::infinity();
    const auto inf_on = movement_onsets(h.data(), n, 3, p);
    REQUIRE(inf_on.size() == 1);
    CHECK(inf_on[0] == 1499);
}

TEST_CASE("movement_onsets: bad parameters throw") {
    std::vector<double> g(3 * 500, 0.0);
    MovementParams p;
    p.fs = 100.0;
    auto run = [&] { return movement_onsets(g.data(), 500, 3, p); };
    CHECK_NOTHROW(run());
    p.fs = 0.0;
    CHECK_THROWS_AS(run(), std::invalid_argument);
    p.fs = 100.0;
    p.rest_end = 10.0;  // beyond the signal
    CHECK_THROWS_AS(run(), std::invalid_argument);
    p.rest_end = 0.05;  // 5 samples
    CHECK_THROWS_AS(run(), std::invalid_argument);
    p.rest_end = 1.0;
    p.k_low = 6.0;
    CHECK_THROWS_AS(run(), std::invalid_argument);
    p.k_low = 2.0;
    p.smooth_s = std::numeric_limits<double>::quiet_NaN();
    CHECK_THROWS_AS(run(), std::invalid_argument);
    p.smooth_s = 0.02;
    CHECK_THROWS_AS(movement_onsets(g.data(), 500, 0, p), std::invalid_argument);
}
