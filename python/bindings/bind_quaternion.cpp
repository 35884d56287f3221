// Bindings of kinemyo::quaternion: array functions on (n, 4) / (n, 3) / (n, 3, 3) float64 arrays.
// Shapes and broadcasting are handled by python/kinemyo/quaternion.py; here every input is checked.

#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include <string>

#include "arrays.hpp"
#include "kinemyo/quaternion/quat.hpp"

namespace kinemyo::py_bind {
namespace {

namespace kq = kinemyo::quaternion;
using Arr = py::array_t<double, py::array::c_style>;

Arr rows(py::handle x, py::ssize_t w, const char* name) {
    Arr a = as_array<double>(x, name);
    if (a.ndim() != 2 || a.shape(1) != w) {
        throw py::value_error(std::string(name) + " must have shape (n, " + std::to_string(w) + "); got " + shape_str(a));
    }
    return a;
}

Arr out2(py::ssize_t n, py::ssize_t w) { return Arr({n, w}); }

void same_n(const Arr& a, const Arr& b, const char* na, const char* nb) {
    if (a.shape(0) != b.shape(0)) {
        throw py::value_error(std::string(na) + " and " + nb + " must have the same number of rows; got " +
                              shape_str(a) + " and " + shape_str(b));
    }
}

using Unary = void (*)(const double*, double*, std::size_t);

template <Unary F>
Arr unary(py::handle x, py::ssize_t win, py::ssize_t wout, const char* name) {
    Arr a = rows(x, win, name);
    const py::ssize_t n = a.shape(0);
    Arr y = out2(n, wout);
    F(a.data(), y.mutable_data(), static_cast<std::size_t>(n));
    return y;
}

}  // namespace

void register_quaternion(py::module_& m) {
    auto q = m.def_submodule("quaternion", "Quaternion array functions (core)");
    q.def("multiply", [](py::handle a_, py::handle b_) {
        Arr a = rows(a_, 4, "p"), b = rows(b_, 4, "q");
        same_n(a, b, "p", "q");
        Arr y = out2(a.shape(0), 4);
        kq::multiply(a.data(), b.data(), y.mutable_data(), static_cast<std::size_t>(a.shape(0)));
        return y;
    });
    q.def("conjugate", [](py::handle x) { return unary<kq::conjugate>(x, 4, 4, "q"); });
    q.def("normalize", [](py::handle x) { return unary<kq::normalize>(x, 4, 4, "q"); });
    q.def("to_rotvec", [](py::handle x) { return unary<kq::to_rotvec>(x, 4, 3, "q"); });
    q.def("from_rotvec", [](py::handle x) { return unary<kq::from_rotvec>(x, 3, 4, "rotvec"); });
    q.def("to_matrix", [](py::handle x) { return unary<kq::to_matrix>(x, 4, 9, "q"); });
    q.def("from_matrix", [](py::handle x) { return unary<kq::from_matrix>(x, 9, 4, "matrix"); });
    q.def("rotate", [](py::handle q_, py::handle v_) {
        Arr a = rows(q_, 4, "q"), v = rows(v_, 3, "v");
        same_n(a, v, "q", "v");
        Arr y = out2(a.shape(0), 3);
        kq::rotate(a.data(), v.data(), y.mutable_data(), static_cast<std::size_t>(a.shape(0)));
        return y;
    });
    q.def("slerp", [](py::handle a_, py::handle b_, py::handle t_) {
        Arr a = rows(a_, 4, "q0"), b = rows(b_, 4, "q1");
        Arr t = as_array<double>(t_, "t");
        same_n(a, b, "q0", "q1");
        if (t.ndim() != 1 || t.shape(0) != a.shape(0)) throw py::value_error("t must have shape (n,); got " + shape_str(t));
        Arr y = out2(a.shape(0), 4);
        kq::slerp(a.data(), b.data(), t.data(), y.mutable_data(), static_cast<std::size_t>(a.shape(0)));
        return y;
    });
    q.def("angle_between", [](py::handle a_, py::handle b_) {
        Arr a = rows(a_, 4, "p"), b = rows(b_, 4, "q");
        same_n(a, b, "p", "q");
        Arr y(std::vector<py::ssize_t>{a.shape(0)});
        kq::angle_between(a.data(), b.data(), y.mutable_data(), static_cast<std::size_t>(a.shape(0)));
        return y;
    });
    q.def("heading_inclination", [](py::handle x) {
        Arr a = rows(x, 4, "q");
        const py::ssize_t n = a.shape(0);
        Arr h(std::vector<py::ssize_t>{n}), inc(std::vector<py::ssize_t>{n});
        Arr qh = out2(n, 4), qi = out2(n, 4);
        kq::heading_inclination(a.data(), h.mutable_data(), inc.mutable_data(), qh.mutable_data(), qi.mutable_data(),
                                static_cast<std::size_t>(n));
        return py::make_tuple(h, inc, qh, qi);
    });
    q.def("from_euler", [](const std::string& seq, py::handle x) {
        const auto s = kq::parse_euler_seq(seq);
        Arr a = rows(x, 3, "angles");
        Arr y = out2(a.shape(0), 4);
        kq::from_euler(s, a.data(), y.mutable_data(), static_cast<std::size_t>(a.shape(0)));
        return y;
    });
    q.def("to_euler", [](const std::string& seq, py::handle x) {
        const auto s = kq::parse_euler_seq(seq);
        Arr a = rows(x, 4, "q");
        Arr y = out2(a.shape(0), 3);
        kq::to_euler(s, a.data(), y.mutable_data(), static_cast<std::size_t>(a.shape(0)));
        return y;
    });
}

}  // namespace kinemyo::py_bind
