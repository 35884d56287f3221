#pragma once
/// @file moving.hpp
/// Trailing moving-window mean and RMS, O(1) per sample, with no drift over arbitrarily long runs.

#include <cstdint>
#include <memory>
#include <vector>

#include "kinemyo/common/processor.hpp"

namespace kinemyo::filters {

/// What a moving window computes.
enum class WindowStat { mean, rms };

/// Parameters of a MovingWindow.
struct MovingWindowParams {
    double fs = 1.0;               ///< sampling rate in Hz, > 0
    std::size_t n_channels = 1;    ///< >= 1
    double window_s = 1.0;         ///< window length in seconds; round(window_s * fs) >= 1 samples
    WindowStat stat = WindowStat::mean;
};

/// Trailing moving mean or RMS: y[k] = mean(x[k-N+1 .. k]) (or sqrt of the mean of squares), with
/// N = round(window_s * fs) samples. The output is aligned with the window's last sample, so it lags
/// the signal by (N - 1) / 2 samples.
///
/// Start-up: until N samples have been seen, the window holds only the samples seen so far (a
/// growing window), so there is no ramp from zero.
///
/// Non-finite samples are treated as missing: such a sample gives NaN output and does not enter the
/// window; other outputs average the finite samples in their window (NaN if there are none).
/// So are samples too large for the running sum: |x| > max_abs() = sqrt(DBL_MAX / (2 N)) for RMS
/// (x^2 would overflow the sum; about 1e150), DBL_MAX / (2 N) for the mean. They never occur in
/// float32 input, and the sum can then never overflow, so every output is finite or NaN as above.
///
/// Exactness: the running sum is updated by one add and one subtract per sample and recomputed from
/// the ring buffer every N samples, so rounding error never accumulates beyond one window.
template <class T>
class MovingWindow final : public Processor<T> {
public:
    /// @throws std::invalid_argument if fs <= 0, n_channels == 0 or round(window_s * fs) < 1.
    explicit MovingWindow(const MovingWindowParams& params);

    [[nodiscard]] std::size_t n_channels() const noexcept override { return params_.n_channels; }
    void process(const T* x, T* y, std::size_t n_samples) override;
    void reset() override;
    [[nodiscard]] StateRecord get_state() const override;
    void set_state(const StateRecord& state) override;
    [[nodiscard]] std::unique_ptr<Processor<T>> clone() const override {
        return std::make_unique<MovingWindow<T>>(*this);
    }
    /// Window length in samples.
    [[nodiscard]] std::size_t window_samples() const noexcept { return n_; }
    /// Largest accepted |x|; larger samples are treated as missing (see the class notes).
    [[nodiscard]] double max_abs() const noexcept { return max_abs_; }
    [[nodiscard]] const MovingWindowParams& params() const noexcept { return params_; }

private:
    void recompute();
    MovingWindowParams params_;
    std::size_t n_;                   // window length in samples
    std::vector<double> ring_;        // [slot][channel]: value (x or x^2), 0 when missing
    std::vector<std::uint8_t> valid_; // [slot][channel]
    std::vector<double> sum_;         // per channel
    std::vector<std::int64_t> count_; // finite samples in the window, per channel
    std::size_t pos_ = 0;             // next slot to write
    double max_abs_ = 0.0;            // largest accepted |x| (derived from N, not state)
};

}  // namespace kinemyo::filters
