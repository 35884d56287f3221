#pragma once
/// @file scan.hpp
/// Serial per-sample scans behind kinemyo.metrics: static periods (holds), hysteresis turning
/// points (repetitions) and hysteresis threshold segments (movement / contraction phases).
///
/// All functions work on one channel (a contiguous array of n samples), are offline (whole
/// signal) and O(n). Indices are sample indices counted from 0; segments are half-open
/// `[start, end)`. Non-finite samples are handled as documented per function.

#include <cstddef>
#include <cstdint>
#include <vector>

namespace kinemyo::metrics {

/// A half-open run of samples `[start, end)`.
struct Segment {
    std::int64_t start = 0;  ///< first sample of the run
    std::int64_t end = 0;    ///< one past the last sample of the run
};

/// Parameters of find_holds().
struct HoldParams {
    double tolerance = 3.0;        ///< max - min of the signal inside a hold (signal units, e.g. deg), > 0
    std::size_t min_samples = 1;   ///< shortest hold in samples, >= 1
};

/// Static periods: maximal runs whose range (max - min) stays within `tolerance` and that last at
/// least `min_samples`, found greedily from the start in one pass (two monotonic deques, O(n)).
///
/// When a new sample would push the range of the current run above the tolerance, the run is
/// emitted if it is long enough and a new run starts at that sample; otherwise the run's start moves
/// forward just far enough for the range to fit again. Holds never overlap.
/// A non-finite sample ends the current run (emitted if long enough) and belongs to no hold.
/// @throws std::invalid_argument for tolerance <= 0 (or non-finite) or min_samples == 0.
template <class T>
std::vector<Segment> find_holds(const T* x, std::size_t n, const HoldParams& params);

/// Parameters of find_turning_points().
struct TurningParams {
    double hysteresis = 5.0;   ///< reversal needed to confirm an extremum (signal units), > 0
    double plateau = 1.0;      ///< band around each extremum that counts as "at" it, >= 0
};

/// One confirmed extremum of find_turning_points().
struct TurningPoint {
    std::int64_t index = 0;          ///< sample of the extreme value
    std::int64_t plateau_first = 0;  ///< first sample within `plateau` of the extreme value
    std::int64_t plateau_last = 0;   ///< last sample within `plateau` of the extreme value
    double value = 0.0;              ///< the extreme value
    bool is_peak = false;            ///< true: local maximum, false: local minimum
};

/// Alternating peaks and troughs confirmed with hysteresis (a zig-zag / peak-valley detector):
/// an extremum is accepted only once the signal has moved back from it by more than `hysteresis`,
/// so wobbles smaller than that never make a turning point. The last pending extremum is accepted
/// at the end of the signal if it differs from the last confirmed one by more than `hysteresis`
/// (a final return to rest needs no later rise).
///
/// The plateau of an extremum is searched between its neighbouring extrema: the first and last
/// samples there whose value lies within `plateau` of the extreme value (a rest at full flexion or
/// at standing gives its whole duration; a smooth turn gives a short symmetric span).
/// Non-finite samples are skipped.
/// @throws std::invalid_argument for hysteresis <= 0 or plateau < 0 (or non-finite).
template <class T>
std::vector<TurningPoint> find_turning_points(const T* x, std::size_t n, const TurningParams& params);

/// Parameters of find_active_segments().
struct ActiveParams {
    double high = 1.0;              ///< detection threshold: a segment must exceed it somewhere
    double low = 1.0;               ///< extension threshold, <= high: a segment spans x > low
    std::size_t min_on = 1;         ///< shortest segment in samples (after merging), >= 1
    std::size_t min_off = 0;        ///< gaps shorter than this many samples are bridged, >= 0
};

/// Hysteresis threshold segments: runs where x > low that contain at least one sample x > high;
/// runs separated by fewer than `min_off` samples are merged, then runs shorter than `min_on`
/// samples are dropped. Non-finite samples count as below `low`.
/// @throws std::invalid_argument if low > high, either is NaN, or min_on == 0.
template <class T>
std::vector<Segment> find_active_segments(const T* x, std::size_t n, const ActiveParams& params);

/// Trim segments to a band around a centre value: for segment i ([start, end) within the signal) and
/// its centre `centres[i]`, the run from the first to the last sample x with |x - centre| <= band
/// (non-finite samples never qualify); `{start, start}` (empty) when no sample does.
/// @throws std::invalid_argument if band < 0 (or NaN) or a segment lies outside [0, n].
template <class T>
std::vector<Segment> trim_to_band(const T* x, std::size_t n, const std::vector<Segment>& segments,
                                  const double* centres, double band);

/// Summary of one segment of a signal (non-finite samples left out).
struct SegmentStats {
    double min = 0.0;            ///< smallest finite value (NaN if none)
    double max = 0.0;            ///< largest finite value (NaN if none)
    double mean = 0.0;           ///< mean of the finite values (NaN if none)
    std::int64_t argmax = -1;    ///< first sample of the largest value (-1 if none)
    std::int64_t count = 0;      ///< number of finite samples
};

/// Min, max (and where), mean and count of the finite samples of x[i * stride], i in each
/// `[start, end)` segment (segments may overlap or be empty). One pass per segment.
/// @throws std::invalid_argument if stride == 0 or a segment lies outside [0, n].
template <class T>
std::vector<SegmentStats> segment_stats(const T* x, std::size_t n, std::size_t stride,
                                        const std::vector<Segment>& segments);

}  // namespace kinemyo::metrics
