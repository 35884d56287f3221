#include <doctest/doctest.h>

#include <cmath>
#include <limits>
#include <random>
#include <stdexcept>
#include <type_traits>
#include <vector>

#include "kinemyo/onset/detector.hpp"

using namespace kinemyo::onset;

namespace {
constexpr double kFs = 2000.0;

// White noise (sd 1) with bursts of sd `amp` on [on, off), two channels (the second one quiet).
std::vector<double> make_signal(std::size_t n, const std::vector<std::pair<std::size_t, std::size_t>>& bursts,
                                double amp, unsigned seed) {
    std::mt19937 rng(seed);
    std::normal_distribution<double> g(0.0, 1.0);
    std::vector<double> x(n * 2);
    for (std::size_t i = 0; i < n; ++i) {
        double a = 0;
        for (auto [on, off] : bursts)
            if (i >= on && i < off) a = amp;
        x[2 * i] = g(rng) * (1.0 + a);
        x[2 * i + 1] = g(rng);
    }
    return x;
}

OnsetParams params(Method m) {
    OnsetParams p;
    p.fs = kFs;
    p.n_channels = 2;
    p.method = m;
    p.rest_begin = 0;
    p.rest_end = 2000;
    return p;
}
}  // namespace

TEST_CASE("onset: every method finds abrupt bursts at high SNR and nothing on a quiet channel") {
    const std::vector<std::pair<std::size_t, std::size_t>> b{{6000, 8000}, {12000, 13000}};
    const auto x = make_signal(20000, b, 10.0, 1);
    for (Method m : {Method::cusum, Method::hodges_bui, Method::bonato, Method::tkeo}) {
        auto res = detect(x.data(), 20000, params(m));
        REQUIRE(res.size() == 2);
        CHECK(res[1].empty());
        REQUIRE(res[0].size() == 2);
        for (std::size_t k = 0; k < 2; ++k) {
            CHECK(std::abs(res[0][k].onset - static_cast<std::int64_t>(b[k].first)) < 40);
            CHECK(std::abs(res[0][k].offset - static_cast<std::int64_t>(b[k].second)) < 200);
        }
    }
}

TEST_CASE("onset: chunking never changes the events") {
    const auto x = make_signal(16000, {{5000, 7000}, {9000, 12000}}, 3.0, 2);
    auto p = params(Method::cusum);
    OnsetDetector<double> whole(p), parts(p);
    std::vector<Event> a, b;
    whole.process(x.data(), 16000, a);
    whole.finish(a);
    std::mt19937 rng(5);
    std::size_t i = 0;
    while (i < 16000) {
        const std::size_t m = std::min<std::size_t>(16000 - i, rng() % 700);
        parts.process(x.data() + 2 * i, m, b);
        i += m;
    }
    parts.finish(b);
    REQUIRE(a.size() == b.size());
    for (std::size_t k = 0; k < a.size(); ++k) {
        CHECK(a[k].channel == b[k].channel);
        CHECK(a[k].onset == b[k].onset);
        CHECK(a[k].offset == b[k].offset);
    }
}

TEST_CASE("onset: bad parameters and degenerate signals") {
    OnsetParams p = params(Method::cusum);
    p.fs = 0;
    CHECK_THROWS_AS(OnsetDetector<double>{p}, std::invalid_argument);
    p = params(Method::cusum);
    p.rest_end = 10;  // too short
    CHECK_THROWS_AS(OnsetDetector<double>{p}, std::invalid_argument);
    p = params(Method::cusum);
    p.threshold = -1;
    CHECK_THROWS_AS(OnsetDetector<double>{p}, std::invalid_argument);
    p = params(Method::cusum);
    p.rest_end = 50000;
    std::vector<double> z(2 * 20000, 0.0);
    CHECK_THROWS_AS(detect(z.data(), 20000, p), std::invalid_argument);  // rest outside
    for (Method m : {Method::cusum, Method::hodges_bui, Method::bonato, Method::tkeo}) {
        auto r0 = detect(z.data(), 20000, params(m));
        CHECK(r0[0].empty());
        std::vector<double> cst(2 * 20000, 3.5);
        auto r1 = detect(cst.data(), 20000, params(m));
        CHECK(r1[0].empty());
        CHECK(r1[1].empty());
    }
}

