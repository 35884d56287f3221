#pragma once
/// @file sos_filter.hpp
/// Streaming cascade of second-order sections, vectorised across channels.

#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

#include "kinemyo/common/processor.hpp"
#include "kinemyo/filters/design.hpp"

namespace kinemyo::filters {

/// How a filter starts.
enum class InitMode {
    zero,   ///< delays start at zero (scipy.signal.sosfilt without zi)
    steady  ///< delays start at the steady state of each channel's first finite sample
            ///< (scipy: `sosfilt_zi(sos) * x[0]`)
};

/// Parameters of an SosFilter.
struct SosFilterParams {
    Sos sos;                        ///< the cascade, SciPy layout; validated and normalised (a0 = 1)
    std::size_t n_channels = 1;     ///< number of channels, >= 1
    InitMode init = InitMode::zero; ///< start-up (default: zero, as scipy.signal.sosfilt)
};

/// Streaming IIR filter: a cascade of second-order sections in transposed direct form II, the same
/// recursion (and order of operations) as `scipy.signal.sosfilt`. Coefficients and delays are held
/// in double for both float32 and float64 samples.
///
/// Non-finite policy ("hold"): a NaN/Inf input sample gives NaN output for that channel and sample,
/// and leaves that channel's delays untouched, so the filter continues from its last good state
/// when finite samples return. Such samples are counted per channel (`n_nonfinite()`).
///
/// Runs an AVX-512 or AVX2 build of the kernel when the CPU has it (runtime dispatch, see
/// simd_level()), a baseline x86-64 build otherwise; one process always takes the same path, so
/// chunking never changes the result.
template <class T>
class SosFilter final : public Processor<T> {
public:
    /// @throws std::invalid_argument for a malformed or unstable SOS, n_channels == 0, or
    ///         init == steady with a section that has no steady state.
    explicit SosFilter(const SosFilterParams& params);

    [[nodiscard]] std::size_t n_channels() const noexcept override { return n_channels_; }
    void process(const T* x, T* y, std::size_t n_samples) override;
    void reset() override;
    [[nodiscard]] StateRecord get_state() const override;
    void set_state(const StateRecord& state) override;
    [[nodiscard]] std::unique_ptr<Processor<T>> clone() const override {
        return std::make_unique<SosFilter<T>>(*this);
    }

    /// The normalised cascade in use.
    [[nodiscard]] const Sos& sos() const noexcept { return params_.sos; }
    [[nodiscard]] const SosFilterParams& params() const noexcept { return params_; }
    /// Delays, laid out [section][delay (2)][channel].
    [[nodiscard]] const std::vector<double>& delays() const noexcept { return z_; }
    /// Number of non-finite input samples seen per channel since construction/reset.
    [[nodiscard]] const std::vector<std::int64_t>& n_nonfinite() const noexcept { return nonfinite_; }

    /// Process n_samples rows that lie `stride` values apart (negative: walk backwards in memory).
    /// `process` is `process_rows(x, y, n, n_channels())`; sosfiltfilt uses the backward walk.
    void process_rows(const T* x, T* y, std::size_t n_samples, std::ptrdiff_t stride);

private:
    void prime(const T* row);
    SosFilterParams params_;
    std::size_t n_channels_;
    std::vector<double> coef_;             // [section][b0 b1 b2 a1 a2]
    std::vector<std::array<double, 2>> zi_;  // steady-state per unit input (init == steady)
    std::vector<double> z_;                // [section][2][channel]
    std::vector<std::uint8_t> primed_;     // per channel: steady init done
    std::vector<std::int64_t> nonfinite_;  // per channel
    std::vector<double> work_;             // scratch row (not state)
};

/// Offline forward filtering along axis 0, the same as `scipy.signal.sosfilt(sos, x, axis=0)`
/// (zero initial state). `x`, `y`: n_samples × n_channels, row-major; may alias.
template <class T>
void sosfilt(const Sos& sos, const T* x, T* y, std::size_t n_samples, std::size_t n_channels);

/// Offline zero-phase filtering, the same as `scipy.signal.sosfiltfilt(sos, x, axis=0)` with its
/// default odd padding of `padlen` samples (pass `sosfiltfilt_padlen(sos)` for SciPy's default).
/// Needs no memory beyond the output and O(padlen * n_channels) scratch. `x`, `y` may alias.
/// Non-finite samples ("hold", as SosFilter): NaN output for those samples only. Each channel's odd
/// extensions are built around its first and last finite samples (so on a channel with leading or
/// trailing drop-outs the rest equals SciPy on the finite span); a pad sample whose mirror is
/// non-finite is held; delays are seeded from the first finite value each pass meets, never from
/// a non-finite one. A channel without a finite sample is all NaN.
/// @throws std::invalid_argument if n_samples <= padlen (as SciPy).
template <class T>
void sosfiltfilt(const Sos& sos, const T* x, T* y, std::size_t n_samples, std::size_t n_channels,
                 std::size_t padlen);

/// Instruction set of the SOS kernel in this process: 0 = baseline x86-64 (SSE2), 1 = AVX2 + FMA,
/// 2 = AVX-512F (used for 8 or more channels). The best the CPU has, unless capped by
/// set_max_simd_level or the environment variable KINEMYO_MAX_SIMD (read once, at first use).
int simd_level() noexcept;

/// Testing and diagnostics: cap the kernel's instruction set for the whole process (0, 1 or 2).
/// Kernels differ by rounding (FMA), so switch only between whole runs: a stream that crosses a
/// switch is not bit-identical to an unswitched one.
void set_max_simd_level(int level) noexcept;

extern template class SosFilter<float>;
extern template class SosFilter<double>;

}  // namespace kinemyo::filters
