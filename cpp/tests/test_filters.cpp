#include <doctest/doctest.h>

#include <cmath>
#include <cstring>
#include <tuple>
#include <complex>
#include <limits>
#include <random>
#include <stdexcept>
#include <vector>

#include "golden_filters.hpp"
#include "kinemyo/filters/chain.hpp"
#include "kinemyo/filters/design.hpp"
#include "kinemyo/filters/envelope.hpp"
#include "kinemyo/filters/moving.hpp"
#include "kinemyo/filters/sos_filter.hpp"
#include "kinemyo/filters/tkeo.hpp"

using namespace kinemyo;
using namespace kinemyo::filters;

namespace {
constexpr double kFs = 2000.0;

double response_abs(const Sos& sos, double f, double fs) {
    const std::complex<double> zinv = std::exp(std::complex<double>(0.0, -2.0 * M_PI * f / fs));
    std::complex<double> h(1.0, 0.0);
    for (const auto& s : sos) {
        h *= (s[0] + s[1] * zinv + s[2] * zinv * zinv) / (s[3] + s[4] * zinv + s[5] * zinv * zinv);
    }
    return std::abs(h);
}

Sos sos_from(const std::vector<double>& flat) {
    Sos sos(flat.size() / 6);
    for (std::size_t i = 0; i < sos.size(); ++i)
        for (std::size_t j = 0; j < 6; ++j) sos[i][j] = flat[6 * i + j];
    return sos;
}

std::vector<double> random_signal(std::size_t n, std::size_t C, unsigned seed) {
    std::mt19937 rng(seed);
    std::normal_distribution<double> d;
    std::vector<double> x(n * C);
    for (auto& v : x) v = d(rng);
    return x;
}

// Feed x through p in random chunks (including empty ones); return the concatenated output.
template <class T>
std::vector<T> run_chunked(Processor<T>& p, const std::vector<T>& x, unsigned seed) {
    const std::size_t C = p.n_channels();
    const std::size_t n = x.size() / C;
    std::vector<T> y(x.size());
    std::mt19937 rng(seed);
    std::uniform_int_distribution<std::size_t> len(0, 97);
    std::size_t t = 0;
    while (t < n) {
        const std::size_t k = std::min(len(rng), n - t);
        p.process(x.data() + t * C, y.data() + t * C, k);
        t += k;
    }
    return y;
}

template <class T>
void check_streaming_contract(Processor<T>& p, const std::vector<T>& x) {
    const std::size_t C = p.n_channels();
    p.reset();
    std::vector<T> whole(x.size());
    p.process(x.data(), whole.data(), x.size() / C);
    const StateRecord end_state = p.get_state();
    for (unsigned seed = 0; seed < 5; ++seed) {
        p.reset();
        const auto chunked = run_chunked(p, x, seed);
        for (std::size_t i = 0; i < x.size(); ++i) {
            REQUIRE(std::memcmp(&chunked[i], &whole[i], sizeof(T)) == 0);
        }
    }
    // Checkpoint half-way, continue in a clone: same as the uninterrupted run.
    p.reset();
    const std::size_t half = x.size() / C / 2;
    std::vector<T> y(x.size());
    p.process(x.data(), y.data(), half);
    auto copy = p.clone();
    copy->reset();
    copy->set_state(p.get_state());
    copy->process(x.data() + half * C, y.data() + half * C, x.size() / C - half);
    for (std::size_t i = 0; i < x.size(); ++i) REQUIRE(std::memcmp(&y[i], &whole[i], sizeof(T)) == 0);
    CHECK(copy->get_state() == end_state);
}
}  // namespace

