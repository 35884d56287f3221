// Bindings of kinemyo::metrics: the serial scans (holds, turning points, threshold segments).
// Each takes a 1-D float32/float64 signal (other numeric types become float64) and returns int64
// arrays; the Python layer (kinemyo.metrics) adds seconds, units and result tables.

#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include <vector>

#include "arrays.hpp"
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
}

}  // namespace kinemyo::py_bind
