#include "kinemyo/onset/detector.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <stdexcept>

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
#define KINEMYO_BIN_DOF 1.0
#endif
constexpr double kBinDof = KINEMYO_BIN_DOF;  // effective chi-square dof of a 2 ms energy bin
constexpr double kRelFloor = 1e-12;  // sigma0^2 >= 1e-12 x the raw mean square (rounding level)
double or_default(double v, double d) { return std::isnan(v) ? d : v; }
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
        band_ = std::make_unique<filters::SosFilter<T>>(filters::SosFilterParams{
            filters::butter(p_.band_order, {lo, hi}, fs, filters::BandType::bandpass), p_.n_channels,
            filters::InitMode::steady});
    }
    const bool is_c = p_.method == Method::cusum;
    h_ = or_default(p_.threshold, p_.method == Method::hodges_bui ? 3.0
                                  : p_.method == Method::tkeo     ? 15.0
                                  : p_.method == Method::bonato   ? 9.17
                                                                  : 0.05);
    if (!(std::isfinite(h_) && h_ > 0)) detail::fail_param("threshold", "finite and > 0", h_);
    if (is_c) h_ *= fs;  // seconds of unit drift -> samples
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
    n_win_ = std::max<std::int64_t>(1, to_samples(win_, fs));
    n_min_active_ = to_samples(min_active_, fs);
    n_min_gap_ = to_samples(min_gap_, fs);
    n_refine_delay_ = to_samples(p_.refine_delay, fs);
    bin_ = std::max<std::int64_t>(1, to_samples(0.002, fs));
    if (p_.rest_begin >= 0 || p_.rest_end >= 0) {
        if (p_.rest_begin < 0 || p_.rest_end <= p_.rest_begin)
            throw std::invalid_argument("rest must satisfy 0 <= rest_begin < rest_end; got [" +
                                        std::to_string(p_.rest_begin) + ", " + std::to_string(p_.rest_end) + ")");
        const std::int64_t need = std::max<std::int64_t>(32, to_samples(0.1, fs));
        if (p_.rest_end - p_.rest_begin < need)
            throw std::invalid_argument("rest window must be at least 0.1 s (" + std::to_string(need) +
                                        " samples); got " + std::to_string(p_.rest_end - p_.rest_begin) + " samples");
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
    if (band_) band_->reset();
    if (lp_) lp_->reset();
    if (tk_) tk_->reset();
    ch_.assign(p_.n_channels, Chan{});
    const std::int64_t nb = static_cast<std::int64_t>(std::ceil(2.5 * p_.fs / static_cast<double>(bin_))) + 8;
    for (auto& c : ch_) {
        if (p_.method == Method::hodges_bui) c.ring.assign(static_cast<std::size_t>(n_win_), 0.0);
        if (p_.method == Method::bonato) c.pair_ring.assign(kBonatoM, -1);
        if (p_.method == Method::cusum) c.bins.assign(static_cast<std::size_t>(nb), 0.0);
    }
    if (!given_base_) {
        have_base_ = false;
        bmean_.assign(p_.n_channels, 0.0);
        bsd_.assign(p_.n_channels, 1.0);
        benergy_.assign(p_.n_channels, 1.0);
    }
    t_ = 0;
}

template <class T>
std::int64_t OnsetDetector<T>::latency_samples() const noexcept {
    const std::int64_t base = std::max(n_min_active_, p_.method == Method::cusum ? n_refine_delay_ : 0);
    return base + n_min_gap_ + n_win_;
}

template <class T>
void OnsetDetector<T>::set_baseline(const std::vector<double>& mean, const std::vector<double>& sd,
                                    const std::vector<double>& energy) {
    const std::size_t C = p_.n_channels;
    if (mean.size() != C || sd.size() != C || energy.size() != C)
        throw std::invalid_argument("baseline arrays must have n_channels = " + std::to_string(C) + " values");
    for (std::size_t c = 0; c < C; ++c) {
        if (!std::isfinite(mean[c]) || !std::isfinite(sd[c]) || !std::isfinite(energy[c]))
            throw std::invalid_argument("baseline must be finite; got a non-finite value on channel " + std::to_string(c));
    }
    bmean_ = mean;
    bsd_ = sd;
    benergy_ = energy;
    for (std::size_t c = 0; c < C; ++c) {
        bsd_[c] = std::max(bsd_[c], 1e-12 * std::max(1.0, std::fabs(bmean_[c])));
        benergy_[c] = std::max(benergy_[c], kTiny);
    }
    have_base_ = given_base_ = true;
}