TEST_CASE("butter matches SciPy's frequency response") {
    const std::vector<std::tuple<int, std::vector<double>, BandType, const std::vector<double>*>> cases = {
        {4, {20.0, 450.0}, BandType::bandpass, &golden::design0_habs},
        {2, {6.0}, BandType::lowpass, &golden::design1_habs},
        {5, {30.0}, BandType::highpass, &golden::design2_habs},
        {3, {45.0, 55.0}, BandType::bandstop, &golden::design3_habs},
        {10, {100.0}, BandType::lowpass, &golden::design4_habs},
        {1, {10.0}, BandType::highpass, &golden::design5_habs},
    };
    for (const auto& [order, cut, bt, ref] : cases) {
        const Sos sos = butter(order, cut, kFs, bt);
        CHECK(sos.size() == static_cast<std::size_t>((bt == BandType::bandpass || bt == BandType::bandstop) ? order : (order + 1) / 2));
        for (std::size_t i = 0; i < golden::freqs.size(); ++i) {
            CHECK(response_abs(sos, golden::freqs[i], kFs) == doctest::Approx((*ref)[i]).epsilon(1e-9).scale(1.0));
        }
    }
}

TEST_CASE("notch equals iirnotch") {
    const Sos s = notch(50.0, kFs, 30.0, 1);
    REQUIRE(s.size() == 1);
    for (std::size_t j = 0; j < 6; ++j) CHECK(s[0][j] == doctest::Approx(golden::notch50[j]).epsilon(1e-12));
    CHECK(notch(50.0, kFs, 30.0, 100).size() == 19);  // 50..950 Hz, below Nyquist
}

TEST_CASE("design errors name the parameter") {
    CHECK_THROWS_AS(butter(0, {10.0}, kFs, BandType::lowpass), std::invalid_argument);
    CHECK_THROWS_AS(butter(11, {10.0}, kFs, BandType::lowpass), std::invalid_argument);
    CHECK_THROWS_AS(butter(2, {1000.0}, kFs, BandType::lowpass), std::invalid_argument);
    CHECK_THROWS_AS(butter(2, {0.0}, kFs, BandType::lowpass), std::invalid_argument);
    CHECK_THROWS_AS(butter(2, {10.0}, -1.0, BandType::lowpass), std::invalid_argument);
    CHECK_THROWS_AS(butter(2, {50.0, 10.0}, kFs, BandType::bandpass), std::invalid_argument);
    try {
        butter(2, {1000.0}, kFs, BandType::lowpass);
    } catch (const std::invalid_argument& e) {
        CHECK(std::string(e.what()).find("cutoff") != std::string::npos);
    }
    CHECK_THROWS_AS(validate_sos({{1, 0, 0, 1, 0, 1.5}}), std::invalid_argument);  // unstable
    CHECK_THROWS_AS(validate_sos({{1, 0, 0, 0, 0, 0}}), std::invalid_argument);    // a0 = 0
    CHECK_THROWS_AS(validate_sos({}), std::invalid_argument);
    CHECK_THROWS_AS(parse_band_type("sideways"), std::invalid_argument);
}

TEST_CASE("sosfilt, sosfiltfilt and sosfilt_zi equal SciPy") {
  for (int level : {2, 1, 0}) {
    set_max_simd_level(level);
    CAPTURE(level);
    const Sos sos = sos_from(golden::bp_sos);
    const std::size_t C = 3, n = golden::x.size() / C;
    std::vector<double> y(golden::x.size());
    sosfilt(sos, golden::x.data(), y.data(), n, C);
    for (std::size_t i = 0; i < y.size(); ++i) CHECK(y[i] == doctest::Approx(golden::bp_sosfilt[i]).epsilon(1e-10));
    sosfiltfilt(sos, golden::x.data(), y.data(), n, C, sosfiltfilt_padlen(sos));
    for (std::size_t i = 0; i < y.size(); ++i) CHECK(y[i] == doctest::Approx(golden::bp_sosfiltfilt[i]).epsilon(1e-10).scale(1e-12));
    // in place
    std::vector<double> inplace = golden::x;
    sosfiltfilt(sos, inplace.data(), inplace.data(), n, C, sosfiltfilt_padlen(sos));
    for (std::size_t i = 0; i < y.size(); ++i) CHECK(inplace[i] == y[i]);
    const auto zi = sosfilt_zi(sos);
    for (std::size_t s = 0; s < zi.size(); ++s) {
        CHECK(zi[s][0] == doctest::Approx(golden::bp_zi[2 * s]).epsilon(1e-10));
        CHECK(zi[s][1] == doctest::Approx(golden::bp_zi[2 * s + 1]).epsilon(1e-10));
    }
    CHECK_THROWS_AS(sosfiltfilt(sos, golden::x.data(), y.data(), 10, C, sosfiltfilt_padlen(sos)), std::invalid_argument);
  }
  set_max_simd_level(2);
}

