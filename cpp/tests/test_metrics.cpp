// Tests of kinemyo::metrics scans: holds, turning points, threshold segments.

#include <doctest/doctest.h>

#include <cmath>
#include <limits>
#include <stdexcept>
#include <vector>

#include "kinemyo/metrics/scan.hpp"

using namespace kinemyo::metrics;

namespace {

// 0 for 100 samples, ramp to 30 over 30 samples, 30 for 200 samples, ramp back over 30, 0 for 100.
std::vector<double> hold_script() {
    std::vector<double> x;
    for (int i = 0; i < 100; ++i) x.push_back(0.0);
    for (int i = 1; i <= 30; ++i) x.push_back(static_cast<double>(i));
    for (int i = 0; i < 200; ++i) x.push_back(30.0 + ((i % 2) != 0 ? 0.4 : -0.4));
    for (int i = 29; i >= 0; --i) x.push_back(static_cast<double>(i));
    for (int i = 0; i < 100; ++i) x.push_back(0.0);
    return x;
}

}  // namespace

TEST_CASE("find_holds finds the rests and the hold of a script") {
    const auto x = hold_script();
    const auto segs = find_holds<double>(x.data(), x.size(), HoldParams{2.0, 50});
    REQUIRE(segs.size() == 3);
    CHECK(segs[0].start == 0);
    CHECK(std::llabs(segs[0].end - 102) <= 1);
    CHECK(std::llabs(segs[1].start - 128) <= 2);
    CHECK(std::llabs(segs[1].end - 332) <= 2);
    CHECK(segs[2].end == static_cast<std::int64_t>(x.size()));
    // float gives the same holds
    std::vector<float> xf(x.begin(), x.end());
    const auto sf = find_holds<float>(xf.data(), xf.size(), HoldParams{2.0, 50});
    REQUIRE(sf.size() == segs.size());
    for (std::size_t i = 0; i < sf.size(); ++i) CHECK(sf[i].start == segs[i].start);
}

TEST_CASE("find_holds: NaN splits a hold, empty input, bad parameters") {
    std::vector<double> x(100, 1.0);
    x[50] = std::numeric_limits<double>::quiet_NaN();
    auto segs = find_holds<double>(x.data(), x.size(), HoldParams{1.0, 10});
    REQUIRE(segs.size() == 2);
    CHECK(segs[0].end == 50);
    CHECK(segs[1].start == 51);
    CHECK(find_holds<double>(x.data(), 0, HoldParams{1.0, 10}).empty());
    CHECK_THROWS_AS(find_holds<double>(x.data(), x.size(), HoldParams{0.0, 10}), std::invalid_argument);
    CHECK_THROWS_AS(find_holds<double>(x.data(), x.size(), HoldParams{1.0, 0}), std::invalid_argument);
}

TEST_CASE("find_turning_points ignores wobbles below the hysteresis") {
    const double pi = 3.14159265358979323846;
    std::vector<double> x;
    for (int i = 0; i < 1000; ++i) {
        const double t = i / 100.0;  // 5 cycles of 2 s, amplitude 20 from trough to peak
        x.push_back(10.0 * (1.0 - std::cos(2.0 * pi * t / 2.0)) + 1.5 * std::sin(2.0 * pi * 7.0 * t));
    }
    const auto tp = find_turning_points<double>(x.data(), x.size(), TurningParams{5.0, 1.0});
    int peaks = 0;
    for (const auto& p : tp) peaks += p.is_peak ? 1 : 0;
    CHECK(peaks == 5);
    for (std::size_t k = 1; k < tp.size(); ++k) CHECK(tp[k].is_peak != tp[k - 1].is_peak);
    for (const auto& p : tp) {
        CHECK(p.plateau_first <= p.index);
        CHECK(p.plateau_last >= p.index);
    }
    CHECK_THROWS_AS(find_turning_points<double>(x.data(), x.size(), TurningParams{0.0, 1.0}), std::invalid_argument);
    CHECK_THROWS_AS(find_turning_points<double>(x.data(), x.size(), TurningParams{1.0, -1.0}), std::invalid_argument);
    CHECK(find_turning_points<double>(x.data(), 0, TurningParams{1.0, 1.0}).empty());
}

TEST_CASE("find_active_segments: hysteresis, gap bridging, minimum length") {
    std::vector<double> x(200, 0.0);
    for (int i = 20; i < 60; ++i) x[static_cast<std::size_t>(i)] = 2.0;   // reaches high
    for (int i = 62; i < 80; ++i) x[static_cast<std::size_t>(i)] = 2.0;   // after a 2-sample gap
    for (int i = 100; i < 140; ++i) x[static_cast<std::size_t>(i)] = 0.8; // only above low
    x[170] = 5.0;                                                           // too short
    auto segs = find_active_segments<double>(x.data(), x.size(), ActiveParams{1.0, 0.5, 5, 3});
    REQUIRE(segs.size() == 1);
    CHECK(segs[0].start == 20);
    CHECK(segs[0].end == 80);
    segs = find_active_segments<double>(x.data(), x.size(), ActiveParams{1.0, 0.5, 1, 0});
    CHECK(segs.size() == 3);
    CHECK_THROWS_AS(find_active_segments<double>(x.data(), x.size(), ActiveParams{1.0, 2.0, 1, 0}), std::invalid_argument);
    CHECK_THROWS_AS(find_active_segments<double>(x.data(), x.size(), ActiveParams{1.0, 0.5, 0, 0}), std::invalid_argument);
}