TEST_CASE("onset: automatic baseline on a signal shorter than one baseline window") {
    // n < W = max(64, 0.1 fs) samples: one partial window; nothing may be read past the signal
    // (ASan build), every method returns per-channel results
    for (std::size_t n : {1u, 50u, 150u, 199u}) {
        const auto x = make_signal(n, {}, 0.0, 3);
        for (Method m : {Method::cusum, Method::hodges_bui, Method::bonato, Method::tkeo}) {
            OnsetParams p = params(m);
            p.rest_begin = -1;
            p.rest_end = -1;
            std::vector<double> xs(x.begin(), x.end());  // exactly n * 2 values
            auto r = detect(xs.data(), n, p);
            CHECK(r.size() == 2);
            p.preprocess = false;
            r = detect(xs.data(), n, p);
            CHECK(r.size() == 2);
        }
    }
}

TEST_CASE("onset: NaN run inside a burst does not split it; float32 works") {
    auto x = make_signal(16000, {{5000, 9000}}, 5.0, 3);
    for (std::size_t i = 6000; i < 6400; ++i) x[2 * i] = std::numeric_limits<double>::quiet_NaN();
    auto r = detect(x.data(), 16000, params(Method::cusum));
    REQUIRE(r[0].size() == 1);
    CHECK(std::abs(r[0][0].onset - 5000) < 40);
    std::vector<float> xf(x.begin(), x.end());
    auto rf = detect(xf.data(), 16000, params(Method::cusum));
    REQUIRE(rf[0].size() == 1);
}

TEST_CASE("onset: a state copied mid-stream continues like the uninterrupted run") {
    const auto x = make_signal(16000, {{5000, 7000}, {9000, 12000}}, 3.0, 3);
    for (Method m : {Method::cusum, Method::hodges_bui, Method::bonato, Method::tkeo}) {
        const auto p = params(m);
        OnsetDetector<double> ref(p), head(p);
        std::vector<Event> a, b;
        ref.process(x.data(), 16000, a);
        ref.finish(a);
        for (std::size_t cut : {std::size_t{1500}, std::size_t{5030}, std::size_t{9600}}) {
            OnsetDetector<double> first(p), second(p);
            b.clear();
            first.process(x.data(), cut, b);
            second.set_state(first.get_state());
            second.process(x.data() + 2 * cut, 16000 - cut, b);
            second.finish(b);
            REQUIRE(a.size() == b.size());
            for (std::size_t k = 0; k < a.size(); ++k) {
                CHECK(a[k].channel == b[k].channel);
                CHECK(a[k].onset == b[k].onset);
                CHECK(a[k].offset == b[k].offset);
            }
        }
        auto st = head.get_state();
        st["channels"].pop_back();
        CHECK_THROWS_AS(head.set_state(st), std::invalid_argument);
    }
}

