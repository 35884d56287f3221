// Bindings of kinemyo::filters: design functions, processors (float32 and float64), offline filters.

#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/functional.h>
#include <pybind11/stl.h>

#include "arrays.hpp"
#include "kinemyo/filters/chain.hpp"
#include "kinemyo/filters/design.hpp"
#include "kinemyo/filters/envelope.hpp"
#include "kinemyo/filters/moving.hpp"
#include "kinemyo/filters/sos_filter.hpp"
#include "kinemyo/filters/tkeo.hpp"

namespace kinemyo::py_bind {
namespace {

using namespace kinemyo::filters;

py::array_t<double> sos_to_array(const Sos& sos) {
    py::array_t<double> a({static_cast<py::ssize_t>(sos.size()), py::ssize_t{6}});
    auto r = a.mutable_unchecked<2>();
    for (std::size_t i = 0; i < sos.size(); ++i)
        for (std::size_t j = 0; j < 6; ++j) r(static_cast<py::ssize_t>(i), static_cast<py::ssize_t>(j)) = sos[i][j];
    return a;
}

Sos sos_from_array(py::handle obj) {
    auto a = as_array<double>(obj, "sos");
    if (a.ndim() != 2 || a.shape(1) != 6 || a.shape(0) < 1) {
        throw py::value_error("sos must have shape (n_sections, 6) with n_sections >= 1; got " + shape_str(a));
    }
    Sos sos(static_cast<std::size_t>(a.shape(0)));
    auto r = a.unchecked<2>();
    for (std::size_t i = 0; i < sos.size(); ++i)
        for (std::size_t j = 0; j < 6; ++j) sos[i][j] = r(static_cast<py::ssize_t>(i), static_cast<py::ssize_t>(j));
    return sos;
}

InitMode parse_init(const std::string& s) {
    if (s == "zero") return InitMode::zero;
    if (s == "steady") return InitMode::steady;
    throw py::value_error("init must be 'zero' or 'steady'; got '" + s + "'");
}

template <class T>
py::array_t<T> offline(py::handle x_in, const std::function<void(const T*, T*, std::size_t, std::size_t)>& fn) {
    auto x = as_array<T>(x_in);
    if (x.ndim() != 1 && x.ndim() != 2) {
        throw py::value_error("x must be 1-D (n_samples,) or 2-D (n_samples, n_channels); got shape " + shape_str(x));
    }
    const auto n = static_cast<std::size_t>(x.shape(0));
    const auto C = static_cast<std::size_t>(x.ndim() == 2 ? x.shape(1) : 1);
    py::array_t<T> y(std::vector<py::ssize_t>(x.shape(), x.shape() + x.ndim()));
    if (n == 0 || C == 0) return y;
    const T* xp = x.data();
    T* yp = y.mutable_data();
    py::gil_scoped_release release;  // the core reads xp, writes yp; both arrays outlive the call
    fn(xp, yp, n, C);
    return y;
}

template <class T>
void bind_typed(py::module_& m) {
    const std::string suffix = sizeof(T) == 4 ? "_f32" : "_f64";
    auto base = bind_processor_base<T>(m, ("Processor" + suffix).c_str());

    py::class_<SosFilter<T>, Processor<T>, std::shared_ptr<SosFilter<T>>>(m, ("SosFilter" + suffix).c_str())
        .def(py::init([](py::handle sos, std::size_t n_channels, const std::string& init) {
                 return std::make_shared<SosFilter<T>>(SosFilterParams{sos_from_array(sos), n_channels, parse_init(init)});
             }),
             py::arg("sos"), py::arg("n_channels"), py::arg("init") = "zero")
        .def_property_readonly("sos", [](const SosFilter<T>& f) { return sos_to_array(f.sos()); })
        .def_property_readonly("n_nonfinite", [](const SosFilter<T>& f) { return f.n_nonfinite(); });

    py::class_<MovingWindow<T>, Processor<T>, std::shared_ptr<MovingWindow<T>>>(m, ("MovingWindow" + suffix).c_str())
        .def(py::init([](double fs, std::size_t n_channels, double window_s, bool rms) {
                 return std::make_shared<MovingWindow<T>>(
                     MovingWindowParams{fs, n_channels, window_s, rms ? WindowStat::rms : WindowStat::mean});
             }),
             py::arg("fs"), py::arg("n_channels"), py::arg("window_s"), py::arg("rms"))
        .def_property_readonly("window_samples", &MovingWindow<T>::window_samples);

    py::class_<TKEO<T>, Processor<T>, std::shared_ptr<TKEO<T>>>(m, ("TKEO" + suffix).c_str())
        .def(py::init<std::size_t>(), py::arg("n_channels"));

    py::class_<Envelope<T>, Processor<T>, std::shared_ptr<Envelope<T>>>(m, ("Envelope" + suffix).c_str())
        .def(py::init([](double fs, std::size_t n_channels, double cutoff, int order, std::optional<double> highpass,
                         int highpass_order) {
                 return std::make_shared<Envelope<T>>(EnvelopeParams{fs, n_channels, cutoff, order, highpass, highpass_order});
             }),
             py::arg("fs"), py::arg("n_channels"), py::arg("cutoff"), py::arg("order"), py::arg("highpass"),
             py::arg("highpass_order"));

    py::class_<Chain<T>, Processor<T>, std::shared_ptr<Chain<T>>>(m, ("Chain" + suffix).c_str())
        .def(py::init<std::vector<std::shared_ptr<Processor<T>>>>(), py::arg("stages"));

    m.def(("sosfilt" + suffix).c_str(), [](py::handle sos_in, py::handle x) {
        const Sos sos = sos_from_array(sos_in);
        return offline<T>(x, [&](const T* xp, T* yp, std::size_t n, std::size_t C) { sosfilt<T>(sos, xp, yp, n, C); });
    }, py::arg("sos"), py::arg("x"));
    m.def(("sosfiltfilt" + suffix).c_str(), [](py::handle sos_in, py::handle x, py::object padlen_in) {
        const Sos sos = sos_from_array(sos_in);
        std::size_t padlen = sosfiltfilt_padlen(sos);
        if (!padlen_in.is_none()) {
            const auto p = padlen_in.cast<long long>();
            if (p < 0) throw py::value_error("padlen must be >= 0; got " + std::to_string(p));
            padlen = static_cast<std::size_t>(p);
        }
        return offline<T>(x, [&](const T* xp, T* yp, std::size_t n, std::size_t C) {
            sosfiltfilt<T>(sos, xp, yp, n, C, padlen);
        });
    }, py::arg("sos"), py::arg("x"), py::arg("padlen") = py::none());
}

}  // namespace

void register_filters(py::module_& m) {
    m.def("butter", [](int order, std::vector<double> cutoff, double fs, const std::string& btype) {
        return sos_to_array(butter(order, cutoff, fs, parse_band_type(btype)));
    }, py::arg("order"), py::arg("cutoff"), py::arg("fs"), py::arg("btype"));
    m.def("notch", [](double freq, double fs, double q, int harmonics) {
        return sos_to_array(notch(freq, fs, q, harmonics));
    }, py::arg("freq"), py::arg("fs"), py::arg("q"), py::arg("harmonics"));
    m.def("sosfilt_zi", [](py::handle sos) {
        const auto zi = sosfilt_zi(sos_from_array(sos));
        py::array_t<double> a({static_cast<py::ssize_t>(zi.size()), py::ssize_t{2}});
        for (std::size_t i = 0; i < zi.size(); ++i) {
            a.mutable_at(static_cast<py::ssize_t>(i), 0) = zi[i][0];
            a.mutable_at(static_cast<py::ssize_t>(i), 1) = zi[i][1];
        }
        return a;
    }, py::arg("sos"));
    m.def("sosfiltfilt_padlen", [](py::handle sos) { return sosfiltfilt_padlen(sos_from_array(sos)); }, py::arg("sos"));
    m.def("simd_level", &simd_level,
          "Instruction set of the SOS kernel: 0 baseline x86-64, 1 AVX2+FMA, 2 AVX-512F.");
    m.def("_set_max_simd_level", &set_max_simd_level, py::arg("level"),
          "Testing only: cap the SOS kernel's instruction set for the whole process.");
    bind_typed<float>(m);
    bind_typed<double>(m);
}

}  // namespace kinemyo::py_bind
