#include "kinemyo/filters/moving.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

#include "kinemyo/common/checks.hpp"

namespace kinemyo::filters {

template <class T>
MovingWindow<T>::MovingWindow(const MovingWindowParams& params) : params_(params), n_(0) {
    detail::check_fs(params.fs);
    detail::check_positive_count("n_channels", params.n_channels);
    const double n = std::round(params.window_s * params.fs);
    if (!(std::isfinite(params.window_s) && n >= 1.0)) {
        detail::fail_param("window_s", "at least one sample long (window_s * fs >= 0.5)",
                           params.window_s);
    }
    if (n > 1e9) detail::fail_param("window_s", "at most 1e9 samples long", params.window_s);
    n_ = static_cast<std::size_t>(n);
    // Largest |x| accepted: the window's sum of N values (x or x^2) then stays below DBL_MAX / 2,
    // so the running sum, its updates and the recompute never overflow. Beyond it (|x| above about
    // 1e150 for RMS, 1e298 for the mean, whatever N <= 1e9; never for float32 input) a sample is
    // treated like a non-finite one.
    const double big = std::numeric_limits<double>::max() / (2.0 * n);
    max_abs_ = params.stat == WindowStat::rms ? std::sqrt(big) : big;
    ring_.assign(n_ * params.n_channels, 0.0);
    valid_.assign(n_ * params.n_channels, 0);
    sum_.assign(params.n_channels, 0.0);
    count_.assign(params.n_channels, 0);
}

template <class T>
void MovingWindow<T>::reset() {
    std::fill(ring_.begin(), ring_.end(), 0.0);
    std::fill(valid_.begin(), valid_.end(), 0);
    std::fill(sum_.begin(), sum_.end(), 0.0);
    std::fill(count_.begin(), count_.end(), 0);
    pos_ = 0;
}

template <class T>
void MovingWindow<T>::recompute() {
    const std::size_t C = params_.n_channels;
    std::fill(sum_.begin(), sum_.end(), 0.0);
    for (std::size_t k = 0; k < n_; ++k) {
        const double* r = ring_.data() + k * C;
        for (std::size_t c = 0; c < C; ++c) sum_[c] += r[c];
    }
}

template <class T>
void MovingWindow<T>::process(const T* x, T* y, std::size_t n_samples) {
    const std::size_t C = params_.n_channels;
    const bool rms = params_.stat == WindowStat::rms;
    const T nan = std::numeric_limits<T>::quiet_NaN();
    double* sum = sum_.data();
    std::int64_t* count = count_.data();
    for (std::size_t t = 0; t < n_samples; ++t) {
        const T* xr = x + t * C;
        T* yr = y + t * C;
        double* slot = ring_.data() + pos_ * C;
        std::uint8_t* vslot = valid_.data() + pos_ * C;
        for (std::size_t c = 0; c < C; ++c) {
            const double xv = static_cast<double>(xr[c]);
            const bool ok = std::fabs(xv) <= max_abs_;  // false for NaN and +-Inf
            const double v = ok ? (rms ? xv * xv : xv) : 0.0;
            sum[c] += v - slot[c];
            count[c] += static_cast<std::int64_t>(ok) - static_cast<std::int64_t>(vslot[c]);
            slot[c] = v;
            vslot[c] = static_cast<std::uint8_t>(ok);
            double out = count[c] > 0 ? sum[c] / static_cast<double>(count[c]) : 0.0;
            if (rms) out = std::sqrt(std::max(out, 0.0));
            yr[c] = (ok && count[c] > 0) ? static_cast<T>(out) : nan;
        }
        if (++pos_ == n_) {
            pos_ = 0;
            recompute();
        }
    }
}

template <class T>
StateRecord MovingWindow<T>::get_state() const {
    StateRecord s;
    s["ring"] = ring_;
    s["valid"] = std::vector<double>(valid_.begin(), valid_.end());
    s["sum"] = sum_;
    s["count"] = std::vector<double>(count_.begin(), count_.end());
    s["pos"] = {static_cast<double>(pos_)};
    return s;
}

template <class T>
void MovingWindow<T>::set_state(const StateRecord& state) {
    const std::size_t C = params_.n_channels;
    const auto& ring = detail::state_field(state, "ring", ring_.size());
    const auto& valid = detail::state_field(state, "valid", valid_.size());
    const auto& sum = detail::state_field(state, "sum", C);
    const auto& count = detail::state_field(state, "count", C);
    const auto& pos = detail::state_field(state, "pos", 1);
    if (!(pos[0] >= 0.0 && pos[0] < static_cast<double>(n_))) {
        detail::fail_param("state['pos']", "in [0, window length)", pos[0]);
    }
    ring_ = ring;
    for (std::size_t i = 0; i < valid.size(); ++i) valid_[i] = valid[i] != 0.0 ? 1 : 0;
    sum_ = sum;
    for (std::size_t c = 0; c < C; ++c) count_[c] = static_cast<std::int64_t>(count[c]);
    pos_ = static_cast<std::size_t>(pos[0]);
}

template class MovingWindow<float>;
template class MovingWindow<double>;

}  // namespace kinemyo::filters