TEST_CASE("every processor keeps the streaming contract") {
  for (int level : {2, 1, 0}) {
    set_max_simd_level(level);
    CAPTURE(level);
    const auto x = random_signal(700, 5, 3);
    std::vector<float> xf(x.begin(), x.end());
    SosFilter<double> f(SosFilterParams{butter(4, {20.0, 450.0}, kFs, BandType::bandpass), 5, InitMode::steady});
    check_streaming_contract(f, x);
    SosFilter<float> ff(SosFilterParams{butter(2, {50.0}, kFs, BandType::lowpass), 5, InitMode::zero});
    check_streaming_contract(ff, xf);
    MovingWindow<double> m(MovingWindowParams{kFs, 5, 0.01, WindowStat::rms});
    check_streaming_contract(m, x);
    TKEO<double> k(5);
    check_streaming_contract(k, x);
    Envelope<float> e(EnvelopeParams{kFs, 5, 6.0, 2, 20.0, 4});
    check_streaming_contract(e, xf);
    Chain<double> chain({std::make_shared<SosFilter<double>>(SosFilterParams{notch(50.0, kFs), 5, InitMode::zero}),
                         std::make_shared<TKEO<double>>(5),
                         std::make_shared<MovingWindow<double>>(MovingWindowParams{kFs, 5, 0.02, WindowStat::mean})});
    check_streaming_contract(chain, x);
    // the channel counts that exercise pairs of vectors, single vectors and the scalar tail
    for (std::size_t C : {1u, 2u, 3u, 4u, 5u, 7u, 8u, 9u, 13u, 16u, 17u}) {
      const auto xc = random_signal(300, C, static_cast<unsigned>(C));
      for (int order : {1, 2, 4, 8, 10}) {
        SosFilter<double> fc(SosFilterParams{butter(order, {20.0, 450.0}, kFs, BandType::bandpass), C, InitMode::zero});
        check_streaming_contract(fc, xc);
        // equal to the plain scalar recursion
        std::vector<double> y(xc.size()), ref(xc.size());
        fc.reset();
        fc.process(xc.data(), y.data(), 300);
        const Sos sos = fc.sos();
        std::vector<double> z(sos.size() * 2 * C, 0.0);
        for (std::size_t t = 0; t < 300; ++t)
          for (std::size_t c = 0; c < C; ++c) {
            double cur = xc[t * C + c];
            for (std::size_t s = 0; s < sos.size(); ++s) {
              const double yo = sos[s][0] * cur + z[(2 * s) * C + c];
              z[(2 * s) * C + c] = sos[s][1] * cur - sos[s][4] * yo + z[(2 * s + 1) * C + c];
              z[(2 * s + 1) * C + c] = sos[s][2] * cur - sos[s][5] * yo;
              cur = yo;
            }
            ref[t * C + c] = cur;
          }
        for (std::size_t i = 0; i < y.size(); ++i) REQUIRE(y[i] == doctest::Approx(ref[i]).epsilon(1e-10).scale(1.0));
      }
    }
  }
  set_max_simd_level(2);
}

