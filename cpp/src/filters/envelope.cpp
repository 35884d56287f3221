#include "kinemyo/filters/envelope.hpp"

#include <cmath>

#include "kinemyo/common/checks.hpp"

namespace kinemyo::filters {
namespace {
SosFilterParams lowpass_params(const EnvelopeParams& p) {
    detail::check_fs(p.fs);
    detail::check_positive_count("n_channels", p.n_channels);
    if (!(std::isfinite(p.cutoff) && p.cutoff > 0.0 && p.cutoff < p.fs / 2.0)) {
        detail::fail_param("cutoff", "in (0, fs/2) = (0, " + detail::to_str(p.fs / 2.0) + ") Hz", p.cutoff);
    }
    return SosFilterParams{butter(p.order, {p.cutoff}, p.fs, BandType::lowpass), p.n_channels,
                           InitMode::zero};
}
}  // namespace

template <class T>
Envelope<T>::Envelope(const EnvelopeParams& params)
    : params_(params), lowpass_(lowpass_params(params)) {
    // highpass_order is validated even without a high-pass: a bad value is a bad parameter
    // whether or not it is used (and is kept in params, pickles and reports).
    if (params.highpass_order < 1 || params.highpass_order > 10) {
        detail::fail_param("highpass_order", "an integer in 1..10", params.highpass_order);
    }
    if (params.highpass) {
        const double hp = *params.highpass;
        if (!(std::isfinite(hp) && hp > 0.0 && hp < params.fs / 2.0)) {
            detail::fail_param("highpass", "in (0, fs/2) = (0, " + detail::to_str(params.fs / 2.0) + ") Hz", hp);
        }
        highpass_.emplace(SosFilterParams{butter(params.highpass_order, {hp}, params.fs, BandType::highpass),
                                          params.n_channels, InitMode::zero});
    }
}

template <class T>
void Envelope<T>::process(const T* x, T* y, std::size_t n_samples) {
    const std::size_t count = n_samples * params_.n_channels;
    const T* src = x;
    if (highpass_) {
        highpass_->process(x, y, n_samples);
        src = y;
    }
    for (std::size_t i = 0; i < count; ++i) y[i] = std::abs(src[i]);
    lowpass_.process(y, y, n_samples);
}

template <class T>
void Envelope<T>::reset() {
    if (highpass_) highpass_->reset();
    lowpass_.reset();
}

namespace {
void merge_prefixed(StateRecord& out, const std::string& prefix, const StateRecord& in) {
    for (const auto& kv : in) out[prefix + kv.first] = kv.second;
}
StateRecord take_prefixed(const StateRecord& in, const std::string& prefix) {
    StateRecord out;
    for (const auto& kv : in) {
        if (kv.first.compare(0, prefix.size(), prefix) == 0) out[kv.first.substr(prefix.size())] = kv.second;
    }
    return out;
}
}  // namespace

template <class T>
StateRecord Envelope<T>::get_state() const {
    StateRecord s;
    if (highpass_) merge_prefixed(s, "highpass.", highpass_->get_state());
    merge_prefixed(s, "lowpass.", lowpass_.get_state());
    return s;
}

template <class T>
void Envelope<T>::set_state(const StateRecord& state) {
    // Validate both parts before changing either.
    auto lp = lowpass_;
    lp.set_state(take_prefixed(state, "lowpass."));
    if (highpass_) {
        auto hp = *highpass_;
        hp.set_state(take_prefixed(state, "highpass."));
        highpass_ = hp;
    }
    lowpass_ = lp;
}

template class Envelope<float>;
template class Envelope<double>;

}  // namespace kinemyo::filters
