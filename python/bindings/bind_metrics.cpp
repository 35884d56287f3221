// Bindings of kinemyo::metrics: the serial scans (holds, turning points, threshold segments) and
// the per-sample EMG passes (periodogram windows, spectral moments, block sums of squares).
// Signals are float32/float64 (other numeric types become float64); the Python layer
// (kinemyo.metrics) adds seconds, units and result tables.

#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include <complex>
#include <string>
#include <vector>

#include "arrays.hpp"
#include "kinemyo/metrics/emg.hpp"
#include "kinemyo/metrics/scan.hpp"

namespace kinemyo::py_bind {
namespace {

using namespace kinemyo::metrics;

bool is_f32(py::handle x) {
    return py::isinstance<py::array>(x) && py::reinterpret_borrow<py::array>(x).dtype().is(py::dtype::of<float>());
}

template <class T>
py::array_t<T, py::array::c_style> signal_1d(py::handle x_in) {
    auto x = as_array<T>(x_in, "x");
    if (x.ndim() != 1) throw py::value_error("x must be 1-D (n_samples,); got shape " + shape_str(x));
    return x;
}

py::array_t<std::int64_t> segments_to_array(const std::vector<Segment>& segs) {
    py::array_t<std::int64_t> a({static_cast<py::ssize_t>(segs.size()), py::ssize_t{2}});
    auto r = a.mutable_unchecked<2>();
    for (std::size_t i = 0; i < segs.size(); ++i) {
        r(static_cast<py::ssize_t>(i), 0) = segs[i].start;
        r(static_cast<py::ssize_t>(i), 1) = segs[i].end;
    }
    return a;
}

template <class T, class F>
auto run_scan(py::handle x_in, F&& fn) {
    auto x = signal_1d<T>(x_in);
    const T* p = x.data();
    const auto n = static_cast<std::size_t>(x.shape(0));
    // Safe without the GIL: the core reads only p (kept alive by x) and returns a new vector.
    py::gil_scoped_release release;
    return fn(p, n);
}

template <class T>
py::array_t<std::int64_t> holds_t(py::handle x, double tolerance, std::size_t min_samples) {
    const HoldParams prm{tolerance, min_samples};
    auto segs = run_scan<T>(x, [&](const T* p, std::size_t n) { return find_holds<T>(p, n, prm); });
    return segments_to_array(segs);
}

template <class T>
py::dict turning_t(py::handle x, double hysteresis, double plateau) {
    const TurningParams prm{hysteresis, plateau};
    auto tps = run_scan<T>(x, [&](const T* p, std::size_t n) { return find_turning_points<T>(p, n, prm); });
    const auto k = static_cast<py::ssize_t>(tps.size());
    py::array_t<std::int64_t> idx(k), pf(k), pl(k);
    py::array_t<double> val(k);
    py::array_t<bool> peak(k);
    for (py::ssize_t i = 0; i < k; ++i) {
        const auto& t = tps[static_cast<std::size_t>(i)];
        idx.mutable_at(i) = t.index;
        pf.mutable_at(i) = t.plateau_first;
        pl.mutable_at(i) = t.plateau_last;
        val.mutable_at(i) = t.value;
        peak.mutable_at(i) = t.is_peak;
    }
    py::dict d;
    d["index"] = idx;
    d["plateau_first"] = pf;
    d["plateau_last"] = pl;
    d["value"] = val;
    d["is_peak"] = peak;
    return d;
}

template <class T>
py::array_t<std::int64_t> active_t(py::handle x, double high, double low, std::size_t min_on, std::size_t min_off) {
    const ActiveParams prm{high, low, min_on, min_off};
    auto segs = run_scan<T>(x, [&](const T* p, std::size_t n) { return find_active_segments<T>(p, n, prm); });
    return segments_to_array(segs);
}

/// (n, c) view of a 1-D or 2-D time-major signal.
template <class T>
py::array_t<T, py::array::c_style> signal_2d(py::handle x_in, py::ssize_t& n, py::ssize_t& c) {
    auto x = as_array<T>(x_in, "x");
    if (x.ndim() == 1) {
        n = x.shape(0);
        c = 1;
    } else if (x.ndim() == 2) {
        n = x.shape(0);
        c = x.shape(1);
    } else {
        throw py::value_error("x must be 1-D (n_samples,) or 2-D (n_samples, n_channels); got shape " + shape_str(x));
    }
    return x;
}

template <class T, class U>
py::array_t<U> frames_t(py::handle x_in, std::size_t nw, std::size_t step, std::size_t w0, std::size_t n_frames,
                        py::handle taper_in) {
    py::ssize_t n = 0, c = 0;
    auto x = signal_2d<T>(x_in, n, c);
    auto taper = as_array<double>(taper_in, "taper");
    if (taper.ndim() != 1 || static_cast<std::size_t>(taper.shape(0)) != nw) {
        throw py::value_error("taper must have shape (" + std::to_string(nw) + ",); got " + shape_str(taper));
    }
    py::array_t<U> out({static_cast<py::ssize_t>(n_frames), static_cast<py::ssize_t>(nw), c});
    const T* px = x.data();
    const double* pt = taper.data();
    U* po = out.mutable_data();
    {
        // Safe without the GIL: reads px/pt (kept alive by x/taper), writes the fresh array po.
        py::gil_scoped_release release;
        spectral_frames<T, U>(px, static_cast<std::size_t>(n), static_cast<std::size_t>(c), nw, step, w0, n_frames,
                              pt, po);
    }
    return out;
}

template <class T>
py::tuple moments_t(const py::array& spec, std::size_t b0, std::size_t b1, py::handle freqs_in, double df) {
    if (spec.ndim() != 3) {
        throw py::value_error("spec must have shape (n_frames, n_bins, n_channels); got " + shape_str(spec));
    }
    const auto item = static_cast<py::ssize_t>(sizeof(std::complex<T>));
    SpectraLayout L;
    L.n_frames = static_cast<std::size_t>(spec.shape(0));
    L.n_bins = static_cast<std::size_t>(spec.shape(1));
    L.n_channels = static_cast<std::size_t>(spec.shape(2));
    for (py::ssize_t d = 0; d < 3; ++d) {
        if (spec.strides(d) % item != 0) throw py::value_error("spec strides must be multiples of its item size");
    }
    L.frame_stride = spec.strides(0) / item;
    L.bin_stride = spec.strides(1) / item;
    L.channel_stride = spec.strides(2) / item;
    auto freqs = as_array<double>(freqs_in, "freqs");
    if (freqs.ndim() != 1 || b1 < b0 || static_cast<std::size_t>(freqs.shape(0)) != b1 - b0) {
        throw py::value_error("freqs must have shape (b1 - b0,) = (" + std::to_string(b1 - b0) + ",); got " +
                              shape_str(freqs));
    }
    py::array_t<double> mnf({spec.shape(0), spec.shape(2)}), mdf({spec.shape(0), spec.shape(2)});
    const auto* ps = static_cast<const std::complex<T>*>(spec.data());
    const double* pf = freqs.data();
    double* pm = mnf.mutable_data();
    double* pd = mdf.mutable_data();
    {
        // Safe without the GIL: reads ps/pf (kept alive by spec/freqs), writes the fresh arrays.
        py::gil_scoped_release release;
        spectral_moments<T>(ps, L, b0, b1, pf, df, pm, pd);
    }
    return py::make_tuple(mnf, mdf);
}

template <class T>
py::array_t<double> block_ss_t(py::handle x_in, std::size_t d) {
    py::ssize_t n = 0, c = 0;
    auto x = signal_2d<T>(x_in, n, c);
    if (d == 0) throw py::value_error("d must be >= 1; got 0");
    const auto nb = static_cast<py::ssize_t>((static_cast<std::size_t>(n) + d - 1) / d);
    py::array_t<double> out({nb, c});
    const T* px = x.data();
    double* po = out.mutable_data();
    {
        py::gil_scoped_release release;  // reads px (kept alive by x), writes the fresh array po
        block_sum_squares<T>(px, static_cast<std::size_t>(n), static_cast<std::size_t>(c), d, po);
    }
    return out;
}

template <class T>
py::array_t<T> dec_rms_t(py::handle x_in, std::size_t d, std::size_t wb) {
    py::ssize_t n = 0, c = 0;
    auto x = signal_2d<T>(x_in, n, c);
    if (d == 0 || wb == 0) throw py::value_error("d and wb must be >= 1; got " + std::to_string(d) + ", " + std::to_string(wb));
    const auto nb = static_cast<py::ssize_t>((static_cast<std::size_t>(n) + d - 1) / d);
    py::array_t<T> out({nb, c});
    const T* px = x.data();
    T* po = out.mutable_data();
    {
        py::gil_scoped_release release;  // reads px (kept alive by x), writes the fresh array po
        decimated_moving_rms<T>(px, static_cast<std::size_t>(n), static_cast<std::size_t>(c), d, wb, po);
    }
    return out;
}

std::vector<Segment> segments_from(py::handle segs_in) {
    auto sg = py::array_t<std::int64_t, py::array::c_style | py::array::forcecast>::ensure(segs_in);
    if (!sg || sg.ndim() != 2 || sg.shape(1) != 2) {
        throw py::value_error("segments must be an integer array of shape (k, 2)");
    }
    std::vector<Segment> segs(static_cast<std::size_t>(sg.shape(0)));
    auto r = sg.unchecked<2>();
    for (py::ssize_t i = 0; i < sg.shape(0); ++i) segs[static_cast<std::size_t>(i)] = {r(i, 0), r(i, 1)};
    return segs;
}

template <class T>
py::dict seg_stats_t(py::handle x_in, py::handle segs_in) {
    py::ssize_t n = 0, c = 0;
    auto x = signal_2d<T>(x_in, n, c);
    const bool one_d = x.ndim() == 1;
    const std::vector<Segment> segs = segments_from(segs_in);
    const auto k = static_cast<py::ssize_t>(segs.size());
    std::vector<py::ssize_t> shape = one_d ? std::vector<py::ssize_t>{k} : std::vector<py::ssize_t>{k, c};
    py::array_t<double> mn(shape), mx(shape), me(shape);
    py::array_t<std::int64_t> am(shape), cnt(shape);
    const T* px = x.data();
    double* pmn = mn.mutable_data();
    double* pmx = mx.mutable_data();
    double* pme = me.mutable_data();
    std::int64_t* pam = am.mutable_data();
    std::int64_t* pcn = cnt.mutable_data();
    {
        py::gil_scoped_release release;  // reads px (kept alive by x), writes the fresh arrays
        for (py::ssize_t ch = 0; ch < c; ++ch) {
            const auto st = segment_stats<T>(px + ch, static_cast<std::size_t>(n), static_cast<std::size_t>(c), segs);
            for (py::ssize_t i = 0; i < k; ++i) {
                const auto& s = st[static_cast<std::size_t>(i)];
                const py::ssize_t o = i * c + ch;
                pmn[o] = s.min;
                pmx[o] = s.max;
                pme[o] = s.mean;
                pam[o] = s.argmax;
                pcn[o] = s.count;
            }
        }
    }
    py::dict d;
    d["min"] = mn;
    d["max"] = mx;
    d["mean"] = me;
    d["argmax"] = am;
    d["count"] = cnt;
    return d;
}

template <class T>
py::array_t<std::int64_t> trim_t(py::handle x_in, py::handle segs_in, py::handle centres_in, double band) {
    auto x = signal_1d<T>(x_in);
    const std::vector<Segment> segs = segments_from(segs_in);
    auto centres = as_array<double>(centres_in, "centres");
    if (centres.ndim() != 1 || static_cast<std::size_t>(centres.shape(0)) != segs.size()) {
        throw py::value_error("centres must have shape (" + std::to_string(segs.size()) + ",); got " + shape_str(centres));
    }
    const T* px = x.data();
    const auto n = static_cast<std::size_t>(x.shape(0));
    const double* pc = centres.data();
    std::vector<Segment> out;
    {
        py::gil_scoped_release release;  // reads px/pc (kept alive), segs is local
        out = trim_to_band<T>(px, n, segs, pc, band);
    }
    return segments_to_array(out);
}

}  // namespace

void register_metrics(py::module_& m) {
    m.def("find_holds", [](py::handle x, double tolerance, std::size_t min_samples) {
        return is_f32(x) ? holds_t<float>(x, tolerance, min_samples) : holds_t<double>(x, tolerance, min_samples);
    }, py::arg("x"), py::arg("tolerance"), py::arg("min_samples"),
       "Static periods of a 1-D signal: (k, 2) int64 [start, end) sample ranges with max-min <= tolerance.");
    m.def("find_turning_points", [](py::handle x, double hysteresis, double plateau) {
        return is_f32(x) ? turning_t<float>(x, hysteresis, plateau) : turning_t<double>(x, hysteresis, plateau);
    }, py::arg("x"), py::arg("hysteresis"), py::arg("plateau"),
       "Alternating peaks/troughs confirmed with hysteresis: dict of index, plateau_first, plateau_last, value, is_peak.");
    m.def("find_active_segments", [](py::handle x, double high, double low, std::size_t min_on, std::size_t min_off) {
        return is_f32(x) ? active_t<float>(x, high, low, min_on, min_off) : active_t<double>(x, high, low, min_on, min_off);
    }, py::arg("x"), py::arg("high"), py::arg("low"), py::arg("min_on"), py::arg("min_off"),
       "Hysteresis threshold segments: (k, 2) int64 [start, end) runs of x > low containing x > high.");
    m.def("trim_to_band", [](py::handle x, py::handle segments, py::handle centres, double band) {
        return is_f32(x) ? trim_t<float>(x, segments, centres, band) : trim_t<double>(x, segments, centres, band);
    }, py::arg("x"), py::arg("segments"), py::arg("centres"), py::arg("band"),
       "Each [start, end) segment trimmed to its first..last sample within band of its centre: (k, 2) int64 "
       "(empty segments start == end when none).");
    m.def("segment_stats", [](py::handle x, py::handle segments) {
        return is_f32(x) ? seg_stats_t<float>(x, segments) : seg_stats_t<double>(x, segments);
    }, py::arg("x"), py::arg("segments"),
       "Per [start, end) segment (and channel of a 2-D x): dict of min, max, mean (NaN if no finite sample), "
       "argmax (-1 if none) and count of the finite samples.");
    m.def("spectral_frames", [](py::handle x, std::size_t nw, std::size_t step, std::size_t w0, std::size_t n_frames,
                                py::handle taper, bool wide) -> py::array {
        if (is_f32(x)) {
            if (wide) return frames_t<float, double>(x, nw, step, w0, n_frames, taper);
            return frames_t<float, float>(x, nw, step, w0, n_frames, taper);
        }
        return frames_t<double, double>(x, nw, step, w0, n_frames, taper);
    }, py::arg("x"), py::arg("nw"), py::arg("step"), py::arg("w0"), py::arg("n_frames"), py::arg("taper"),
       py::arg("wide") = false,
       "Periodogram windows of an (n, c) signal: (n_frames, nw, c) array of mean-removed, tapered windows "
       "starting at (w0 + w) * step (float32 in gives float32 unless wide=True; float64 otherwise).");
    m.def("spectral_moments", [](const py::array& spec, std::size_t b0, std::size_t b1, py::handle freqs, double df) {
        if (spec.dtype().is(py::dtype::of<std::complex<float>>())) return moments_t<float>(spec, b0, b1, freqs, df);
        if (spec.dtype().is(py::dtype::of<std::complex<double>>())) return moments_t<double>(spec, b0, b1, freqs, df);
        throw py::type_error("spec must be complex64 or complex128; got dtype " + std::string(py::str(spec.dtype())));
    }, py::arg("spec"), py::arg("b0"), py::arg("b1"), py::arg("freqs"), py::arg("df"),
       "Mean and median frequency, (n_frames, n_channels) float64 each, of one-sided spectra (n_frames, n_bins, "
       "n_channels), any strides, over bins [b0, b1).");
    m.def("block_sum_squares", [](py::handle x, std::size_t d) {
        return is_f32(x) ? block_ss_t<float>(x, d) : block_ss_t<double>(x, d);
    }, py::arg("x"), py::arg("d"),
       "Sums of squares per block of d samples and channel of an (n, c) signal: (ceil(n/d), c) float64.");
    m.def("decimated_moving_rms", [](py::handle x, std::size_t d, std::size_t wb) -> py::array {
        if (is_f32(x)) return dec_rms_t<float>(x, d, wb);
        return dec_rms_t<double>(x, d, wb);
    }, py::arg("x"), py::arg("d"), py::arg("wb"),
       "Centred moving RMS over wb blocks of d samples, one value per block: (ceil(n/d), c), dtype of x.");
}

}  // namespace kinemyo::py_bind
