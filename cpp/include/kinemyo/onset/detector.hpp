#pragma once
/// @file detector.hpp
/// Muscle-activation onset/offset detection on surface EMG: literature detectors and the kinemyo
/// CUSUM detector, one streaming engine shared by the offline `detect` and the online detector.
#include <array>
#include <cstddef>
#include <cmath>
#include <cstdint>
#include <limits>
#include <memory>
#include <string>
#include <vector>

#include "kinemyo/common/processor.hpp"
#include "kinemyo/filters/sos_filter.hpp"
#include "kinemyo/filters/tkeo.hpp"

namespace kinemyo::onset {

/// Detection method.
enum class Method {
    cusum,       ///< kinemyo default: Page CUSUM of the normalised energy x^2/sigma0^2, change time
                 ///< = last zero of the CUSUM, onset refined backwards: posterior median of the start
                 ///< of a rest -> linear amplitude ramp -> plateau model of 2 ms energy bins
    hodges_bui,  ///< Hodges & Bui 1996: rectify, low-pass 50 Hz, 25 ms moving mean > mean + h SD
    bonato,      ///< Bonato, D'Alessio & Knaflitz 1998: double threshold on pairs of samples
    tkeo         ///< Li, Zhou & Aruin 2007 / Solnik et al. 2010: TKEO, rectify, low-pass 50 Hz,
                 ///< > mean + h SD for 25 ms
};

/// Parse "cusum"/"default"/"hodges_bui"/"bonato"/"tkeo". @throws std::invalid_argument.
Method parse_method(const std::string& s);

/// ECG handling of the conditioning.
enum class EcgMode { none, highpass };

/// One detected activation, `[onset, offset)` global sample indices; offset = -1 while open.
struct Event {
    std::int64_t channel = 0;
    std::int64_t onset = 0;
    std::int64_t offset = -1;
};

/// Parameters (all times in seconds, frequencies in Hz). NaN means "the method's default".
struct OnsetParams {
    double fs = 2000.0;             ///< sampling rate, > 0
    std::size_t n_channels = 1;     ///< >= 1
    Method method = Method::cusum;  ///< detector
    bool preprocess = true;         ///< band-pass the input (else it must be conditioned already)
    double band_low = 20.0;         ///< band-pass low edge (Hz); 30 with EcgMode::highpass
    double band_high = 450.0;       ///< band-pass high edge (Hz); clipped to 0.45 fs
    int band_order = 4;             ///< Butterworth order of each band edge, 1..10
    EcgMode ecg = EcgMode::none;    ///< ECG handling: none, or a 30 Hz high-pass edge
    double ecg_highpass = 30.0;     ///< the high-pass edge used with EcgMode::highpass (Hz)
    double mains = 0.0;             ///< power-line frequency to notch out (Hz; 0 = no notch, else >= 1), e.g.
                                    ///< 50 or 60: IIR notches at mains, 2 mains, ...,
                                    ///< mains_harmonics x mains (those below the band's high edge)
                                    ///< after the band-pass, in the same cascade
    int mains_harmonics = 3;        ///< number of notches (fundamental included), >= 1
    double mains_q = 30.0;          ///< quality factor of each notch (f / -3 dB bandwidth), in [0.5, 1000]
    double threshold = NAN;         ///< h: SDs (hodges_bui 3, tkeo 15), zeta (bonato 9.17: per-pair
                                    ///< false-alarm 0.0102), CUSUM alarm level in seconds of unit
                                    ///< drift (cusum 0.05; when not given, per channel at least 40
                                    ///< units of x^2/sigma0^2 and 20 x the long-run variance of
                                    ///< x^2/sigma0^2 at rest: alarm_levels(), see the constructor)
    double drift = NAN;             ///< cusum: reference value k of x^2/sigma0^2 (default 1.5)
    double window = NAN;            ///< hodges_bui moving-mean window (0.025 s); tkeo/bonato
                                    ///< minimum time above threshold (0.025 s / m = 5 pairs)
    double min_active = NAN;        ///< shortest kept activation (s); default 0.03 (bonato, tkeo,
                                    ///< hodges_bui), 0.05 (cusum)
    double min_gap = NAN;           ///< gaps shorter than this are merged (s); default 0 for the
                                    ///< literature methods, 0.1 for cusum
    bool refine = true;             ///< cusum: refine the onset by a ramp fit (backwards)
    double refine_window = 0.08;    ///< cusum: how far before the CUSUM change time the onset may
                                    ///< lie (s; the prior of the ramp start spans this much before
                                    ///< it and to 60 ms after it or the alarm, whichever is later)
    double refine_delay = 0.05;     ///< cusum: data used after the alarm before refining (s)
    double max_rise = 0.1;          ///< cusum: longest rise (ramp) the fit considers (s)
    double rise_prior = 0.05;       ///< cusum: prior over the rise length R of the ramp fit,
                                    ///< density exp(-R / rise_prior) on [0, max_rise] (s; > 0;
                                    ///< inf = flat). 0.05 chosen on calibration records
                                    ///< (docs/onset.md): short rises more probable a priori
                                    ///< rather than the grid's spacing acting as the prior
    bool reject_artefacts = false;  ///< cusum: drop movement-artefact transients (checked on the
                                    ///< 2 ms energy bins of the first `artefact_window` of each
                                    ///< event before it is announced; see OnsetDetector). Off by
                                    ///< default: on a low-frequency EMG carrier it can drop or
                                    ///< delay real onsets (docs/onset.md)
    double artefact_window = 0.1;   ///< cusum: window after the onset checked for an artefact (s),
                                    ///< in [0.04, 1]; the onset is announced at its end at the earliest
    bool robust_rest = true;        ///< leave artefacts out of the rest window's baseline: its
                                    ///< 10 ms sub-windows above 10 x the median sub-window energy
                                    ///< (and the contiguous ones around them above 2 x); off when
                                    ///< a recurring artefact (ECG left in the signal) belongs to
                                    ///< the background the baseline must describe
    double track_rest = 10.0;       ///< cusum: time constant (s) of the rest-level tracking, 0 =
                                    ///< off: once the baseline is known, sigma0^2 follows the
                                    ///< 2 ms bins that are certainly rest (before the CUSUM's
                                    ///< last zero, never inside an activation), so a slow drift
                                    ///< of the noise level (electrode contact, sweat) does not
                                    ///< turn into false or endless activations. 0 or >= 0.5 s.
    std::int64_t rest_begin = -1;   ///< rest window [rest_begin, rest_end) in samples, learnt in
    std::int64_t rest_end = -1;     ///< stream; -1/-1: the baseline must be set with set_baseline
};

namespace internal {
/// Most second-order sections of the conditioning band-pass (band_order <= 10).
constexpr int kMaxSections = 10;
/// Per-channel state of an OnsetDetector (internal).
struct ChannelState {
    // conditioning band-pass (transposed direct form II delays) and its steady-state priming
    std::array<double, 2 * kMaxSections> bz{};
    bool primed = false;
    bool based = false;  // baseline known for this channel
    std::int64_t nonfinite = 0;
    // rest-window accumulation
    double rn = 0, rs = 0, rss = 0, re = 0, rraw = 0;
    // the same per sub-window of the rest window (kRestFields values each: samples, sum of the
    // statistic, of its square, of the conditioned energy), so that artefact windows can be left out
    std::vector<double> rwin;
    // cusum with the default alarm level: lag products of the conditioned signal over the rest
    // window (the long-run variance of x^2/sigma0^2 that sets the alarm level), kLags + 1 sums per
    // block (a rest sub-window with robust_rest, else one block for the whole rest), and the
    // rest samples not yet multiplied, after the last kLags ones before them (ybuf_n in use)
    std::vector<double> rlag;
    std::vector<double> ybuf;
    std::int64_t ybuf_n = 0;
    // rest-level tracking: first sample of the next bin to take into sigma0^2 (-1: restart at
    // the next quiet bin end, after the CUSUM's last zero) and its slot in `bins`
    std::int64_t trk_s = -1;
    std::size_t trk_slot = 0;
    // hodges moving mean
    std::vector<double> ring;
    std::size_t rpos = 0;
    std::int64_t rfill = 0;
    double rsum = 0;
    // threshold runs (hodges, tkeo)
    bool active = false;
    std::int64_t run_start = -1, run_len = 0;
    // bonato
    double pair_first = 0;
    bool have_first = false;
    int above_count = 0;
    std::int64_t last_above_start = -1;
    std::vector<std::int64_t> pair_ring;  // start sample of above pairs in the window, -1 if below
    std::size_t ppos = 0;
    // cusum
    double S = 0, D = 0;
    std::int64_t tau = -1, tau_off = -1, alarm = -1, alarm_tau = -1;
    std::vector<double> bins;
    double bin_acc = 0;
    std::int64_t bin_n = 0;
    std::int64_t bin_phase = 0;  // position in the current bin (t % bin)
    std::size_t bin_slot = 0;    // ring slot of the current bin ((t / bin) % size)
    double last_le = 0;
    std::int64_t last_raw_off = std::numeric_limits<std::int64_t>::min() / 4;
    // events
    bool ev_open = false, announced = false, close_pending = false;
    std::int64_t ev_on = 0, ev_off = 0;
    // artefact check of the open event done (or not needed); time of the last rejection
    bool verified = true;
    std::int64_t last_reject = std::numeric_limits<std::int64_t>::min() / 4;
    std::int64_t verify_at = 0;  // last sample of the pending check's window
};
}  // namespace internal

/// Streaming onset detector over (n_samples, n_channels) row-major input.
///
/// Pipeline: [causal Butterworth band-pass, steady-state start] -> method statistic -> baseline
/// normalisation -> decision state machine -> min-active / min-gap post-processing.
/// The baseline (per channel: mean and SD of the statistic, sigma0^2 of the conditioned signal) is
/// learnt over the rest window as the stream passes it, or given by `set_baseline`. No decision is
/// taken before the baseline is known (so with a rest window, no event starts before rest_end).
///
/// Decision latency (bounded): an onset is reported once the activation has lasted `min_active`
/// (cusum: and `refine_delay` after the CUSUM alarm, and, with `reject_artefacts`, the
/// `artefact_window` after the onset); an offset once `min_gap` has passed without a new
/// activation.
///
/// Movement-artefact rejection (cusum, `reject_artefacts`): before an event is announced, the
/// 2 ms energy bins e_j (units of sigma0^2) of its first `artefact_window` (N bins from the onset)
/// are checked. Motion artefacts carry most of their power below ~20 Hz (De Luca et al. 2010,
/// J Biomech 43:1573; Clancy et al. 2002, J Electromyogr Kinesiol 12:1): what passes the
/// band-pass is one or two slow lobes at its low edge (a smooth energy envelope) or, for a sharp
/// pop, a short burst that is over within a lobe; a muscle activation is a sustained noise-like
/// carrier whose bin energies scatter independently around their level (scaled chi-square, few
/// dof). The event is an artefact when
///   roughness = sum_j (e_j - (e_{j-1} + e_{j+1})/2)^2 / sum_j e_j^2 < 0.12
///     (independent chi-square bins with nu dof give 3/(nu + 2), ~0.6 for EMG), or
///   sustain = mean(e, second half) / mean(e, first half) < 0.2 and the largest 20 ms share of
///     the excess energy sum max(e_j - 1, 0) > 0.55 (over within a lobe, not sustained).
/// An artefact event is dropped and the CUSUM restarts after it (a later event's onset is not
/// placed before the rejection). An event starting within `artefact_window` after a rejection
/// (the restarted CUSUM in the artefact's decaying tail) must also reach an activation level:
/// second-half mean energy >= k (the CUSUM drift), else it is an artefact too. Non-finite samples are skipped (state held, no decision), so a drop-out does
/// not end or start an activation.
template <class T>
class OnsetDetector {
public:
    /// @throws std::invalid_argument naming the offending parameter.
    explicit OnsetDetector(const OnsetParams& params);

