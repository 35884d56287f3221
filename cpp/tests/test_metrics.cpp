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

// ---------------------------------------------------------------------------------------------
// EMG passes: periodogram windows, spectral moments, block sums, decimated RMS, segment helpers

#include <complex>

#include "kinemyo/metrics/emg.hpp"

TEST_CASE("spectral_frames removes each window's mean and applies the taper, per channel") {
    const std::size_t n = 40, c = 3, nw = 8, step = 5;
    std::vector<float> x(n * c);
    for (std::size_t i = 0; i < n; ++i) {
        for (std::size_t ch = 0; ch < c; ++ch) x[i * c + ch] = static_cast<float>(ch * 10 + i % 4);
    }
    x[22 * c + 1] = std::numeric_limits<float>::quiet_NaN();
    std::vector<double> taper(nw);
    for (std::size_t i = 0; i < nw; ++i) taper[i] = 0.5 + 0.05 * static_cast<double>(i);
    const std::size_t frames = (n - nw) / step + 1;
    std::vector<float> out(frames * nw * c);
    spectral_frames<float, float>(x.data(), n, c, nw, step, 0, frames, taper.data(), out.data());
    for (std::size_t w = 0; w < frames; ++w) {
        for (std::size_t ch = 0; ch < c; ++ch) {
            double m = 0.0;
            for (std::size_t i = 0; i < nw; ++i) m += static_cast<double>(x[(w * step + i) * c + ch]);
            m /= static_cast<double>(nw);
            for (std::size_t i = 0; i < nw; ++i) {
                const float got = out[(w * nw + i) * c + ch];
                if (!std::isfinite(m)) {
                    CHECK(std::isnan(got));
                } else {
                    CHECK(static_cast<double>(got) ==
                          doctest::Approx((static_cast<double>(x[(w * step + i) * c + ch]) - m) * taper[i]).epsilon(1e-6));
                }
            }
        }
    }
    auto too_many = [&] { spectral_frames<float, float>(x.data(), n, c, nw, step, 0, frames + 1, taper.data(), out.data()); };
    CHECK_THROWS_AS(too_many(), std::invalid_argument);
    // offsets whose frame end overflows size_t (found by a valgrind sweep: the wrapped product
    // passed the check and the frame started before x) are refused
    const std::size_t huge = std::numeric_limits<std::size_t>::max();
    auto wrap_w0 = [&] { spectral_frames<float, float>(x.data(), n, c, nw, 1, huge, 1, taper.data(), out.data()); };
    CHECK_THROWS_AS(wrap_w0(), std::invalid_argument);
    auto wrap_step = [&] { spectral_frames<float, float>(x.data(), n, c, nw, huge, 1, 1, taper.data(), out.data()); };
    CHECK_THROWS_AS(wrap_step(), std::invalid_argument);
    auto wrap_frames = [&] { spectral_frames<float, float>(x.data(), n, c, nw, step, 0, huge, taper.data(), out.data()); };
    CHECK_THROWS_AS(wrap_frames(), std::invalid_argument);
}

TEST_CASE("spectral_moments: mean and median frequency of a known spectrum") {
    // power 1 in bins 2..5 (frequencies 20..50 Hz, df 10): MNF 35 Hz, MDF at the edge of bins 3 and 4 = 35 Hz
    const std::size_t nb = 8;
    std::vector<std::complex<double>> spec(nb, {0.0, 0.0});
    for (std::size_t k = 2; k <= 5; ++k) spec[k] = {0.6, 0.8};  // |X|^2 = 1
    std::vector<double> f(nb);
    for (std::size_t k = 0; k < nb; ++k) f[k] = 10.0 * static_cast<double>(k);
    SpectraLayout L;
    L.n_frames = 1;
    L.n_channels = 1;
    L.n_bins = nb;
    L.frame_stride = static_cast<std::ptrdiff_t>(nb);
    double mnf = 0.0, mdf = 0.0;
    spectral_moments<double>(spec.data(), L, 1, 7, f.data() + 1, 10.0, &mnf, &mdf);
    CHECK(mnf == doctest::Approx(35.0));
    CHECK(mdf == doctest::Approx(35.0));
    std::fill(spec.begin(), spec.end(), std::complex<double>{0.0, 0.0});
    spectral_moments<double>(spec.data(), L, 1, 7, f.data() + 1, 10.0, &mnf, &mdf);
    CHECK(std::isnan(mnf));
    CHECK(std::isnan(mdf));
    CHECK_THROWS_AS(spectral_moments<double>(spec.data(), L, 3, 9, f.data(), 10.0, &mnf, &mdf), std::invalid_argument);
}

TEST_CASE("block_sum_squares and decimated_moving_rms; a NaN stays local") {
    const std::size_t n = 95, c = 2, d = 10, wb = 3;
    std::vector<double> x(n * c, 2.0);
    for (std::size_t i = 0; i < n; ++i) x[i * c + 1] = 1.0;
    std::vector<double> ss((n + d - 1) / d * c);
    block_sum_squares<double>(x.data(), n, c, d, ss.data());
    CHECK(ss[0] == 40.0);
    CHECK(ss[1] == 10.0);
    CHECK(ss[9 * c] == 20.0);  // the last block holds 5 samples
    x[45 * c] = std::numeric_limits<double>::quiet_NaN();  // block 4
    std::vector<double> rms(ss.size());
    decimated_moving_rms<double>(x.data(), n, c, d, wb, rms.data());
    for (std::size_t j = 0; j < 10; ++j) {
        CHECK(rms[j * c + 1] == doctest::Approx(1.0));
        if (j >= 3 && j <= 5) {
            CHECK(std::isnan(rms[j * c]));
        } else {
            CHECK(rms[j * c] == doctest::Approx(2.0));
        }
    }
    CHECK_THROWS_AS(decimated_moving_rms<double>(x.data(), n, c, 0, wb, rms.data()), std::invalid_argument);
}

TEST_CASE("trim_to_band and segment_stats skip non-finite samples") {
    std::vector<double> x{5.0, 0.1, 0.0, std::numeric_limits<double>::quiet_NaN(), -0.2, 4.0, 3.0};
    const std::vector<Segment> segs{{0, 7}, {5, 7}, {2, 2}};
    const double centres[] = {0.0, 0.0, 0.0};
    const auto t = trim_to_band<double>(x.data(), x.size(), segs, centres, 0.5);
    CHECK(t[0].start == 1);
    CHECK(t[0].end == 5);
    CHECK(t[1].start == t[1].end);
    CHECK(t[2].start == t[2].end);
    const auto st = segment_stats<double>(x.data(), x.size(), 1, segs);
    CHECK(st[0].count == 6);
    CHECK(st[0].max == 5.0);
    CHECK(st[0].argmax == 0);
    CHECK(st[0].min == -0.2);
    CHECK(st[1].mean == doctest::Approx(3.5));
    CHECK(st[2].count == 0);
    CHECK(std::isnan(st[2].max));
    CHECK(st[2].argmax == -1);
    const std::vector<Segment> bad{{3, 9}};
    CHECK_THROWS_AS(segment_stats<double>(x.data(), x.size(), 1, bad), std::invalid_argument);
}
