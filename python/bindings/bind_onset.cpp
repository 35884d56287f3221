// Bindings of kinemyo::onset: parameters, the streaming detector (float32/float64) and detect.

#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include "arrays.hpp"
#include "kinemyo/onset/detector.hpp"
#include "kinemyo/onset/ecg.hpp"

namespace kinemyo::py_bind {
namespace {

using namespace kinemyo::onset;

py::array_t<std::int64_t> events_to_array(const std::vector<Event>& ev) {
    py::array_t<std::int64_t> a({static_cast<py::ssize_t>(ev.size()), py::ssize_t{3}});
    auto r = a.mutable_unchecked<2>();
    for (std::size_t i = 0; i < ev.size(); ++i) {
        const auto k = static_cast<py::ssize_t>(i);
        r(k, 0) = ev[i].channel;
        r(k, 1) = ev[i].onset;
        r(k, 2) = ev[i].offset;
    }
    return a;
}

template <class T>
py::list detect_py(py::handle x_in, const OnsetParams& p0) {
    auto x = as_array<T>(x_in);
    if (x.ndim() != 2) throw py::value_error("x must be 2-D (n_samples, n_channels); got " + shape_str(x));
    OnsetParams p = p0;
    p.n_channels = static_cast<std::size_t>(x.shape(1));
    const auto n = static_cast<std::size_t>(x.shape(0));
    std::vector<std::vector<Event>> res;
    {
        py::gil_scoped_release release;  // the core reads x (kept alive by `x`) only
        res = detect<T>(x.data(), n, p);
    }
    py::list out;
    for (const auto& r : res) {
        py::array_t<std::int64_t> a({static_cast<py::ssize_t>(r.size()), py::ssize_t{2}});
        auto w = a.mutable_unchecked<2>();
        for (std::size_t i = 0; i < r.size(); ++i) {
            w(static_cast<py::ssize_t>(i), 0) = r[i].onset;
            w(static_cast<py::ssize_t>(i), 1) = r[i].offset;
        }
        out.append(a);
    }
    return out;
}

template <class T>
void bind_typed(py::module_& m) {
    const std::string suffix = sizeof(T) == 4 ? "_f32" : "_f64";
    py::class_<OnsetDetector<T>>(m, ("OnsetDetector" + suffix).c_str())
        .def(py::init<const OnsetParams&>(), py::arg("params"))
        .def("process",
             [](OnsetDetector<T>& d, py::handle x_in) {
                 UseGuard use(d);
                 auto x = as_array<T>(x_in);
                 const py::ssize_t n = check_frames(x, d.n_channels());
                 std::vector<Event> ev;
                 if (n * static_cast<py::ssize_t>(d.n_channels()) > kReleaseGilAbove) {
                     py::gil_scoped_release release;  // touches only x's buffer and d's own state
                     d.process(x.data(), static_cast<std::size_t>(n), ev);
                 } else {
                     d.process(x.data(), static_cast<std::size_t>(n), ev);
                 }
                 return events_to_array(ev);
             })
        .def("finish",
             [](OnsetDetector<T>& d) {
                 UseGuard use(d);
                 std::vector<Event> ev;
                 d.finish(ev);
                 return events_to_array(ev);
             })
        .def("reset", [](OnsetDetector<T>& d) { UseGuard use(d); d.reset(); })
        .def("get_state", [](const OnsetDetector<T>& d) { return state_to_dict(d.get_state()); })
        .def("set_state", [](OnsetDetector<T>& d, const py::dict& s) {
            UseGuard use(d);
            d.set_state(state_from_dict(s));
        })
        .def("set_baseline", &OnsetDetector<T>::set_baseline, py::arg("mean"), py::arg("sd"), py::arg("energy"),
             py::arg("lrv") = std::vector<double>{})
        .def_property_readonly("alarm_levels", &OnsetDetector<T>::alarm_levels)
        .def_property_readonly("has_baseline", &OnsetDetector<T>::has_baseline)
        .def_property_readonly("baseline_mean", &OnsetDetector<T>::baseline_mean)
        .def_property_readonly("baseline_sd", &OnsetDetector<T>::baseline_sd)
        .def_property_readonly("baseline_energy", &OnsetDetector<T>::baseline_energy)
        .def_property_readonly("position", &OnsetDetector<T>::position)
        .def_property_readonly("latency_samples", &OnsetDetector<T>::latency_samples)
        .def_property_readonly("n_channels", &OnsetDetector<T>::n_channels);
    m.def(("onset_detect" + suffix).c_str(), &detect_py<T>, py::arg("x"), py::arg("params"));
    py::class_<EcgCanceller<T>>(m, ("EcgCanceller" + suffix).c_str())
        .def(py::init([](double fs, std::size_t n_channels, double min_corr, int n_average, int max_rejects, int min_beats) {
                 EcgCancellerParams p;
                 p.fs = fs;
                 p.n_channels = n_channels;
                 p.min_corr = min_corr;
                 p.n_average = n_average;
                 p.max_rejects = max_rejects;
                 p.min_beats = min_beats;
                 return EcgCanceller<T>(p);
             }),
             py::arg("fs"), py::arg("n_channels"), py::arg("min_corr") = 0.5, py::arg("n_average") = 15,
             py::arg("max_rejects") = 8, py::arg("min_beats") = 8)
        .def("process",
             [](EcgCanceller<T>& d, py::handle x_in) {
                 UseGuard use(d);
                 auto x = as_array<T>(x_in);
                 const py::ssize_t n = check_frames(x, d.n_channels());
                 const auto C = static_cast<py::ssize_t>(d.n_channels());
                 py::array_t<T> y({n, C});
                 std::size_t m = 0;
                 if (n * C > kReleaseGilAbove) {
                     py::gil_scoped_release release;
                     m = d.process(x.data(), static_cast<std::size_t>(n), y.mutable_data());
                 } else {
                     m = d.process(x.data(), static_cast<std::size_t>(n), y.mutable_data());
                 }
                 if (static_cast<py::ssize_t>(m) != n) y.resize({static_cast<py::ssize_t>(m), C});
                 return y;
             })
        .def("flush",
             [](EcgCanceller<T>& d) {
                 UseGuard use(d);
                 const auto C = static_cast<py::ssize_t>(d.n_channels());
                 py::array_t<T> y({static_cast<py::ssize_t>(d.delay()), C});
                 const auto m = d.flush(y.mutable_data());
                 y.resize({static_cast<py::ssize_t>(m), C});
                 return y;
             })
        .def("reset", [](EcgCanceller<T>& d) { UseGuard use(d); d.reset(); })
        .def("get_state", [](const EcgCanceller<T>& d) { return state_to_dict(d.get_state()); })
        .def("set_state", [](EcgCanceller<T>& d, const py::dict& s) {
            UseGuard use(d);
            d.set_state(state_from_dict(s));
        })
        .def_property_readonly("delay", &EcgCanceller<T>::delay)
        .def_property_readonly("position", &EcgCanceller<T>::position)
        .def_property_readonly("beats_subtracted", &EcgCanceller<T>::beats_subtracted)
        .def_property_readonly("n_channels", &EcgCanceller<T>::n_channels);
}

}  // namespace

void register_onset(py::module_& m) {
    py::class_<OnsetParams>(m, "OnsetParams")
        .def(py::init<>())
        .def_readwrite("fs", &OnsetParams::fs)
        .def_readwrite("n_channels", &OnsetParams::n_channels)
        .def_property(
            "method",
            [](const OnsetParams& p) {
                switch (p.method) {
                    case Method::hodges_bui: return std::string("hodges_bui");
                    case Method::bonato: return std::string("bonato");
                    case Method::tkeo: return std::string("tkeo");
                    default: return std::string("cusum");
                }
            },
            [](OnsetParams& p, const std::string& s) { p.method = parse_method(s); })
        .def_property(
            "ecg", [](const OnsetParams& p) { return std::string(p.ecg == EcgMode::highpass ? "highpass" : "none"); },
            [](OnsetParams& p, const std::string& s) {
                if (s == "none") p.ecg = EcgMode::none;
                else if (s == "highpass") p.ecg = EcgMode::highpass;
                else throw py::value_error("ecg must be 'none' or 'highpass' in the core; got '" + s + "'");
            })
        .def_readwrite("preprocess", &OnsetParams::preprocess)
        .def_readwrite("band_low", &OnsetParams::band_low)
        .def_readwrite("band_high", &OnsetParams::band_high)
        .def_readwrite("band_order", &OnsetParams::band_order)
        .def_readwrite("ecg_highpass", &OnsetParams::ecg_highpass)
        .def_readwrite("mains", &OnsetParams::mains)
        .def_readwrite("mains_harmonics", &OnsetParams::mains_harmonics)
        .def_readwrite("mains_q", &OnsetParams::mains_q)
        .def_readwrite("threshold", &OnsetParams::threshold)
        .def_readwrite("drift", &OnsetParams::drift)
        .def_readwrite("window", &OnsetParams::window)
        .def_readwrite("min_active", &OnsetParams::min_active)
        .def_readwrite("min_gap", &OnsetParams::min_gap)
        .def_readwrite("refine", &OnsetParams::refine)
        .def_readwrite("refine_window", &OnsetParams::refine_window)
        .def_readwrite("refine_delay", &OnsetParams::refine_delay)
        .def_readwrite("max_rise", &OnsetParams::max_rise)
        .def_readwrite("rise_prior", &OnsetParams::rise_prior)
        .def_readwrite("track_rest", &OnsetParams::track_rest)
        .def_readwrite("reject_artefacts", &OnsetParams::reject_artefacts)
        .def_readwrite("robust_rest", &OnsetParams::robust_rest)
        .def_readwrite("artefact_window", &OnsetParams::artefact_window)
        .def_readwrite("rest_begin", &OnsetParams::rest_begin)
        .def_readwrite("rest_end", &OnsetParams::rest_end);
    bind_typed<float>(m);
    bind_typed<double>(m);
}

}  // namespace kinemyo::py_bind
