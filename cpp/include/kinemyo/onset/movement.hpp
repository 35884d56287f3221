#pragma once
/// @file movement.hpp
/// Movement onsets from IMU angular velocity: the smoothed angular-speed norm crossing a threshold
/// set from the rest noise, refined backwards to where the speed left the rest band. The partner
/// of the EMG onset detector for latency tables (EMG onset minus movement onset; negative =
/// feed-forward activation, as in Hodges & Richardson 1996, Spine 21:2640).
#include <cstddef>
#include <cstdint>
#include <vector>

namespace kinemyo::onset {

/// Parameters of movement_onsets (times in seconds).
struct MovementParams {
    double fs = 100.0;          ///< sampling rate, Hz (> 0)
    double rest_begin = 0.0;    ///< rest window [rest_begin, rest_end) for the noise statistics
    double rest_end = 1.0;
    double k = 5.0;             ///< threshold = rest mean + k rest SD of the smoothed speed (> 0)
    double k_low = 2.0;         ///< backward refinement level: rest mean + k_low SD (0 <= k_low <= k)
    double min_duration = 0.1;  ///< minimum time above the threshold for a movement (>= 0)
    double smooth_s = 0.02;     ///< causal moving-mean smoothing of the speed (>= 0; 0 = none)
    double min_gap = 0.3;       ///< a movement must start this long after the previous one ended (>= 0)
};

/// Onset sample of each movement in `gyro` (n_samples rows of n_axes values, row-major; rad/s or
/// any unit). The speed is the Euclidean norm of each row (|x| for one axis); non-finite rows
/// count as 0 (NaN) or as a very large speed (+-inf: 1e300). It is smoothed by a causal moving
/// mean of round(smooth_s fs) samples; its mean and SD over the rest window give the threshold
/// mean + k SD (the SD floored at 1e-12 max(1, |mean|)). A run of samples above the threshold at
/// least round(min_duration fs) long (and at least 1) is a movement if it starts after the rest
/// window and at least round(min_gap fs) samples after the previous run (kept or not) ended; its
/// onset is the last sample before the run at or below mean + k_low SD (the run's first sample
/// if there is none).
/// @throws std::invalid_argument for fs <= 0, n_axes == 0, negative or non-finite times, k <= 0,
///         k_low outside [0, k], or a rest window outside the signal or shorter than 10 samples.
std::vector<std::int64_t> movement_onsets(const double* gyro, std::size_t n_samples, std::size_t n_axes,
                                          const MovementParams& p);

}  // namespace kinemyo::onset