TEST_CASE("onset: detection on the cached conditioned signal equals the filtering pass, bit for bit") {
    // many weak and strong bursts, a NaN run, both dtypes: process_conditioned on the ycache of
    // window_stats gives exactly the events of process on the raw signal (same baseline)
    std::vector<std::pair<std::size_t, std::size_t>> b;
    for (std::size_t on = 4000; on + 3000 < 120000; on += 3700) b.emplace_back(on, on + 900 + (on % 7) * 150);
    auto xd = make_signal(120000, b, 1.2, 11);
    for (std::size_t i = 50000; i < 50040; ++i) xd[2 * i] = std::numeric_limits<double>::quiet_NaN();
    auto run = [&](const auto* x) {
        using T = std::remove_const_t<std::remove_pointer_t<decltype(x)>>;
        OnsetParams p = params(Method::cusum);
        p.rest_begin = p.rest_end = -1;
        const std::size_t n = 120000, W = 200, nw = n / W;
        std::vector<double> ws(nw * 2), wq(nw * 2), wc(nw * 2), raw(2, 0.0), nraw(2, 0.0), y(n * 2);
        OnsetDetector<T> pre(p);
        pre.window_stats(x, n, W, nw, ws.data(), wq.data(), wc.data(), raw.data(), nraw.data(), y.data());
        CHECK(nraw[0] == static_cast<double>(n - 40));
        const std::vector<double> mean{1.0, 1.0}, sd{1.0, 1.0}, en{1.1, 1.0};
        OnsetDetector<T> a(p), c(p);
        a.set_baseline(mean, sd, en);
        c.set_baseline(mean, sd, en);
        std::vector<Event> ea, ec;
        a.process(x, n, ea);
        a.finish(ea);
        c.process_conditioned(y.data(), n, ec);
        c.finish(ec);
        CHECK(ea.size() > 20);
        REQUIRE(ea.size() == ec.size());
        for (std::size_t k = 0; k < ea.size(); ++k) {
            CHECK(ea[k].channel == ec[k].channel);
            CHECK(ea[k].onset == ec[k].onset);
            CHECK(ea[k].offset == ec[k].offset);
        }
    };
    run(xd.data());
    std::vector<float> xf(xd.begin(), xd.end());
    run(xf.data());
}

TEST_CASE("onset: movement artefacts are rejected before announcement; the same through a state copy") {
    // channel 0: bursts of 3x the noise and large low-frequency artefacts (biphasic 6 ms Gaussian
    // derivative, 40x; a step with a 3 ms edge decaying over 0.2 s, 60x) in the rest between them
    const std::vector<std::pair<std::size_t, std::size_t>> b{{8000, 10000}, {20000, 22000}};
    auto x = make_signal(30000, b, 3.0, 21);
    const std::vector<std::size_t> spikes{5000, 14000, 26000}, steps{16500, 28000};
    for (std::size_t s : spikes)
        for (int k = -60; k <= 60; ++k) {
            const double t = k / kFs / 0.006;
            x[2 * (s + static_cast<std::size_t>(k))] += -40.0 * t * std::exp(0.5 - 0.5 * t * t);
        }
    for (std::size_t s : steps)
        for (std::size_t k = 0; k < 3000 && s + k < 30000; ++k) {
            const double t = static_cast<double>(k) / kFs;
            const double up = t < 0.003 ? 0.5 - 0.5 * std::cos(3.141592653589793 * t / 0.003) : 1.0;
            x[2 * (s + k)] += 60.0 * up * std::exp(-std::max(t - 0.003, 0.0) / 0.2);
        }
    OnsetParams p = params(Method::cusum);
    p.reject_artefacts = true;  // opt-in
    OnsetParams q = p;
    q.reject_artefacts = false;
    const auto with = detect(x.data(), 30000, p), without = detect(x.data(), 30000, q);
    CHECK(without[0].size() >= 5);  // the artefacts do trigger the CUSUM
    REQUIRE(with[0].size() == 2);   // only the bursts are left
    for (std::size_t k = 0; k < 2; ++k) CHECK(std::abs(with[0][k].onset - static_cast<std::int64_t>(b[k].first)) < 40);
    CHECK(with[1].empty());
    // announcements wait for the artefact window; a copy cut while a check is pending continues
    // exactly like the uninterrupted run
    OnsetDetector<double> ref(p);
    std::vector<Event> a, c;
    ref.process(x.data(), 30000, a);
    ref.finish(a);
    for (std::size_t cut : {std::size_t{5100}, std::size_t{14120}, std::size_t{16640}, std::size_t{8150}}) {
        OnsetDetector<double> first(p), second(p);
        c.clear();
        first.process(x.data(), cut, c);
        second.set_state(first.get_state());
        second.process(x.data() + 2 * cut, 30000 - cut, c);
        second.finish(c);
        REQUIRE(a.size() == c.size());
        for (std::size_t k = 0; k < a.size(); ++k) {
            CHECK(a[k].onset == c[k].onset);
            CHECK(a[k].offset == c[k].offset);
        }
    }
    // the cached conditioned pass (detect with the automatic baseline) gives the same events as
    // filtering on the way, artefact checks included
    {
        OnsetParams pa = p;
        pa.rest_begin = pa.rest_end = -1;
        const std::size_t n = 30000, W = 200, nw = n / W;
        std::vector<double> ws(nw * 2), wc(nw * 2), raw(2, 0.0), nraw(2, 0.0), y(n * 2);
        OnsetDetector<double> pre(pa);
        pre.window_stats(x.data(), n, W, nw, ws.data(), nullptr, wc.data(), raw.data(), nraw.data(), y.data());
        const std::vector<double> mean{1.0, 1.0}, sd{1.0, 1.0}, en{2.0, 2.0};
        OnsetDetector<double> d1(pa), d2(pa);
        d1.set_baseline(mean, sd, en);
        d2.set_baseline(mean, sd, en);
        std::vector<Event> e1, e2;
        d1.process(x.data(), n, e1);
        d1.finish(e1);
        d2.process_conditioned(y.data(), n, e2);
        d2.finish(e2);
        REQUIRE(e1.size() == e2.size());
        CHECK(e1.size() >= 2);
        for (std::size_t k = 0; k < e1.size(); ++k) {
            CHECK(e1[k].onset == e2[k].onset);
            CHECK(e1[k].offset == e2[k].offset);
        }
    }
    p.artefact_window = 0.01;
    CHECK_THROWS_AS(OnsetDetector<double>{p}, std::invalid_argument);
}

