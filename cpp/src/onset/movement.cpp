#include "kinemyo/onset/movement.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <stdexcept>
#include <string>

#include "kinemyo/common/checks.hpp"

namespace kinemyo::onset {

namespace {

void check_time(const char* name, double v) {
    if (!(std::isfinite(v) && v >= 0.0)) kinemyo::detail::fail_param(name, "a finite time >= 0 s", v);
}

std::int64_t samples(double s, double fs) { return static_cast<std::int64_t>(std::llround(s * fs)); }

}  // namespace

std::vector<std::int64_t> movement_onsets(const double* gyro, std::size_t n_samples, std::size_t n_axes,
                                          const MovementParams& p) {
    kinemyo::detail::check_fs(p.fs);
    if (n_axes == 0) throw std::invalid_argument("gyro must have at least one axis");
    check_time("min_duration", p.min_duration);
    check_time("smooth_s", p.smooth_s);
    check_time("min_gap", p.min_gap);
    if (!(std::isfinite(p.k) && p.k > 0.0)) kinemyo::detail::fail_param("k", "a finite value > 0", p.k);
    if (!(std::isfinite(p.k_low) && p.k_low >= 0.0 && p.k_low <= p.k)) {
        kinemyo::detail::fail_param("k_low", "a finite value in [0, k]", p.k_low);
    }
    const std::int64_t n = static_cast<std::int64_t>(n_samples);
    const double rb = p.rest_begin * p.fs, re = p.rest_end * p.fs;
    const std::int64_t b = std::isfinite(rb) ? std::llround(rb) : -1;
    const std::int64_t e = std::isfinite(re) ? std::llround(re) : -1;
    if (!(0 <= b && b < e && e <= n) || e - b < 10) {
        throw std::invalid_argument("rest window (" + std::to_string(p.rest_begin) + ", " + std::to_string(p.rest_end) +
                                    ") s must lie inside the signal and hold >= 10 samples");
    }
    // angular speed; non-finite rows: NaN -> 0 (no information), +-inf -> a very large speed
    std::vector<double> w(n_samples);
    std::int64_t rest_finite = 0;
    for (std::size_t i = 0; i < n_samples; ++i) {
        const double* r = gyro + i * n_axes;
        double s2 = 0.0;
        for (std::size_t a = 0; a < n_axes; ++a) s2 += r[a] * r[a];
        double v = std::sqrt(s2);
        if (std::isnan(v)) v = 0.0;
        else if (v > 1e300) v = 1e300;
        else if (static_cast<std::int64_t>(i) >= b && static_cast<std::int64_t>(i) < e) ++rest_finite;
        w[i] = v;
    }
    if (rest_finite < 10)
        throw std::invalid_argument("the rest window holds " + std::to_string(rest_finite) +
                                    " finite gyroscope samples (at least 10 are needed for its noise level)");
    // causal moving mean over m samples (fewer at the start, divided by m as a zero-padded filter);
    // the running sum is re-formed exactly every m samples, so rounding cannot accumulate
    const std::int64_t m = std::max<std::int64_t>(1, samples(p.smooth_s, p.fs));
    if (m > 1) {
        std::vector<double> y(n_samples);
        double acc = 0.0;
        for (std::int64_t i = 0; i < n; ++i) {
            if (i % m == 0) {
                acc = 0.0;
                for (std::int64_t j = std::max<std::int64_t>(0, i - m + 1); j <= i; ++j) acc += w[static_cast<std::size_t>(j)];
            } else {
                acc += w[static_cast<std::size_t>(i)];
                if (i - m >= 0) acc -= w[static_cast<std::size_t>(i - m)];
            }
            y[static_cast<std::size_t>(i)] = acc / static_cast<double>(m);
        }
        w.swap(y);
    }
    // rest statistics (two passes)
    double mu = 0.0;
    for (std::int64_t i = b; i < e; ++i) mu += w[static_cast<std::size_t>(i)];
    mu /= static_cast<double>(e - b);
    double var = 0.0;
    for (std::int64_t i = b; i < e; ++i) {
        const double d = w[static_cast<std::size_t>(i)] - mu;
        var += d * d;
    }
    double sd = std::sqrt(var / static_cast<double>(e - b));
    // a rest window without any noise (exactly constant: a quantised sensor at rest) would put
    // the threshold at the rest mean, and a one-step flicker would read as movement (review): its
    // noise level is taken as 1e-3 rad/s (about a gyroscope's quantisation step). A rest with
    // noise keeps its own level, however low (a fixed floor would blunt low-noise sensors).
    if (!(sd > 1e-9 * std::max(1.0, std::abs(mu)))) sd = std::max(1e-3, 1e-12 * std::abs(mu));
    const double hi = mu + p.k * sd, lo = mu + p.k_low * sd;
    const std::int64_t min_len = std::max<std::int64_t>(1, samples(p.min_duration, p.fs));
    const std::int64_t gap = samples(p.min_gap, p.fs);
    std::vector<std::int64_t> out;
    std::int64_t last_end = std::numeric_limits<std::int64_t>::min() / 2;
    std::int64_t last_low = -1;  // last sample at or below lo seen so far
    std::int64_t i = 0;
    while (i < n) {
        if (!(w[static_cast<std::size_t>(i)] > hi)) {
            if (w[static_cast<std::size_t>(i)] <= lo) last_low = i;
            ++i;
            continue;
        }
        const std::int64_t s = i;
        while (i < n && w[static_cast<std::size_t>(i)] > hi) ++i;  // samples above hi are above lo
        const std::int64_t end = i;
        if (end - s < min_len) continue;  // too short: neither a movement nor the end of one
        if (s >= e && s - last_end >= gap) out.push_back(last_low >= 0 ? last_low : s);
        last_end = end;
    }
    return out;
}

}  // namespace kinemyo::onset
