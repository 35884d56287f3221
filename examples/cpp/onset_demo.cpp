// kinemyo from C++ alone: muscle-activation onsets of a synthetic two-channel EMG recording.
//
// The signal is white Gaussian noise (the rest level, SD 1) with noise bursts (SD 8, 10 ms ramps)
// at known times; kinemyo::onset::detect (the CUSUM detector, raw EMG in: it band-passes 20-450 Hz
// itself) must find every burst and nothing else. Deterministic and portable: the noise comes from
// std::mt19937 through a Box-Muller transform written here (std::normal_distribution is not the same
// on every standard library). Exit code 0 when every onset/offset is within tolerance, 1 otherwise.
#include <kinemyo/onset/detector.hpp>

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <vector>

namespace {

struct Burst {
    double on_s, off_s;  // [onset, offset) in seconds
};

// Standard normal deviates from mt19937 (fully specified by the standard), Box-Muller.
class Gauss {
public:
    explicit Gauss(std::uint32_t seed) : rng_(seed) {}
    double operator()() {
        if (have_) {
            have_ = false;
            return spare_;
        }
        const double u1 = (static_cast<double>(rng_()) + 1.0) / 4294967296.0;  // (0, 1]
        const double u2 = static_cast<double>(rng_()) / 4294967296.0;          // [0, 1)
        const double r = std::sqrt(-2.0 * std::log(u1));
        const double two_pi = 6.283185307179586;
        spare_ = r * std::sin(two_pi * u2);
        have_ = true;
        return r * std::cos(two_pi * u2);
    }

private:
    std::mt19937 rng_;
    double spare_ = 0.0;
    bool have_ = false;
};

// Amplitude (SD) at time t: 1 at rest, 8 inside a burst, with linear 10 ms rise and fall.
double amplitude(const std::vector<Burst>& bursts, double t) {
    const double rest = 1.0, active = 8.0, ramp = 0.010;
    double a = rest;
    for (const Burst& b : bursts) {
        double g = 0.0;
        if (t >= b.on_s && t < b.off_s) g = std::fmin(1.0, std::fmin((t - b.on_s) / ramp, (b.off_s - t) / ramp));
        a = std::fmax(a, rest + (active - rest) * g);
    }
    return a;
}

}  // namespace

int main() {
    const double fs = 2000.0;
    const double duration = 10.0;
    const std::size_t n = static_cast<std::size_t>(duration * fs);
    const std::size_t n_channels = 2;
    // Bursts per channel; the first 1.5 s of each channel is rest (the detector's baseline window).
    const std::vector<std::vector<Burst>> truth = {
        {{2.0, 3.0}, {4.5, 5.2}, {7.0, 8.5}},
        {{2.5, 3.1}, {6.0, 7.5}},
    };

    // (n_samples, n_channels), row-major: sample i of channel c at x[i * n_channels + c].
    std::vector<double> x(n * n_channels);
    Gauss gauss(20240601u);
    for (std::size_t i = 0; i < n; ++i) {
        const double t = static_cast<double>(i) / fs;
        for (std::size_t c = 0; c < n_channels; ++c) x[i * n_channels + c] = amplitude(truth[c], t) * gauss();
    }

    kinemyo::onset::OnsetParams params;  // defaults: CUSUM detector, 20-450 Hz band-pass
    params.fs = fs;
    params.n_channels = n_channels;
    params.rest_begin = 0;
    params.rest_end = static_cast<std::int64_t>(1.5 * fs);
    const std::vector<std::vector<kinemyo::onset::Event>> events = kinemyo::onset::detect(x.data(), n, params);

    // Tolerances: onsets within 20 ms (they come out within a few ms here), offsets within 80 ms (the
    // CUSUM offset lags the end of a burst by some tens of ms): "each burst found where it is".
    const double tol_on = 0.020, tol_off = 0.080;
    bool ok = events.size() == n_channels;
    for (std::size_t c = 0; c < n_channels && c < events.size(); ++c) {
        std::printf("channel %zu: %zu activation(s), %zu burst(s) simulated\n", c, events[c].size(), truth[c].size());
        if (events[c].size() != truth[c].size()) ok = false;
        for (std::size_t k = 0; k < events[c].size(); ++k) {
            const double on = static_cast<double>(events[c][k].onset) / fs;
            const double off = static_cast<double>(events[c][k].offset) / fs;
            bool good = false;
            if (k < truth[c].size()) {
                const Burst& b = truth[c][k];
                good = std::fabs(on - b.on_s) <= tol_on && std::fabs(off - b.off_s) <= tol_off;
                std::printf("  onset %.4f s (true %.3f, error %+6.1f ms)  offset %.4f s (true %.3f, error %+6.1f ms)  %s\n",
                            on, b.on_s, 1e3 * (on - b.on_s), off, b.off_s, 1e3 * (off - b.off_s),
                            good ? "ok" : "OUT OF TOLERANCE");
            } else {
                std::printf("  onset %.4f s  offset %.4f s  SPURIOUS\n", on, off);
            }
            ok = ok && good;
        }
    }
    std::printf("%s\n", ok ? "onset_demo: all onsets found where the bursts are" : "onset_demo: FAILED");
    return ok ? EXIT_SUCCESS : EXIT_FAILURE;
}