TEST_CASE("onset: an artefact in the rest window is left out of the baseline (robust_rest)") {
    // a 20 ms pop of 30 x the noise on both channels at 0.5 s, inside the 1 s rest window
    auto clean = make_signal(6000, {}, 0.0, 11);
    auto spiky = clean;
    for (std::size_t i = 1000; i < 1040; ++i)
        for (std::size_t c = 0; c < 2; ++c) spiky[2 * i + c] += (i % 20 < 10 ? 30.0 : -30.0);  // 100 Hz
    auto energy = [](const std::vector<double>& x, bool robust) {
        OnsetParams p = params(Method::cusum);
        p.robust_rest = robust;
        OnsetDetector<double> det(p);
        std::vector<Event> ev;
        det.process(x.data(), x.size() / 2, ev);
        return det.get_state().at("baseline");  // mean (2), sd (2), energy (2)
    };
    const auto e0 = energy(clean, true), e1 = energy(spiky, true), e2 = energy(spiky, false);
    const auto p0 = energy(clean, false);
    for (std::size_t c = 0; c < 2; ++c) {
        CHECK(e0[4 + c] == doctest::Approx(p0[4 + c]).epsilon(1e-12));  // clean rest: the same
        CHECK(e1[4 + c] == doctest::Approx(e0[4 + c]).epsilon(0.05));   // pop left out
        CHECK(e2[4 + c] > 3.0 * e0[4 + c]);                             // without: inflated
    }
}

