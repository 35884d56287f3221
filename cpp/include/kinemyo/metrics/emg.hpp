#pragma once
/// @file emg.hpp
/// Per-sample EMG passes behind kinemyo.metrics: the window preparation and the spectral moments
/// of the fatigue analysis (mean / median frequency of windowed periodograms), and the block sums
/// of squares of the decimated moving RMS.
///
/// The FFT itself is not here: the Python layer calls a library FFT (scipy.fft or numpy.fft)
/// between spectral_frames() and spectral_moments(). Signals are time-major (n samples x c
/// channels, row-major), as everywhere in kinemyo. Sums are accumulated in double for float input.

#include <complex>
#include <cstddef>

namespace kinemyo::metrics {

/// Windows of a multi-channel signal, ready for a periodogram: for window w (starting at sample
/// (w0 + w) * step), sample i and channel ch,
///   out[(w * nw + i) * c + ch] = (x[((w0 + w) * step + i) * c + ch] - mean_{w,ch}) * taper[i],
/// i.e. an (n_frames, nw, c) row-major block, time-major inside each window like the signal (no
/// transpose; a batched FFT runs along axis 1). mean_{w,ch} is the window's mean, summed in double.
/// A window holding a non-finite sample gives NaN for that channel. The output type U may be wider
/// than the input type T (float in, double out, for an FFT that is faster in double).
/// @throws std::invalid_argument if nw == 0, step == 0, c == 0 or a frame would end past n.
template <class T, class U>
void spectral_frames(const T* x, std::size_t n, std::size_t c, std::size_t nw, std::size_t step,
                     std::size_t w0, std::size_t n_frames, const double* taper, U* out);

/// Layout of a batch of one-sided spectra: element (frame w, bin k, channel ch) is at
/// `spec[w * frame_stride + k * bin_stride + ch * channel_stride]` (strides in elements).
struct SpectraLayout {
    std::size_t n_frames = 0;
    std::size_t n_channels = 1;
    std::size_t n_bins = 0;
    std::ptrdiff_t frame_stride = 0;
    std::ptrdiff_t bin_stride = 1;
    std::ptrdiff_t channel_stride = 0;
};

/// Mean and median frequency of a batch of power spectra given as one-sided complex spectra
/// (e.g. the output of rfft), over the bins [b0, b1) whose frequencies are `freqs[0 .. b1-b0)`
/// (evenly spaced by `df` Hz):
///   P_k = |X_k|^2,  MNF = sum(f_k P_k) / sum(P_k),
///   MDF = the frequency below which half of sum(P_k) lies, each bin's power spread evenly over
///         [f_k - df/2, f_k + df/2] (linear interpolation inside the bin where the cumulative
///         power reaches one half).
/// Results go to mnf/mdf[w * n_channels + ch]. Sums in double. A (frame, channel) whose band power
/// is zero or not finite gives NaN for both.
/// @throws std::invalid_argument if b1 <= b0 or b1 > n_bins.
template <class T>
void spectral_moments(const std::complex<T>* spec, const SpectraLayout& layout, std::size_t b0, std::size_t b1,
                      const double* freqs, double df, double* mnf, double* mdf);

/// Sums of squares per block of d samples and channel: out[j * c + ch] = sum of x[i, ch]^2 over
/// i in [j*d, min((j+1)*d, n)), j = 0 .. ceil(n/d)-1 (the last block may be shorter). A
/// non-finite sample makes its block's sum non-finite.
/// @throws std::invalid_argument if d == 0 or c == 0.
template <class T>
void block_sum_squares(const T* x, std::size_t n, std::size_t c, std::size_t d, double* out);

/// Centred moving RMS at a decimated rate: with block sums of squares S_j over blocks of d samples
/// (block_sum_squares), output j (for input sample j*d) is sqrt(sum of S over the `wb` blocks
/// [j - (wb-1)/2, j - (wb-1)/2 + wb) clipped to the signal / number of samples in them), for
/// j = 0 .. ceil(n/d)-1, written to out[j * c + ch]. A block holding a non-finite sample makes the
/// windows that contain it NaN and no other (window sums come from prefix sums of the finite
/// blocks and a prefix count of the non-finite ones, in double).
/// @throws std::invalid_argument if d == 0, c == 0 or wb == 0.
template <class T>
void decimated_moving_rms(const T* x, std::size_t n, std::size_t c, std::size_t d, std::size_t wb, T* out);

}  // namespace kinemyo::metrics