    [[nodiscard]] std::size_t n_channels() const noexcept { return p_.n_channels; }
    [[nodiscard]] const OnsetParams& params() const noexcept { return p_; }
    /// In-use flag, as Processor::busy(): bindings refuse a second thread instead of racing.
    BusyFlag& busy() noexcept { return busy_; }

    /// Process n_samples rows; appends to `out` events that became certain: onset-only notices
    /// (offset = -1) and closed events (both set; a closed event whose onset was announced earlier
    /// is reported again with its offset).
    void process(const T* x, std::size_t n_samples, std::vector<Event>& out);
    /// Close open activations at the current end of the stream (offset = samples seen) and report
    /// pending ones; the detector is then reset to the start of a new stream but keeps its baseline.
    void finish(std::vector<Event>& out);
    /// Return to the state after construction (baseline forgotten unless given by set_baseline).
    void reset();

    /// The method's statistic (conditioned, before normalisation), (n, C); used for the offline
    /// automatic baseline. Does not change the detection state other than the conditioning filters.
    void statistic(const T* x, std::size_t n_samples, double* stat, double* energy);
    /// Set the baseline per channel: mean and SD of the statistic, and sigma0^2 (mean of x^2 of the
    /// conditioned signal). Values <= 0 are floored at a tiny positive number.
    /// cusum only: per channel and window of W samples (w < nw; rows [w W, (w + 1) W)), the sum,
    /// sum of squares and count of the finite conditioned energies, (nw, C) each (for the
    /// automatic baseline; wsq may be null: not computed); per channel the sum of squares and count
    /// of the finite raw samples
    /// (raw, nraw: C values each, accumulated); and, when ycache is not null, the conditioned
    /// signal of all n rows, (n, C) (NaN where the input is not finite).
    void window_stats(const T* x, std::size_t n, std::size_t W, std::size_t nw, double* wsum, double* wsq,
                      double* wcnt, double* raw, double* nraw, double* ycache);
    /// cusum only: process n rows of an already conditioned signal y (n, C) (the ycache of
    /// window_stats of a detector with the same parameters): the decision part of process(),
    /// bit for bit the same events; the band-pass state of this detector is not used.
    void process_conditioned(const double* y, std::size_t n, std::vector<Event>& out);
    /// Samples after which a start transient of the conditioning cascade has decayed to 1e-6
    /// (from its slowest pole; at least 0.1 s): the lead-in of bandpass_fresh for a steady output.
    [[nodiscard]] std::int64_t settle_samples() const noexcept { return settle_; }
    /// Band-pass rows [0, n) of channel c (stride n_channels) into y (n values) with a fresh filter
    /// state (primed at the first finite sample); channel c's filter state is replaced.
    void bandpass_fresh(std::size_t c, const T* x, std::size_t n, double* y);
    /// lrv (cusum, default alarm level only; empty: not known): per channel the long-run variance
    /// of x^2/sigma0^2 at rest (>= 2; 2 (1 + 2 sum_k rho_k^2) for Gaussian noise of
    /// autocorrelation rho_k); the onset alarm level is then max(0.05 fs, 40, 20 lrv).
    void set_baseline(const std::vector<double>& mean, const std::vector<double>& sd,
                      const std::vector<double>& energy, const std::vector<double>& lrv = {});
    /// Onset alarm level of each channel (cusum: the CUSUM's h, units of x^2/sigma0^2; other
    /// methods: the threshold).
    [[nodiscard]] std::vector<double> alarm_levels() const { return hch_; }
    /// Long-run variance of x^2/sigma0^2 from lag sums r[0..K] of a Gaussian signal (r[0] > 0):
    /// 2 (1 + 2 sum_{k=1..K} (r_k / r_0)^2).
    static double long_run_variance(const double* r, std::size_t K);
    [[nodiscard]] bool has_baseline() const noexcept { return have_base_; }
    [[nodiscard]] std::vector<double> baseline_mean() const { return bmean_; }
    [[nodiscard]] std::vector<double> baseline_sd() const { return bsd_; }
    /// sigma0^2 per channel (with track_rest: the tracked rest level as it is now)
    [[nodiscard]] std::vector<double> baseline_energy() const {
        if (trk_alpha_ == 0) return benergy_;
        std::vector<double> e(binv_.size());
        for (std::size_t i = 0; i < e.size(); ++i) e[i] = 1.0 / binv_[i];
        return e;
    }
    /// Global index of the next sample.
    [[nodiscard]] std::int64_t position() const noexcept { return t_; }
    /// Copy of the full evolving state (filters, baseline, decision state, refinement bins), so a
    /// stream can be checkpointed and resumed bit for bit by an object with the same parameters.
    [[nodiscard]] StateRecord get_state() const;
    /// Restore a state from get_state() of a detector with the same parameters.
    /// @throws std::invalid_argument when a field is missing or has the wrong size.
    void set_state(const StateRecord& state);
    /// Worst-case decision latency in samples after the activation is established (see class doc).
    [[nodiscard]] std::int64_t latency_samples() const noexcept;

private:
    BusyFlag busy_;
    using Chan = internal::ChannelState;
    /// How far back (samples) a literature method's offset can lie behind the sample that decides it.
    [[nodiscard]] std::int64_t off_lookback() const noexcept;
    void condition(const T* x, std::size_t n);
    template <int NS>
    void band_channel(std::size_t c, const T* x, std::size_t n, double* y);
    template <int NS, bool FMA, bool WV, class In>
    void run_cusum(std::size_t c, const In* x, std::size_t n, std::vector<Event>& out);
    template <int NS, class In>
    void run_cusum_fma(const In* x, std::size_t n, std::vector<Event>& out);
    template <class In>
    bool precompute_z(const In* y, std::size_t n, double inv, bool based);
    template <class In>
    void process_cusum(const In* x, std::size_t n, int nsec, std::vector<Event>& out);
    template <int NS>
    void energy_channel(std::size_t c, const T* x, std::size_t n, double* stat, double* energy);
    template <int NS, bool FMA, bool WV>
    void window_energy(std::size_t c, const T* x, std::size_t n, std::size_t W, std::size_t w0, std::size_t w1,
                       std::size_t nw, double* wsum, double* wsq, double* wcnt, double* raw, double* nraw,
                       double* ycache);
    template <int NS>
    void window_energy_fma(std::size_t c, const T* x, std::size_t n, std::size_t W, std::size_t w0, std::size_t w1,
                           std::size_t nw, double* wsum, double* wsq, double* wcnt, double* raw, double* nraw,
                           double* ycache);
    void cusum_active(std::size_t c, std::int64_t t, double z, std::vector<Event>& out);
    // noinline: the flattened AVX2 kernels must not pull the rare-state machine in
#if defined(__GNUC__) || defined(__clang__)
    __attribute__((noinline))
#endif
    void cusum_general(std::size_t c, std::int64_t t, double v, double y, double e, bool vfin, bool fin,
                       bool bin_end, std::vector<Event>& out);
    void finalize_rest(std::size_t c);
    void rest_add(internal::ChannelState& s, std::int64_t t, double u, double e);
    void emit(std::vector<Event>& out, std::int64_t t, const Event& e);
    void decide(std::size_t c, std::int64_t t, double u, double e, std::vector<Event>& out);
    void raw_on(std::size_t c, std::int64_t on, std::int64_t t, std::vector<Event>& out);
    void raw_off(std::size_t c, std::int64_t off, std::vector<Event>& out);
    void tick(std::size_t c, std::int64_t t, std::vector<Event>& out);
    std::int64_t refine_onset(std::size_t c, std::int64_t tau, std::int64_t t);
    bool is_artefact(std::size_t c, std::int64_t g1) const;
    void verify_open(std::size_t c, std::int64_t t, std::int64_t g1);

