#pragma once
/// @file tkeo.hpp
/// Teager-Kaiser energy operator, streaming.

#include <memory>
#include <vector>

#include "kinemyo/common/processor.hpp"

namespace kinemyo::filters {

/// Discrete Teager-Kaiser energy operator (Kaiser, "On a simple algorithm to calculate the 'energy'
/// of a signal", ICASSP 1990): psi[n] = x[n]^2 - x[n-1] x[n+1].
///
/// psi[n] needs the next sample, so the streaming output is delayed by exactly one sample:
/// y[k] = psi[k-1] = x[k-1]^2 - x[k-2] x[k], with x[-1] = x[-2] = 0 (so y[0] = 0, y[1] = x[0]^2).
/// A non-finite input sample makes the (up to three) outputs that involve it NaN; the operator has
/// a two-sample memory, so later outputs are finite again. Computed in double.
template <class T>
class TKEO final : public Processor<T> {
public:
    /// @throws std::invalid_argument if n_channels == 0.
    explicit TKEO(std::size_t n_channels);

    [[nodiscard]] std::size_t n_channels() const noexcept override { return n_channels_; }
    void process(const T* x, T* y, std::size_t n_samples) override;
    void reset() override;
    [[nodiscard]] StateRecord get_state() const override;
    void set_state(const StateRecord& state) override;
    [[nodiscard]] std::unique_ptr<Processor<T>> clone() const override {
        return std::make_unique<TKEO<T>>(*this);
    }

private:
    std::size_t n_channels_;
    std::vector<double> prev1_;  // x[k-1]
    std::vector<double> prev2_;  // x[k-2]
};

}  // namespace kinemyo::filters