TEST_CASE("a burst of NaN does not poison the filter state") {
    const std::size_t n = 4000, C = 2;
    auto x = random_signal(n, C, 7);
    for (std::size_t t = 1000; t < 1100; ++t) x[t * C] = std::numeric_limits<double>::quiet_NaN();
    SosFilter<double> f(SosFilterParams{butter(4, {20.0, 450.0}, kFs, BandType::bandpass), C, InitMode::zero});
    std::vector<double> y(x.size());
    f.process(x.data(), y.data(), n);
    CHECK(std::isnan(y[1050 * C]));
    CHECK(std::isfinite(y[1050 * C + 1]));
    for (std::size_t t = 1100; t < n; ++t) REQUIRE(std::isfinite(y[t * C]));
    CHECK(f.n_nonfinite()[0] == 100);
    CHECK(f.n_nonfinite()[1] == 0);
    MovingWindow<double> m(MovingWindowParams{kFs, C, 0.05, WindowStat::mean});
    m.process(x.data(), y.data(), n);
    for (std::size_t t = 1100; t < n; ++t) REQUIRE(std::isfinite(y[t * C]));
}

TEST_CASE("moving mean is exact: no drift over a long run") {
    const std::size_t C = 1, n = 2'000'000;
    MovingWindow<double> m(MovingWindowParams{1000.0, C, 0.1, WindowStat::mean});
    std::vector<double> x(n), y(n);
    std::mt19937 rng(5);
    std::uniform_real_distribution<double> d(-1e6, 1e6);
    for (auto& v : x) v = 1e3 + d(rng) * ((rng() % 1000) == 0 ? 1.0 : 1e-6);
    m.process(x.data(), y.data(), n);
    double max_err = 0.0;
    for (std::size_t t = n - 1000; t < n; ++t) {
        double s = 0.0;
        for (std::size_t k = t - 99; k <= t; ++k) s += x[k];
        max_err = std::max(max_err, std::abs(y[t] - s / 100.0));
    }
    CHECK(max_err < 1e-9);
}

TEST_CASE("constructor errors") {
    CHECK_THROWS_AS(MovingWindow<double>(MovingWindowParams{1000.0, 1, 0.0001, WindowStat::mean}), std::invalid_argument);
    CHECK_THROWS_AS(MovingWindow<double>(MovingWindowParams{0.0, 1, 1.0, WindowStat::mean}), std::invalid_argument);
    CHECK_THROWS_AS(TKEO<double>(0), std::invalid_argument);
    CHECK_THROWS_AS(Envelope<double>(EnvelopeParams{kFs, 1, 1500.0, 2, std::nullopt, 4}), std::invalid_argument);
    CHECK_THROWS_AS(SosFilter<double>(SosFilterParams{{}, 1, InitMode::zero}), std::invalid_argument);
    std::vector<std::shared_ptr<Processor<double>>> mixed = {std::make_shared<TKEO<double>>(1), std::make_shared<TKEO<double>>(2)};
    CHECK_THROWS_AS(Chain<double>{mixed}, std::invalid_argument);
    SosFilter<double> f(SosFilterParams{notch(50.0, kFs), 2, InitMode::zero});
    CHECK_THROWS_AS(f.set_state({{"z", {1.0}}}), std::invalid_argument);
}

