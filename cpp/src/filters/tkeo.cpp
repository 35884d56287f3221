#include "kinemyo/filters/tkeo.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

#include "kinemyo/common/checks.hpp"

namespace kinemyo::filters {

template <class T>
TKEO<T>::TKEO(std::size_t n_channels) : n_channels_(n_channels) {
    detail::check_positive_count("n_channels", n_channels);
    prev1_.assign(n_channels, 0.0);
    prev2_.assign(n_channels, 0.0);
}

template <class T>
void TKEO<T>::reset() {
    std::fill(prev1_.begin(), prev1_.end(), 0.0);
    std::fill(prev2_.begin(), prev2_.end(), 0.0);
}

template <class T>
void TKEO<T>::process(const T* x, T* y, std::size_t n_samples) {
    const std::size_t C = n_channels_;
    double* p1 = prev1_.data();
    double* p2 = prev2_.data();
    for (std::size_t t = 0; t < n_samples; ++t) {
        const T* xr = x + t * C;
        T* yr = y + t * C;
        for (std::size_t c = 0; c < C; ++c) {
            // a non-finite sample enters as NaN, so every output involving it is NaN (an Inf
            // would give +-Inf, or NaN only by accident of sign)
            const double xr_c = static_cast<double>(xr[c]);
            const double xv = std::isfinite(xr_c) ? xr_c : std::numeric_limits<double>::quiet_NaN();
            const double out = p1[c] * p1[c] - p2[c] * xv;
            p2[c] = p1[c];
            p1[c] = xv;
            yr[c] = static_cast<T>(out);
        }
    }
}

template <class T>
StateRecord TKEO<T>::get_state() const {
    return StateRecord{{"prev1", prev1_}, {"prev2", prev2_}};
}

template <class T>
void TKEO<T>::set_state(const StateRecord& state) {
    prev1_ = detail::state_field(state, "prev1", n_channels_);
    prev2_ = detail::state_field(state, "prev2", n_channels_);
}

template class TKEO<float>;
template class TKEO<double>;

}  // namespace kinemyo::filters
