#include "kinemyo/onset/detector.hpp"

#include <algorithm>
#include <cmath>
#include <complex>
#include <cstring>
#include <iterator>
#include <limits>
#include <stdexcept>
#include <type_traits>

#include "kinemyo/common/checks.hpp"
#include "kinemyo/filters/design.hpp"

namespace kinemyo::onset {

Method parse_method(const std::string& s) {
    if (s == "cusum" || s == "default") return Method::cusum;
    if (s == "hodges_bui" || s == "hodges") return Method::hodges_bui;
    if (s == "bonato") return Method::bonato;
    if (s == "tkeo" || s == "solnik") return Method::tkeo;
    throw std::invalid_argument("method must be one of 'default', 'cusum', 'hodges_bui', 'bonato', 'tkeo'; got '" + s + "'");
}

namespace {
constexpr int kBonatoM = 5;   // m: pairs in the second-threshold window (Bonato et al. 1998)
constexpr int kBonatoR0 = 1;  // r0: pairs above zeta needed within m
constexpr double kTiny = 1e-300;
#ifndef KINEMYO_BIN_DOF
#define KINEMYO_BIN_DOF 0.85
#endif
// Effective chi-square dof of a 2 ms energy bin in the onset refinement's likelihood (a power /
// tempered likelihood: the bins of the narrow-band sEMG carrier are correlated across neighbours,
// so each carries less than its marginal dof, 2.2 at rest and 1.45 on a plateau). Chosen on the
// benchmark's calibration seeds (10^6 + its test seeds), 60 min per condition, among 0.7-1.4:
// 0.8-0.9 best and flat, 0.85 taken; docs/onset.md gives the figures.
constexpr double kBinDof = KINEMYO_BIN_DOF;
constexpr double kRelFloor = 1e-12;
constexpr double kMinAlarm = 40.0;     // least default CUSUM alarm level (units of x^2/sigma0^2)
constexpr double kMinOffAlarm = 20.0;  // least default level of the offset CUSUM
// Default onset alarm level over the long-run variance of x^2/sigma0^2 at rest (the CUSUM's
// false-alarm exponent, see the constructor), and the most lags of that variance's estimate.
constexpr double kAlarmMargin = 20.0;
constexpr std::int64_t kMaxLags = 64;
constexpr std::int64_t kLagChunk = 256;  // rest samples buffered between lag-product flushes
constexpr std::size_t kMaxLagBlocks = 256;  // rest lag-sum blocks per channel (groups of sub-windows)
constexpr double kTrackFloor = 0.1;      // a tracking batch whose mean is below this is not taken
constexpr double kTrackClip = 8.0;       // a bin counts at most this (units of sigma0^2) in the tracking
constexpr std::int64_t kTrackBatch = 128;  // the tracking takes bins in batches of at least this many (0.26 s at 2 kHz: the fused loop is left once per batch)
// rest sub-window fields (samples, sum u, sum u^2, sum e) and the artefact limit of finalize_rest
constexpr std::size_t kRestFields = 4;
constexpr double kRestOutlier = 10.0, kRestTail = 2.0;
// Rise lengths (2 ms bins) of the onset refinement's grid (denser for short rises, where a bin
// more or less matters most). The prior over the rise length is explicit (OnsetParams::rise_prior):
// each grid point carries the prior density times its quadrature width, so the grid's spacing
// does not act as a prior of its own.
constexpr std::int64_t kR[] = {0, 2, 4, 7, 10, 14, 19, 25, 32, 40, 50, 65, 80, 100, 130, 170, 220, 300, 400, 500};
// detect keeps the conditioned signal of its automatic-baseline pass up to this many values (64 MB)
constexpr std::size_t kCacheValues = std::size_t{1} << 23;  // sigma0^2 >= 1e-12 x the raw mean square (rounding level)
// Natural log for the likelihood sums of the onset refinement: x = m 2^e with m in [sqrt(1/2),
// sqrt(2)), log m = 2 atanh(s), s = (m - 1)/(m + 1), |s| <= 0.172, odd series to s^11 (relative
// error < 1e-10). For finite normal x > 0 (the ramp levels m0 + dm r^2 >= 1); branch free,
// so the ramp sums vectorise.
inline double fast_log(double x) {
    std::uint64_t b;
    std::memcpy(&b, &x, sizeof b);
    auto ex = static_cast<std::int64_t>(b >> 52) - 1023;  // x > 0, normal
    const std::uint64_t mb = (b & 0x000fffffffffffffULL) | 0x3ff0000000000000ULL;
    double m;
    std::memcpy(&m, &mb, sizeof m);  // [1, 2)
    const bool big = m > 1.4142135623730951;
    m = big ? 0.5 * m : m;
    ex += big ? 1 : 0;
    const double sv = (m - 1.0) / (m + 1.0), s2 = sv * sv;
    const double poly = 1.0 + s2 * (1.0 / 3 + s2 * (1.0 / 5 + s2 * (1.0 / 7 + s2 * (1.0 / 9 + s2 * (1.0 / 11)))));
    return 2.0 * sv * poly + static_cast<double>(ex) * 0.6931471805599453;
}
double or_default(double v, double d) { return std::isnan(v) ? d : v; }
// The rest window's buffers (sub-window sums, lag sums, samples), once the baseline is known.
void drop_rest_buffers(internal::ChannelState& c) {
    for (auto* v : {&c.rwin, &c.rlag, &c.ybuf}) {
        v->clear();
        v->shrink_to_fit();
    }
}
std::int64_t to_samples(double s, double fs) { return static_cast<std::int64_t>(std::llround(s * fs)); }
}  // namespace


template <class T>
OnsetDetector<T>::OnsetDetector(const OnsetParams& params) : p_(params) {
    detail::check_fs(p_.fs);
    detail::check_positive_count("n_channels", p_.n_channels);
    const double fs = p_.fs;
    if (p_.preprocess) {
        const double lo = p_.ecg == EcgMode::highpass ? p_.ecg_highpass : p_.band_low;
        const double hi = std::min(p_.band_high, 0.45 * fs);
        if (!(lo > 0 && lo < hi)) detail::fail_param("band_low", "in (0, min(band_high, 0.45 fs))", lo);
        if (!(p_.band_order >= 1 && p_.band_order <= internal::kMaxSections))
            detail::fail_param("band_order", "in 1..10", static_cast<double>(p_.band_order));
        filters::Sos sos = filters::butter(p_.band_order, {lo, hi}, fs, filters::BandType::bandpass);
        const std::size_t n_band = sos.size();
        if (static_cast<int>(n_band) > internal::kMaxSections)
            detail::fail_param("band_order", "in 1..10", static_cast<double>(p_.band_order));
        // power-line notches after the band-pass (same cascade, same fused kernel): only the
        // multiples of the mains frequency inside the band (below its high edge) need one
        if (!(std::isfinite(p_.mains) && (p_.mains == 0 || (p_.mains >= 1.0 && p_.mains < 0.5 * fs))))
            detail::fail_param("mains", "0 (no notch) or in [1 Hz, fs/2)", p_.mains);
        if (p_.mains > 0) {
            if (!(p_.mains_harmonics >= 1 && p_.mains_harmonics <= internal::kMaxSections))
                detail::fail_param("mains_harmonics", "in 1..10", static_cast<double>(p_.mains_harmonics));
            // (outside this range the IIR notch is numerically unstable or no longer a notch)
            if (!(std::isfinite(p_.mains_q) && p_.mains_q >= 0.5 && p_.mains_q <= 1000.0))
                detail::fail_param("mains_q", "in [0.5, 1000]", p_.mains_q);
            int h = 0;
            while (h < p_.mains_harmonics && (h + 1) * p_.mains < hi) ++h;
            if (h > 0) {
                const filters::Sos nt = filters::notch(p_.mains, fs, p_.mains_q, h);
                sos.insert(sos.end(), nt.begin(), nt.end());
            }
            if (static_cast<int>(sos.size()) > internal::kMaxSections)
                detail::fail_param("mains_harmonics", "at most 10 filter sections in all: band_order + notches <= 10",
                                   static_cast<double>(p_.mains_harmonics));
        }
        nsec_ = static_cast<int>(sos.size());
        double rmax = 0;  // largest pole radius of the cascade (its slowest transient)
        for (const auto& q : sos) {
            const double a0 = q[3];
            for (int k : {0, 1, 2, 4, 5}) sos_.push_back(q[static_cast<std::size_t>(k)] / a0);
            const double a1 = q[4] / a0, a2 = q[5] / a0, disc = a1 * a1 - 4.0 * a2;
            rmax = std::max(rmax, disc < 0 ? std::sqrt(std::max(a2, 0.0))
                                           : 0.5 * (std::fabs(a1) + std::sqrt(disc)));
        }
        // samples for a start transient to decay to 1e-6 (at least 0.1 s, at most 20 s)
        settle_ = to_samples(0.1, fs);
        if (rmax > 0 && rmax < 1)
            settle_ = std::clamp<std::int64_t>(static_cast<std::int64_t>(std::ceil(std::log(1e-6) / std::log(rmax))),
                                               settle_, to_samples(20.0, fs));
        // group delay (samples) of the band-pass at the geometric centre of its band, where
        // surface-EMG power concentrates (Shwedyk et al. 1977; spectral peak 50-150 Hz): the
        // envelope of the conditioned signal lags the raw one by about this much
        const double w = 2.0 * 3.141592653589793 * std::sqrt(lo * hi) / fs;
        // (the band-pass sections only: a notch delays the frequencies next to it and advances
        // nothing else much, it does not shift the envelope of a broadband carrier)
        gdelay_ = 0;
        for (std::size_t i = 0; i < n_band; ++i) {
            const auto& q = sos[i];
            auto gd = [&](double c0, double c1, double c2) {
                const std::complex<double> e1 = std::polar(1.0, -w), e2 = std::polar(1.0, -2.0 * w);
                return std::real((c1 * e1 + 2.0 * c2 * e2) / (c0 + c1 * e1 + c2 * e2));
            };
            gdelay_ += gd(q[0], q[1], q[2]) - gd(q[3], q[4], q[5]);
        }
        for (const auto& z : filters::sosfilt_zi(sos)) {
            zi_.push_back(z[0]);
            zi_.push_back(z[1]);
        }
    }
    const bool is_c = p_.method == Method::cusum;
    h_ = or_default(p_.threshold, p_.method == Method::hodges_bui ? 3.0
                                  : p_.method == Method::tkeo     ? 15.0
                                  : p_.method == Method::bonato   ? 9.17
                                                                  : 0.05);
    if (!(std::isfinite(h_) && h_ > 0)) detail::fail_param("threshold", "finite and > 0", h_);
    if (is_c) {
        h_ *= fs;  // seconds of unit drift -> samples
        // Default alarm level: at least kMinAlarm units of x^2/sigma0^2. The CUSUM's false-alarm
        // rate is set by h over the (long-run) variance of its increments (Siegmund 1985: the
        // run length grows like exp(2 |drift| h / variance)). At 2 kHz the default h = 0.05 fs =
        // 100 meets a long-run variance of about 5 (neighbouring samples of the band-passed noise
        // are correlated): h / variance = 20. At low sampling rates the samples are nearly
        // independent, the variance is its floor 2 (x^2/sigma0^2 of Gaussian noise), and 0.05 fs
        // alone (12.5 at 250 Hz) gave 24-41 false activations per minute; 40 = 20 x 2 keeps the
        // 2 kHz margin (measured: <= 0.4 per minute at 200-512 Hz, docs/onset.md). Per channel
        // the level then rises to kAlarmMargin x the long-run variance measured at rest
        // (hch_: finalize_rest, or set_baseline's lrv), which is far above 5 for a narrow-band or
        // 1/f rest noise (docs/onset.md "Coloured rest noise"). An explicit threshold is taken as
        // given.
        // The offset CUSUM (a drop back to the rest level) gets a lower floor, kMinOffAlarm: its
        // level sets how long after an activation's end the offset is decided, and a burst that
        // starts within that time is merged into the previous one. At 250 Hz, 3 x 2 min per
        // cell, onset MAE / detected / FP per min, gaps 0.8-2.5 s at 3 dB and 0.15-0.4 s at
        // 3 / 20 dB: no floor (12.5) 19.5 / 99.3 / 2.33 and 99.0 % / 95.7 % detected; 20:
        // 19.5 / 99.3 / 0.50 and 95.3 % / 88.0 %; 40: 0.17 FP/min but 58.7 % / 39.7 %
        // (docs/onset.md "Low sampling rates").
        h_off_ = h_;
        if (std::isnan(p_.threshold)) {
            h_ = std::max(h_, kMinAlarm);
            h_off_ = std::max(h_off_, kMinOffAlarm);
        }
    } else {
        h_off_ = h_;
    }
    k_ = or_default(p_.drift, 1.5);
    if (!(std::isfinite(k_) && k_ > 1.0)) detail::fail_param("drift", "finite and > 1 (x^2/sigma0^2 units)", k_);
    win_ = or_default(p_.window, 0.025);
    if (!(std::isfinite(win_) && win_ > 0)) detail::fail_param("window", "finite and > 0 s", win_);
    min_active_ = or_default(p_.min_active, is_c ? 0.05 : 0.03);
    min_gap_ = or_default(p_.min_gap, is_c ? 0.1 : 0.0);
    if (!(std::isfinite(min_active_) && min_active_ >= 0)) detail::fail_param("min_active", ">= 0 s", min_active_);
    if (!(std::isfinite(min_gap_) && min_gap_ >= 0)) detail::fail_param("min_gap", ">= 0 s", min_gap_);
    if (!(p_.refine_window > 0 && p_.refine_window <= 2.0)) detail::fail_param("refine_window", "in (0, 2] s", p_.refine_window);
    if (!(p_.refine_delay >= 0 && p_.refine_delay <= 1.0)) detail::fail_param("refine_delay", "in [0, 1] s", p_.refine_delay);
    if (!(p_.max_rise >= 0 && p_.max_rise <= 1.0)) detail::fail_param("max_rise", "in [0, 1] s", p_.max_rise);
    if (!(p_.rise_prior > 0)) detail::fail_param("rise_prior", "> 0 s (inf: flat)", p_.rise_prior);
    if (!(p_.track_rest == 0 || (p_.track_rest >= 0.5 && std::isfinite(p_.track_rest))))
        detail::fail_param("track_rest", "0 (off) or a finite time constant >= 0.5 s", p_.track_rest);
    n_win_ = std::max<std::int64_t>(1, to_samples(win_, fs));
    n_min_active_ = to_samples(min_active_, fs);
    n_min_gap_ = to_samples(min_gap_, fs);
    n_refine_delay_ = to_samples(p_.refine_delay, fs);
    bin_ = std::max<std::int64_t>(1, to_samples(0.002, fs));
    if (is_c && p_.track_rest > 0) trk_alpha_ = std::min(0.5, static_cast<double>(bin_) / (p_.track_rest * fs));
    // log prior weight of each rise length of the grid (relative to the largest: all <= 0):
    // exponential density of mean rise_prior (flat for inf) times the grid point's quadrature
    // width (half the distance to each neighbour, at least half a bin)
    rise_lw_.assign(std::size(kR), 0.0);
    {
        const double bin_s = static_cast<double>(bin_) / fs;
        double top = -std::numeric_limits<double>::infinity();
        for (std::size_t i = 0; i < std::size(kR); ++i) {
            const double lo = i == 0 ? 0.0 : 0.5 * static_cast<double>(kR[i] + kR[i - 1]);
            const double hi = i + 1 < std::size(kR) ? 0.5 * static_cast<double>(kR[i] + kR[i + 1])
                                                    : static_cast<double>(kR[i]);
            const double rs = static_cast<double>(kR[i]) * bin_s;
            rise_lw_[i] = std::log(std::max(hi - lo, 0.5)) - (std::isinf(p_.rise_prior) ? 0.0 : rs / p_.rise_prior);
            top = std::max(top, rise_lw_[i]);
        }
        for (double& v : rise_lw_) v -= top;
    }
    if (!(p_.artefact_window >= 0.04 && p_.artefact_window <= 1.0))
        detail::fail_param("artefact_window", "in [0.04, 1] s", p_.artefact_window);
    if (is_c && p_.reject_artefacts)
        n_art_bins_ = std::max<std::int64_t>(8, to_samples(p_.artefact_window, fs) / bin_);
    n_lobe_bins_ = std::max<std::int64_t>(1, to_samples(0.02, fs) / bin_);
    if (p_.rest_begin >= 0 || p_.rest_end >= 0) {
        if (p_.rest_begin < 0 || p_.rest_end <= p_.rest_begin)
            throw std::invalid_argument("rest must satisfy 0 <= rest_begin < rest_end; got [" +
                                        std::to_string(p_.rest_begin) + ", " + std::to_string(p_.rest_end) + ")");
        const std::int64_t need = std::max<std::int64_t>(32, to_samples(0.1, fs));
        if (p_.rest_end - p_.rest_begin < need)
            throw std::invalid_argument("rest window must be at least 0.1 s (" + std::to_string(need) +
                                        " samples); got " + std::to_string(p_.rest_end - p_.rest_begin) + " samples");
        const std::int64_t len = p_.rest_end - p_.rest_begin;
        // at least 16 samples per sub-window: a 1-sample window of noise exceeds 10 x its median
        // a few % of the time (measured: 27 % of a clean rest's energy left out at 100 Hz)
        rwin_len_ = std::max({std::int64_t{16}, to_samples(0.01, fs), len / 4096 + (len % 4096 != 0)});
        n_rwin_ = static_cast<std::size_t>(len / rwin_len_ + (len % rwin_len_ != 0));
    }
    // Default alarm level from the rest noise's colour: the lags of the autocorrelation that
    // enter the long-run variance (20 ms: the band-passed noise, or a narrow-band background of
    // muscle activity at rest, decorrelates within it), in blocks of the rest sub-windows (so an
    // artefact left out of sigma0^2 is left out of the variance too).
    if (is_c && std::isnan(p_.threshold)) {
        n_lags_ = std::clamp<std::int64_t>(to_samples(0.02, fs), 4, kMaxLags);
        // blocks of whole sub-windows, at most kMaxLagBlocks of them (long rests: memory)
        lag_grp_ = std::max<std::size_t>(1, (n_rwin_ + kMaxLagBlocks - 1) / kMaxLagBlocks);
        n_lagblk_ = p_.robust_rest ? (n_rwin_ + lag_grp_ - 1) / lag_grp_ : (n_rwin_ > 0 ? 1 : 0);
    }
    if (p_.method == Method::hodges_bui || p_.method == Method::tkeo) {
        lp_ = std::make_unique<filters::SosFilter<double>>(filters::SosFilterParams{
            filters::butter(2, {std::min(50.0, 0.45 * fs)}, fs, filters::BandType::lowpass), p_.n_channels,
            filters::InitMode::steady});
    }
    if (p_.method == Method::tkeo) tk_ = std::make_unique<filters::TKEO<double>>(p_.n_channels);
    reset();
}

template <class T>
void OnsetDetector<T>::reset() {
    if (lp_) lp_->reset();
    if (tk_) tk_->reset();
    ch_.assign(p_.n_channels, Chan{});
    const std::int64_t nb = static_cast<std::int64_t>(std::ceil(2.5 * p_.fs / static_cast<double>(bin_))) + 8;
    for (auto& c : ch_) {
        if (p_.method == Method::hodges_bui) c.ring.assign(static_cast<std::size_t>(n_win_), 0.0);
        if (p_.method == Method::bonato) c.pair_ring.assign(kBonatoM, -1);
        if (p_.method == Method::cusum) c.bins.assign(static_cast<std::size_t>(nb), 0.0);
        if (!given_base_ && p_.robust_rest) c.rwin.assign(kRestFields * n_rwin_, 0.0);
        if (!given_base_ && n_lags_ > 0 && n_lagblk_ > 0) {
            c.rlag.assign(n_lagblk_ * static_cast<std::size_t>(n_lags_ + 1), 0.0);
            c.ybuf.assign(static_cast<std::size_t>(n_lags_ + kLagChunk), 0.0);
            c.ybuf_n = n_lags_;
        }
    }
    if (!given_base_) {
        hch_.assign(p_.n_channels, h_);
        have_base_ = false;
        bmean_.assign(p_.n_channels, 0.0);
        bsd_.assign(p_.n_channels, 1.0);
        benergy_.assign(p_.n_channels, 1.0);
    }
    for (auto& c : ch_) c.based = given_base_;
    t_ = 0;
    binv_.resize(benergy_.size());
    for (std::size_t i = 0; i < benergy_.size(); ++i) binv_[i] = 1.0 / benergy_[i];
}

template <class T>
std::int64_t OnsetDetector<T>::off_lookback() const noexcept {
    switch (p_.method) {
        case Method::hodges_bui: return n_win_ / 2 + 1;  // offset = t - n_win / 2
        case Method::tkeo: return n_win_ + 1;            // offset = start of the n_win run below
        case Method::bonato: return 2 * kBonatoM + 2;    // offset = last pair above + 2
        case Method::cusum: break;
    }
    return 0;
}

template <class T>
std::int64_t OnsetDetector<T>::latency_samples() const noexcept {
    // the announcement: min_active after the onset, and for the cusum up to refine_delay more (an
    // offset statistic still deciding) or for the literature methods their offset look-back
    std::int64_t base = p_.method == Method::cusum ? n_min_active_ + n_refine_delay_
                                                   : n_min_active_ + off_lookback();
    if (n_art_bins_ > 0) base = std::max(base, (n_art_bins_ + 1) * bin_);  // artefact window (whole bins)
    return base + n_min_gap_ + n_win_;
}

template <class T>
void OnsetDetector<T>::set_baseline(const std::vector<double>& mean, const std::vector<double>& sd,
                                    const std::vector<double>& energy, const std::vector<double>& lrv) {
    const std::size_t C = p_.n_channels;
    if (mean.size() != C || sd.size() != C || energy.size() != C)
        throw std::invalid_argument("baseline arrays must have n_channels = " + std::to_string(C) + " values");
    for (std::size_t c = 0; c < C; ++c) {
        if (!std::isfinite(mean[c]) || !std::isfinite(sd[c]) || !std::isfinite(energy[c]))
            throw std::invalid_argument("baseline must be finite; got a non-finite value on channel " + std::to_string(c));
    }
    if (!lrv.empty() && lrv.size() != C)
        throw std::invalid_argument("lrv must be empty or have n_channels = " + std::to_string(C) + " values");
    for (double v : lrv)
        if (!(std::isnan(v) || (v >= 0 && std::isfinite(v))))
            throw std::invalid_argument("lrv must be >= 0 and finite (NaN: unknown); got " + std::to_string(v));
    hch_.assign(C, h_);
    if (n_lags_ > 0)
        for (std::size_t c = 0; c < lrv.size(); ++c) hch_[c] = adapt_alarm(lrv[c]);
    bmean_ = mean;
    bsd_ = sd;
    benergy_ = energy;
    for (std::size_t c = 0; c < C; ++c) {
        bsd_[c] = std::max(bsd_[c], 1e-12 * std::max(1.0, std::fabs(bmean_[c])));
        benergy_[c] = std::max(benergy_[c], kTiny);
    }
    have_base_ = given_base_ = true;
    for (auto& c : ch_) {
        c.based = true;
        c.trk_s = -1;
        drop_rest_buffers(c);
    }
    binv_.resize(benergy_.size());
    for (std::size_t i = 0; i < benergy_.size(); ++i) binv_[i] = 1.0 / benergy_[i];
}

namespace {
// One sample through NS second-order sections (transposed direct form II), delays in z.
// The fused CUSUM kernel runs with FMA (AVX2 + FMA instruction set) when the CPU has it, decided
// once per process like the SOS kernels (so a process always takes the same path and offline and
// online stay bit-identical).
#if (defined(__GNUC__) || defined(__clang__)) && (defined(__x86_64__) || defined(__i386__))
#define KINEMYO_ONSET_X86 1
#include <immintrin.h>
#define KINEMYO_ONSET_INLINE inline __attribute__((always_inline))
bool cpu_has_fma() {
    static const bool has = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
    return has;
}
#else
#define KINEMYO_ONSET_X86 0
#define KINEMYO_ONSET_INLINE inline
bool cpu_has_fma() { return false; }
#endif

// a == +0 or -0, by the bits (pos_part gives +0, never -0: a compare and a cmov, no parity branch)
KINEMYO_ONSET_INLINE bool is_zero(double a) {
    std::uint64_t b;
    std::memcpy(&b, &a, sizeof b);
    return (b << 1) == 0;
}

// max(a, 0) without a branch (a CUSUM sits at 0 about half of the time at rest: a branch there
// is mispredicted all the time). a is finite here.
KINEMYO_ONSET_INLINE double pos_part(double a) {
#if KINEMYO_ONSET_X86
    // a as the low lane of a register whose upper lane is left as it is (an empty asm: no
    // instruction); _mm_set_sd would zero that lane, one more cycle (vmovq) on the loop-carried
    // CUSUM chain. Only the low lane of the max is used.
    __m128d v;
    __asm__("" : "=x"(v) : "0"(a));
    return _mm_cvtsd_f64(_mm_max_sd(v, _mm_setzero_pd()));
#else
    return a > 0.0 ? a : 0.0;
#endif
}

// -log L of the ramp bins le[0..R) of the onset refinement: levels m_j = 1 + dm r_j^2,
// r_j = (j + 1/2) / R, cost sum_j log m_j + le_j / m_j; four bins at a time (GCC/Clang vector
// extensions; AVX2 when the CPU has it). Stops early, returning a value > budget, once the sum
// exceeds budget (every term is >= 0). le must be readable up to R rounded up to 4.
typedef double v4d __attribute__((vector_size(32)));
typedef long long v4l __attribute__((vector_size(32)));

// fast_log, lane-wise (by pointer: no vector values cross a function boundary, whatever the ABI)
KINEMYO_ONSET_INLINE void vlog(const v4d* xp, v4d* out) {
    v4l b;
    std::memcpy(&b, xp, sizeof b);
    v4l ex = (b >> 52) - 1023;
    v4l mb = (b & 0x000fffffffffffffLL) | 0x3ff0000000000000LL;
    v4d m;
    std::memcpy(&m, &mb, sizeof m);
    const v4l big = m > 1.4142135623730951;  // -1 where true
    m = big ? m * 0.5 : m;
    ex -= big;
    const v4d sv = (m - 1.0) / (m + 1.0), s2 = sv * sv;
    const v4d poly = 1.0 + s2 * (1.0 / 3 + s2 * (1.0 / 5 + s2 * (1.0 / 7 + s2 * (1.0 / 9 + s2 * (1.0 / 11)))));
    *out = 2.0 * sv * poly + __builtin_convertvector(ex, v4d) * 0.6931471805599453;
}

KINEMYO_ONSET_INLINE double ramp_cost_impl(const double* le, std::int64_t R, double dm, double budget) {
    const double invR = 1.0 / static_cast<double>(R);
    v4d acc = {0, 0, 0, 0};
    const v4d lane = {0.5, 1.5, 2.5, 3.5};
    double total = 0;
    for (std::int64_t j = 0; j < R; j += 4) {
        const v4d jj = lane + static_cast<double>(j);
        const v4d r = jj * invR;
        v4d m = 1.0 + dm * r * r;
        v4d l;
        std::memcpy(&l, le + j, sizeof l);
        const v4l live = jj < static_cast<double>(R);
        m = live ? m : 1.0;  // lanes past the ramp contribute log 1 + 0 / 1 = 0
        l = live ? l : 0.0;
        v4d lm;
        vlog(&m, &lm);
        acc += lm + l / m;
        if ((j & 15) == 12) {
            total = acc[0] + acc[1] + acc[2] + acc[3];
            if (total > budget) return total;
        }
    }
    return acc[0] + acc[1] + acc[2] + acc[3];
}

#if KINEMYO_ONSET_X86
__attribute__((target("avx2,fma"))) double ramp_cost_avx2(const double* le, std::int64_t R, double dm, double budget) {
    return ramp_cost_impl(le, R, dm, budget);
}
#endif
double ramp_cost_base(const double* le, std::int64_t R, double dm, double budget) {
    return ramp_cost_impl(le, R, dm, budget);
}


// Tabulated ramp kernels, so that the cost of the ramp bins is a dot product instead of a log and
// a division per bin: for each rise length R <= kMaxR of the grid and each level step
// dm = 2^(u / kPerOct), u integer in [kU0, kU1], the weights K_j = 1 / (1 + dm r_j^2) and the sum
// LS = sum_j log(1 + dm r_j^2), r_j = (j + 1/2) / R. The cost at any dm in range is the linear
// interpolation in log dm between the two neighbouring rows (the cost is smooth in log dm: the
// interpolation error is below 0.01 in units of -2 log L / nu for R <= 100 bins, far below the
// posterior's resolution); outside the range (and for longer rises) the exact sum is used.
struct RampTable {
    static constexpr int kPerOct = 4;
    static constexpr int kU0 = -10 * kPerOct, kU1 = 24 * kPerOct;  // dm in [2^-10, 2^24]
    static constexpr std::int64_t kMaxR = 100;
    static constexpr int kNU = kU1 - kU0 + 1;
    std::array<std::size_t, std::size(kR)> off{};  // offset of the rows of grid entry i in K
    std::array<std::size_t, std::size(kR)> stride{};  // R rounded up to 4
    std::vector<double> K, LS;  // K: [grid entry][u][j], LS: [grid entry][u]
    RampTable() {
        std::size_t tot = 0;
        for (std::size_t i = 0; i < std::size(kR) && kR[i] <= kMaxR; ++i) {
            stride[i] = static_cast<std::size_t>((kR[i] + 3) / 4 * 4);
            off[i] = tot;
            tot += stride[i] * kNU;
        }
        K.assign(tot, 0.0);
        LS.assign(std::size(kR) * kNU, 0.0);
        for (std::size_t i = 0; i < std::size(kR) && kR[i] <= kMaxR; ++i) {
            const auto R = static_cast<std::size_t>(kR[i]);
            for (int u = 0; u < kNU; ++u) {
                const double dm = std::exp2(static_cast<double>(u + kU0) / kPerOct);
                double ls = 0;
                for (std::size_t j = 0; j < R; ++j) {
                    const double r = (static_cast<double>(j) + 0.5) / static_cast<double>(R);
                    const double m = 1.0 + dm * r * r;
                    K[off[i] + static_cast<std::size_t>(u) * stride[i] + j] = 1.0 / m;
                    ls += std::log(m);
                }
                LS[i * kNU + static_cast<std::size_t>(u)] = ls;
            }
        }
    }
};
const RampTable& ramp_table() {
    static const RampTable t;  // built once per process (thread-safe static initialisation)
    return t;
}

// (sum_j le_j K0_j, sum_j le_j K1_j) over n4 (a multiple of 4) values, four lanes
KINEMYO_ONSET_INLINE void ramp_dot_impl(const double* le, const double* K0, const double* K1, std::size_t n4,
                                        double* out) {
    v4d a0 = {0, 0, 0, 0}, a1 = {0, 0, 0, 0};
    for (std::size_t j = 0; j < n4; j += 4) {
        v4d l, b0, b1;
        std::memcpy(&l, le + j, sizeof l);
        std::memcpy(&b0, K0 + j, sizeof b0);
        std::memcpy(&b1, K1 + j, sizeof b1);
        a0 += l * b0;
        a1 += l * b1;
    }
    out[0] = (a0[0] + a0[2]) + (a0[1] + a0[3]);
    out[1] = (a1[0] + a1[2]) + (a1[1] + a1[3]);
}
#if KINEMYO_ONSET_X86
__attribute__((target("avx2,fma"))) void ramp_dot_avx2(const double* le, const double* K0, const double* K1,
                                                       std::size_t n4, double* out) {
    ramp_dot_impl(le, K0, K1, n4, out);
}
#endif
void ramp_dot_base(const double* le, const double* K0, const double* K1, std::size_t n4, double* out) {
    ramp_dot_impl(le, K0, K1, n4, out);
}

// The same two sums for four grid points at once: starts cc .. cc + 3 of one rise length (le + p
// for point p), each with its own table rows K[p] and K[p] + st. Every point's sums are formed by
// exactly the operations of ramp_dot_impl, in the same order (the same values); the
// eight independent accumulator chains hide the add latency that bounds one point's loop.
KINEMYO_ONSET_INLINE void ramp_dot4_impl(const double* le, const double* const* K, std::size_t st, double* out) {
    v4d a0 = {0, 0, 0, 0}, a1 = {0, 0, 0, 0}, b0 = {0, 0, 0, 0}, b1 = {0, 0, 0, 0}, c0 = {0, 0, 0, 0},
        c1 = {0, 0, 0, 0}, d0 = {0, 0, 0, 0}, d1 = {0, 0, 0, 0};
    const double *Ka = K[0], *Kb = K[1], *Kc = K[2], *Kd = K[3];
    // (written out: the accumulators stay in registers)
    for (std::size_t j = 0; j < st; j += 4) {
        v4d l, u, w;
#define KINEMYO_DOT4_LANE(OFF, KP, A0, A1)   \
    std::memcpy(&l, le + (OFF) + j, sizeof l); \
    std::memcpy(&u, KP + j, sizeof u);         \
    std::memcpy(&w, KP + st + j, sizeof w);    \
    A0 += l * u;                               \
    A1 += l * w;
        KINEMYO_DOT4_LANE(0, Ka, a0, a1)
        KINEMYO_DOT4_LANE(1, Kb, b0, b1)
        KINEMYO_DOT4_LANE(2, Kc, c0, c1)
        KINEMYO_DOT4_LANE(3, Kd, d0, d1)
#undef KINEMYO_DOT4_LANE
    }
    const v4d* acc[8] = {&a0, &a1, &b0, &b1, &c0, &c1, &d0, &d1};
    for (int k = 0; k < 8; ++k) out[k] = ((*acc[k])[0] + (*acc[k])[2]) + ((*acc[k])[1] + (*acc[k])[3]);
}
#if KINEMYO_ONSET_X86
__attribute__((target("avx2,fma"))) void ramp_dot4_avx2(const double* le, const double* const* K, std::size_t st,
                                                        double* out) {
    ramp_dot4_impl(le, K, st, out);
}
#endif
void ramp_dot4_base(const double* le, const double* const* K, std::size_t st, double* out) {
    ramp_dot4_impl(le, K, st, out);
}

// out[i] = fast_log(x[i]) for i < n (n rounded up to 4 read and written), four at a time: the
// same operations as fast_log, lane-wise (bit for bit the same values as long as the compiler
// does not contract multiply-adds, as GCC does not in ISO C++ mode). Inputs <= 0 give finite
// garbage, no trap (the callers select those lanes away).
KINEMYO_ONSET_INLINE void logs_impl(const double* x, std::size_t n, double* out) {
    for (std::size_t i = 0; i < n; i += 4) {
        v4d v, l;
        std::memcpy(&v, x + i, sizeof v);
        vlog(&v, &l);
        std::memcpy(out + i, &l, sizeof l);
    }
}
#if KINEMYO_ONSET_X86
__attribute__((target("avx2,fma"))) void logs_avx2(const double* x, std::size_t n, double* out) { logs_impl(x, n, out); }
#endif
void logs_base(const double* x, std::size_t n, double* out) { logs_impl(x, n, out); }
void logs(const double* x, std::size_t n, double* out) {
#if KINEMYO_ONSET_X86
    if (cpu_has_fma()) {
        logs_avx2(x, n, out);
        return;
    }
#endif
    logs_base(x, n, out);
}

// exp(x) for x in [-700, 0] (posterior weights): x = (n + f) ln 2, |f| <= 1/2, e^(f ln 2) by its
// Taylor series to degree 7 in Estrin form (relative error < 3e-9, far below what the weights
// need), 2^n by the exponent bits
inline double fast_exp(double x) {
    const double t = x * 1.4426950408889634;
    const auto ni = static_cast<std::int64_t>(t - 0.5);  // t <= 0: truncation rounds up, |t - n| <= 1/2
    const auto n = static_cast<double>(ni);
    const double f = (t - n) * 0.6931471805599453;
    const double f2 = f * f, f4 = f2 * f2;
    const double p01 = 1.0 + f, p23 = 0.5 + f * (1.0 / 6), p45 = 1.0 / 24 + f * (1.0 / 120),
                 p67 = 1.0 / 720 + f * (1.0 / 5040);
    const double p = (p01 + f2 * p23) + f4 * (p45 + f2 * p67);
    const std::uint64_t bits = static_cast<std::uint64_t>(ni + 1023) << 52;
    double sc;
    std::memcpy(&sc, &bits, sizeof sc);
    return p * sc;
}

template <int NS, bool FMA>
KINEMYO_ONSET_INLINE double biquads(const double* co, double* z, double v) {
    for (int k = 0; k < NS; ++k) {
        const double* b = co + 5 * k;
        if constexpr (FMA) {
            // the y-independent parts first: two FMAs on the loop-carried chain z1 -> y -> z1
            const double y = std::fma(b[0], v, z[2 * k]);
            z[2 * k] = std::fma(-b[3], y, std::fma(b[1], v, z[2 * k + 1]));
            z[2 * k + 1] = std::fma(-b[4], y, b[2] * v);
            v = y;
        } else {
            const double y = b[0] * v + z[2 * k];
            z[2 * k] = (b[1] * v + z[2 * k + 1]) - b[3] * y;
            z[2 * k + 1] = b[2] * v - b[4] * y;
            v = y;
        }
    }
    return v;
}

/// One sample through the band-pass cascade; the first sample primes the delays to the steady
/// state of a constant input equal to it (zi per unit input), as at every (re)start.
template <int NS, bool FMA, class State>
KINEMYO_ONSET_INLINE double condition_sample(State& s, const double* zi, const double* co, double* z, double v) {
    if (!s.primed) {
        for (int q = 0; q < 2 * NS; ++q) z[q] = zi[q] * v;
        s.primed = true;
    }
    return biquads<NS, FMA>(co, z, v);
}

#if KINEMYO_ONSET_X86
// (not always_inline: they are called from run_cusum/window_energy, whose own target is the
// default; the AVX2 kernels run_cusum_fma/window_energy_fma are flattened, so they end up inlined
// there with their state in registers. cusum_general is noinline: it stays out of the kernels.)
#define KINEMYO_ONSET_WAVE inline __attribute__((target("avx2,fma")))
// The 4-section band-pass (the default order-4 Butterworth band) as a software pipeline across
// the sections: lane k of one AVX2 register is section k, working on sample j - 2k at step j (its
// input is lane k - 1's output of two steps before: the lane-crossing shuffle that hands it over
// then is not on a one-step loop-carried chain; the chain left is each section's own recurrence,
// two dependent FMAs). Every lane does exactly the scalar transposed-direct-form-II FMA sequence
// of biquads<4, true> (same operations, same rounding: bit for bit the same y), but one step
// costs a handful of vector instructions instead of 20 scalar ones, so the fused CUSUM runs next
// to the filter instead of queueing behind it. A block of n finite samples takes n + 6 steps:
// lanes are masked in the first and last six (the pipeline fills and drains), after which all
// sections are at the same sample again.
constexpr std::int64_t kWaveLag = 2;              // steps from one section to the next
constexpr std::int64_t kWaveDepth = 3 * kWaveLag;  // y[i] leaves the last section at step i + depth
template <class In>
struct Wave4 {
    __m256d b0, b1, b2, na1, na2, z0, z1, yp1, yp2;  // y of the last two steps
    std::int64_t j, n;
    std::size_t C;
    const In* xp;  // the next input sample (x[j C])
    double* yb;    // y[i] of the block, written at step i + kWaveDepth
};

/// x: the channel's first sample of the block (stride C).
template <class In>
KINEMYO_ONSET_WAVE void wave_init(Wave4<In>& w, const In* x, const double* co, const double* z, double* yb,
                                  std::size_t C, std::size_t n) {
    // (no lambda: it would not inherit the target of this function)
    w.b0 = _mm256_setr_pd(co[0], co[5], co[10], co[15]);
    w.b1 = _mm256_setr_pd(co[1], co[6], co[11], co[16]);
    w.b2 = _mm256_setr_pd(co[2], co[7], co[12], co[17]);
    w.na1 = _mm256_setr_pd(-co[3], -co[8], -co[13], -co[18]);
    w.na2 = _mm256_setr_pd(-co[4], -co[9], -co[14], -co[19]);
    w.z0 = _mm256_setr_pd(z[0], z[2], z[4], z[6]);
    w.z1 = _mm256_setr_pd(z[1], z[3], z[5], z[7]);
    w.yp1 = _mm256_setzero_pd();
    w.yp2 = _mm256_setzero_pd();
    w.j = 0;
    w.n = static_cast<std::int64_t>(n);
    w.C = C;
    w.xp = x;
    w.yb = yb;
}

/// A step while the pipeline fills or drains (j < depth or j >= n).
template <class In>
KINEMYO_ONSET_WAVE void wave_edge(Wave4<In>& w, std::int64_t j) {
    if (j >= w.n + kWaveDepth) return;
    // filling or draining: lane k is active iff 0 <= j - lag k < n
    __m256d xv = _mm256_setzero_pd();
    if (j < w.n) {
        xv = _mm256_set1_pd(static_cast<double>(*w.xp));
        w.xp += w.C;
    }
    const __m256d v = _mm256_blend_pd(_mm256_permute4x64_pd(w.yp2, 0x90), xv, 1);
    const __m256d y = _mm256_fmadd_pd(w.b0, v, w.z0);
    const __m256d z0n = _mm256_fmadd_pd(w.na1, y, _mm256_fmadd_pd(w.b1, v, w.z1));
    const __m256d z1n = _mm256_fmadd_pd(w.na2, y, _mm256_mul_pd(w.b2, v));
    auto act = [&](std::int64_t k) -> long long {
        const std::int64_t i = j - kWaveLag * k;
        return i >= 0 && i < w.n ? -1 : 0;
    };
    const __m256d m = _mm256_castsi256_pd(_mm256_setr_epi64x(act(0), act(1), act(2), act(3)));
    w.z0 = _mm256_blendv_pd(w.z0, z0n, m);
    w.z1 = _mm256_blendv_pd(w.z1, z1n, m);
    w.yp2 = w.yp1;
    w.yp1 = y;
    if (j >= kWaveDepth) _mm_storeh_pd(w.yb + (j - kWaveDepth), _mm256_extractf128_pd(y, 1));
}

/// One pipeline step.
template <class In>
KINEMYO_ONSET_WAVE void wave_step(Wave4<In>& w) {
    const std::int64_t j = w.j++;
    if (static_cast<std::uint64_t>(j - kWaveDepth) < static_cast<std::uint64_t>(w.n - kWaveDepth)) {
        // full pipeline: depth <= j < n (n > depth)
        const __m256d xv = _mm256_set1_pd(static_cast<double>(*w.xp));
        w.xp += w.C;
        const __m256d v = _mm256_blend_pd(_mm256_permute4x64_pd(w.yp2, 0x90), xv, 1);
        const __m256d y = _mm256_fmadd_pd(w.b0, v, w.z0);
        w.z0 = _mm256_fmadd_pd(w.na1, y, _mm256_fmadd_pd(w.b1, v, w.z1));
        w.z1 = _mm256_fmadd_pd(w.na2, y, _mm256_mul_pd(w.b2, v));
        w.yp2 = w.yp1;
        w.yp1 = y;
        _mm_storeh_pd(w.yb + (j - kWaveDepth), _mm256_extractf128_pd(y, 1));
        return;
    }
    wave_edge(w, j);
}

/// The section delays after the block (all lanes at sample n).
template <class In>
KINEMYO_ONSET_WAVE void wave_store(const Wave4<In>& w, double* z) {
    alignas(32) double a[4], b[4];
    _mm256_store_pd(a, w.z0);
    _mm256_store_pd(b, w.z1);
    for (int k = 0; k < 4; ++k) {
        z[2 * k] = a[k];
        z[2 * k + 1] = b[k];
    }
}

/// True when the n samples x[i C] are all finite.
template <class In>
bool all_finite(const In* x, std::size_t n, std::size_t C) {
    using U = std::conditional_t<sizeof(In) == 8, std::uint64_t, std::uint32_t>;
    constexpr U em = sizeof(In) == 8 ? static_cast<U>(0x7ff0000000000000ULL) : static_cast<U>(0x7f800000U);
    U bad = 0;
    if (C == 1) {
        for (std::size_t i = 0; i < n; ++i) {
            U b;
            std::memcpy(&b, x + i, sizeof b);
            bad |= static_cast<U>(((b & em) == em) ? 1 : 0);
        }
    } else {
        for (std::size_t i = 0; i < n; ++i) {
            U b;
            std::memcpy(&b, x + i * C, sizeof b);
            bad |= static_cast<U>(((b & em) == em) ? 1 : 0);
        }
    }
    return bad == 0;
}
#endif


// Dispatch on the number of band-pass sections (0 = no preprocessing) to a kernel with the delays
// in registers.
template <class F>
void with_sections(int ns, F&& f) {
    switch (ns) {
        case 1: f(std::integral_constant<int, 1>{}); break;
        case 2: f(std::integral_constant<int, 2>{}); break;
        case 3: f(std::integral_constant<int, 3>{}); break;
        case 4: f(std::integral_constant<int, 4>{}); break;
        case 5: f(std::integral_constant<int, 5>{}); break;
        case 6: f(std::integral_constant<int, 6>{}); break;
        case 7: f(std::integral_constant<int, 7>{}); break;
        case 8: f(std::integral_constant<int, 8>{}); break;
        case 9: f(std::integral_constant<int, 9>{}); break;
        case 10: f(std::integral_constant<int, 10>{}); break;
        default: f(std::integral_constant<int, 0>{}); break;
    }
}
}  // namespace

// Band-pass one channel (stride n_channels) into y (contiguous, n values). Non-finite input gives
// NaN and leaves the delays untouched ("hold"); the delays start in the steady state of the first
// finite sample (no start transient for a constant offset).
template <class T>
template <int NS>
void OnsetDetector<T>::band_channel(std::size_t c, const T* x, std::size_t n, double* y) {
    Chan& s = ch_[c];
    const std::size_t C = p_.n_channels;
    if constexpr (NS == 0) {
        for (std::size_t i = 0; i < n; ++i) y[i] = static_cast<double>(x[i * C + c]);
    } else {
        double z[2 * NS];
        for (int k = 0; k < 2 * NS; ++k) z[k] = s.bz[static_cast<std::size_t>(k)];
        const double* co = sos_.data();
        for (std::size_t i = 0; i < n; ++i) {
            const double v = static_cast<double>(x[i * C + c]);
            if (!std::isfinite(v)) {
                y[i] = std::numeric_limits<double>::quiet_NaN();
                ++s.nonfinite;
                continue;
            }
            y[i] = condition_sample<NS, false>(s, zi_.data(), co, z, v);
        }
        for (int k = 0; k < 2 * NS; ++k) s.bz[static_cast<std::size_t>(k)] = z[k];
    }
}

template <class T>
void OnsetDetector<T>::bandpass_fresh(std::size_t c, const T* x, std::size_t n, double* y) {
    if (c >= p_.n_channels) throw std::invalid_argument("bandpass_fresh: channel out of range");
    Chan& s = ch_[c];
    s.bz.fill(0.0);
    s.primed = false;
    with_sections(nsec_, [&](auto ns) { band_channel<decltype(ns)::value>(c, x, n, y); });
}

template <class T>
void OnsetDetector<T>::condition(const T* x, std::size_t n) {
    const std::size_t C = p_.n_channels, N = n * C;
    xs_.resize(N);
    us_.resize(N);
    col_.resize(n);
    for (std::size_t c = 0; c < C; ++c) {
        with_sections(nsec_, [&](auto ns) { band_channel<decltype(ns)::value>(c, x, n, col_.data()); });
        for (std::size_t i = 0; i < n; ++i) xs_[i * C + c] = col_[i];
    }
    switch (p_.method) {
        case Method::hodges_bui:
            for (std::size_t i = 0; i < N; ++i) us_[i] = std::fabs(xs_[i]);
            lp_->process(us_.data(), us_.data(), n);
            break;
        case Method::tkeo:
            tk_->process(xs_.data(), us_.data(), n);
            for (std::size_t i = 0; i < N; ++i) us_[i] = std::fabs(us_[i]);
            lp_->process(us_.data(), us_.data(), n);
            break;
        default:
            for (std::size_t i = 0; i < N; ++i) us_[i] = xs_[i] * xs_[i];
    }
}

template <class T>
template <int NS>
void OnsetDetector<T>::energy_channel(std::size_t c, const T* x, std::size_t n, double* stat, double* energy) {
    const std::size_t C = p_.n_channels;
    col_.resize(n);
    band_channel<NS>(c, x, n, col_.data());
    for (std::size_t i = 0; i < n; ++i) {
        const double e = col_[i] * col_[i];
        stat[i * C + c] = e;
        energy[i * C + c] = e;
    }
}

// Per-window sums of the CUSUM statistic (the conditioned energy) of one channel, for the
// automatic baseline: windows of W samples, [w W, (w + 1) W) for w < nw; the windows from nw on
// (a partial one at the end) are conditioned but not summed. Also the sum of squares of the
// finite raw samples, and, when y is given, the conditioned signal itself (y[i C + c], NaN for a
// non-finite sample), so that the detection pass need not filter again. Fused with the
// conditioning. WV: the 4-section band-pass as the Wave4 pipeline (a block of finite samples only).
template <class T>
template <int NS, bool FMA, bool WV>
KINEMYO_ONSET_INLINE void OnsetDetector<T>::window_energy(std::size_t c, const T* x, std::size_t n, std::size_t W,
                                                          std::size_t w0, std::size_t w1, std::size_t nw,
                                                          double* wsum, double* wsq, double* wcnt, double* raw,
                                                          double* nraw, double* ycache) {
    Chan& s = ch_[c];
    const std::size_t C = p_.n_channels;
    double z[2 * NS + 1];
    for (int k = 0; k < 2 * NS; ++k) z[k] = s.bz[static_cast<std::size_t>(k)];
    const double* co = sos_.data();
    double rr = raw[c], rn = nraw[c];
#if KINEMYO_ONSET_X86
    static_assert(!WV || (NS == 4 && FMA), "the pipelined band-pass is the 4-section FMA kernel");
    Wave4<T> wv;
    const std::size_t ib = w0 * W;
    const T* xc = x + ib * C + c;
    double* yb = nullptr;
    // one channel: the pipeline writes the conditioned signal straight into the cache
    const bool direct = WV && ycache != nullptr && C == 1;
    if constexpr (WV) {
        const std::size_t m = std::min(n, w1 * W) - ib;
        if (!s.primed) {  // the steady state of the first sample (finite: the block is)
            const double v0 = static_cast<double>(xc[0]);
            for (int q = 0; q < 2 * NS; ++q) z[q] = zi_[static_cast<std::size_t>(q)] * v0;
            s.primed = true;
        }
        if (direct) {
            yb = ycache + ib;
        } else {
            col_.resize(m);
            yb = col_.data();
        }
        wave_init(wv, xc, co, z, yb, C, m);
        for (std::int64_t q = 0; q < kWaveDepth + 8; ++q) wave_step(wv);  // fill, and 8 samples of lead
    }
#else
    static_assert(!WV, "no pipelined band-pass on this architecture");
    const bool direct = false;
#endif
    // one channel into the cache, no sums of squares (detect's automatic baseline): the same
    // sums without the per-sample tests and strides of the general loop below
    const bool lean = direct && wsq == nullptr;
    for (std::size_t w = w0; w < w1 && lean; ++w) {
#if KINEMYO_ONSET_X86
        double a = 0, cnt = 0;
        const std::size_t iend = std::min(n, (w + 1) * W);
        for (std::size_t i = w * W; i < iend; ++i) {
            wave_step(wv);
            const double v = static_cast<double>(x[i]);
            rr += v * v;
            rn += 1;
            const double y = yb[i - ib];
            const double e = y * y;
            if (!std::isfinite(e)) continue;
            a += e;
            cnt += 1;
        }
        if (w < nw) {
            wsum[w] = a;
            wcnt[w] = cnt;
        }
#endif
    }
    for (std::size_t w = w0; w < w1 && !lean; ++w) {
        double a = 0, a2 = 0, cnt = 0;
        const std::size_t iend = std::min(n, (w + 1) * W);
        for (std::size_t i = w * W; i < iend; ++i) {
            const double v = static_cast<double>(x[i * C + c]);
            double y = v;
            if constexpr (WV) {
#if KINEMYO_ONSET_X86
                wave_step(wv);
                y = yb[i - ib];
#endif
            } else if (!std::isfinite(v)) {
                if (ycache) ycache[i * C + c] = std::numeric_limits<double>::quiet_NaN();
                continue;
            }
            rr += v * v;
            rn += 1;
            if constexpr (NS > 0 && !WV) {
                y = condition_sample<NS, FMA>(s, zi_.data(), co, z, v);
            }
            if (ycache && !direct) ycache[i * C + c] = y;
            const double e = y * y;
            if (!std::isfinite(e)) continue;
            a += e;
            if (wsq) a2 += e * e;
            cnt += 1;
        }
        if (w < nw) {
            wsum[w * C + c] = a;
            if (wsq) wsq[w * C + c] = a2;
            wcnt[w * C + c] = cnt;
        }
    }
    raw[c] = rr;
    nraw[c] = rn;
#if KINEMYO_ONSET_X86
    if constexpr (WV) {
        while (wv.j < wv.n + kWaveDepth) wave_step(wv);
        wave_store(wv, z);
    }
#endif
    for (int q = 0; q < 2 * NS; ++q) s.bz[static_cast<std::size_t>(q)] = z[q];
}

template <class T>
template <int NS>
#if KINEMYO_ONSET_X86
__attribute__((target("avx2,fma"), flatten))
#endif
void OnsetDetector<T>::window_energy_fma(std::size_t c, const T* x, std::size_t n, std::size_t W, std::size_t w0,
                                         std::size_t w1, std::size_t nw, double* wsum, double* wsq, double* wcnt,
                                         double* raw, double* nraw, double* ycache) {
#if KINEMYO_ONSET_X86
    if constexpr (NS == 4) {
        // the pipelined band-pass for blocks of finite samples (bit for bit the same y)
        const std::size_t i0 = w0 * W, m = std::min(n, w1 * W) - i0;
        if (m >= 16 && all_finite(x + i0 * p_.n_channels + c, m, p_.n_channels)) {
            window_energy<NS, true, true>(c, x, n, W, w0, w1, nw, wsum, wsq, wcnt, raw, nraw, ycache);
            return;
        }
    }
    window_energy<NS, true, false>(c, x, n, W, w0, w1, nw, wsum, wsq, wcnt, raw, nraw, ycache);
#else
    window_energy<NS, false, false>(c, x, n, W, w0, w1, nw, wsum, wsq, wcnt, raw, nraw, ycache);
#endif
}

template <class T>
void OnsetDetector<T>::window_stats(const T* x, std::size_t n, std::size_t W, std::size_t nw, double* wsum,
                                    double* wsq, double* wcnt, double* raw, double* nraw, double* ycache) {
    // blocks of windows, all channels per block (the block stays in cache)
    const std::size_t kW = std::max<std::size_t>(1, 2048 / W);
    const std::size_t nall = (n + W - 1) / W;
    for (std::size_t w0 = 0; w0 < nall; w0 += kW) {
        const std::size_t w1 = std::min(nall, w0 + kW);
        for (std::size_t c = 0; c < p_.n_channels; ++c)
            with_sections(nsec_, [&](auto ns) {
                constexpr int NS = decltype(ns)::value;
                if (cpu_has_fma()) window_energy_fma<NS>(c, x, n, W, w0, w1, nw, wsum, wsq, wcnt, raw, nraw, ycache);
                else window_energy<NS, false, false>(c, x, n, W, w0, w1, nw, wsum, wsq, wcnt, raw, nraw, ycache);
            });
    }
}

template <class T>
void OnsetDetector<T>::statistic(const T* x, std::size_t n, double* stat, double* energy) {
    const std::size_t C = p_.n_channels;
    if (p_.method == Method::cusum) {
        for (std::size_t c = 0; c < C; ++c)
            with_sections(nsec_, [&](auto ns) { energy_channel<decltype(ns)::value>(c, x, n, stat, energy); });
    } else {
        condition(x, n);
        const std::size_t N = n * C;
        for (std::size_t i = 0; i < N; ++i) {
            stat[i] = us_[i];
            energy[i] = xs_[i] * xs_[i];
        }
    }
    t_ += static_cast<std::int64_t>(n);
}

template <class T>
void OnsetDetector<T>::rest_add(Chan& s, std::int64_t t, double u, double e) {
    const auto k = static_cast<std::size_t>((t - p_.rest_begin) / rwin_len_);
    if (k >= n_rwin_ || s.rwin.size() < kRestFields * n_rwin_) return;
    double* w = s.rwin.data() + kRestFields * k;
    w[0] += 1;
    w[1] += u;
    w[2] += u * u;
    w[3] += e;
}

// Baseline from the rest window, robust to a short artefact inside it (a movement pop, a cough, a
// cable tap: tens of times the noise energy for tens of ms would otherwise inflate sigma0^2 several
// times, and every later onset would be found late or missed): the rest window's 10 ms sub-windows
// whose mean conditioned energy exceeds kRestOutlier times the median sub-window's are left out,
// with the contiguous windows around each still above kRestTail times the median (its decay).
// For Gaussian noise the mean energy of a 10 ms window is a scaled chi-square with about 2 x
// bandwidth x 10 ms dof (8 for 20-450 Hz at 2 kHz): it exceeds 10 x its median with probability
// ~1e-8, and ~1e-3 even at 2 dof (a narrow-band noise), removing < 1 % of the energy there, so a
// clean rest gives the same baseline to that precision (sub-windows have at least 16 samples, so at
// low sampling rates too). Nothing is left out when the median sub-window is at the silence floor
// (a rest mostly of exact zeros) or when more than half of the rest's samples would go (then it is
// not an artefact inside a rest). The floor for a numerically silent rest uses all of it.
// acc[k] += sum_{i0 <= i < m} y[i] y[i - k], k = 0..K (i0 >= K); the inner loop over the lags
// carries no dependency (it vectorises without reassociating a sum)
namespace {
void lag_products(const double* y, std::size_t i0, std::size_t m, std::size_t K, double* acc) {
    for (std::size_t i = i0; i < m; ++i) {
        const double yi = y[i];
        const double* yb = y + i - K;  // yb[K - k] = y[i - k]
        for (std::size_t k = 0; k <= K; ++k) acc[k] += yi * yb[K - k];
    }
}
}  // namespace

template <class T>
double OnsetDetector<T>::long_run_variance(const double* r, std::size_t K) {
    double sq = 0;
    for (std::size_t k = 1; k <= K; ++k) {
        const double q = r[k] / r[0];
        sq += q * q;
    }
    return 2.0 * (1.0 + 2.0 * sq);
}

// Default onset alarm level for a rest noise whose x^2/sigma0^2 has long-run variance lrv (see the
// constructor): kAlarmMargin x lrv, never below the fixed default h_ (unknown lrv: h_).
template <class T>
double OnsetDetector<T>::adapt_alarm(double lrv) const {
    return std::isfinite(lrv) && lrv > 0 ? std::max(h_, kAlarmMargin * lrv) : h_;
}

// Rest-level tracking, at the end of a 2 ms bin (sample t its last) in the quiet state with the
// baseline known, once at least kTrackBatch bins are due (track_due): the bins entirely before
// tau (the CUSUM's last zero: no activation can have started before it) are rest for certain.
// Each is clipped at kTrackClip; the batch moves sigma0^2 by an exact exponential average (time
// constant track_rest; e is in units of the sigma0^2 of its time). Bins that left the ring unused
// are skipped, and so are the bins of a drop-out (non-finite samples: cusum_general moves trk_s
// past them). After an activation (trk_s = -1, set at each alarm) it restarts at the first
// whole bin after tau.
template <class T>
double OnsetDetector<T>::track(Chan& s, std::int64_t t, std::int64_t tau, double inv) const {
    const std::int64_t B = bin_;
    const auto NB = static_cast<std::int64_t>(s.bins.size());
    if (tau < 0 || NB < 2) return inv;
    if (s.trk_s < 0) {
        const std::int64_t g = (tau + B - 1) / B;
        s.trk_s = g * B;
        s.trk_slot = static_cast<std::size_t>(g % NB);
        return inv;
    }
    const std::int64_t lim = std::min(tau, t + 1);
    if (s.trk_s + B > lim) return inv;
    std::int64_t nb = (lim - s.trk_s) / B;  // whole bins before tau
    // bins that left the ring unused are skipped
    const std::int64_t oldest = t + 1 - (NB - 1) * B;
    std::int64_t skip = s.trk_s < oldest ? (oldest - s.trk_s + B - 1) / B : 0;
    skip = std::min(skip, nb);
    std::size_t slot = static_cast<std::size_t>((static_cast<std::int64_t>(s.trk_slot) + skip) % NB);
    const std::int64_t take = nb - skip;
    // the batch's sum of (clipped) bins, four partial sums (a fixed order: deterministic)
    double a[4] = {0, 0, 0, 0};
    std::int64_t j = 0, cnt = 0;
    while (j < take) {
        const std::int64_t run = std::min<std::int64_t>(take - j, NB - static_cast<std::int64_t>(slot));
        const double* b = s.bins.data() + slot;
        for (std::int64_t q = 0; q < run; ++q) {
            const double le = b[q];
            const bool ok = le >= 0;  // NaN: not counted
            a[q & 3] += ok ? std::min(le, kTrackClip) : 0.0;
            cnt += ok ? 1 : 0;
        }
        j += run;
        slot = (slot + static_cast<std::size_t>(run)) % static_cast<std::size_t>(NB);
    }
    const double sum = (a[0] + a[1]) + (a[2] + a[3]);
    // the exact exponential average over the batch, sigma0^2 <- (1 - w) sigma0^2 + w m sigma0^2
    // (m: the batch mean in units of sigma0^2; w = 1 - (1 - a)^cnt): positive whatever the batch.
    // A batch far below the level (m < kTrackFloor: a silent stretch, lead-off, zero padding;
    // 128 bins of noise average 1 +- 0.1) is not taken: the level would collapse and the noise,
    // when it comes back, would look like an activation that never ends.
    if (cnt > 0) {
        const double m = sum / static_cast<double>(cnt);
        if (m >= kTrackFloor) {
            const double w = -std::expm1(static_cast<double>(cnt) * std::log1p(-trk_alpha_));
            inv /= 1.0 + w * (m - 1.0);
        }
    }
    s.trk_s += nb * B;
    s.trk_slot = slot;
    return inv;
}

// The first tau at which the tracking takes its next batch (every quiet bin end at which
// tau >= this calls track: the same rule in the fused loop and the general path)
template <class T>
std::int64_t OnsetDetector<T>::track_due(const Chan& s) const {
    if (trk_alpha_ == 0) return std::numeric_limits<std::int64_t>::max();
    return s.trk_s < 0 ? std::numeric_limits<std::int64_t>::min() : s.trk_s + kTrackBatch * bin_;
}

// Lag products of the rest block just completed (ybuf: the previous block's last n_lags_ samples,
// then this block's) into its rlag row; the last n_lags_ samples move to the front.
template <class T>
void OnsetDetector<T>::lag_flush(Chan& s, std::size_t block) {
    const auto K = static_cast<std::size_t>(n_lags_);
    const auto m = static_cast<std::size_t>(s.ybuf_n);
    if (block >= n_lagblk_ || s.rlag.size() < (block + 1) * (K + 1) || m > s.ybuf.size() || m < K) return;
    const double* y = s.ybuf.data();
    double* r = s.rlag.data() + block * (K + 1);
    double acc[kMaxLags + 1] = {};
    lag_products(y, K, m, K, acc);
    for (std::size_t k = 0; k <= K; ++k) r[k] += acc[k];
    std::copy(s.ybuf.begin() + static_cast<std::ptrdiff_t>(m - K), s.ybuf.begin() + static_cast<std::ptrdiff_t>(m),
              s.ybuf.begin());
    s.ybuf_n = n_lags_;
}

template <class T>
void OnsetDetector<T>::finalize_rest(std::size_t c) {
    Chan& s = ch_[c];
    double rn = s.rn, rs = s.rs, rss = s.rss, re = s.re;
    std::vector<char> left_out;  // rest sub-windows left out as artefacts (empty: none)
    if (p_.robust_rest && s.rwin.size() >= kRestFields * n_rwin_ && n_rwin_ > 0) {
        std::vector<double> wm;
        wm.reserve(n_rwin_);
        for (std::size_t k = 0; k < n_rwin_; ++k) {
            const double* w = s.rwin.data() + kRestFields * k;
            if (w[0] > 0) wm.push_back(w[3] / w[0]);
        }
        const double floor_e = kRelFloor * s.rraw / std::max(s.rn, 1.0);
        const auto mid = wm.begin() + static_cast<std::ptrdiff_t>(wm.size() / 2);
        if (!wm.empty()) std::nth_element(wm.begin(), mid, wm.end());
        // a median at the silence floor (a rest mostly of exact zeros, padding): no exclusion
        if (!wm.empty() && *mid > floor_e) {
            const double lim = kRestOutlier * *mid, tail = kRestTail * *mid;
            auto mean_e = [&](std::size_t k) {
                const double* w = s.rwin.data() + kRestFields * k;
                return w[0] > 0 ? w[3] / w[0] : 0.0;
            };
            // an artefact window and the windows around it still above kRestTail x the median
            // (its decay, the band-pass ringing after a step) are left out
            std::vector<char> out(n_rwin_, 0);
            for (std::size_t k = 0; k < n_rwin_; ++k) {
                if (!(mean_e(k) > lim) || out[k]) continue;
                out[k] = 1;
                for (std::size_t j = k; j > 0 && !out[j - 1] && !(mean_e(j - 1) <= tail); --j) out[j - 1] = 1;
                for (std::size_t j = k + 1; j < n_rwin_ && !(mean_e(j) <= tail); ++j) out[j] = 1;
            }
            double kn = 0, ks = 0, kss = 0, ke = 0;
            for (std::size_t k = 0; k < n_rwin_; ++k) {
                const double* w = s.rwin.data() + kRestFields * k;
                if (!(w[0] > 0) || out[k]) continue;
                kn += w[0];
                ks += w[1];
                kss += w[2];
                ke += w[3];
            }
            // more than half of the rest left out: not "an artefact inside a rest", keep it all
            if (kn >= 0.5 * s.rn) {
                rn = kn;
                rs = ks;
                rss = kss;
                re = ke;
                left_out.swap(out);
            }
        }
    }
    const double nn = std::max(rn, 1.0);
    const double m = rs / nn;
    bmean_[c] = m;
    bsd_[c] = std::max(std::sqrt(std::max(rss / nn - m * m, 0.0)), 1e-12 * std::max(1.0, std::fabs(m)));
    // numerically silent rest (e.g. a constant signal after the band-pass): floor
    benergy_[c] = std::max({re / nn, kRelFloor * s.rraw / std::max(s.rn, 1.0), kTiny});
    binv_[c] = 1.0 / benergy_[c];
    // default alarm level from the long-run variance of the kept rest (Gaussian: from its
    // autocorrelation, far less scattered than the variance of x^2 measured directly)
    hch_[c] = h_;
    const auto K = static_cast<std::size_t>(n_lags_);
    if (n_lags_ > 0 && n_lagblk_ > 0 && s.rlag.size() == n_lagblk_ * (K + 1)) {
        // a block with a sub-window left out is left out, and so are the blocks whose first K
        // samples' products reach back into it (lag products are credited to the later sample)
        std::vector<char> drop(n_lagblk_, 0);
        if (!left_out.empty() && n_lagblk_ > 1) {
            const std::size_t blen = lag_grp_ * static_cast<std::size_t>(rwin_len_);
            const std::size_t reach = (K + blen - 1) / blen;
            for (std::size_t w = 0; w < left_out.size(); ++w) {
                if (!left_out[w]) continue;
                const std::size_t b = w / lag_grp_;
                for (std::size_t q = b; q <= b + reach && q < n_lagblk_; ++q) drop[q] = 1;
            }
        }
        std::vector<double> r(K + 1, 0.0);
        for (std::size_t b = 0; b < n_lagblk_; ++b) {
            if (drop[b]) continue;
            for (std::size_t k = 0; k <= K; ++k) r[k] += s.rlag[b * (K + 1) + k];
        }
        if (r[0] > 0 && std::isfinite(r[0])) hch_[c] = adapt_alarm(long_run_variance(r.data(), K));
    }
    s.based = true;
    drop_rest_buffers(s);
}

// The CUSUM detector on one channel, fused with its conditioning: one pass, delays in registers,
// the inactive state (almost all samples) handled inline. WV: with NS = 4, the band-pass runs as
// the Wave4 pipeline ahead of the CUSUM (a block of finite samples only; y through col_); with
// NS = 0 (conditioned input, one channel, baseline known), the energies y^2 of the block were
// computed beforehand into col_ (precompute_z: vectorised, all finite; times inv in the loop).
template <class T>
template <int NS, bool FMA, bool WV, class In>
KINEMYO_ONSET_INLINE void OnsetDetector<T>::run_cusum(std::size_t c, const In* x, std::size_t n, std::vector<Event>& out) {
    Chan& s = ch_[c];
    const std::size_t C = p_.n_channels;
    double z[2 * NS + 1];
    for (int k = 0; k < 2 * NS; ++k) z[k] = s.bz[static_cast<std::size_t>(k)];
    const double* co = sos_.data();
    constexpr bool PZ = WV && NS == 0;  // precomputed z
    const double* zb = col_.data();
#if KINEMYO_ONSET_X86
    static_assert(!WV || NS == 0 || (NS == 4 && FMA), "the pipelined band-pass is the 4-section FMA kernel");
    Wave4<In> wv;
    const In* xc = x + c;
    double* yb = nullptr;
    if constexpr (WV && NS > 0) {
        if (!s.primed) {  // the steady state of the first sample (finite: the block is)
            const double v0 = static_cast<double>(xc[0]);
            for (int q = 0; q < 2 * NS; ++q) z[q] = zi_[static_cast<std::size_t>(q)] * v0;
            s.primed = true;
        }
        col_.resize(n);
        yb = col_.data();
        wave_init(wv, xc, co, z, yb, C, n);
        for (std::int64_t q = 0; q < kWaveDepth + 8; ++q) wave_step(wv);  // fill, and 8 samples of lead
    }
#else
    static_assert(!WV || NS == 0, "no pipelined band-pass on this architecture");
#endif
    const auto NB = static_cast<std::int64_t>(s.bins.size());
    std::int64_t t = t_;
    std::int64_t ph = s.bin_phase;  // == t % bin_, kept in the state (no division per call)
    std::size_t slot = s.bin_slot;  // == (t / bin_) % NB
    double* bins = s.bins.data();
    double inv = binv_[c];
    const double k = k_, hoff = h_off_;
    double h = hch_[c];  // set when the rest window ends (in cusum_general): reloaded after it
    std::int64_t due = track_due(s);  // rest-level tracking: next batch at tau >= due
    bool trk_hit = false;
    // the hot state in registers (written back around the rare calls that use it)
    double S = s.S, D = s.D, bacc = s.bin_acc;
    std::int64_t bn = s.bin_n, tau = s.tau, tau_off = s.tau_off;
    const std::int64_t blast = bin_ - 1;  // in a register (stores to the state could alias bin_)
    // The state of the tight loop: 1 = quiet (the onset CUSUM), 2 = the offset CUSUM alone (an
    // announced activation, or an alarm waiting for its refinement delay), 0 = the general path.
    // lim: the first sample at which the general path has work again whatever the data (the end
    // of the refinement delay, an event's close after min_gap, an announcement after min_active,
    // the artefact check at the end of its window); the tight loop stops before it.
    constexpr std::int64_t kNoLim = std::numeric_limits<std::int64_t>::max();
    std::int64_t lim = kNoLim;
    auto mode_of = [&]() {
        lim = kNoLim;
        if (!s.based || tau < 0) return 0;
        int m;
        if (s.alarm >= 0) {
            if (s.active) return 0;
            m = 2;
            lim = s.alarm + n_refine_delay_;
        } else if (!s.active) {
            if (s.ev_open && s.announced && !s.close_pending) return 0;  // (not reached)
            m = 1;
        } else {
            if (!(s.ev_open && s.announced && !s.close_pending)) return 0;
            m = 2;
        }
        if (s.ev_open) {
            if (s.close_pending) lim = std::min(lim, s.ev_off + n_min_gap_ - 1);
            else if (!s.announced) lim = std::min(lim, s.ev_on + n_min_active_ - 1);
            if (!s.verified) lim = std::min(lim, s.verify_at);  // the artefact check
        }
        return lim > t ? m : 0;
    };
    int mode = mode_of();
    for (std::size_t i = 0; i < n;) {
        double v = 0, e = 0, yv = 0;
        bool vfin = true, fin = true, bin_end = false, have = false;
        if (mode != 0) {
            // the two common states, with their whole step in a tight loop without calls (the
            // filter delays and the hot state stay in registers): quiet (mode 1) and an announced
            // activation without a pending offset (mode 2). Leaves for the general path at a
            // non-finite sample (before filtering it), or with the sample's energy already
            // computed (have) at an overflowing square or an offset alarm.
            // y of sample i (breaks out at a non-finite input sample, before filtering it)
#if KINEMYO_ONSET_X86
#define KINEMYO_CUSUM_Y                                                     \
    if constexpr (WV && NS > 0) {                                           \
        wave_step(wv);                                                  \
        y = yb[i];                                                          \
    } else {                                                                \
        v = static_cast<double>(x[i * C + c]);                              \
        if constexpr (NS > 0) {                                             \
            if (!std::isfinite(v)) break;                                   \
            y = condition_sample<NS, FMA>(s, zi_.data(), co, z, v);         \
        } else {                                                            \
            y = v; /* non-finite: e is too (the general path, fin false) */ \
        }                                                                   \
    }
#else
#define KINEMYO_CUSUM_Y                                                     \
    v = static_cast<double>(x[i * C + c]);                                  \
    if constexpr (NS > 0) {                                                 \
        if (!std::isfinite(v)) break;                                       \
        y = condition_sample<NS, FMA>(s, zi_.data(), co, z, v);             \
    } else {                                                                \
        y = v;                                                              \
    }
#endif
            // a square that overflows: the general path takes the whole sample
#define KINEMYO_CUSUM_LEAVE(FIN)      \
    {                                 \
        fin = FIN;                    \
        have = true;                  \
        bin_end = ph == blast;        \
        ph = bin_end ? 0 : ph + 1;    \
        break;                        \
    }
            // the 2 ms bins (ph == t % bin_; a period-bin_ branch pattern)
#define KINEMYO_CUSUM_BIN                                                                 \
    bacc += zz;                                                                           \
    ++bn;                                                                                 \
    if (ph == blast) {                                                                    \
        ph = 0;                                                                           \
        const double le = bacc / static_cast<double>(bn);                                 \
        bins[slot] = le;                                                                  \
        slot = slot + 1 == static_cast<std::size_t>(NB) ? 0 : slot + 1;                   \
        s.last_le = le;                                                                   \
        bacc = 0;                                                                         \
        bn = 0;                                                                           \
    } else {                                                                              \
        ++ph;                                                                             \
    }
            const std::size_t nl =
                lim == kNoLim ? n : std::min<std::size_t>(n, i + static_cast<std::size_t>(lim - t));
            if (mode == 1) {
                for (; i < nl; ++i, ++t) {
                    double zz;
                    if constexpr (PZ) {
                        zz = zb[i] * inv;
                    } else {
                        double y;
                        KINEMYO_CUSUM_Y
                        e = y * y;
                        if (!std::isfinite(e)) KINEMYO_CUSUM_LEAVE(false)
                        zz = e * inv;
                    }
                    KINEMYO_CUSUM_BIN
                    S = pos_part(S + (zz - k));
                    tau = is_zero(S) ? t + 1 : tau;  // a select (cmov), no branch
                    if (S > h) {
                        s.trk_s = -1;
                        s.alarm = t;
                        s.alarm_tau = tau;
                        D = 0;
                        tau_off = t + 1;
                        mode = 0;
                        ++i;
                        ++t;
                        break;
                    }
                    if (ph == 0 && tau >= due) {  // a bin ended and a tracking batch is due:
                        trk_hit = true;           // outside this call-free loop
                        ++i;
                        ++t;
                        break;
                    }
                }
            } else {
                for (; i < nl; ++i, ++t) {
                    double zz;
                    if constexpr (PZ) {
                        zz = zb[i] * inv;
                    } else {
                        double y;
                        KINEMYO_CUSUM_Y
                        e = y * y;
                        if (!std::isfinite(e)) KINEMYO_CUSUM_LEAVE(false)
                        zz = e * inv;
                    }
                    const double Dn = pos_part(D + (k - zz));  // D in a register: no store on the chain
                    if (Dn > hoff) {                          // offset alarm
                        if constexpr (PZ) {
                            const double y = static_cast<double>(x[i * C + c]);
                            e = y * y;
                        }
                        KINEMYO_CUSUM_LEAVE(true)
                    }
                    D = Dn;
                    tau_off = is_zero(D) ? t + 1 : tau_off;
                    KINEMYO_CUSUM_BIN
                }
            }
#undef KINEMYO_CUSUM_Y
#undef KINEMYO_CUSUM_LEAVE
#undef KINEMYO_CUSUM_BIN
            if (trk_hit) {  // rest-level tracking after sample t - 1 (a quiet bin end, no alarm)
                trk_hit = false;
                inv = track(s, t - 1, tau, inv);
                due = track_due(s);
                if (i >= n) break;
                continue;
            }
            if (i >= n) break;
            if (!have && mode == 0) continue;  // after an alarm: the next samples take the general path
        }
        if (!have) {
            v = static_cast<double>(x[i * C + c]);
            vfin = std::isfinite(v);
            double y;
            if constexpr (WV && NS > 0) {
#if KINEMYO_ONSET_X86
                wave_step(wv);
                y = yb[i];
#endif
            } else if constexpr (NS == 0) {
                y = v;
            } else {
                if (!vfin) {
                    y = std::numeric_limits<double>::quiet_NaN();
                    ++s.nonfinite;
                } else {
                    y = condition_sample<NS, FMA>(s, zi_.data(), co, z, v);
                }
            }
            e = y * y;
            yv = y;
            fin = std::isfinite(e);  // NaN input, or a square that overflows
            bin_end = ph == blast;
            ph = bin_end ? 0 : ph + 1;
        }
        if constexpr (WV && NS > 0) v = static_cast<double>(x[i * C + c]);  // raw (rest learning)
        // the general path, out of line (it runs on the state; the hot locals go through it)
        s.S = S;
        s.D = D;
        s.tau = tau;
        s.bin_acc = bacc;
        s.bin_n = bn;
        s.bin_slot = slot;
        s.tau_off = tau_off;
        binv_[c] = inv;
        cusum_general(c, t, v, yv, e, vfin, fin, bin_end, out);
        S = s.S;
        D = s.D;
        tau = s.tau;
        bacc = s.bin_acc;
        bn = s.bin_n;
        slot = s.bin_slot;
        tau_off = s.tau_off;
        inv = binv_[c];
        h = hch_[c];
        due = track_due(s);
        mode = mode_of();
        ++i;
        ++t;
    }
    s.S = S;
    s.D = D;
    s.tau = tau;
    s.tau_off = tau_off;
    s.bin_acc = bacc;
    s.bin_n = bn;
    s.bin_phase = ph;
    s.bin_slot = slot;
    binv_[c] = inv;
#if KINEMYO_ONSET_X86
    if constexpr (WV && NS > 0) {
        while (wv.j < wv.n + kWaveDepth) wave_step(wv);
        wave_store(wv, z);
    }
#endif
    (void)zb;
    for (int q = 0; q < 2 * NS; ++q) s.bz[static_cast<std::size_t>(q)] = z[q];
}

// One sample of the CUSUM detector in the states the fused loop does not handle inline (rest
// learning, pending onset, offset alarm, pending close, non-finite samples). Works on the state
// (the loop writes its locals back before and reloads them after).
template <class T>
#if defined(__GNUC__) || defined(__clang__)
__attribute__((noinline))
#endif
void OnsetDetector<T>::cusum_general(std::size_t c, std::int64_t t, double v, double y, double e, bool vfin,
                                     bool fin, bool bin_end, std::vector<Event>& out) {
    Chan& s = ch_[c];
    const auto NB = s.bins.size();
    const bool learn = !given_base_ && p_.rest_end > 0;
    if (!s.based) {
        if (learn && t >= p_.rest_begin && t < p_.rest_end && fin && vfin) {
            s.rraw += v * v;
            s.rn += 1;
            s.rs += e;
            s.rss += e * e;
            s.re += e;
            rest_add(s, t, e, e);
        }
        if (learn && t >= p_.rest_begin && t < p_.rest_end && !s.ybuf.empty() &&
            s.ybuf_n < static_cast<std::int64_t>(s.ybuf.size())) {
            s.ybuf[static_cast<std::size_t>(s.ybuf_n++)] = fin && vfin ? y : 0.0;
            const std::int64_t j = t - p_.rest_begin;
            if ((j + 1) % rwin_len_ == 0 || t == p_.rest_end - 1 || s.ybuf_n == static_cast<std::int64_t>(s.ybuf.size()))
                lag_flush(s, n_lagblk_ > 1 ? static_cast<std::size_t>(j / rwin_len_) / lag_grp_ : 0);
        }
        if (learn && t == p_.rest_end - 1) finalize_rest(c);
        if (bin_end) s.bin_slot = s.bin_slot + 1 == NB ? 0 : s.bin_slot + 1;
        return;
    }
    const double zz = e * binv_[c];
    if (fin) {
        s.bin_acc += zz;
        ++s.bin_n;
    } else if (trk_alpha_ > 0 && s.trk_s >= 0 && !s.bins.empty()) {
        // a drop-out: its bins repeat the last value (last_le), not rest evidence; the tracking
        // resumes at the next whole bin (every non-finite sample comes through here)
        const std::int64_t g = t / bin_ + 1;
        s.trk_s = g * bin_;
        s.trk_slot = static_cast<std::size_t>(g % static_cast<std::int64_t>(s.bins.size()));
    }
    if (bin_end) {
        // 2 ms mean-energy bins (units of sigma0^2) for the onset refinement
        const double le = s.bin_n > 0 ? s.bin_acc / static_cast<double>(s.bin_n) : s.last_le;
        s.bins[s.bin_slot] = le;
        s.bin_slot = s.bin_slot + 1 == NB ? 0 : s.bin_slot + 1;
        s.last_le = le;
        s.bin_acc = 0;
        s.bin_n = 0;
    }
    if (fin) {
        if (!s.active && s.alarm < 0) {
            s.S = pos_part(s.S + (zz - k_));
            s.tau = s.S == 0.0 ? t + 1 : s.tau;
            if (s.tau < 0) s.tau = t;
            if (s.S > hch_[c]) {
                s.trk_s = -1;
                s.alarm = t;
                s.alarm_tau = s.tau;
                s.D = 0;
                s.tau_off = t + 1;
            } else if (bin_end && s.tau >= track_due(s)) {  // (after the alarm check, as in the fused loop)
                binv_[c] = track(s, t, s.tau, binv_[c]);
            }
        } else {
            cusum_active(c, t, zz, out);
        }
    }
    if (s.ev_open && (s.close_pending || !s.announced)) tick(c, t, out);
}

template <class T>
template <int NS, class In>
#if KINEMYO_ONSET_X86
__attribute__((target("avx2,fma"), flatten))
#endif
void OnsetDetector<T>::run_cusum_fma(const In* x, std::size_t n, std::vector<Event>& out) {
    // all channels in this one function (the per-channel kernel inlined): one call per block
    for (std::size_t c = 0; c < p_.n_channels; ++c) {
#if KINEMYO_ONSET_X86
        if constexpr (NS == 0) {
            // conditioned input: the normalised energies of the block first (vectorised)
            if (p_.n_channels == 1 && n >= 16 && precompute_z(x, n, binv_[c], ch_[c].based)) {
                run_cusum<NS, true, true, In>(c, x, n, out);
                continue;
            }
        }
        if constexpr (NS == 4) {
            // the pipelined band-pass for blocks of finite samples (bit for bit the same y)
            if (n >= 16 && all_finite(x + c, n, p_.n_channels)) {
                run_cusum<NS, true, true, In>(c, x, n, out);
                continue;
            }
        }
        run_cusum<NS, true, false, In>(c, x, n, out);
#else
        run_cusum<NS, false, false, In>(c, x, n, out);
#endif
    }
}

// z = (y y) / sigma0^2 (as y * y, then * inv: the same two roundings as the CUSUM kernel) of one
// channel's block into col_; false (col_ not to be used) when the baseline is not known yet or a
// square is not finite (the general path handles those).
template <class T>
template <class In>
#if KINEMYO_ONSET_X86
__attribute__((target("avx2,fma")))
#endif
bool OnsetDetector<T>::precompute_z(const In* y, std::size_t n, double inv, bool based) {
    (void)inv;  // the kernel multiplies (inv can change within the block: track_rest)
    if (!based) return false;
    col_.resize(n);
    double* zb = col_.data();
    constexpr double kMax = std::numeric_limits<double>::max();
    std::uint64_t bad = 0;
    for (std::size_t i = 0; i < n; ++i) {
        const double v = static_cast<double>(y[i]);
        const double e = v * v;
        zb[i] = e;  // times inv in the kernel (inv follows the rest level with track_rest)
        bad |= e <= kMax ? 0U : 1U;  // NaN compares false
    }
    return bad == 0;
}

template <class T>
void OnsetDetector<T>::process_conditioned(const double* y, std::size_t n, std::vector<Event>& out) {
    if (n == 0) return;
    if (p_.method != Method::cusum) throw std::invalid_argument("process_conditioned: cusum only");
    process_cusum(y, n, 0, out);
}

template <class T>
template <class In>
void OnsetDetector<T>::process_cusum(const In* x, std::size_t n, int nsec, std::vector<Event>& out) {
    const std::size_t C = p_.n_channels;
    {
        const std::size_t first = out.size();
        dec_first_ = first;
        dec_t_.clear();
        // blocks of rows, all channels per block: the block stays in cache while each channel
        // walks it (one pass over memory for many channels)
        constexpr std::size_t kRows = 2048;
        for (std::size_t i0 = 0; i0 < n; i0 += kRows) {
            const std::size_t m = std::min(kRows, n - i0);
            with_sections(nsec, [&](auto ns) {
                constexpr int NS = decltype(ns)::value;
                if (cpu_has_fma()) {
                    run_cusum_fma<NS, In>(x + i0 * C, m, out);
                } else {
                    for (std::size_t c = 0; c < C; ++c) run_cusum<NS, false, false, In>(c, x + i0 * C, m, out);
                }
            });
            t_ += static_cast<std::int64_t>(m);
        }
        bool all = true;
        for (const auto& s : ch_) all = all && s.based;
        have_base_ = all;
        // the events in the order of their decision (time, then channel), as a row-wise run
        // gives them: the output then does not depend on the chunking or the blocks
        if (C > 1 && out.size() - first > 1) {
            order_.resize(out.size() - first);
            for (std::size_t i = 0; i < order_.size(); ++i) order_[i] = i;
            std::stable_sort(order_.begin(), order_.end(), [&](std::size_t a, std::size_t b) {
                const std::size_t ia = first + a, ib = first + b;
                return dec_t_[a] != dec_t_[b] ? dec_t_[a] < dec_t_[b] : out[ia].channel < out[ib].channel;
            });
            std::vector<Event> tmp(out.begin() + static_cast<std::ptrdiff_t>(first), out.end());
            for (std::size_t i = 0; i < order_.size(); ++i) out[first + i] = tmp[order_[i]];
        }
    }
}

template <class T>
void OnsetDetector<T>::process(const T* x, std::size_t n, std::vector<Event>& out) {
    if (n == 0) return;
    const std::size_t C = p_.n_channels;
    if (p_.method == Method::cusum) {
        process_cusum(x, n, nsec_, out);
        return;
    }
    condition(x, n);
    const bool learn = !given_base_ && p_.rest_end > 0;
    for (std::size_t i = 0; i < n; ++i) {
        const std::int64_t t = t_ + static_cast<std::int64_t>(i);
        if (learn && !have_base_) {
            if (t >= p_.rest_begin && t < p_.rest_end) {
                for (std::size_t c = 0; c < C; ++c) {
                    const double u = us_[i * C + c], e = xs_[i * C + c] * xs_[i * C + c];
                    const double raw = static_cast<double>(x[i * C + c]);
                    if (!std::isfinite(u) || !std::isfinite(e) || !std::isfinite(raw)) continue;
                    Chan& s = ch_[c];
                    s.rraw += raw * raw;
                    s.rn += 1;
                    s.rs += u;
                    s.rss += u * u;
                    s.re += e;
                    rest_add(s, t, u, e);
                }
            }
            if (t == p_.rest_end - 1) {
                for (std::size_t c = 0; c < C; ++c) finalize_rest(c);
                have_base_ = true;
            }
            continue;
        }
        if (!have_base_) continue;
        for (std::size_t c = 0; c < C; ++c) {
            decide(c, t, us_[i * C + c], xs_[i * C + c] * xs_[i * C + c], out);
            tick(c, t, out);
        }
    }
    t_ += static_cast<std::int64_t>(n);
}

template <class T>
void OnsetDetector<T>::emit(std::vector<Event>& out, std::int64_t t, const Event& e) {
    // decision time of each event of the current process() call (for the ordering); events
    // appended by other paths (finish) are not reordered
    if (out.size() >= dec_first_ && dec_t_.size() == out.size() - dec_first_) dec_t_.push_back(t);
    out.push_back(e);
}

template <class T>
void OnsetDetector<T>::raw_on(std::size_t c, std::int64_t on, std::int64_t t, std::vector<Event>& out) {
    Chan& s = ch_[c];
    // the previous activation is already reported (closed min_gap after its offset): an onset
    // estimated back into that gap (the refinement looks back up to refine_window) starts min_gap
    // after it, so reported gaps are never shorter than min_gap (review: 21 of 40 two-burst records
    // had a shorter one)
    if (!s.ev_open && on < s.last_raw_off + n_min_gap_) on = std::min(s.last_raw_off + n_min_gap_, t);
    if (s.ev_open && s.close_pending && !s.verified) {
        // an event that ended before its artefact check: check it now, on its bins up to the new
        // onset, before it is merged with or emitted ahead of the new one
        verify_open(c, t, std::min((t + 1) / bin_, on / bin_));
    }
    if (s.ev_open && s.close_pending) {
        if (on - s.ev_off < n_min_gap_) {
            s.close_pending = false;  // merge
            return;
        }
        if (s.announced || s.ev_off - s.ev_on >= n_min_active_)
            emit(out, t, Event{static_cast<std::int64_t>(c), s.ev_on, s.ev_off});
        s.ev_open = false;
    }
    s.ev_open = true;
    s.announced = false;
    s.close_pending = false;
    s.ev_on = on;
    s.verified = n_art_bins_ == 0;
    // last sample of the artefact window (whole 2 ms bins from the onset's bin)
    s.verify_at = (std::max<std::int64_t>(on, 0) / bin_ + n_art_bins_) * bin_ - 1;
}

template <class T>
void OnsetDetector<T>::raw_off(std::size_t c, std::int64_t off, std::vector<Event>& /*out*/) {
    Chan& s = ch_[c];
    if (!s.ev_open) return;
    s.close_pending = true;
    // an activation already announced (it lasted min_active by the detector's evidence then) is
    // at least min_active long: an offset estimated earlier than that (the offset statistics look
    // back) is moved to onset + min_active; one not yet announced and shorter is dropped at its
    // close (review: 21 ms activations were reported with min_active = 50 ms)
    s.ev_off = std::max(off, s.announced ? s.ev_on + n_min_active_ : s.ev_on + 1);
    s.last_raw_off = s.ev_off;
}

template <class T>
void OnsetDetector<T>::tick(std::size_t c, std::int64_t t, std::vector<Event>& out) {
    Chan& s = ch_[c];
    if (!s.ev_open) return;
    if (!s.verified) {
        // artefact check once the window after the onset is complete (or the event closes first):
        // nothing about the event is reported before it
        const bool closing = s.close_pending && t + 1 >= s.ev_off + n_min_gap_;
        if (t < s.verify_at && !closing) return;  // (no division per sample while waiting)
        verify_open(c, t, (t + 1) / bin_);  // complete 2 ms bins
        if (!s.ev_open) return;
    }
    if (!s.close_pending) {
        // announced once it has lasted min_active and its offset, when it comes, cannot be placed
        // before onset + min_active (the offset statistics look back: the cusum's offset is the
        // last zero of its mirror CUSUM, which only moves forward; the literature methods' look
        // back at most off_lookback() samples), so that shorter activations are dropped rather
        // than announced; at the latest refine_delay later (bounded latency; raw_off then keeps
        // the announced activation min_active long)
        const std::int64_t age = t - s.ev_on + 1;
        const bool sure = p_.method == Method::cusum
                              ? s.tau_off >= s.ev_on + n_min_active_ || age >= n_min_active_ + n_refine_delay_
                              : age >= n_min_active_ + off_lookback();
        if (!s.announced && age >= n_min_active_ && sure) {
            emit(out, t, Event{static_cast<std::int64_t>(c), s.ev_on, -1});
            s.announced = true;
        }
    } else if (t + 1 >= s.ev_off + n_min_gap_) {
        if (s.announced || s.ev_off - s.ev_on >= n_min_active_)
            emit(out, t, Event{static_cast<std::int64_t>(c), s.ev_on, s.ev_off});
        s.ev_open = false;
    }
}

template <class T>
void OnsetDetector<T>::decide(std::size_t c, std::int64_t t, double u, double e, std::vector<Event>& out) {
    Chan& s = ch_[c];
    if (!std::isfinite(u) || !std::isfinite(e)) return;  // skip: state held
    switch (p_.method) {
        case Method::hodges_bui: {
            const std::size_t W = s.ring.size();
            s.rsum += u - s.ring[s.rpos];
            s.ring[s.rpos] = u;
            s.rpos = (s.rpos + 1) % W;
            if (s.rpos == 0) {  // recompute: no drift
                s.rsum = 0;
                for (double v : s.ring) s.rsum += v;
            }
            if (s.rfill < n_win_) {
                ++s.rfill;
                if (s.rfill < n_win_) return;
            }
            const double mm = s.rsum / static_cast<double>(W);
            const bool above = mm > bmean_[c] + h_ * bsd_[c];
            if (!s.active && above) {
                s.active = true;
                raw_on(c, t - n_win_ + 1, t, out);
            } else if (s.active && !above) {
                s.active = false;
                raw_off(c, t - n_win_ / 2, out);
            }
            break;
        }
        case Method::tkeo: {
            const bool above = u > bmean_[c] + h_ * bsd_[c];
            if (above != s.active) {
                if (s.run_len == 0) s.run_start = t;
                if (++s.run_len >= n_win_) {
                    s.active = above;
                    s.run_len = 0;
                    if (above) raw_on(c, s.run_start - 1, t, out);  // -1: TKEO output lags 1 sample
                    else raw_off(c, s.run_start - 1, out);
                }
            } else {
                s.run_len = 0;
            }
            break;
        }
        case Method::bonato: {
            if (!s.have_first) {
                s.pair_first = e;
                s.have_first = true;
                return;
            }
            s.have_first = false;
            const double z = (s.pair_first + e) / benergy_[c];
            const std::int64_t start = t - 1;
            if (s.pair_ring[s.ppos] >= 0) --s.above_count;
            const bool above = z > h_;
            s.pair_ring[s.ppos] = above ? start : -1;
            s.ppos = (s.ppos + 1) % kBonatoM;
            if (above) {
                ++s.above_count;
                s.last_above_start = start;
            }
            if (!s.active && s.above_count >= kBonatoR0) {
                s.active = true;
                std::int64_t first = start;
                for (auto v : s.pair_ring)
                    if (v >= 0) first = std::min(first, v);
                raw_on(c, first, t, out);
            } else if (s.active && s.above_count < kBonatoR0) {
                s.active = false;
                raw_off(c, s.last_above_start + 2, out);
            }
            break;
        }
        case Method::cusum:
            cusum_active(c, t, e / benergy_[c], out);
            break;
    }
}

template <class T>
void OnsetDetector<T>::cusum_active(std::size_t c, std::int64_t t, double z, std::vector<Event>& out) {
    Chan& s = ch_[c];
    const bool pending = s.alarm >= 0;
    s.D = pos_part(s.D + (k_ - z));
    if (s.D == 0.0) s.tau_off = t + 1;
    const bool off_alarm = s.D > h_off_;
    if (pending && (t >= s.alarm + n_refine_delay_ || off_alarm)) {
        const std::int64_t on = p_.refine ? refine_onset(c, s.alarm_tau, t) : s.alarm_tau;
        s.alarm = -1;
        s.active = true;
        raw_on(c, on, t, out);
    }
    if (off_alarm && s.active) {
        raw_off(c, s.tau_off, out);
        s.active = false;
        s.S = 0;
        s.tau = t + 1;
    }
}

template <class T>
std::int64_t OnsetDetector<T>::refine_onset(std::size_t c, std::int64_t tau, std::int64_t t) {
    Chan& s = ch_[c];
    const auto NB = static_cast<std::int64_t>(s.bins.size());
    const std::int64_t gE = (t + 1) / bin_;  // complete bins are < gE
    const std::int64_t gT = tau / bin_;
    const std::int64_t wb = static_cast<std::int64_t>(std::llround(p_.refine_window * p_.fs)) / bin_;
    const std::int64_t floor_on = s.last_raw_off + (s.ev_open ? 0 : n_min_gap_);  // (see raw_on)
    std::int64_t gA = std::max({gT - wb - 3, gE - NB + 1, (floor_on + bin_ - 1) / bin_,
                                (std::max<std::int64_t>(p_.rest_end, 0) + bin_ - 1) / bin_, std::int64_t{0}});
    if (gE - gA < 10 || gT < gA) return tau;
    const auto L = static_cast<std::size_t>(gE - gA);
    fit_le_.assign(L + 4, 0.0);  // + 4: the ramp sums read whole groups of four
    fit_p1_.assign(L + 1, 0.0);
    fit_p2_.assign(L + 1, 0.0);
    fit_lg_.resize(L + 4);
    {
        // the ring of bins from gA on (gA >= 0), without a division per bin
        auto k = static_cast<std::size_t>(gA % NB);
        const double* ring = s.bins.data();
        for (std::size_t j = 0; j < L; ++j) {
            fit_le_[j] = ring[k];
            if (++k == static_cast<std::size_t>(NB)) k = 0;
        }
    }
    logs(fit_le_.data(), L, fit_lg_.data());
    for (std::size_t j = 0; j < L; ++j) {
        const double v = fit_le_[j];
        fit_p1_[j + 1] = fit_p1_[j] + v;
        // lower bound of a ramp bin's cost: min over m >= 1 of log m + v / m
        fit_p2_[j + 1] = fit_p2_[j] + (v >= 1.0 ? fit_lg_[j] + 1.0 : v);
    }
    // Likelihood (scale family: each bin's mean energy ~ m_j * chi2_nu / nu, so
    // -log L = nu/2 * sum(log m_j + e_j / m_j) + const) of: rest level m0 = 1 (known from the
    // baseline: the bins hold x^2 / sigma0^2) on [0, c), a linear amplitude ramp 1 + (m1 - 1) r^2
    // over R bins, plateau m1 after (m1 = its segment mean, the MLE given c and R, so the flat
    // parts cost sum(e) and n1 (log m1 + 1), O(1) each from prefix sums).
    const auto Lz = static_cast<std::int64_t>(L);
    const std::int64_t maxR = static_cast<std::int64_t>(std::llround(p_.max_rise * p_.fs)) / bin_;
    const std::int64_t c_hi = Lz - 4;
#if KINEMYO_ONSET_X86
    const auto rc = cpu_has_fma() ? &ramp_cost_avx2 : &ramp_cost_base;
    const auto rd = cpu_has_fma() ? &ramp_dot_avx2 : &ramp_dot_base;
    const auto rd4 = cpu_has_fma() ? &ramp_dot4_avx2 : &ramp_dot4_base;
#else
    const auto rc = &ramp_cost_base;
    const auto rd = &ramp_dot_base;
    const auto rd4 = &ramp_dot4_base;
#endif
    const RampTable& tab = ramp_table();
    using RT = RampTable;
    // Bayes estimate of the start: the median (the estimate that minimises the expected absolute
    // error) of its marginal posterior, the rise length R summed out over the grid kR (prior
    // rise_lw_: exponential density of mean rise_prior times each grid point's quadrature width),
    // flat prior over the start in [tau - refine_window, max(tau + 60 ms, alarm)] around the CUSUM
    // change time tau (the last zero of the CUSUM lies after the foot of a ramp, rarely more than
    // 60 ms before the rise; on slow rises at low SNR up to the alarm). Two passes over the
    // (start, R) grid: first the costs, a grid point being skipped (left at +inf) once a lower
    // bound of its cost (prefix sums) is more than `cut` above the running minimum (the ramp sum
    // itself stops early at the same budget); then the weights relative to the final minimum.
    const double nu2 = 0.5 * kBinDof;
    // grid points with a weight below exp(-10) of the best are dropped (at most 781 of them: less
    // than 4 % of the best point's weight in all, no visible change of the median)
    const double cut = 10.0 / nu2;
    const std::int64_t cT = gT - gA;
    // upper end of the start's prior: 60 ms after tau, or the alarm when that is later (a slow
    // rise at low SNR can take longer from the CUSUM's last zero to its alarm; the onset cannot be
    // after the alarm). Calibration seeds, 20 min per condition, MAE 3/6/10/20 dB without ECG:
    // 12.04/8.71/6.87/3.36 (tau + 60 ms) -> 12.06/8.56/6.75/3.24 (docs/onset.md).
    const std::int64_t after = std::max<std::int64_t>(std::llround(0.06 * p_.fs) / bin_,
                                                      (s.alarm >= 0 ? s.alarm : tau) / bin_ - gT);
    const std::int64_t c_lo = std::max<std::int64_t>(3, cT - wb), c_top = std::min(c_hi, cT + after);
    if (c_top < c_lo) return tau;
    fit_w_.assign(static_cast<std::size_t>(c_top - c_lo + 1), 0.0);
    auto& wc = fit_w_;
    double best = std::numeric_limits<double>::infinity();
    const double tot = fit_p1_[L];
    // everything about the plateau depends only on its first bin e0 = c + R: its cost, its level
    // step dm = m1 - 1 and the table row of dm, once per e0
    const std::int64_t e_hi = Lz - 3;
    const auto ne = static_cast<std::size_t>(std::max<std::int64_t>(0, e_hi - c_lo + 1));
    fit_e0_.assign(4 * ne, 0.0);
    // plateau level m1 and step dm = m1 - 1 of every e0, then their logs four at a time
    fit_m1_.resize(2 * ne + 8);
    double* m1s = fit_m1_.data();
    double* dms = m1s + ne + 4;
    for (std::size_t k = 0; k < ne; ++k) {
        const auto e0 = static_cast<std::size_t>(c_lo) + k;
        m1s[k] = (tot - fit_p1_[e0]) / static_cast<double>(L - e0);
        dms[k] = m1s[k] - 1.0;
    }
    fit_lg_.resize(std::max(fit_lg_.size(), 2 * ne + 8));
    double* lm1 = fit_lg_.data();
    double* ldm = lm1 + ne + 4;
    logs(m1s, ne, lm1);
    logs(dms, ne, ldm);
    for (std::size_t k = 0; k < ne; ++k) {
        const double n1 = static_cast<double>(L - (static_cast<std::size_t>(c_lo) + k));
        const double m1 = m1s[k];
        double* q = fit_e0_.data() + 4 * k;
        if (!(m1 > 1.0)) {
            q[0] = std::numeric_limits<double>::infinity();
            continue;
        }
        const double dm = dms[k];
        const double u = ldm[k] * (RT::kPerOct / 0.6931471805599453) - RT::kU0;
        const double uf = std::floor(u);
        q[0] = n1 * (lm1[k] + 1.0);
        q[1] = dm;
        q[2] = uf >= 0 && uf < RT::kNU - 1 ? uf : -1.0;
        q[3] = u - uf;
    }
    // Two passes: the costs of all grid points (a point whose cost is certainly more than `cut`
    // above the running minimum stays at +inf), then the weights relative to the final minimum.
    std::size_t nR = 0;
    while (nR < std::size(kR) && kR[nR] <= maxR) ++nR;
    const auto ncc = static_cast<std::size_t>(c_top - c_lo + 1);
    fit_c_.assign(nR * ncc, std::numeric_limits<double>::infinity());
    for (std::size_t iR = 0; iR < nR; ++iR) {
        const std::int64_t R = kR[iR];
        double* crow = fit_c_.data() + iR * ncc;
        const bool tabled = R <= RT::kMaxR;
        const std::size_t st = tabled ? tab.stride[iR] : 0;
        const double pen = -rise_lw_[iR] / nu2;  // -log prior, in the cost's units (>= 0)
        // the tabled ramp sums of four consecutive starts at once (ramp_dot4: the same values as
        // one at a time); computed for every start of the group, also those that the bound below
        // then skips (it skips only points whose full cost is beyond the cut as well)
        const std::int64_t c_end = std::min(c_top, e_hi - R);  // last start with e0 <= e_hi
        double d4[8];
        std::int64_t g4 = c_lo - 4;  // first start of the group in d4
        for (std::int64_t cc = c_lo; cc <= c_top; ++cc) {
            const std::int64_t e0 = cc + R;
            if (e0 > e_hi) break;
            const double* q = fit_e0_.data() + 4 * static_cast<std::size_t>(e0 - c_lo);
            double cost = fit_p1_[static_cast<std::size_t>(cc)] + q[0] + pen;  // inf where m1 <= 1
            if (tabled && R > 0 && cc >= g4 + 4 && c_end - cc >= 3) {
                const double* rows[4];
                for (int k = 0; k < 4; ++k) {
                    const double* qk = q + 4 * k;
                    rows[k] = tab.K.data() + tab.off[iR] +
                              (qk[2] >= 0 ? static_cast<std::size_t>(qk[2]) : std::size_t{0}) * st;
                }
                rd4(fit_le_.data() + cc, rows, st, d4);
                g4 = cc;
            }
            // lower bound of the ramp part first (prefix sums), then the ramp itself
            if (!(cost + (fit_p2_[static_cast<std::size_t>(e0)] - fit_p2_[static_cast<std::size_t>(cc)]) - best <= cut))
                continue;
            if (R > 0) {
                if (tabled && q[2] >= 0) {
                    const auto i0 = static_cast<std::size_t>(q[2]);
                    const double* ls = tab.LS.data() + iR * RT::kNU + i0;
                    double d[2];
                    if (cc - g4 < 4) {
                        d[0] = d4[static_cast<std::size_t>(2 * (cc - g4))];
                        d[1] = d4[static_cast<std::size_t>(2 * (cc - g4) + 1)];
                    } else {
                        const double* k0 = tab.K.data() + tab.off[iR] + i0 * st;
                        rd(fit_le_.data() + cc, k0, k0 + st, st, d);
                    }
                    const double c0 = ls[0] + d[0], c1 = ls[1] + d[1];
                    cost += c0 + q[3] * (c1 - c0);
                } else {
                    cost += rc(fit_le_.data() + cc, R, q[1], best + cut - cost);
                }
            }
            if (cost - best > cut) continue;
            crow[static_cast<std::size_t>(cc - c_lo)] = cost;
            best = std::min(best, cost);
        }
    }
    // weights, each start summed over R in the grid's order
    for (std::size_t iR = 0; iR < nR; ++iR) {
        const double* crow = fit_c_.data() + iR * ncc;
        for (std::size_t i = 0; i < ncc; ++i) {
            const double d = crow[i] - best;
            if (d <= cut) wc[i] += fast_exp(-nu2 * d);
        }
    }
    double wsum = 0;
    for (double w : wc) wsum += w;
    if (!(wsum > 0)) return tau;
    // median, linear within the bin where the cumulative weight crosses one half
    double acc = 0, cpos = static_cast<double>(wc.size()) - 1.0;
    for (std::size_t i = 0; i < wc.size(); ++i) {
        if (acc + wc[i] >= 0.5 * wsum) {
            cpos = static_cast<double>(i) - 0.5 + (0.5 * wsum - acc) / wc[i];
            break;
        }
        acc += wc[i];
    }
    // bins hold the causally band-passed signal: its envelope lags by the filter's group delay
    const double frac = static_cast<double>(gA + c_lo) + cpos;
    const auto on = static_cast<std::int64_t>(std::llround(frac * static_cast<double>(bin_) - gdelay_));
    return std::max(on, gA * bin_);
}

// Movement-artefact check of the open event (see the class doc) on its 2 ms energy bins
// [g0, g1), g0 = the onset's bin, at most artefact_window long. Too few bins: not an artefact.
template <class T>
bool OnsetDetector<T>::is_artefact(std::size_t c, std::int64_t g1) const {
    const Chan& s = ch_[c];
    const auto NB = static_cast<std::int64_t>(s.bins.size());
    const std::int64_t g0 = std::max<std::int64_t>(s.ev_on, 0) / bin_;
    g1 = std::min(g1, g0 + n_art_bins_);
    const std::int64_t n = g1 - g0;
    if (n < 8 || n >= NB) return false;
    auto bin_at = [&](std::int64_t g) { return s.bins[static_cast<std::size_t>(g % NB)]; };
    const std::int64_t half = n / 2, L = n_lobe_bins_;
    double e2 = 0, rough = 0, early = 0, late = 0, excess = 0, run = 0, lobe = 0;
    double prev = bin_at(g0), cur = prev;
    for (std::int64_t j = 0; j < n; ++j) {
        const double next = j + 1 < n ? bin_at(g0 + j + 1) : 0.0;
        e2 += cur * cur;
        (j < half ? early : late) += cur;
        if (j > 0 && j + 1 < n) {
            const double d = cur - 0.5 * (prev + next);  // second difference: no trend, no ramp
            rough += d * d;
        }
        const double x = std::max(cur - 1.0, 0.0);  // excess over the rest level
        excess += x;
        run += x;
        if (j >= L) run -= std::max(bin_at(g0 + j - L) - 1.0, 0.0);
        lobe = std::max(lobe, run);
        prev = cur;
        cur = next;
    }
    if (!(e2 > 0) || !std::isfinite(e2)) return false;
    // smooth energy envelope: one or two slow lobes, not a noise-like carrier
    if (rough < 0.12 * e2) return true;
    // an event that starts within the window after a rejected artefact (the CUSUM restarted in
    // its decaying tail) must reach an activation level: a second-half mean energy above the
    // CUSUM's reference value k (below it the CUSUM itself counts samples as rest)
    if (s.ev_on - s.last_reject < n_art_bins_ * bin_ && late < k_ * static_cast<double>(n - half)) return true;
    // over within a lobe and not sustained (a pop, a step's edge)
    const double sustain_num = late * static_cast<double>(half), sustain_den = early * static_cast<double>(n - half);
    return sustain_num < 0.2 * sustain_den && lobe > 0.55 * excess;
}

// Run the artefact check of channel c's open event on its bins before g1; an artefact is
// dropped (nothing of it was reported) and, if the CUSUM still holds it active, the search
// restarts at t + 1 with no later onset refined back into it.
template <class T>
void OnsetDetector<T>::verify_open(std::size_t c, std::int64_t t, std::int64_t g1) {
    Chan& s = ch_[c];
    s.verified = true;
    if (!is_artefact(c, g1)) return;
    s.last_reject = t + 1;
    s.ev_open = false;
    s.announced = false;
    s.close_pending = false;
    if (s.active) {
        s.active = false;
        s.S = 0;
        s.tau = t + 1;
        // (no onset before the rejected transient's end; min_gap is not kept after it, since it
        // was not reported: raw_on and the refinement add min_gap to this)
        s.last_raw_off = std::max(s.last_raw_off, t + 1 - n_min_gap_);
    }
}

template <class T>
void OnsetDetector<T>::finish(std::vector<Event>& out) {
    for (std::size_t c = 0; c < p_.n_channels; ++c) {
        Chan& s = ch_[c];
        if (s.alarm >= 0 && p_.method == Method::cusum) {
            const std::int64_t on = p_.refine ? refine_onset(c, s.alarm_tau, t_ - 1) : s.alarm_tau;
            s.alarm = -1;
            s.active = true;
            raw_on(c, on, t_, out);
        }
        if (s.ev_open && !s.verified) verify_open(c, t_ - 1, t_ / bin_);
        if (s.ev_open) {
            const std::int64_t off = s.close_pending ? s.ev_off : t_;
            if (s.announced || off - s.ev_on >= n_min_active_)
                out.push_back({static_cast<std::int64_t>(c), s.ev_on, std::max(off, s.ev_on + 1)});
        }
    }
    const bool had = have_base_;
    // the baseline carries over: sigma0^2 as tracked now, and the alarm levels learnt with it
    const auto m = bmean_, sd = bsd_, en = baseline_energy(), hl = hch_;
    const bool given = given_base_;
    reset();
    if (had) {
        bmean_ = m;
        bsd_ = sd;
        benergy_ = en;
        hch_ = hl;
        have_base_ = true;
        given_base_ = given;
        for (auto& c : ch_) {
            c.based = true;
            drop_rest_buffers(c);  // the baseline is known
        }
        binv_.resize(benergy_.size());
        for (std::size_t i = 0; i < benergy_.size(); ++i) binv_[i] = 1.0 / benergy_[i];
    }
}

namespace {
// Every per-channel value of the decision state, in a fixed order (get_state/set_state).
template <class S, class F>
void visit_channel(S& s, F&& f) {
    for (auto& v : s.bz) f(v);
    f(s.primed); f(s.based); f(s.nonfinite);
    f(s.rn); f(s.rs); f(s.rss); f(s.re); f(s.rraw);
    f(s.rpos); f(s.rfill); f(s.rsum);
    f(s.active); f(s.run_start); f(s.run_len);
    f(s.pair_first); f(s.have_first); f(s.above_count); f(s.last_above_start); f(s.ppos);
    f(s.S); f(s.D); f(s.tau); f(s.tau_off); f(s.alarm); f(s.alarm_tau);
    f(s.bin_acc); f(s.bin_n); f(s.bin_phase); f(s.bin_slot); f(s.last_le); f(s.last_raw_off);
    f(s.ev_open); f(s.announced); f(s.close_pending); f(s.ev_on); f(s.ev_off);
}
struct Count {
    std::size_t n = 0;
    template <class V>
    void operator()(const V&) { ++n; }
};
struct Pack {
    std::vector<double>* out;
    template <class V>
    void operator()(const V& v) { out->push_back(static_cast<double>(v)); }
};
struct Unpack {
    const double* p;
    template <class V>
    void operator()(V& v) {
        if constexpr (std::is_same_v<V, bool>) v = *p++ != 0.0;
        else v = static_cast<V>(*p++);
    }
};
// Checks a record's values against the types they unpack into: 0/1 flags and whole integers within
// +-2^62 (so that the casts are defined and no later sum overflows); doubles may hold any value.
struct Check {
    const double* p;
    bool ok = true;
    template <class V>
    void operator()(const V&) {
        const double v = *p++;
        if constexpr (std::is_same_v<V, bool>) ok = ok && (v == 0.0 || v == 1.0);
        else if constexpr (std::is_integral_v<V>) ok = ok && whole62(v) && (std::is_signed_v<V> || v >= 0);
        // doubles: any value (a non-finite filter delay after an overflowing input is a state too)
    }
    static bool whole62(double v) { return std::fabs(v) <= 4.611686018427388e18 && std::floor(v) == v; }
};
}  // namespace

template <class T>
StateRecord OnsetDetector<T>::get_state() const {
    StateRecord r;
    r["position"] = {static_cast<double>(t_)};
    r["flags"] = {have_base_ ? 1.0 : 0.0, given_base_ ? 1.0 : 0.0};
    auto& b = r["baseline"];
    b.insert(b.end(), bmean_.begin(), bmean_.end());
    b.insert(b.end(), bsd_.begin(), bsd_.end());
    if (trk_alpha_ > 0) {
        for (double v : binv_) b.push_back(1.0 / v);  // the tracked rest level
    } else {
        b.insert(b.end(), benergy_.begin(), benergy_.end());
    }
    auto& ch = r["channels"];
    auto& rings = r["rings"];
    for (const auto& s : ch_) {
        visit_channel(s, Pack{&ch});
        rings.insert(rings.end(), s.ring.begin(), s.ring.end());
        for (auto v : s.pair_ring) rings.push_back(static_cast<double>(v));
        rings.insert(rings.end(), s.bins.begin(), s.bins.end());
    }
    if (lp_)
        for (auto& [k, v] : lp_->get_state()) r["lowpass." + k] = v;
    if (tk_)
        for (auto& [k, v] : tk_->get_state()) r["tkeo." + k] = v;
    // per channel: check done, time of the last rejection, end of the pending check's window
    // rest sub-windows while the rest window is being learnt (empty once the baseline is known)
    auto& rw = r["rest_windows"];
    for (const auto& s : ch_) rw.insert(rw.end(), s.rwin.begin(), s.rwin.end());
    auto& ver = r["artefact_check"];
    for (const auto& s : ch_) ver.push_back(s.verified ? 1.0 : 0.0);
    for (const auto& s : ch_) ver.push_back(static_cast<double>(s.last_reject));
    for (const auto& s : ch_) ver.push_back(static_cast<double>(s.verify_at));
    // onset alarm levels; the rest window's lag sums and sample buffer while it is being learnt
    // (empty once every channel's baseline is known)
    r["alarm_levels"] = hch_;
    // rest-level tracking: 1/sigma0^2 as it is now (exact), and per channel the next bin to take
    r["baseline_inv"] = binv_;
    auto& tr = r["tracking"];
    for (const auto& s : ch_) {
        tr.push_back(static_cast<double>(s.trk_s));
        tr.push_back(static_cast<double>(s.trk_slot));
    }
    auto& rl = r["rest_lags"];
    auto& yb = r["rest_ybuf"];
    bool lags = false;
    for (const auto& s : ch_) lags = lags || !s.rlag.empty();
    if (lags) {
        const std::size_t nl = n_lagblk_ * static_cast<std::size_t>(n_lags_ + 1);
        const std::size_t ny = static_cast<std::size_t>(n_lags_ + kLagChunk);
        for (const auto& s : ch_) {
            if (s.rlag.size() == nl && s.ybuf.size() == ny) {
                rl.insert(rl.end(), s.rlag.begin(), s.rlag.end());
                yb.push_back(static_cast<double>(s.ybuf_n));
                yb.insert(yb.end(), s.ybuf.begin(), s.ybuf.end());
            } else {  // this channel's baseline is known: a marker row
                rl.insert(rl.end(), nl, 0.0);
                yb.push_back(-1.0);
                yb.insert(yb.end(), ny, 0.0);
            }
        }
    }
    return r;
}

template <class T>
void OnsetDetector<T>::set_state(const StateRecord& st) {
    const std::size_t C = p_.n_channels;
    Count cnt;
    visit_channel(ch_[0], cnt);
    std::size_t nring = 0;
    for (const auto& s : ch_) nring += s.ring.size() + s.pair_ring.size() + s.bins.size();
    const auto& pos = detail::state_field(st, "position", 1);
    const auto& fl = detail::state_field(st, "flags", 2);
    const auto& b = detail::state_field(st, "baseline", 3 * C);
    const auto& ch = detail::state_field(st, "channels", cnt.n * C);
    const auto& rings = detail::state_field(st, "rings", nring);
    // artefact-check state (absent from records of builds without the check: all checked)
    const auto vit = st.find("artefact_check");
    if (vit != st.end() && vit->second.size() != 3 * C)
        throw std::invalid_argument("state field 'artefact_check' must have " + std::to_string(3 * C) +
                                    " values; got " + std::to_string(vit->second.size()));
    auto sub = [&](const std::string& prefix) {
        StateRecord s;
        for (const auto& [k, v] : st)
            if (k.rfind(prefix, 0) == 0) s[k.substr(prefix.size())] = v;
        return s;
    };
    {
        Check chk{ch.data()};
        for (std::size_t c = 0; c < C; ++c) visit_channel(ch_[c], chk);
        bool ok = chk.ok && Check::whole62(pos[0]) && pos[0] >= 0 && (fl[0] == 0.0 || fl[0] == 1.0) &&
                  (fl[1] == 0.0 || fl[1] == 1.0);
        if (vit != st.end())
            for (double v : vit->second) ok = ok && Check::whole62(v);
        if (!ok)
            throw std::invalid_argument("state holds a non-integer count or index, or one out of range "
                                        "(position, flags, channels or artefact_check)");
    }
    // rest sub-windows (absent from records of builds before them: the rest window's plain sums)
    const auto rwit = st.find("rest_windows");
    std::size_t n_rw_per_ch = 0;
    if (rwit != st.end() && !rwit->second.empty()) {
        if (!p_.robust_rest)
            throw std::invalid_argument("state field 'rest_windows' is from a detector with robust_rest; "
                                        "this one has robust_rest = false");
        if (rwit->second.size() != C * kRestFields * n_rwin_)
            throw std::invalid_argument("state field 'rest_windows' must have 0 or " +
                                        std::to_string(C * kRestFields * n_rwin_) + " values; got " +
                                        std::to_string(rwit->second.size()));
        n_rw_per_ch = kRestFields * n_rwin_;
    }
    // onset alarm levels (absent from records of builds before them: the fixed default) and the
    // rest window's lag sums (absent or empty: no adaptive level for a rest not finished)
    const auto alit = st.find("alarm_levels");
    if (alit != st.end()) {
        if (alit->second.size() != C)
            throw std::invalid_argument("state field 'alarm_levels' must have " + std::to_string(C) + " values; got " +
                                        std::to_string(alit->second.size()));
        for (double v : alit->second)
            if (!(std::isfinite(v) && v > 0))
                throw std::invalid_argument("state field 'alarm_levels' must hold finite values > 0");
    }
    const auto biit = st.find("baseline_inv"), trit = st.find("tracking");
    if (biit != st.end()) {
        if (biit->second.size() != C)
            throw std::invalid_argument("state field 'baseline_inv' must have " + std::to_string(C) + " values");
        for (double v : biit->second)
            if (!(std::isfinite(v) && v > 0))
                throw std::invalid_argument("state field 'baseline_inv' must hold finite values > 0");
    }
    if (trit != st.end()) {
        if (trit->second.size() != 2 * C)
            throw std::invalid_argument("state field 'tracking' must have " + std::to_string(2 * C) + " values");
        for (std::size_t c = 0; c < C; ++c) {
            const double ts = trit->second[2 * c], sl = trit->second[2 * c + 1];
            const double nb = static_cast<double>(ch_[c].bins.size());
            if (!(Check::whole62(ts) && ts >= -1 && Check::whole62(sl) && sl >= 0 && (sl < nb || sl == 0)))
                throw std::invalid_argument("state field 'tracking' holds a position or slot out of range");
            // a bin start at or before the stream position, and its own ring slot
            if (ts >= 0 && !(ts <= pos[0] + static_cast<double>(bin_) && std::fmod(ts, static_cast<double>(bin_)) == 0 &&
                             nb > 0 && std::fmod(ts / static_cast<double>(bin_), nb) == sl))
                throw std::invalid_argument("state field 'tracking' is inconsistent (position, bin or slot)");
        }
    }
    for (std::size_t c = 0; c < C; ++c)
        if (!(std::isfinite(b[2 * C + c]) && b[2 * C + c] > 0))
            throw std::invalid_argument("state field 'baseline' must hold energies (sigma0^2) that are finite and > 0");
    const auto rlit = st.find("rest_lags"), ybit = st.find("rest_ybuf");
    const bool lag_rec = rlit != st.end() && !rlit->second.empty();
    const std::size_t nl = n_lagblk_ * static_cast<std::size_t>(n_lags_ + 1);
    const std::size_t ny = static_cast<std::size_t>(n_lags_ + kLagChunk);
    if (lag_rec) {
        if (n_lags_ == 0 || nl == 0)
            throw std::invalid_argument("state fields 'rest_lags'/'rest_ybuf' are from a detector that adapts its "
                                        "alarm level to the rest window; this one does not");
        if (rlit->second.size() != C * nl || ybit == st.end() || ybit->second.size() != C * (ny + 1))
            throw std::invalid_argument("state fields 'rest_lags'/'rest_ybuf' must have " + std::to_string(C * nl) +
                                        " and " + std::to_string(C * (ny + 1)) + " values");
        for (std::size_t c = 0; c < C; ++c) {
            const double m = ybit->second[c * (ny + 1)];
            if (!(m == -1.0 || (Check::whole62(m) && m >= static_cast<double>(n_lags_) && m < static_cast<double>(ny))))
                throw std::invalid_argument("state field 'rest_ybuf' holds a fill count out of range");
        }
    }
    // the channels, unpacked into a copy and checked (indices into their buffers) before anything
    // is committed
    std::vector<Chan> tmp = ch_;
    {
        const double* q = ch.data();
        const double* rr = rings.data();
        for (auto& s : tmp) {
            Unpack u{q};
            visit_channel(s, u);
            q = u.p;
            for (auto& v : s.ring) v = *rr++;
            for (auto& v : s.pair_ring) {
                if (!Check::whole62(*rr)) throw std::invalid_argument("state field 'rings' holds a non-integer sample index");
                v = static_cast<std::int64_t>(*rr++);
            }
            for (auto& v : s.bins) v = *rr++;
        }
        for (std::size_t c = 0; c < C; ++c) {
            const Chan& s = tmp[c];
            const bool idx_ok = s.rpos < std::max<std::size_t>(s.ring.size(), 1) &&
                                s.ppos < std::max<std::size_t>(s.pair_ring.size(), 1) &&
                                s.bin_slot < std::max<std::size_t>(s.bins.size(), 1) && s.bin_phase >= 0 &&
                                s.bin_phase < bin_ && s.rfill >= 0 && s.rfill <= n_win_ && s.above_count >= 0 &&
                                s.above_count <= kBonatoM && s.bin_n >= 0 && s.run_len >= 0 && s.nonfinite >= 0;
            if (!idx_ok)
                throw std::invalid_argument("state field 'channels' holds an index out of range (channel " +
                                            std::to_string(c) + ")");
        }
    }
    // validate the sub-filters first (they throw on a bad record), then commit
    if (lp_) lp_->set_state(sub("lowpass."));
    if (tk_) tk_->set_state(sub("tkeo."));
    t_ = static_cast<std::int64_t>(pos[0]);
    have_base_ = fl[0] != 0.0;
    given_base_ = fl[1] != 0.0;
    std::copy(b.begin(), b.begin() + static_cast<std::ptrdiff_t>(C), bmean_.begin());
    std::copy(b.begin() + static_cast<std::ptrdiff_t>(C), b.begin() + static_cast<std::ptrdiff_t>(2 * C), bsd_.begin());
    std::copy(b.begin() + static_cast<std::ptrdiff_t>(2 * C), b.end(), benergy_.begin());
    binv_.resize(benergy_.size());
    for (std::size_t i = 0; i < benergy_.size(); ++i) binv_[i] = 1.0 / benergy_[i];
    if (biit != st.end()) binv_ = biit->second;
    ch_.swap(tmp);
    for (std::size_t c = 0; c < C; ++c) {
        ch_[c].trk_s = trit != st.end() ? static_cast<std::int64_t>(trit->second[2 * c]) : -1;
        ch_[c].trk_slot = trit != st.end() ? static_cast<std::size_t>(trit->second[2 * c + 1]) : 0;
    }
    for (std::size_t c = 0; c < C; ++c) {
        if (n_rw_per_ch > 0) {
            const auto b0 = rwit->second.begin() + static_cast<std::ptrdiff_t>(c * n_rw_per_ch);
            ch_[c].rwin.assign(b0, b0 + static_cast<std::ptrdiff_t>(n_rw_per_ch));
        } else if (!ch_[c].based && ch_[c].rn == 0 && p_.robust_rest && !given_base_) {
            ch_[c].rwin.assign(kRestFields * n_rwin_, 0.0);  // rest window not reached yet
        } else {
            ch_[c].rwin.clear();  // a baseline known already, or a record without sub-windows
        }
    }
    if (alit != st.end()) hch_ = alit->second;
    else hch_.assign(C, h_);
    for (std::size_t c = 0; c < C; ++c) {
        Chan& s = ch_[c];
        s.rlag.clear();
        s.ybuf.clear();
        s.ybuf_n = n_lags_;
        if (lag_rec && ybit->second[c * (ny + 1)] >= 0) {
            const auto r0 = rlit->second.begin() + static_cast<std::ptrdiff_t>(c * nl);
            s.rlag.assign(r0, r0 + static_cast<std::ptrdiff_t>(nl));
            const auto y0 = ybit->second.begin() + static_cast<std::ptrdiff_t>(c * (ny + 1));
            s.ybuf_n = static_cast<std::int64_t>(*y0);
            s.ybuf.assign(y0 + 1, y0 + 1 + static_cast<std::ptrdiff_t>(ny));
        } else if (!lag_rec && !s.based && s.rn == 0 && n_lags_ > 0 && nl > 0 && !given_base_) {
            s.rlag.assign(nl, 0.0);  // rest window not reached yet
            s.ybuf.assign(ny, 0.0);
        }
    }
    for (std::size_t c = 0; c < C; ++c) {
        ch_[c].verified = vit == st.end() || vit->second[c] != 0.0;
        ch_[c].last_reject = vit == st.end() ? Chan{}.last_reject : static_cast<std::int64_t>(vit->second[C + c]);
        ch_[c].verify_at = vit == st.end() ? 0 : static_cast<std::int64_t>(vit->second[2 * C + c]);
    }
}

namespace {
// Largest finite |x[i]| (0 if none): NaN and inf are skipped. SSE2 (baseline x86-64): masked
// maxima, 4 doubles or 8 floats per step in two registers.
template <class T>
double max_finite_abs(const T* x, std::size_t N) {
    std::size_t i = 0;
    double am = 0;
#if KINEMYO_ONSET_X86
    if constexpr (std::is_same_v<T, double>) {
        const __m128d sign = _mm_set1_pd(-0.0), inf = _mm_set1_pd(std::numeric_limits<double>::infinity());
        __m128d m0 = _mm_setzero_pd(), m1 = _mm_setzero_pd();
        for (; i + 4 <= N; i += 4) {
            const __m128d a0 = _mm_andnot_pd(sign, _mm_loadu_pd(x + i));
            const __m128d a1 = _mm_andnot_pd(sign, _mm_loadu_pd(x + i + 2));
            m0 = _mm_max_pd(m0, _mm_and_pd(a0, _mm_cmplt_pd(a0, inf)));  // NaN, inf -> 0
            m1 = _mm_max_pd(m1, _mm_and_pd(a1, _mm_cmplt_pd(a1, inf)));
        }
        alignas(16) double r[2];
        _mm_store_pd(r, _mm_max_pd(m0, m1));
        am = std::max(r[0], r[1]);
    } else if constexpr (std::is_same_v<T, float>) {
        const __m128 sign = _mm_set1_ps(-0.0f), inf = _mm_set1_ps(std::numeric_limits<float>::infinity());
        __m128 m0 = _mm_setzero_ps(), m1 = _mm_setzero_ps();
        for (; i + 8 <= N; i += 8) {
            const __m128 a0 = _mm_andnot_ps(sign, _mm_loadu_ps(x + i));
            const __m128 a1 = _mm_andnot_ps(sign, _mm_loadu_ps(x + i + 4));
            m0 = _mm_max_ps(m0, _mm_and_ps(a0, _mm_cmplt_ps(a0, inf)));
            m1 = _mm_max_ps(m1, _mm_and_ps(a1, _mm_cmplt_ps(a1, inf)));
        }
        alignas(16) float r[4];
        _mm_store_ps(r, _mm_max_ps(m0, m1));
        am = static_cast<double>(std::max(std::max(r[0], r[1]), std::max(r[2], r[3])));
    }
#endif
    constexpr double kInf = std::numeric_limits<double>::infinity();
    for (; i < N; ++i) {
        const double v = std::fabs(static_cast<double>(x[i]));
        am = v < kInf && v > am ? v : am;  // NaN and inf compare false
    }
    return am;
}
}  // namespace

template <class T>
std::vector<std::vector<Event>> detect(const T* x, std::size_t n, const OnsetParams& params) {
    const std::size_t C = params.n_channels;
    OnsetParams p = params;
    if (p.rest_end > 0 && static_cast<std::size_t>(p.rest_end) > n)
        throw std::invalid_argument("rest window [" + std::to_string(p.rest_begin) + ", " + std::to_string(p.rest_end) +
                                    ") lies outside the signal of " + std::to_string(n) + " samples");
    // scale enormous/tiny input by a power of two (exact)
    // largest finite magnitude; independent maxima (no loop-carried chain of selects)
    // Per channel (the channels are independent: one enormous channel must not push a normal one
    // to zero, nor a tiny one be left out; review), each by its own power of two when its largest
    // finite magnitude is above 1e100 or below 1e-100.
    const std::size_t N = n * C;
    std::vector<double> cmax(C, 0.0);
    if (C == 1) {
        cmax[0] = max_finite_abs(x, N);
    } else {
        for (std::size_t i = 0; i < n; ++i)
            for (std::size_t c = 0; c < C; ++c) {
                const double a = std::abs(static_cast<double>(x[i * C + c]));
                if (a > cmax[c] && a < std::numeric_limits<double>::infinity()) cmax[c] = a;
            }
    }
    std::vector<int> cex(C, 0);
    bool any = false;
    for (std::size_t c = 0; c < C; ++c) {
        if (cmax[c] > 1e100 || (cmax[c] > 0 && cmax[c] < 1e-100)) {
            std::frexp(cmax[c], &cex[c]);
            any = true;
        }
    }
    std::vector<T> scaled;
    const T* xp = x;
    if (any) {
        scaled.resize(n * C);
        for (std::size_t i = 0; i < n; ++i)
            for (std::size_t c = 0; c < C; ++c)
                scaled[i * C + c] = static_cast<T>(std::ldexp(static_cast<double>(x[i * C + c]), -cex[c]));
        xp = scaled.data();
    }
    OnsetDetector<T> det(p);
    std::vector<Event> ev;
    // conditioned signal of the automatic-baseline pass (cusum); not value-initialised (every
    // value is written by that pass): no 1 MB memset per channel-minute
    std::unique_ptr<double[]> ycache;
    if (p.rest_end <= 0 && n > 0) {
        // automatic baseline from the quietest 100 ms windows: a first pass keeps per-window sums
        // only (no copy of the signal), in blocks
        // (at least 64 samples: below 640 Hz a 100 ms window holds too few samples, and picking the
        // quietest of them biases sigma0^2 low: at 200 Hz 1.3-2 false activations per minute)
        // (0.1 fs clamped before the rounding: llround of a value past 2^63 is undefined)
        const std::size_t W = std::max<std::size_t>(
            64, static_cast<std::size_t>(std::llround(std::min(0.1 * p.fs, 4503599627370496.0))));
        const std::size_t nw = std::max<std::size_t>(1, n / W);
        const std::size_t used = std::min(n, nw * W);
        std::vector<double> wsu(nw * C, 0.0), wsc(nw * C, 0.0), su(nw * C, 0.0), suu(nw * C, 0.0),
            se(nw * C, 0.0), sc(nw * C, 0.0), raw(C, 0.0), nraw(C, 0.0);
        if (p.method == Method::cusum) {
            // statistic = energy, fused with the conditioning (same kernel as the detection); the
            // conditioned signal is kept when it fits in memory (the detection then skips the
            // band-pass: bit for bit the same y, so the same events as the uncached pass)
            OnsetDetector<T> pre(p);
            if (p.preprocess && n * C <= kCacheValues) ycache.reset(new double[n * C]);
            // (no sums of squares: the SD of the statistic is not used by the CUSUM detector)
            pre.window_stats(xp, n, W, nw, su.data(), nullptr, sc.data(), raw.data(), nraw.data(),
                             ycache.get());
            wsu = su;
            se = su;
            wsc = sc;
        } else {
            OnsetDetector<T> pre(p);
            // (at most the signal: W follows fs, so a tiny signal with a huge fs asked for GBs)
            const std::size_t blk = std::min(used, W * std::max<std::size_t>(1, 8192 / W + 1));
            std::vector<double> u(blk * C), e(blk * C);
            for (std::size_t i0 = 0; i0 < used; i0 += blk) {
                const std::size_t m = std::min(blk, used - i0);
                pre.statistic(xp + i0 * C, m, u.data(), e.data());
                for (std::size_t i = 0; i < m; ++i) {
                    const std::size_t w = (i0 + i) / W;
                    for (std::size_t c = 0; c < C; ++c) {
                        const double v = u[i * C + c], ee = e[i * C + c];
                        if (!std::isfinite(v)) continue;
                        wsu[w * C + c] += v;
                        wsc[w * C + c] += 1;
                        if (!std::isfinite(ee)) continue;
                        su[w * C + c] += v;
                        suu[w * C + c] += v * v;
                        se[w * C + c] += ee;
                        sc[w * C + c] += 1;
                    }
                }
            }
            for (std::size_t i = 0; i < n; ++i) {
                for (std::size_t c = 0; c < C; ++c) {
                    const double v = static_cast<double>(xp[i * C + c]);
                    if (std::isfinite(v)) {
                        raw[c] += v * v;
                        nraw[c] += 1;
                    }
                }
            }
        }
        std::vector<double> mean(C), sd(C), en(C), wm(nw), wm2;
        // default CUSUM alarm level from the colour of the rest noise: the long-run variance of
        // x^2/sigma0^2 from the autocorrelation of the conditioned signal in the quiet windows
        // (at most 1 s of them, in time order; products within a window only)
        const bool adapt = p.method == Method::cusum && std::isnan(p.threshold);
        std::vector<double> lrv;
        const auto K = static_cast<std::size_t>(std::clamp<std::int64_t>(to_samples(0.02, p.fs), 4, kMaxLags));
        const std::size_t cap = std::max<std::size_t>(1, static_cast<std::size_t>(std::ceil(1.0 * p.fs / static_cast<double>(W))));
        std::vector<double> ybw, lagS, lagN;
        std::unique_ptr<OnsetDetector<T>> fresh;
        if (adapt) lrv.assign(C, std::numeric_limits<double>::quiet_NaN());
        for (std::size_t c = 0; c < C; ++c) {
            for (std::size_t w = 0; w < nw; ++w)
                wm[w] = wsc[w * C + c] > 0 ? wsu[w * C + c] / wsc[w * C + c] : std::numeric_limits<double>::infinity();
            wm2 = wm;
            const std::size_t q = nw / 5;
            std::nth_element(wm2.begin(), wm2.begin() + static_cast<std::ptrdiff_t>(q), wm2.end());
            const double lim = 1.5 * wm2[q];
            double tu = 0, tuu = 0, te = 0, cnt = 0;
            for (std::size_t w = 0; w < nw; ++w) {
                if (!(wm[w] <= lim)) continue;
                tu += su[w * C + c];
                tuu += suu[w * C + c];
                te += se[w * C + c];
                cnt += sc[w * C + c];
            }
            if (cnt == 0) { mean[c] = 0; sd[c] = 0; en[c] = 0; continue; }
            // whole windows only: with n < W the one window is partial (n samples), too short
            // for the estimate, and reading W of them would run past the signal
            if (adapt && W > K && n >= W) {
                lagS.assign(K + 1, 0.0);
                lagN.assign(K + 1, 0.0);
                const std::size_t lead = static_cast<std::size_t>(det.settle_samples());
                std::size_t taken = 0;
                for (std::size_t w = 0; w < nw && taken < cap; ++w) {
                    if (!(wm[w] <= lim)) continue;
                    ++taken;
                    const std::size_t i0 = w * W;
                    ybw.resize(W);
                    if (ycache) {
                        for (std::size_t i = 0; i < W; ++i) ybw[i] = ycache[(i0 + i) * C + c];
                    } else if (!p.preprocess) {
                        for (std::size_t i = 0; i < W; ++i) ybw[i] = static_cast<double>(xp[(i0 + i) * C + c]);
                    } else {
                        // no cache (a long multi-channel input): the window again, after a lead-in
                        // of a fresh band-pass as long as its start transient takes to decay
                        // (settle_samples: the slowest pole, e.g. a mains notch)
                        if (!fresh) fresh = std::make_unique<OnsetDetector<T>>(p);
                        const std::size_t a = i0 >= lead ? i0 - lead : 0;
                        std::vector<double> tmp(i0 + W - a);
                        fresh->bandpass_fresh(c, xp + a * C, i0 + W - a, tmp.data());
                        std::copy(tmp.end() - static_cast<std::ptrdiff_t>(W), tmp.end(), ybw.begin());
                    }
                    // a window with a non-finite sample (or square) is not used
                    double chk = 0;
                    for (std::size_t i = 0; i < W; ++i) chk += ybw[i] * ybw[i];
                    if (!std::isfinite(chk)) {
                        --taken;
                        continue;
                    }
                    // products within the window: pairs (i, i - k) with i >= k
                    double acc[kMaxLags + 1] = {};
                    for (std::size_t i = 0; i < K; ++i)
                        for (std::size_t k = 0; k <= i; ++k) acc[k] += ybw[i] * ybw[i - k];
                    lag_products(ybw.data(), K, W, K, acc);
                    for (std::size_t k = 0; k <= K; ++k) {
                        lagS[k] += acc[k];
                        lagN[k] += static_cast<double>(W - k);
                    }
                }
                bool ok = lagN[0] > 0 && lagS[0] > 0 && std::isfinite(lagS[0]);
                for (std::size_t k = 0; ok && k <= K; ++k) {
                    ok = lagN[k] > 0;
                    if (ok) lagS[k] /= lagN[k];
                }
                if (ok) lrv[c] = OnsetDetector<T>::long_run_variance(lagS.data(), K);
            }
            mean[c] = tu / cnt;
            sd[c] = std::sqrt(std::max(tuu / cnt - mean[c] * mean[c], 0.0));
            en[c] = std::max(te / cnt, nraw[c] > 0 ? kRelFloor * raw[c] / nraw[c] : 0.0);
        }
        det.set_baseline(mean, sd, en, lrv);
    }
    if (ycache) det.process_conditioned(ycache.get(), n, ev);
    else det.process(xp, n, ev);
    det.finish(ev);
    std::vector<std::vector<Event>> res(C);
    for (const auto& e : ev)
        if (e.offset >= 0) res[static_cast<std::size_t>(e.channel)].push_back(e);
    for (auto& r : res)
        std::sort(r.begin(), r.end(), [](const Event& a, const Event& b) { return a.onset < b.onset; });
    return res;
}

template class OnsetDetector<float>;
template class OnsetDetector<double>;
template std::vector<std::vector<Event>> detect<float>(const float*, std::size_t, const OnsetParams&);
template std::vector<std::vector<Event>> detect<double>(const double*, std::size_t, const OnsetParams&);

}  // namespace kinemyo::onset
