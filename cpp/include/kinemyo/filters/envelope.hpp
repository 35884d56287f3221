#pragma once
/// @file envelope.hpp
/// Linear envelope of EMG: optional high-pass, full-wave rectification, low-pass.

#include <optional>
#include <memory>

#include "kinemyo/common/processor.hpp"
#include "kinemyo/filters/sos_filter.hpp"

namespace kinemyo::filters {

/// Parameters of an Envelope.
struct EnvelopeParams {
    double fs = 1000.0;                    ///< sampling rate in Hz, > 0
    std::size_t n_channels = 1;            ///< >= 1
    double cutoff = 6.0;                   ///< low-pass cut-off in Hz, in (0, fs/2); default 6 Hz
    int order = 2;                         ///< low-pass Butterworth order, 1..10; default 2
    std::optional<double> highpass;        ///< optional high-pass cut-off in Hz (e.g. 20 or 30 Hz)
    int highpass_order = 4;                ///< high-pass Butterworth order, 1..10 (checked even without highpass); default 4
};

/// Linear envelope (Winter, "Biomechanics and Motor Control of Human Movement", 4th ed. 2009, ch. 10):
/// [high-pass Butterworth] -> |x| -> low-pass Butterworth, all causal and starting from zero state.
/// Non-finite samples follow the SosFilter "hold" policy (NaN out, state held).
template <class T>
class Envelope final : public Processor<T> {
public:
    /// @throws std::invalid_argument for cut-offs outside (0, fs/2), orders outside 1..10, fs <= 0,
    ///         n_channels == 0.
    explicit Envelope(const EnvelopeParams& params);

    [[nodiscard]] std::size_t n_channels() const noexcept override { return params_.n_channels; }
    void process(const T* x, T* y, std::size_t n_samples) override;
    void reset() override;
    [[nodiscard]] StateRecord get_state() const override;
    void set_state(const StateRecord& state) override;
    [[nodiscard]] std::unique_ptr<Processor<T>> clone() const override {
        return std::make_unique<Envelope<T>>(*this);
    }
    [[nodiscard]] const EnvelopeParams& params() const noexcept { return params_; }

private:
    EnvelopeParams params_;
    std::optional<SosFilter<T>> highpass_;
    SosFilter<T> lowpass_;
};

}  // namespace kinemyo::filters
