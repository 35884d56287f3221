#pragma once
/// @file design.hpp
/// IIR filter design in second-order sections (SOS), SciPy's layout: each row is
/// `[b0, b1, b2, a0, a1, a2]` with `a0 == 1`.

#include <array>
#include <cstddef>
#include <string>
#include <vector>

namespace kinemyo::filters {

/// One second-order section `[b0, b1, b2, a0, a1, a2]`.
using Section = std::array<double, 6>;
/// A cascade of second-order sections, applied first row first.
using Sos = std::vector<Section>;

/// Band type of a design.
enum class BandType { lowpass, highpass, bandpass, bandstop };

/// Parse "lowpass"/"highpass"/"bandpass"/"bandstop" (also "low", "high", "band", "stop", "lp",
/// "hp", "bp", "bs"). @throws std::invalid_argument naming `btype` otherwise.
BandType parse_band_type(const std::string& btype);

/// Digital Butterworth filter as SOS, the same filter as `scipy.signal.butter(order, cutoff,
/// btype, fs=fs, output="sos")`: analog prototype, pre-warping, frequency transform, bilinear
/// transform, and pairing of poles with their nearest zeros (sections ordered so that the poles
/// closest to the unit circle come last, overall gain in the first section).
///
/// @param order   filter order, 1..10 (band-pass and band-stop filters have 2*order poles)
/// @param cutoff  cut-off frequencies in Hz: one for low/high-pass, two (low < high) for band filters;
///                each strictly between 0 and fs/2
/// @param fs      sampling rate in Hz, > 0
/// @param btype   band type
/// @throws std::invalid_argument naming the parameter and its allowed range.
Sos butter(int order, const std::vector<double>& cutoff, double fs, BandType btype);

/// Second-order IIR notch at `freq` Hz with quality factor `q` (= freq / -3 dB bandwidth), the same
/// section as `scipy.signal.iirnotch(freq, q, fs)`. With `harmonics` = h > 1, the cascade also holds
/// a notch (same q) at 2*freq, ..., h*freq; multiples at or above Nyquist are left out.
/// @throws std::invalid_argument if freq is not in (0, fs/2), q <= 0, fs <= 0 or harmonics < 1.
Sos notch(double freq, double fs, double q = 30.0, int harmonics = 1);

/// Check an SOS cascade: at least one section, finite values, a0 != 0, and every section stable
/// (poles strictly inside the unit circle). Returns a copy normalised so that a0 == 1.
/// @throws std::invalid_argument describing the first problem found.
Sos validate_sos(const Sos& sos);

/// Steady-state initial conditions of a cascade for a unit step input, shape (n_sections, 2), the
/// same as `scipy.signal.sosfilt_zi`. Multiply by x[0] to start a filter in steady state.
/// @throws std::invalid_argument if a section has a pole at z = 1 (no steady state exists).
std::vector<std::array<double, 2>> sosfilt_zi(const Sos& sos);

/// Default pad length of `sosfiltfilt`, as SciPy chooses it:
/// 3 * (2 * n_sections + 1 - min(#(b2 == 0), #(a2 == 0))).
std::size_t sosfiltfilt_padlen(const Sos& sos);

}  // namespace kinemyo::filters