    OnsetParams p_;
    double h_, h_off_ = 0, k_, win_, min_active_, min_gap_;
    std::int64_t n_win_, n_min_active_, n_min_gap_, n_refine_delay_, bin_;
    std::int64_t rwin_len_ = 1;     // rest sub-window length (samples): 10 ms, longer for rests > 41 s
    std::size_t n_rwin_ = 0;        // rest sub-windows (at most 4096)
    std::int64_t n_art_bins_ = 0;   // artefact window in bins; 0: no artefact rejection
    std::int64_t n_lobe_bins_ = 1;  // 20 ms in bins (the concentration window of the check)
    int nsec_ = -1;                 // band-pass sections; -1 without preprocessing
    std::vector<double> sos_;       // [section][b0 b1 b2 a1 a2]
    std::vector<double> zi_;        // [section][2]: steady-state delays per unit input
    std::unique_ptr<filters::SosFilter<double>> lp_;
    std::unique_ptr<filters::TKEO<double>> tk_;
    std::vector<double> xs_, us_, col_;  // scratch: conditioned x, statistic, one column
    std::vector<Chan> ch_;
    std::vector<double> bmean_, bsd_, benergy_, binv_;  // binv_ = 1 / benergy_
    std::vector<double> hch_;       // onset alarm level per channel (cusum: h_ or from the rest's lrv)
    std::int64_t n_lags_ = 0;       // lags of the lrv estimate; 0: fixed alarm level (h_)
    std::size_t n_lagblk_ = 0;      // blocks of rlag (groups of lag_grp_ rest sub-windows, or 1)
    std::size_t lag_grp_ = 1;       // rest sub-windows per lag block
    std::int64_t settle_ = 0;       // settling time of the conditioning cascade (samples)
    void lag_flush(internal::ChannelState& s, std::size_t block);
    double trk_alpha_ = 0;          // rest-level tracking: weight of one 2 ms bin; 0 = off
    // take the bins that are certainly rest (entirely before tau) into inv = 1 / sigma0^2
    double track(internal::ChannelState& s, std::int64_t t, std::int64_t tau, double inv) const;
    std::int64_t track_due(const internal::ChannelState& s) const;
    double adapt_alarm(double lrv) const;
    bool have_base_ = false, given_base_ = false;
    std::int64_t t_ = 0;
    std::vector<double> fit_p1_, fit_p2_, fit_le_, fit_w_, fit_e0_, fit_c_, fit_lg_, fit_m1_;
    std::vector<double> rise_lw_;  // log prior weight of each rise length of the grid (<= 0)
    std::vector<std::int64_t> dec_t_;  // decision time of the events of the current process() call
    std::vector<std::size_t> order_;
    std::size_t dec_first_ = 0;
    double gdelay_ = 0;  // group delay of the band-pass at its centre frequency (samples)
};

/// Offline detection: runs an OnsetDetector over the whole signal. Without a rest window the
/// baseline is estimated from the quietest 100 ms windows of the signal (windows whose mean
/// statistic is within 1.5x the 20th percentile). Open activations end at n_samples.
/// Returns events per channel. Input is rescaled by a power of two when its largest finite
/// magnitude is beyond 1e100 or below 1e-100 (detection is scale invariant).
template <class T>
std::vector<std::vector<Event>> detect(const T* x, std::size_t n_samples, const OnsetParams& params);

extern template class OnsetDetector<float>;
extern template class OnsetDetector<double>;

}  // namespace kinemyo::onset
