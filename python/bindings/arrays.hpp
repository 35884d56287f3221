#pragma once
// Array conversion and the shared Processor binding: the one place where numpy arrays become
// pointers and sizes for the core.

#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include <memory>
#include <string>

#include "kinemyo/common/processor.hpp"

namespace kinemyo::py_bind {

namespace py = pybind11;

/// Short dtype name used in class names and messages.
template <class T>
constexpr const char* dtype_name() {
    return sizeof(T) == 4 ? "float32" : "float64";
}

inline std::string shape_str(const py::array& a) {
    std::string s = "(";
    for (py::ssize_t i = 0; i < a.ndim(); ++i) {
        s += std::to_string(a.shape(i));
        if (a.ndim() == 1 || i + 1 < a.ndim()) s += ",";
        if (i + 1 < a.ndim()) s += " ";
    }
    return s + ")";
}

/// Turn any array-like into a C-contiguous array of T. Numeric input (bool, int, float) is
/// converted (a copy only when the dtype or layout differs); anything else is a TypeError.
template <class T>
py::array_t<T, py::array::c_style> as_array(py::handle x, const char* name = "x") {
    if (py::isinstance<py::array_t<T, py::array::c_style>>(x)) {
        return py::reinterpret_borrow<py::array_t<T, py::array::c_style>>(x);
    }
    py::array a = py::array::ensure(x);
    if (!a) throw py::type_error(std::string(name) + " must be a numeric array; got " + std::string(py::str(py::type::handle_of(x).attr("__name__"))));
    const char kind = a.dtype().kind();
    if (kind != 'b' && kind != 'i' && kind != 'u' && kind != 'f') {
        throw py::type_error(std::string(name) + " must be a real numeric array (bool, int or float); got dtype " +
                             std::string(py::str(a.dtype())));
    }
    return py::array_t<T, py::array::c_style | py::array::forcecast>::ensure(a);
}

/// Below this many values a call is too short for releasing the GIL to pay off.
constexpr py::ssize_t kReleaseGilAbove = 4096;

/// Check x against a processor's channel count; return the number of samples.
/// Accepts (n_samples, n_channels), or (n_samples,) when n_channels == 1.
inline py::ssize_t check_frames(const py::array& a, std::size_t n_channels, const char* name = "x") {
    const auto C = static_cast<py::ssize_t>(n_channels);
    if (a.ndim() == 2 && a.shape(1) == C) return a.shape(0);
    if (a.ndim() == 1 && C == 1) return a.shape(0);
    throw py::value_error(std::string(name) + " must have shape (n_samples, " + std::to_string(C) + ")" +
                          (C == 1 ? " or (n_samples,)" : "") + "; got " + shape_str(a));
}

/// process(x) of any Processor<T>: convert, check, allocate the output, run without the GIL.
/// Hold a processor's busy flag, or raise RuntimeError if another thread is using it.
class UseGuard {
public:
    template <class P>
    explicit UseGuard(P& p) : guard_(p.busy()) {
        if (!guard_.held()) {
            throw std::runtime_error(
                "this processor is being used by another thread; processors are not thread-safe "
                "(give each thread its own, e.g. copy.deepcopy(p))");
        }
    }

private:
    BusyGuard guard_;
};

/// Check a caller-provided output array: exact dtype, shape and C-contiguous, writeable.
template <class T>
py::array_t<T> check_out(py::handle out_in, const py::array& x) {
    if (!py::isinstance<py::array_t<T, py::array::c_style>>(out_in)) {
        throw py::type_error(std::string("out must be a C-contiguous ") + dtype_name<T>() + " array");
    }
    auto out = py::reinterpret_borrow<py::array_t<T, py::array::c_style>>(out_in);
    bool same = out.ndim() == x.ndim();
    for (py::ssize_t i = 0; same && i < x.ndim(); ++i) same = out.shape(i) == x.shape(i);
    if (!same) throw py::value_error("out must have the shape of x " + shape_str(x) + "; got " + shape_str(out));
    if (!out.writeable()) throw py::value_error("out must be writeable");
    return out;
}

/// process(x, out=None) of any Processor<T>: convert, check, allocate (or use `out`), run without
/// the GIL for large chunks. `out` may be `x` itself (in-place).
template <class T>
py::array_t<T> process(Processor<T>& p, py::handle x_in, py::handle out_in) {
    UseGuard use(p);
    auto x = as_array<T>(x_in);
    const py::ssize_t n = check_frames(x, p.n_channels());
    py::array_t<T> y = out_in.is_none()
        ? py::array_t<T>(x.ndim() == 1 ? std::vector<py::ssize_t>{n}
                                       : std::vector<py::ssize_t>{n, static_cast<py::ssize_t>(p.n_channels())})
        : check_out<T>(out_in, x);
    const T* xp = x.data();
    T* yp = y.mutable_data();
    if (n * static_cast<py::ssize_t>(p.n_channels()) > kReleaseGilAbove) {
        // Safe: the core touches only xp/yp (kept alive by x and y) and p's own state, which the
        // UseGuard reserves for this thread.
        py::gil_scoped_release release;
        p.process(xp, yp, static_cast<std::size_t>(n));
    } else {
        p.process(xp, yp, static_cast<std::size_t>(n));
    }
    return y;
}

/// StateRecord -> dict of float64 arrays (copies).
py::dict state_to_dict(const StateRecord& s);
/// dict of array-likes -> StateRecord (validated by the processor's set_state).
StateRecord state_from_dict(const py::dict& d);

/// Bind the Processor<T> base class (process, reset, state, clone) as `name`.
template <class T>
py::class_<Processor<T>, std::shared_ptr<Processor<T>>> bind_processor_base(py::module_& m, const char* name) {
    return py::class_<Processor<T>, std::shared_ptr<Processor<T>>>(m, name)
        .def("process", &process<T>, py::arg("x"), py::arg("out") = py::none(),
             "Process a chunk (n_samples, n_channels) (or 1-D for one channel); returns a new array, "
             "or `out` when given.")
        .def("reset", [](Processor<T>& p) { UseGuard use(p); p.reset(); })
        .def_property_readonly("n_channels", &Processor<T>::n_channels)
        .def("get_state", [](const Processor<T>& p) { return state_to_dict(p.get_state()); })
        .def("set_state", [](Processor<T>& p, const py::dict& d) {
            auto s = state_from_dict(d);
            UseGuard use(p);
            p.set_state(s);
        })
        .def("clone", [](const Processor<T>& p) { return std::shared_ptr<Processor<T>>(p.clone()); });
}

}  // namespace kinemyo::py_bind