TEST_CASE("onset: robust_rest edge cases (low rate, zero padding, huge rest window)") {
    auto baseline = [](const std::vector<double>& x, OnsetParams p) {
        OnsetDetector<double> det(p);
        std::vector<Event> ev;
        det.process(x.data(), x.size() / 2, ev);
        return det.get_state().at("baseline");
    };
    // 100 Hz: sub-windows of 16 samples, a clean rest loses nothing
    {
        OnsetParams p = params(Method::cusum);
        p.fs = 100.0;
        p.band_high = 40.0;
        p.band_low = 5.0;
        p.rest_end = 400;
        const auto x = make_signal(1000, {}, 0.0, 12);
        auto q = p;
        q.robust_rest = false;
        const auto a = baseline(x, p), b = baseline(x, q);
        for (std::size_t c = 0; c < 2; ++c) CHECK(a[4 + c] == doctest::Approx(b[4 + c]).epsilon(1e-12));
    }
    // a rest mostly of exact zeros (padding) keeps its energy
    {
        auto x = make_signal(6000, {}, 0.0, 13);
        for (std::size_t i = 0; i < 1400; ++i) x[2 * i] = x[2 * i + 1] = 0.0;
        OnsetParams p = params(Method::cusum);
        auto q = p;
        q.robust_rest = false;
        const auto a = baseline(x, p), b = baseline(x, q);
        for (std::size_t c = 0; c < 2; ++c) {
            CHECK(a[4 + c] == doctest::Approx(b[4 + c]).epsilon(1e-12));
            CHECK(a[4 + c] > 0.01);
        }
    }
    // the longest rest windows: no overflow, at most 4096 sub-windows
    {
        OnsetParams p = params(Method::cusum);
        p.rest_end = std::numeric_limits<std::int64_t>::max();
        OnsetDetector<double> det(p);
        CHECK(det.get_state().at("rest_windows").size() <= 2 * 4 * 4096);
    }
}

TEST_CASE("onset: mains notches remove a strong hum; bad notch parameters are refused") {
    // bursts of sd 4 over unit noise, plus a 50 Hz + 150 Hz hum of RMS 3 on channel 0
    const std::vector<std::pair<std::size_t, std::size_t>> b{{6000, 8000}, {12000, 13000}};
    auto x = make_signal(20000, b, 3.0, 5);
    const double pi = 3.141592653589793;
    for (std::size_t i = 0; i < 20000; ++i) {
        const double t = static_cast<double>(i) / kFs;
        x[2 * i] += 3.0 * std::sqrt(2.0) * (std::sin(2 * pi * 50.0 * t + 0.3) + 0.3 * std::sin(2 * pi * 150.0 * t));
    }
    OnsetParams p = params(Method::cusum);
    {
        // without the notch the hum (9 x the noise power) hides the weaker rise: the test's point
        const auto bad = detect(x.data(), 20000, p);
        bool off = bad[0].size() != 2;
        for (std::size_t k = 0; !off && k < 2; ++k)
            off = std::abs(bad[0][k].onset - static_cast<std::int64_t>(b[k].first)) >= 40;
        CHECK(off);
    }
    p.mains = 50.0;
    auto res = detect(x.data(), 20000, p);
    REQUIRE(res[0].size() == 2);
    for (std::size_t k = 0; k < 2; ++k)
        CHECK(std::abs(res[0][k].onset - static_cast<std::int64_t>(b[k].first)) < 40);
    CHECK(res[1].empty());
    // a notch changes the filter only: the same signal without hum and without a notch gives
    // onsets within a few samples
    const auto clean = make_signal(20000, b, 3.0, 5);
    auto ref = detect(clean.data(), 20000, params(Method::cusum));
    REQUIRE(ref[0].size() == 2);
    for (std::size_t k = 0; k < 2; ++k) CHECK(std::abs(res[0][k].onset - ref[0][k].onset) < 20);

    for (double bad : {-1.0, 1000.0, std::numeric_limits<double>::quiet_NaN()}) {
        OnsetParams q = params(Method::cusum);
        q.mains = bad;
        CHECK_THROWS_AS(OnsetDetector<double>{q}, std::invalid_argument);
    }
    OnsetParams q = params(Method::cusum);
    q.mains = 50.0;
    q.mains_q = 0.0;
    CHECK_THROWS_AS(OnsetDetector<double>{q}, std::invalid_argument);
    q.mains_q = 30.0;
    q.mains_harmonics = 0;
    CHECK_THROWS_AS(OnsetDetector<double>{q}, std::invalid_argument);
    q.mains = 20.0;
    q.mains_harmonics = 7;  // 4 band-pass + 7 notches > 10 sections
    CHECK_THROWS_AS(OnsetDetector<double>{q}, std::invalid_argument);
    q.mains_harmonics = 6;
    CHECK_NOTHROW(OnsetDetector<double>{q});
    q.preprocess = false;  // no conditioning: the notch parameters are not used
    q.mains_harmonics = 0;
    CHECK_NOTHROW(OnsetDetector<double>{q});
}

