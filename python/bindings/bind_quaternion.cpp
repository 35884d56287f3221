// Bindings of kinemyo::quaternion: array functions over (n, 4) quaternions and (n, 3) vectors.
// A 1-D argument is one item; arguments of length 1 broadcast against the others.

#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include "arrays.hpp"
#include "kinemyo/quaternion/quaternion.hpp"

namespace kinemyo::py_bind {
namespace {

namespace kq = kinemyo::quaternion;

struct Items {
    py::array_t<double, py::array::c_style> a;
    std::size_t n;
    bool single;
};

Items items(py::handle obj, const char* name, py::ssize_t width) {
    auto a = as_array<double>(obj, name);
    if (a.ndim() == 1 && a.shape(0) == width) return {a, 1, true};
    if (a.ndim() == 2 && a.shape(1) == width) return {a, static_cast<std::size_t>(a.shape(0)), false};
    throw py::value_error(std::string(name) + " must have shape (" + std::to_string(width) + ",) or (n, " +
                          std::to_string(width) + "); got " + shape_str(a));
}

std::size_t broadcast(std::initializer_list<const Items*> xs) {
    std::size_t n = 1;
    for (const Items* x : xs) {
        if (x->n != 1) {
            if (n != 1 && n != x->n) {
                throw py::value_error("arguments must have the same number of items or one; got " +
                                      std::to_string(n) + " and " + std::to_string(x->n));
            }
            n = x->n;
        }
    }
    return n;
}

py::array_t<double> result(std::size_t n, py::ssize_t width, bool single) {
    if (single) return py::array_t<double>(std::vector<py::ssize_t>{width});
    return py::array_t<double>(std::vector<py::ssize_t>{static_cast<py::ssize_t>(n), width});
}

bool all_single(std::initializer_list<const Items*> xs) {
    for (const Items* x : xs) if (!x->single) return false;
    return true;
}

py::array_t<double> unary(py::handle q_in, py::ssize_t in_w, py::ssize_t out_w,
                          void (*fn)(const double*, double*, std::size_t)) {
    const Items q = items(q_in, "q", in_w);
    auto out = result(q.n, out_w, q.single);
    fn(q.a.data(), out.mutable_data(), q.n);
    return out;
}

}  // namespace

void register_quaternion(py::module_& m) {
    auto& sub = m;  // functions are registered with a "quat_" prefix (no submodule: one stub file)
    sub.def("quat_multiply", [](py::handle a_in, py::handle b_in) {
        const Items a = items(a_in, "q1", 4), b = items(b_in, "q2", 4);
        const std::size_t n = broadcast({&a, &b});
        auto out = result(n, 4, all_single({&a, &b}));
        kq::multiply(a.a.data(), a.n, b.a.data(), b.n, out.mutable_data(), n);
        return out;
    }, py::arg("q1"), py::arg("q2"));
    sub.def("quat_conjugate", [](py::handle q) { return unary(q, 4, 4, &kq::conjugate); }, py::arg("q"));
    sub.def("quat_normalize", [](py::handle q) { return unary(q, 4, 4, &kq::normalize); }, py::arg("q"));
    sub.def("quat_to_rotvec", [](py::handle q) { return unary(q, 4, 3, &kq::to_rotvec); }, py::arg("q"));
    sub.def("quat_from_rotvec", [](py::handle r) { return unary(r, 3, 4, &kq::from_rotvec); }, py::arg("rotvec"));
    sub.def("quat_to_matrix", [](py::handle q_in) {
        const Items q = items(q_in, "q", 4);
        py::array_t<double> out = q.single ? py::array_t<double>(std::vector<py::ssize_t>{3, 3})
                                           : py::array_t<double>(std::vector<py::ssize_t>{static_cast<py::ssize_t>(q.n), 3, 3});
        kq::to_matrix(q.a.data(), out.mutable_data(), q.n);
        return out;
    }, py::arg("q"));
    sub.def("quat_from_matrix", [](py::handle m_in) {
        auto a = as_array<double>(m_in, "matrix");
        const bool single = a.ndim() == 2;
        if (!((a.ndim() == 2 && a.shape(0) == 3 && a.shape(1) == 3) ||
              (a.ndim() == 3 && a.shape(1) == 3 && a.shape(2) == 3))) {
            throw py::value_error("matrix must have shape (3, 3) or (n, 3, 3); got " + shape_str(a));
        }
        const auto n = static_cast<std::size_t>(single ? 1 : a.shape(0));
        auto out = result(n, 4, single);
        kq::from_matrix(a.data(), out.mutable_data(), n);
        return out;
    }, py::arg("matrix"));
    sub.def("quat_rotate", [](py::handle q_in, py::handle v_in) {
        const Items q = items(q_in, "q", 4), v = items(v_in, "v", 3);
        const std::size_t n = broadcast({&q, &v});
        auto out = result(n, 3, all_single({&q, &v}));
        kq::rotate(q.a.data(), q.n, v.a.data(), v.n, out.mutable_data(), n);
        return out;
    }, py::arg("q"), py::arg("v"));
    sub.def("quat_to_euler", [](py::handle q_in, const std::string& seq) {
        const Items q = items(q_in, "q", 4);
        auto out = result(q.n, 3, q.single);
        kq::to_euler(q.a.data(), out.mutable_data(), q.n, seq);
        return out;
    }, py::arg("q"), py::arg("seq"));
    sub.def("quat_from_euler", [](py::handle a_in, const std::string& seq) {
        const Items a = items(a_in, "angles", 3);
        auto out = result(a.n, 4, a.single);
        kq::from_euler(a.a.data(), out.mutable_data(), a.n, seq);
        return out;
    }, py::arg("angles"), py::arg("seq"));
    sub.def("quat_slerp", [](py::handle q0_in, py::handle q1_in, py::handle t_in) {
        const Items q0 = items(q0_in, "q0", 4), q1 = items(q1_in, "q1", 4);
        auto t = as_array<double>(t_in, "t");
        if (t.ndim() > 1) throw py::value_error("t must be a number or 1-D; got shape " + shape_str(t));
        const auto nt = static_cast<std::size_t>(t.ndim() == 0 ? 1 : t.shape(0));
        Items tt{t, nt, t.ndim() == 0};
        const std::size_t n = broadcast({&q0, &q1, &tt});
        auto out = result(n, 4, all_single({&q0, &q1, &tt}));
        kq::slerp(q0.a.data(), q0.n, q1.a.data(), q1.n, t.data(), nt, out.mutable_data(), n);
        return out;
    }, py::arg("q0"), py::arg("q1"), py::arg("t"));
    sub.def("quat_angle_between", [](py::handle q0_in, py::handle q1_in) -> py::object {
        const Items q0 = items(q0_in, "q0", 4), q1 = items(q1_in, "q1", 4);
        const std::size_t n = broadcast({&q0, &q1});
        py::array_t<double> out(static_cast<py::ssize_t>(n));
        kq::angle_between(q0.a.data(), q0.n, q1.a.data(), q1.n, out.mutable_data(), n);
        if (all_single({&q0, &q1})) return py::float_(out.at(0));
        return std::move(out);
    }, py::arg("q0"), py::arg("q1"));
    sub.def("quat_heading_inclination", [](py::handle q_in, const std::array<double, 3>& up) {
        const Items q = items(q_in, "q", 4);
        auto h = result(q.n, 4, q.single), inc = result(q.n, 4, q.single);
        kq::heading_inclination(q.a.data(), h.mutable_data(), inc.mutable_data(), q.n, up);
        return py::make_tuple(h, inc);
    }, py::arg("q"), py::arg("up"));
}

}  // namespace kinemyo::py_bind