template <class T>
void OnsetDetector<T>::condition(const T* x, std::size_t n) {
    const std::size_t C = p_.n_channels, N = n * C;
    xs_.resize(N);
    us_.resize(N);
    if (band_) {
        // filter in T, widen to double
        ybuf_.resize(N);
        band_->process(x, ybuf_.data(), n);
        for (std::size_t i = 0; i < N; ++i) xs_[i] = static_cast<double>(ybuf_[i]);
    } else {
        for (std::size_t i = 0; i < N; ++i) xs_[i] = static_cast<double>(x[i]);
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
void OnsetDetector<T>::statistic(const T* x, std::size_t n, double* stat, double* energy) {
    condition(x, n);
    const std::size_t N = n * p_.n_channels;
    for (std::size_t i = 0; i < N; ++i) {
        stat[i] = us_[i];
        energy[i] = xs_[i] * xs_[i];
    }
    t_ += static_cast<std::int64_t>(n);
}

template <class T>
void OnsetDetector<T>::process(const T* x, std::size_t n, std::vector<Event>& out) {
    if (n == 0) return;
    condition(x, n);
    const std::size_t C = p_.n_channels;
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
                }
            }
            if (t == p_.rest_end - 1) {
                for (std::size_t c = 0; c < C; ++c) {
                    Chan& s = ch_[c];
                    const double nn = std::max(s.rn, 1.0);
                    const double m = s.rs / nn;
                    bmean_[c] = m;
                    bsd_[c] = std::max(std::sqrt(std::max(s.rss / nn - m * m, 0.0)), 1e-12 * std::max(1.0, std::fabs(m)));
                    // numerically silent rest (e.g. a constant signal after the band-pass): floor
                    benergy_[c] = std::max({s.re / nn, kRelFloor * s.rraw / nn, kTiny});
                }
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
void OnsetDetector<T>::raw_on(std::size_t c, std::int64_t on, std::int64_t t, std::vector<Event>& out) {
    Chan& s = ch_[c];
    (void)t;
    if (s.ev_open && s.close_pending) {
        if (on - s.ev_off < n_min_gap_) {
            s.close_pending = false;  // merge
            return;
        }
        if (s.announced || s.ev_off - s.ev_on >= n_min_active_)
            out.push_back({static_cast<std::int64_t>(c), s.ev_on, s.ev_off});
        s.ev_open = false;
    }
    s.ev_open = true;
    s.announced = false;
    s.close_pending = false;
    s.ev_on = on;
}

template <class T>
void OnsetDetector<T>::raw_off(std::size_t c, std::int64_t off, std::vector<Event>& /*out*/) {
    Chan& s = ch_[c];
    if (!s.ev_open) return;
    s.close_pending = true;
    s.ev_off = std::max(off, s.ev_on + 1);
    s.last_raw_off = s.ev_off;
}

template <class T>
void OnsetDetector<T>::tick(std::size_t c, std::int64_t t, std::vector<Event>& out) {
    Chan& s = ch_[c];
    if (!s.ev_open) return;
    if (!s.close_pending) {
        if (!s.announced && t - s.ev_on + 1 >= n_min_active_) {
            out.push_back({static_cast<std::int64_t>(c), s.ev_on, -1});
            s.announced = true;
        }
    } else if (t + 1 >= s.ev_off + n_min_gap_) {
        if (s.announced || s.ev_off - s.ev_on >= n_min_active_)
            out.push_back({static_cast<std::int64_t>(c), s.ev_on, s.ev_off});
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
        case Method::cusum: {
            const double z = e / benergy_[c];
            // 2 ms log-energy bins for the onset refinement
            s.bin_acc += z;
            ++s.bin_n;
            if ((t + 1) % bin_ == 0) {
                const double le = s.bin_acc / static_cast<double>(s.bin_n);
                s.bins[static_cast<std::size_t>((t / bin_) % static_cast<std::int64_t>(s.bins.size()))] = le;
                s.last_le = le;
                s.bin_acc = 0;
                s.bin_n = 0;
            }
            const bool pending = s.alarm >= 0;
            if (!s.active && !pending) {
                s.S = std::max(0.0, s.S + z - k_);
                if (s.S == 0.0) s.tau = t + 1;
                if (s.tau < 0) s.tau = t;
                if (s.S > h_) {
                    s.alarm = t;
                    s.alarm_tau = s.tau;
                    s.D = 0;
                    s.tau_off = t + 1;
                }
                return;
            }
            s.D = std::max(0.0, s.D + k_ - z);
            if (s.D == 0.0) s.tau_off = t + 1;
            const bool off_alarm = s.D > h_;
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
            break;
        }
    }
}

template <class T>
std::int64_t OnsetDetector<T>::refine_onset(std::size_t c, std::int64_t tau, std::int64_t t) {
    Chan& s = ch_[c];
    const auto NB = static_cast<std::int64_t>(s.bins.size());
    const std::int64_t gE = (t + 1) / bin_;  // complete bins are < gE
    const std::int64_t gT = tau / bin_;
    const std::int64_t wb = static_cast<std::int64_t>(std::llround(p_.refine_window * p_.fs)) / bin_;
    std::int64_t gA = std::max({gT - wb, gE - NB + 1, (s.last_raw_off + bin_ - 1) / bin_,
                                (std::max<std::int64_t>(p_.rest_end, 0) + bin_ - 1) / bin_, std::int64_t{0}});
    if (gE - gA < 10 || gT < gA) return tau;
    const auto L = static_cast<std::size_t>(gE - gA);
    fit_le_.resize(L);
    fit_p1_.assign(L + 1, 0.0);
    fit_p2_.assign(L + 1, 0.0);
    for (std::size_t j = 0; j < L; ++j) {
        const double v = s.bins[static_cast<std::size_t>((gA + static_cast<std::int64_t>(j)) % NB)];
        fit_le_[j] = v;
        fit_p1_[j + 1] = fit_p1_[j] + v;
        fit_p2_[j + 1] = fit_p2_[j] + v * v;
    }
    // Maximum likelihood (scale family: each bin's mean energy ~ m_j * chi2_nu / nu, so
    // -log L = nu/2 * sum(log m_j + e_j / m_j) + const) of: rest level m0 on [0, c), a linear
    // amplitude ramp m0 + (m1 - m0) r^2 over R bins, plateau m1 after. The levels are their
    // segment means (their MLE given c and R), so the flat parts cost n log(mean) + n, O(1) each.
    const auto Lz = static_cast<std::int64_t>(L);
    const std::int64_t maxR = static_cast<std::int64_t>(std::llround(p_.max_rise * p_.fs)) / bin_;
    static const std::int64_t kR[] = {0, 2, 4, 7, 10, 14, 19, 25, 32, 40, 50, 65, 80, 100, 130, 170, 220, 300, 400, 500};
    double best = std::numeric_limits<double>::infinity();
    std::int64_t best_c = gT - gA;
    best_R_ = 0;
    const std::int64_t c_hi = Lz - 4;
    auto eval_c = [&](std::int64_t cc) {
        const double n0 = static_cast<double>(cc);
        // rest level known from the baseline (bins hold x^2 / sigma0^2): m0 = 1
        (void)n0;
        const double m0 = 1.0;
        const double cost0 = fit_p1_[static_cast<std::size_t>(cc)];
        for (std::int64_t R : kR) {
            if (R > maxR) break;
            const std::int64_t e0 = cc + R;
            if (e0 > Lz - 3) break;
            const double n1 = static_cast<double>(Lz - e0);
            const double m1 = (fit_p1_[L] - fit_p1_[static_cast<std::size_t>(e0)]) / n1;
            if (m1 <= m0) continue;
            double cost = cost0 + n1 * (std::log(m1) + 1.0);
            if (cost >= best) continue;
            if (R > 0) {
                const double dm = m1 - m0, invR = 1.0 / static_cast<double>(R);
                for (std::int64_t j = 0; j < R && cost < best; ++j) {
                    const double r = (static_cast<double>(j) + 0.5) * invR;
                    const double m = m0 + dm * r * r;
                    cost += std::log(m) + fit_le_[static_cast<std::size_t>(cc + j)] / m;
                }
            }
            if (cost < best) {
                best = cost;
                best_c = cc;
                best_R_ = R;
            }
        }
    };
    // coarse pass every 3rd bin, then every bin around the best
    for (std::int64_t cc = 3; cc <= c_hi; cc += 3) eval_c(cc);
    const std::int64_t coarse = best_c;
    for (std::int64_t cc = std::max<std::int64_t>(3, coarse - 2); cc <= std::min(c_hi, coarse + 2); ++cc)
        if (cc != coarse) eval_c(cc);
    best_R_ = std::max<std::int64_t>(best_R_, 0);
    // Posterior mean of the start over c at the best rise length (flat prior): at low SNR the
    // likelihood of the start has a long, flat early tail that the maximum ignores.
    {
        const std::int64_t R = best_R_;
        double wsum = 0, csum = 0;
        const double nu2 = 0.5 * kBinDof;
        for (std::int64_t cc = std::max<std::int64_t>(3, best_c - 40); cc <= std::min(c_hi, best_c + 10); ++cc) {
            const std::int64_t e0 = cc + R;
            if (e0 > Lz - 3) break;
            const double n1 = static_cast<double>(Lz - e0);
            const double m0 = 1.0;
            const double m1 = (fit_p1_[L] - fit_p1_[static_cast<std::size_t>(e0)]) / n1;
            if (m1 <= m0) continue;
            double cost = fit_p1_[static_cast<std::size_t>(cc)] + n1 * (std::log(m1) + 1.0);
            const double dm = m1 - m0, invR = R > 0 ? 1.0 / static_cast<double>(R) : 0.0;
            for (std::int64_t j = 0; j < R; ++j) {
                const double r = (static_cast<double>(j) + 0.5) * invR;
                const double m = m0 + dm * r * r;
                cost += std::log(m) + fit_le_[static_cast<std::size_t>(cc + j)] / m;
            }
            const double w = std::exp(-nu2 * (cost - best));
            wsum += w;
            csum += w * static_cast<double>(cc);
        }
        if (wsum > 0) best_c = static_cast<std::int64_t>(std::llround(csum / wsum));
    }
    return (gA + best_c) * bin_;
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
        if (s.ev_open) {
            const std::int64_t off = s.close_pending ? s.ev_off : t_;
            if (s.announced || off - s.ev_on >= n_min_active_)
                out.push_back({static_cast<std::int64_t>(c), s.ev_on, std::max(off, s.ev_on + 1)});
        }
    }
    const bool had = have_base_;
    const auto m = bmean_, sd = bsd_, en = benergy_;
    const bool given = given_base_;
    reset();
    if (had) {
        bmean_ = m;
        bsd_ = sd;
        benergy_ = en;
        have_base_ = true;
        given_base_ = given;
    }
}

template <class T>
std::vector<std::vector<Event>> detect(const T* x, std::size_t n, const OnsetParams& params) {
    const std::size_t C = params.n_channels;
    OnsetParams p = params;
    if (p.rest_end > 0 && static_cast<std::size_t>(p.rest_end) > n)
        throw std::invalid_argument("rest window [" + std::to_string(p.rest_begin) + ", " + std::to_string(p.rest_end) +
                                    ") lies outside the signal of " + std::to_string(n) + " samples");
    // scale enormous/tiny input by a power of two (exact)
    double amax = 0;
    for (std::size_t i = 0; i < n * C; ++i) {
        const double v = std::fabs(static_cast<double>(x[i]));
        if (std::isfinite(v)) amax = std::max(amax, v);
    }
    std::vector<T> scaled;
    const T* xp = x;
    if (amax > 1e100 || (amax > 0 && amax < 1e-100)) {
        int ex = 0;
        std::frexp(amax, &ex);
        scaled.resize(n * C);
        for (std::size_t i = 0; i < n * C; ++i)
            scaled[i] = static_cast<T>(std::ldexp(static_cast<double>(x[i]), -ex));
        xp = scaled.data();
    }
    OnsetDetector<T> det(p);
    std::vector<Event> ev;
    if (p.rest_end <= 0 && n > 0) {
        // automatic baseline from the quietest 100 ms windows
        std::vector<double> u(n * C), e(n * C);
        {
            OnsetDetector<T> pre(p);
            pre.statistic(xp, n, u.data(), e.data());
        }
        const std::size_t W = std::max<std::size_t>(8, static_cast<std::size_t>(std::llround(0.1 * p.fs)));
        const std::size_t nw = std::max<std::size_t>(1, n / W);
        std::vector<double> mean(C), sd(C), en(C), wm(nw), wm2;
        for (std::size_t c = 0; c < C; ++c) {
            for (std::size_t w = 0; w < nw; ++w) {
                double sum = 0;
                std::size_t cnt = 0;
                for (std::size_t i = w * W; i < std::min(n, (w + 1) * W); ++i) {
                    const double v = u[i * C + c];
                    if (std::isfinite(v)) { sum += v; ++cnt; }
                }
                wm[w] = cnt ? sum / static_cast<double>(cnt) : std::numeric_limits<double>::infinity();
            }
            wm2 = wm;
            const std::size_t q = nw / 5;
            std::nth_element(wm2.begin(), wm2.begin() + static_cast<std::ptrdiff_t>(q), wm2.end());
            const double lim = 1.5 * wm2[q];
            double su = 0, suu = 0, se = 0, cnt = 0;
            for (std::size_t w = 0; w < nw; ++w) {
                if (!(wm[w] <= lim)) continue;
                for (std::size_t i = w * W; i < std::min(n, (w + 1) * W); ++i) {
                    const double v = u[i * C + c], ee = e[i * C + c];
                    if (!std::isfinite(v) || !std::isfinite(ee)) continue;
                    su += v; suu += v * v; se += ee; cnt += 1;
                }
            }
            if (cnt == 0) { mean[c] = 0; sd[c] = 0; en[c] = 0; continue; }
            mean[c] = su / cnt;
            sd[c] = std::sqrt(std::max(suu / cnt - mean[c] * mean[c], 0.0));
            double raw = 0, nraw = 0;
            for (std::size_t i = 0; i < n; ++i) {
                const double v = static_cast<double>(xp[i * C + c]);
                if (std::isfinite(v)) { raw += v * v; nraw += 1; }
            }
            en[c] = std::max(se / cnt, nraw > 0 ? kRelFloor * raw / nraw : 0.0);
        }
        det.set_baseline(mean, sd, en);
    }
    det.process(xp, n, ev);
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
