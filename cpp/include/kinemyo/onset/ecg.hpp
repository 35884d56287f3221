#pragma once
/// @file ecg.hpp
/// Causal (online) QRS template subtraction for trunk EMG, ahead of the onset detector.
///
/// The offline `remove_ecg` of the Python API averages each beat's neighbours on both sides; a
/// stream only has the past. Here R peaks are found causally on a spatial QRS energy: each channel
/// band-passed to 5-25 Hz (2nd-order Butterworth), divided by its running mean absolute value
/// (time constant 10 x `level_tau`, learnt only from the channel's own finite non-zero samples and
/// bias-corrected from the first of them), capped at 50, squared, and summed over channels
/// with weights proportional to each channel's squared value at the previous detected peaks
/// (running mean over beats, growing at most x4.75 per beat; equal weights until the first
/// beat), so that an ECG of opposite
/// polarity on two channels, or a much larger ECG-free channel, does not cancel or bury the beats
/// (the plain channel sum of earlier builds did). On it, R peaks are: a local maximum that stays the largest for `confirm`
/// s, at least `refractory` s after the previous beat and above `threshold` x a peak level that
/// decays with time constant `level_tau`. Each beat's window `[p - pre, p + post)` around the
/// detected peak p is compared with the template (per sample and channel, the median of the last
/// `n_average` accepted beats' windows, each with its mean removed): it is subtracted only when the
/// window correlates with the template by at least `min_corr` (over all channels) and its peak
/// height is within a factor 3 of the accepted beats' median, so that an EMG burst taken for a beat
/// is not "cleaned" with a misplaced template (without that check, a prototype added false
/// activations at 6-10 dB; docs/onset.md). The first 3 beats only build the template;
/// `max_rejects` rejections in a row restart it. The subtracted template is tapered at the window's
/// edges (Hann^(1/4), as the offline `remove_ecg`): an untapered window left a step of about 6 x
/// the noise RMS at both edges, which the detector took for activations when the ECG is large
/// (review, eighth session). The output lags the input by
/// `delay() = round(pre fs) + round(post fs)` samples (a beat is judged once its window is
/// complete, and its subtraction starts `pre` before its peak).
///
/// Streaming contract: any split of the input gives the same output; the state (get_state /
/// set_state) resumes a stream bit for bit (states of builds before the spatial QRS energy are
/// refused: they lack its fields). Non-finite input values pass through unchanged (they count as 0
/// in the QRS energy), and a beat whose window holds one is not used; a value whose band-passed
/// square overflows restarts that channel's QRS filter, and one sample raises the peak level at
/// most tenfold. A channel whose running mean is 0 (silent) adds nothing.
#include <cstddef>
#include <cstdint>
#include <vector>

#include "kinemyo/common/processor.hpp"

namespace kinemyo::onset {

/// Parameters of EcgCanceller (times in seconds, frequencies in Hz).
struct EcgCancellerParams {
    double fs = 2000.0;           ///< sampling rate (> 0; the QRS band must lie below fs / 2)
    std::size_t n_channels = 1;   ///< channels (>= 1)
    double qrs_low = 5.0;         ///< R-peak detection band
    double qrs_high = 25.0;
    double pre = 0.09;            ///< template window before the detected peak
    double post = 0.07;           ///< and after it
    double confirm = 0.04;        ///< a candidate peak is final once it stayed the maximum this long
    double refractory = 0.3;      ///< shortest beat-to-beat interval
    double level_tau = 3.0;       ///< decay time constant of the peak level
    double threshold = 0.25;      ///< a peak must exceed this fraction of the level
    int n_average = 15;           ///< beats in the median template (>= 3)
    double min_corr = 0.5;        ///< correlation with the template a beat needs to be subtracted
    int min_beats = 8;            ///< accepted beats before any is subtracted (3..n_average)
    int max_rejects = 8;          ///< rejections in a row that restart the template
};

template <class T>
class EcgCanceller {
public:
    /// @throws std::invalid_argument for bad parameters.
    explicit EcgCanceller(const EcgCancellerParams& p);

    [[nodiscard]] std::size_t n_channels() const noexcept { return p_.n_channels; }
    /// Output lag in samples: the output row k is input row k, cleaned, emitted `delay()` rows later.
    [[nodiscard]] std::int64_t delay() const noexcept { return D_; }
    /// Input rows consumed since construction / reset.
    [[nodiscard]] std::int64_t position() const noexcept { return t_; }
    /// Beats subtracted so far (for diagnostics and tests).
    [[nodiscard]] std::int64_t beats_subtracted() const noexcept { return n_sub_; }

    /// Consume n rows of x (row-major, n_channels per row); write the rows that became final (the
    /// input rows `position() - delay()` onwards, in order) to y, which must hold n rows, and
    /// return their number (n once the first delay() rows have been consumed).
    std::size_t process(const T* x, std::size_t n, T* y);
    /// End of stream: write the pending rows (at most delay()) to y, return their number, reset.
    std::size_t flush(T* y);
    void reset();

    [[nodiscard]] StateRecord get_state() const;
    void set_state(const StateRecord& st);
    BusyFlag& busy() noexcept { return busy_; }

private:
    struct Sub {  // an accepted beat's subtraction: peak sample and its template (L x C)
        std::int64_t p;
        std::vector<double> tmpl;
    };
    void judge_beat(std::int64_t p, double h);
    void emit(std::int64_t s, T* row);

    EcgCancellerParams p_;
    std::int64_t pre_, post_, L_, D_, confirm_, refr_;
    double decay_, sdecay_;
    std::vector<double> sos_;  // 2 sections x 6 coefficients (b0 b1 b2 a0 a1 a2)
    // evolving state
    std::int64_t t_ = 0;
    std::vector<double> z_;      // QRS band-pass delays, 4 per channel
    std::vector<double> mabs_;   // running mean |band-passed| per channel (not bias-corrected)
    std::vector<double> pw_;     // per channel sdecay^(its samples with data): mabs_ / (1 - pw_) is unbiased
    std::vector<double> snr_;    // per channel: running mean of its squared scaled value at peaks
    std::vector<double> wgt_;    // snr_ / max(snr_)
    std::vector<double> zrow_, candz_;  // this row's and the candidate peak's per-channel values
    std::vector<double> taper_;  // window taper of the subtraction (L values)
    double level_ = 0, candv_ = 0;
    std::int64_t cand_ = -1, last_ = 0;
    bool have_last_ = false;
    std::vector<double> ring_;  // last D + 1 input rows (slot t % (D + 1))
    std::vector<std::int64_t> pend_p_;  // confirmed beats waiting for their window
    std::vector<double> pend_h_;
    std::vector<double> store_;  // n_average accepted windows (L x C each), a ring
    std::vector<double> heights_;
    std::int64_t n_store_ = 0, head_ = 0, rejects_ = 0, n_sub_ = 0;
    std::vector<Sub> subs_;  // active subtractions, by peak
    BusyFlag busy_;
};

extern template class EcgCanceller<float>;
extern template class EcgCanceller<double>;

}  // namespace kinemyo::onset