TEST_CASE("onset: the default alarm level follows the rest noise's long-run variance; streamed and restored") {
    // AR(2) noise with poles near 60 Hz (narrow band): a long-run variance of x^2/sigma0^2 far
    // above the ~5 of band-passed white noise at 2 kHz
    const std::size_t n = 8000;
    std::mt19937 rng(21);
    std::normal_distribution<double> g(0.0, 1.0);
    std::vector<double> x(2 * n);
    const double r = 0.97, w = 2 * 3.141592653589793 * 60.0 / kFs;
    double a1 = 0, a2 = 0;
    for (std::size_t i = 0; i < n; ++i) {
        const double v = 2 * r * std::cos(w) * a1 - r * r * a2 + g(rng);
        a2 = a1;
        a1 = v;
        x[2 * i] = v;
        x[2 * i + 1] = g(rng);  // white
    }
    OnsetParams p = params(Method::cusum);
    OnsetDetector<double> det(p);
    CHECK(det.alarm_levels() == std::vector<double>{100.0, 100.0});
    std::vector<Event> ev;
    det.process(x.data(), n, ev);
    const auto lv = det.alarm_levels();
    CHECK(lv[0] > 200.0);                       // narrow band: raised
    CHECK(lv[1] == doctest::Approx(100.0));     // band-passed white noise: 20 x ~4.5 < 100
    // a state taken inside the rest window continues to the same levels
    for (std::size_t cut : {std::size_t{1}, std::size_t{300}, std::size_t{1999}}) {
        OnsetDetector<double> a(p), b(p);
        a.process(x.data(), cut, ev);
        b.set_state(a.get_state());
        b.process(x.data() + 2 * cut, n - cut, ev);
        CHECK(b.alarm_levels() == lv);
    }
    // an explicit threshold, or another method: fixed
    OnsetParams q = p;
    q.threshold = 0.05;
    OnsetDetector<double> fixed(q);
    fixed.process(x.data(), n, ev);
    CHECK(fixed.alarm_levels() == std::vector<double>{100.0, 100.0});
    // the offline automatic baseline adapts too
    OnsetParams o = p;
    o.rest_begin = o.rest_end = -1;
    OnsetDetector<double> via_lrv(o);
    CHECK_THROWS_AS(via_lrv.set_baseline({0, 0}, {1, 1}, {1, 1}, {1.0}), std::invalid_argument);
    CHECK_THROWS_AS(via_lrv.set_baseline({0, 0}, {1, 1}, {1, 1}, {1.0, INFINITY}), std::invalid_argument);
    via_lrv.set_baseline({0, 0}, {1, 1}, {1, 1}, {10.0, NAN});
    CHECK(via_lrv.alarm_levels() == std::vector<double>{200.0, 100.0});
    const auto off = detect(x.data(), n, o);
    OnsetParams of = o;
    of.threshold = 0.05;
    const auto off_fixed = detect(x.data(), n, of);
    INFO(off[0].size(), " vs ", off_fixed[0].size());
    CHECK(off[0].size() < off_fixed[0].size());
}
