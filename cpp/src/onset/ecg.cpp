#include "kinemyo/onset/ecg.hpp"

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <string>
#include <tuple>

#include "kinemyo/common/checks.hpp"
#include "kinemyo/filters/design.hpp"

namespace kinemyo::onset {

namespace {
std::int64_t to_samples(double s, double fs) { return static_cast<std::int64_t>(std::llround(s * fs)); }
}  // namespace

template <class T>
EcgCanceller<T>::EcgCanceller(const EcgCancellerParams& p) : p_(p) {
    detail::check_fs(p_.fs);
    detail::check_positive_count("n_channels", p_.n_channels);
    if (p_.n_channels > 4096) detail::fail_param("n_channels", "<= 4096", p_.n_channels);
    if (!(p_.qrs_low > 0 && p_.qrs_high > p_.qrs_low && p_.qrs_high < 0.5 * p_.fs))
        throw std::invalid_argument("qrs band must satisfy 0 < qrs_low < qrs_high < fs / 2; got (" +
                                    std::to_string(p_.qrs_low) + ", " + std::to_string(p_.qrs_high) + ")");
    for (auto [name, v, lo, hi] : {std::tuple<const char*, double, double, double>{"pre", p_.pre, 0.0, 1.0},
                                   {"post", p_.post, 0.0, 1.0},
                                   {"confirm", p_.confirm, 0.0, 1.0},
                                   {"refractory", p_.refractory, 0.0, 10.0},
                                   {"level_tau", p_.level_tau, 0.0, 3600.0},
                                   {"threshold", p_.threshold, 0.0, 1.0}}) {
        if (!(v > lo && v <= hi))
            detail::fail_param(name, "in (" + std::to_string(lo) + ", " + std::to_string(hi) + "]", v);
    }
    if (!(p_.min_corr >= -1.0 && p_.min_corr <= 1.0)) detail::fail_param("min_corr", "in [-1, 1]", p_.min_corr);
    if (p_.n_average < 3 || p_.n_average > 1000) detail::fail_param("n_average", "in [3, 1000]", p_.n_average);
    if (!(p_.fs * (p_.pre + p_.post + p_.confirm + p_.refractory) <= 2147483648.0))
        detail::fail_param("fs", "small enough that the windows (pre + post + confirm + refractory) fit in 2^31 samples", p_.fs);
    if (p_.max_rejects < 1) detail::fail_param("max_rejects", ">= 1", p_.max_rejects);
    if (p_.min_beats < 3 || p_.min_beats > p_.n_average) detail::fail_param("min_beats", "in [3, n_average]", p_.min_beats);
    pre_ = std::max<std::int64_t>(1, to_samples(p_.pre, p_.fs));
    post_ = std::max<std::int64_t>(1, to_samples(p_.post, p_.fs));
    L_ = pre_ + post_;
    D_ = L_;
    confirm_ = std::max<std::int64_t>(1, to_samples(p_.confirm, p_.fs));
    if (confirm_ > post_) detail::fail_param("confirm", "<= post", p_.confirm);
    refr_ = std::max<std::int64_t>(1, to_samples(p_.refractory, p_.fs));
    if (refr_ < L_) detail::fail_param("refractory", ">= pre + post", p_.refractory);
    decay_ = std::exp(-1.0 / (p_.level_tau * p_.fs));
    // the channels' scales follow 10 x more slowly than the peak level: they only put the channels
    // on a common footing, and a scale that followed each burst modulated the beats' heights
    // (1 channel, 20 dB: 1.8 -> 2.9 false activations per minute with level_tau)
    sdecay_ = std::exp(-1.0 / (10.0 * p_.level_tau * p_.fs));
    const auto sos = filters::butter(2, {p_.qrs_low, p_.qrs_high}, p_.fs, filters::BandType::bandpass);
    if (sos.size() != 2) throw std::logic_error("EcgCanceller: expected a 2-section QRS band-pass");
    for (const auto& s : sos) sos_.insert(sos_.end(), s.begin(), s.end());
    // Hann^(1/4) over the window, zero just outside it (as the offline remove_ecg)
    taper_.resize(static_cast<std::size_t>(L_));
    constexpr double kPi = 3.14159265358979323846;
    for (std::int64_t i = 0; i < L_; ++i)
        taper_[static_cast<std::size_t>(i)] =
            std::pow(0.5 - 0.5 * std::cos(2.0 * kPi * static_cast<double>(i + 1) / static_cast<double>(L_ + 1)), 0.25);
    reset();
}

template <class T>
void EcgCanceller<T>::reset() {
    t_ = 0;
    const std::size_t C = p_.n_channels;
    z_.assign(4 * C, 0.0);
    mabs_.assign(C, 0.0);
    pw_.assign(C, 1.0);
    snr_.assign(C, 1.0);
    wgt_.assign(C, 1.0);
    zrow_.assign(C, 0.0);
    candz_.assign(C, 0.0);
    level_ = candv_ = 0;
    cand_ = -1;
    last_ = 0;
    have_last_ = false;
    ring_.assign(static_cast<std::size_t>(D_ + 1) * p_.n_channels, 0.0);
    pend_p_.clear();
    pend_h_.clear();
    store_.assign(static_cast<std::size_t>(p_.n_average * L_) * p_.n_channels, 0.0);
    heights_.assign(static_cast<std::size_t>(p_.n_average), 0.0);
    n_store_ = head_ = rejects_ = n_sub_ = 0;
    subs_.clear();
}

// A confirmed beat whose window is complete (its last row is the newest input row): subtract the
// template if the window looks like the accepted beats, and add it to them.
template <class T>
void EcgCanceller<T>::judge_beat(std::int64_t p, double h) {
    const std::size_t C = p_.n_channels, L = static_cast<std::size_t>(L_);
    const auto R = static_cast<std::int64_t>(D_ + 1);
    if (p - pre_ < 0) return;  // window starts before the stream
    std::vector<double> w(L * C);
    for (std::size_t i = 0; i < L; ++i) {
        const std::int64_t s = p - pre_ + static_cast<std::int64_t>(i);
        const double* row = ring_.data() + static_cast<std::size_t>(s % R) * C;
        for (std::size_t c = 0; c < C; ++c) {
            if (!std::isfinite(row[c])) return;  // a drop-out: not a usable beat
            w[i * C + c] = row[c];
        }
    }
    for (std::size_t c = 0; c < C; ++c) {
        double m = 0;
        for (std::size_t i = 0; i < L; ++i) m += w[i * C + c];
        m /= static_cast<double>(L);
        for (std::size_t i = 0; i < L; ++i) w[i * C + c] -= m;
    }
    const auto N = static_cast<std::size_t>(n_store_);
    if (N >= 3) {
        std::vector<double> tmpl(L * C), col(N);
        for (std::size_t k = 0; k < L * C; ++k) {
            for (std::size_t j = 0; j < N; ++j) col[j] = store_[j * L * C + k];
            std::nth_element(col.begin(), col.begin() + static_cast<std::ptrdiff_t>(N / 2), col.end());
            tmpl[k] = col[N / 2];
        }
        // correlation over the channels, each scaled to its running mean absolute QRS-band value
        // and weighted as in the detection: an ECG-free channel (or one 30 x larger) does not
        // decide whether a beat looks like the others
        std::vector<double> f(C, 0.0);
        for (std::size_t c = 0; c < C; ++c) {
            const double m = pw_[c] < 1.0 ? mabs_[c] / (1.0 - pw_[c]) : 0.0;
            f[c] = m > 0 ? wgt_[c] / (m * m) : 0.0;
        }
        double sw = 0, st = 0, swt = 0;
        for (std::size_t k = 0; k < L * C; ++k) {
            const double fc = f[k % C];
            sw += fc * w[k] * w[k];
            st += fc * tmpl[k] * tmpl[k];
            swt += fc * w[k] * tmpl[k];
        }
        const double rho = swt / std::sqrt(sw * st + 1e-300);
        std::vector<double> hs(heights_.begin(), heights_.begin() + static_cast<std::ptrdiff_t>(N));
        std::nth_element(hs.begin(), hs.begin() + static_cast<std::ptrdiff_t>(N / 2), hs.end());
        const double hm = hs[N / 2];
        if (!(rho >= p_.min_corr) || !(h > hm / 3.0 && h < 3.0 * hm)) {
            if (++rejects_ >= p_.max_rejects) n_store_ = head_ = rejects_ = 0;  // start over
            return;
        }
        rejects_ = 0;
        if (n_store_ >= p_.min_beats) {
            subs_.push_back({p, std::move(tmpl)});
            ++n_sub_;
        }
    }
    // add to the accepted beats (ring of n_average windows)
    std::copy(w.begin(), w.end(), store_.begin() + static_cast<std::ptrdiff_t>(static_cast<std::size_t>(head_) * L * C));
    heights_[static_cast<std::size_t>(head_)] = h;
    head_ = (head_ + 1) % p_.n_average;
    n_store_ = std::min<std::int64_t>(n_store_ + 1, p_.n_average);
}

// Output row s (an input row still in the ring) minus the templates of the beats covering it.
template <class T>
void EcgCanceller<T>::emit(std::int64_t s, T* row) {
    const std::size_t C = p_.n_channels;
    const double* in = ring_.data() + static_cast<std::size_t>(s % (D_ + 1)) * C;
    for (std::size_t c = 0; c < C; ++c) row[c] = static_cast<T>(in[c]);
    std::size_t keep = 0;
    for (std::size_t k = 0; k < subs_.size(); ++k) {
        Sub& b = subs_[k];
        const std::int64_t i = s - (b.p - pre_);
        if (i >= L_) continue;  // done: dropped below
        if (i >= 0) {
            const double* tm = b.tmpl.data() + static_cast<std::size_t>(i) * C;
            const double tp = taper_[static_cast<std::size_t>(i)];
            for (std::size_t c = 0; c < C; ++c)
                if (std::isfinite(in[c])) row[c] = static_cast<T>(static_cast<double>(row[c]) - tp * tm[c]);
        }
        if (keep != k) subs_[keep] = std::move(b);
        ++keep;
    }
    subs_.resize(keep);
}

template <class T>
std::size_t EcgCanceller<T>::process(const T* x, std::size_t n, T* y) {
    const std::size_t C = p_.n_channels;
    const double* q = sos_.data();
    std::size_t out = 0;
    for (std::size_t r = 0; r < n; ++r) {
        const std::int64_t t = t_;
        double* slot = ring_.data() + static_cast<std::size_t>(t % (D_ + 1)) * C;
        double e = 0;
        for (std::size_t c = 0; c < C; ++c) {
            const double xv = static_cast<double>(x[r * C + c]);
            slot[c] = xv;
            // QRS band: two sections, transposed direct form II (b0 b1 b2 a0 a1 a2; a0 = 1)
            double v = std::isfinite(xv) ? xv : 0.0;
            double* zc = z_.data() + 4 * c;
            for (int k = 0; k < 2; ++k) {
                const double* s = q + 6 * k;
                const double o = s[0] * v + zc[2 * k];
                zc[2 * k] = s[1] * v - s[4] * o + zc[2 * k + 1];
                zc[2 * k + 1] = s[2] * v - s[5] * o;
                v = o;
            }
            if (!std::isfinite(v * v) || !std::isfinite(zc[0] + zc[1] + zc[2] + zc[3])) {
                // an overflowing value: restart this channel's QRS filter rather than poison it
                std::fill(zc, zc + 4, 0.0);
                v = 0;
            }
            const double a = std::abs(v);
            // a channel's scale learns only from its own data (finite, non-zero input) and is
            // bias-corrected from its own first such sample: a channel that is silent (exact
            // zeros, a drop-out) and comes alive later starts at its own level instead of
            // swamping the sum (review, eighth session)
            if (std::isfinite(xv) && xv != 0.0) {
                pw_[c] *= sdecay_;
                mabs_[c] = sdecay_ * mabs_[c] + (1.0 - sdecay_) * a;
            }
            const double m = pw_[c] < 1.0 ? mabs_[c] / (1.0 - pw_[c]) : 0.0;
            // capped at 50^2: a QRS complex is at most a few tens of times its channel's mean
            // |band-passed| value (its duty cycle), while a channel whose level jumps (an
            // electrode that gets good contact) gave 1e4 and hid the beats of all channels for as
            // long as its slow scale took to follow (review, eighth session)
            const double zv = m > 0 ? std::min(a / m, 50.0) : 0.0;
            zrow_[c] = zv * zv;
            e += wgt_[c] * zrow_[c];
        }
        if (!std::isfinite(e)) e = 0;
        // a single-sample glitch raises the peak level at most tenfold (it would otherwise hide
        // the beats for level_tau ln(glitch / QRS) seconds)
        if (level_ > 0) e = std::min(e, 10.0 * level_);
        level_ = std::max(level_ * decay_, e);
        if (e > candv_ && (!have_last_ || t - last_ >= refr_)) {
            cand_ = t;
            candv_ = e;
            std::copy(zrow_.begin(), zrow_.end(), candz_.begin());
        }
        if (cand_ >= 0 && t - cand_ >= confirm_) {
            if (candv_ > p_.threshold * level_) {
                pend_p_.push_back(cand_);
                pend_h_.push_back(candv_);
                last_ = cand_;
                have_last_ = true;
                // channel weights: running mean (over beats) of each channel's value at the peak
                double mx = 0;
                for (std::size_t c = 0; c < C; ++c) {
                    // growth limited to x4.75 per beat: a channel's transient (a level jump, an
                    // artefact taken for a beat) cannot take the weights over in one detection
                    snr_[c] = 0.75 * snr_[c] + 0.25 * std::min(candz_[c], 16.0 * std::max(snr_[c], 1.0));
                    mx = std::max(mx, snr_[c]);
                }
                for (std::size_t c = 0; c < C; ++c) wgt_[c] = mx > 0 ? snr_[c] / mx : 1.0;
            }
            cand_ = -1;
            candv_ = 0;
        }
        // beats whose window ends with this row
        std::size_t keep = 0;
        for (std::size_t k = 0; k < pend_p_.size(); ++k) {
            if (pend_p_[k] + post_ - 1 <= t) {
                judge_beat(pend_p_[k], pend_h_[k]);
                continue;
            }
            pend_p_[keep] = pend_p_[k];
            pend_h_[keep] = pend_h_[k];
            ++keep;
        }
        pend_p_.resize(keep);
        pend_h_.resize(keep);
        const std::int64_t s = t - D_;
        if (s >= 0) emit(s, y + (out++) * C);
        t_ = t + 1;
    }
    return out;
}

template <class T>
std::size_t EcgCanceller<T>::flush(T* y) {
    const std::size_t C = p_.n_channels;
    std::size_t out = 0;
    for (std::int64_t s = std::max<std::int64_t>(0, t_ - D_); s < t_; ++s) emit(s, y + (out++) * C);
    reset();
    return out;
}

template <class T>
StateRecord EcgCanceller<T>::get_state() const {
    StateRecord r;
    r["position"] = {static_cast<double>(t_)};
    r["qrs_filter"] = z_;
    r["qrs_scale"] = mabs_;
    r["qrs_scale"].insert(r["qrs_scale"].end(), pw_.begin(), pw_.end());
    r["qrs_weights"] = snr_;
    r["candidate_z"] = candz_;
    r["detection"] = {level_,
                      candv_,
                      static_cast<double>(cand_),
                      static_cast<double>(last_),
                      have_last_ ? 1.0 : 0.0,
                      static_cast<double>(n_store_),
                      static_cast<double>(head_),
                      static_cast<double>(rejects_),
                      static_cast<double>(n_sub_)};
    r["ring"] = ring_;
    r["store"] = store_;
    r["heights"] = heights_;
    auto& pend = r["pending"];
    for (std::size_t k = 0; k < pend_p_.size(); ++k) {
        pend.push_back(static_cast<double>(pend_p_[k]));
        pend.push_back(pend_h_[k]);
    }
    auto& sub = r["subtractions"];
    for (const auto& b : subs_) {
        sub.push_back(static_cast<double>(b.p));
        sub.insert(sub.end(), b.tmpl.begin(), b.tmpl.end());
    }
    return r;
}

template <class T>
void EcgCanceller<T>::set_state(const StateRecord& st) {
    const std::size_t C = p_.n_channels, LC = static_cast<std::size_t>(L_) * C;
    const auto& pos = detail::state_field(st, "position", 1);
    const auto& zf = detail::state_field(st, "qrs_filter", 4 * C);
    const auto& sc = detail::state_field(st, "qrs_scale", 2 * C);
    const auto& sn = detail::state_field(st, "qrs_weights", C);
    const auto& cz = detail::state_field(st, "candidate_z", C);
    const auto& det = detail::state_field(st, "detection", 9);
    const auto& ring = detail::state_field(st, "ring", ring_.size());
    const auto& store = detail::state_field(st, "store", store_.size());
    const auto& heights = detail::state_field(st, "heights", heights_.size());
    const auto pit = st.find("pending"), sit = st.find("subtractions");
    if (pit == st.end() || sit == st.end()) throw std::invalid_argument("state is missing 'pending' or 'subtractions'");
    if (pit->second.size() % 2 != 0) throw std::invalid_argument("state field 'pending' must hold (peak, height) pairs");
    if (sit->second.size() % (LC + 1) != 0)
        throw std::invalid_argument("state field 'subtractions' must hold (peak, " + std::to_string(LC) +
                                    " template values) records");
    const double ns = det[5], hd = det[6], tt = pos[0];
    auto whole = [](double v, double lo, double hi) { return v >= lo && v <= hi && std::floor(v) == v; };
    constexpr double kMax = 9007199254740992.0;  // 2^53: positions are exact doubles
    bool ok = whole(tt, 0, kMax) && whole(ns, 0, p_.n_average) && whole(hd, 0, p_.n_average - 1) &&
              std::isfinite(det[0]) && det[0] >= 0 && std::isfinite(det[1]) && det[1] >= 0 &&
              whole(det[2], -1, tt) && whole(det[3], 0, tt) && whole(det[7], 0, kMax) && whole(det[8], 0, kMax);
    for (std::size_t k = 0; k < pit->second.size(); k += 2)
        ok = ok && whole(pit->second[k], 0, tt) && std::isfinite(pit->second[k + 1]);
    ok = ok && (det[4] == 0.0 || det[4] == 1.0);
    for (double v : zf) ok = ok && std::isfinite(v);
    for (double v : sc) ok = ok && std::isfinite(v) && v >= 0;
    for (std::size_t c = C; c < 2 * C; ++c) ok = ok && sc[c] <= 1.0;
    for (double v : sn) ok = ok && std::isfinite(v) && v >= 0;
    for (double v : cz) ok = ok && std::isfinite(v) && v >= 0;
    for (double v : store) ok = ok && std::isfinite(v);
    for (double v : heights) ok = ok && std::isfinite(v);
    for (double v : sit->second) ok = ok && std::isfinite(v);
    for (std::size_t k = 0; k < sit->second.size(); k += LC + 1) ok = ok && whole(sit->second[k], 0, tt);
    if (!ok)
        throw std::invalid_argument(
            "EcgCanceller state out of range (position, detection, QRS scale or weights, pending or subtractions)");
    t_ = static_cast<std::int64_t>(pos[0]);
    z_ = zf;
    mabs_.assign(sc.begin(), sc.begin() + static_cast<std::ptrdiff_t>(C));
    pw_.assign(sc.begin() + static_cast<std::ptrdiff_t>(C), sc.end());
    snr_ = sn;
    candz_ = cz;
    {
        double mx = 0;
        for (double v : snr_) mx = std::max(mx, v);
        for (std::size_t c = 0; c < C; ++c) wgt_[c] = mx > 0 ? snr_[c] / mx : 1.0;
    }
    level_ = det[0];
    candv_ = det[1];
    cand_ = static_cast<std::int64_t>(det[2]);
    last_ = static_cast<std::int64_t>(det[3]);
    have_last_ = det[4] != 0.0;
    n_store_ = static_cast<std::int64_t>(ns);
    head_ = static_cast<std::int64_t>(hd);
    rejects_ = static_cast<std::int64_t>(det[7]);
    n_sub_ = static_cast<std::int64_t>(det[8]);
    ring_ = ring;
    store_ = store;
    heights_ = heights;
    pend_p_.clear();
    pend_h_.clear();
    for (std::size_t k = 0; k < pit->second.size(); k += 2) {
        pend_p_.push_back(static_cast<std::int64_t>(pit->second[k]));
        pend_h_.push_back(pit->second[k + 1]);
    }
    subs_.clear();
    for (std::size_t k = 0; k < sit->second.size(); k += LC + 1) {
        const auto b0 = sit->second.begin() + static_cast<std::ptrdiff_t>(k + 1);
        subs_.push_back({static_cast<std::int64_t>(sit->second[k]), std::vector<double>(b0, b0 + static_cast<std::ptrdiff_t>(LC))});
    }
}

template class EcgCanceller<float>;
template class EcgCanceller<double>;

}  // namespace kinemyo::onset