TEST_CASE("sosfiltfilt: one non-finite sample at an end or at a pad's mirror does not wipe the channel") {
    // The odd extensions are built around each channel's first / last finite samples and the
    // delays are never seeded from a non-finite value ("hold": NaN for that sample only).
    const Sos sos = butter(4, {100.0}, kFs, BandType::lowpass);
    const std::size_t n = 300, C = 2, padlen = sosfiltfilt_padlen(sos);
    const auto x = random_signal(n, C, 11);
    for (double bad : {std::numeric_limits<double>::quiet_NaN(), std::numeric_limits<double>::infinity()}) {
        for (std::size_t pos : {std::size_t{0}, padlen, n - 1, n - 1 - padlen, std::size_t{1}, std::size_t{150}}) {
            CAPTURE(pos);
            CAPTURE(bad);
            auto xb = x;
            xb[pos * C] = bad;
            std::vector<double> y(xb.size());
            sosfiltfilt(sos, xb.data(), y.data(), n, C, padlen);
            CHECK(std::isnan(y[pos * C]));
            for (std::size_t t = 0; t < n; ++t) {
                if (t != pos) REQUIRE(std::isfinite(y[t * C]));
                REQUIRE(std::isfinite(y[t * C + 1]));
            }
            if (pos == 0 || pos == n - 1) {
                // a leading / trailing drop-out: the rest is the zero-phase filter of the finite span
                std::vector<double> span(n - 1), ys(n - 1);
                for (std::size_t t = 0; t + 1 < n; ++t) span[t] = x[(pos == 0 ? t + 1 : t) * C];
                sosfiltfilt(sos, span.data(), ys.data(), n - 1, 1, padlen);
                for (std::size_t t = 0; t + 1 < n; ++t) {
                    REQUIRE(y[(pos == 0 ? t + 1 : t) * C] == doctest::Approx(ys[t]).epsilon(1e-12).scale(1.0));
                }
            }
        }
    }
    // a channel with no finite sample is NaN; the others are untouched
    auto xa = x;
    for (std::size_t t = 0; t < n; ++t) xa[t * C] = std::numeric_limits<double>::quiet_NaN();
    std::vector<double> ya(xa.size()), yr(x.size());
    sosfiltfilt(sos, xa.data(), ya.data(), n, C, padlen);
    sosfiltfilt(sos, x.data(), yr.data(), n, C, padlen);
    for (std::size_t t = 0; t < n; ++t) {
        REQUIRE(std::isnan(ya[t * C]));
        REQUIRE(ya[t * C + 1] == doctest::Approx(yr[t * C + 1]).epsilon(1e-12).scale(1.0));
    }
}

TEST_CASE("TKEO: an infinite sample gives NaN outputs, like a NaN") {
    TKEO<double> k(1);
    const double inf = std::numeric_limits<double>::infinity();
    const std::vector<double> x{1.0, 2.0, inf, 3.0, 4.0, 5.0, -inf, 1.0, 1.0, 1.0};
    std::vector<double> y(x.size());
    k.process(x.data(), y.data(), x.size());
    for (std::size_t i : {2, 3, 4, 6, 7, 8}) CHECK(std::isnan(y[i]));
    for (std::size_t i : {0, 1, 5, 9}) CHECK(std::isfinite(y[i]));
    CHECK(y[5] == 4.0 * 4.0 - 3.0 * 5.0);
}

TEST_CASE("moving windows: a sample too large for the running sum is treated as missing") {
    for (WindowStat stat : {WindowStat::rms, WindowStat::mean}) {
        MovingWindow<double> m(MovingWindowParams{10.0, 1, 1.0, stat});
        std::vector<double> x(45, 1.0), y(45);
        x[3] = stat == WindowStat::rms ? 1e200 : 1e308;  // x^2 (or the sum) would overflow
        x[4] = -x[3];
        m.process(x.data(), y.data(), x.size());
        CHECK(std::isnan(y[3]));
        CHECK(std::isnan(y[4]));
        for (std::size_t t = 0; t < x.size(); ++t) {
            if (t != 3 && t != 4) REQUIRE(y[t] == 1.0);
        }
    }
    MovingWindow<double> r(MovingWindowParams{10.0, 1, 1.0, WindowStat::rms});
    CHECK(r.max_abs() == doctest::Approx(std::sqrt(std::numeric_limits<double>::max() / 20.0)));
    // float32 input can never reach the limit
    CHECK(r.max_abs() > 1e150);
}

TEST_CASE("Envelope validates highpass_order even without a high-pass") {
    CHECK_THROWS_AS(Envelope<double>(EnvelopeParams{kFs, 1, 6.0, 2, std::nullopt, 99}), std::invalid_argument);
    CHECK_THROWS_AS(Envelope<double>(EnvelopeParams{kFs, 1, 6.0, 2, std::nullopt, 0}), std::invalid_argument);
    CHECK_NOTHROW(Envelope<double>(EnvelopeParams{kFs, 1, 6.0, 2, std::nullopt, 10}));
}
