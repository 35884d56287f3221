// Bindings of kinemyo::fusion: orientation filters (double precision) with a common update().

#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <array>

#include "arrays.hpp"
#include "kinemyo/fusion/classic.hpp"
#include "kinemyo/fusion/robust.hpp"

namespace kinemyo::py_bind {
namespace {

using namespace kinemyo::fusion;

/// The common case of imu_array: already a C-contiguous float64 ndarray (n, 3) with numpy's own
/// float64 descriptor. Tested on the object's fields directly; a one-sample streaming call spends
/// most of its time in such checks and allocations, not in the filter.
bool is_plain_imu(py::handle obj) {
    static PyObject* const f64 = py::dtype::of<double>().release().ptr();  // numpy's singleton, kept
    if (!py::array::check_(obj)) return false;
    const auto* a = py::detail::array_proxy(obj.ptr());
    return a->descr == f64 && a->nd == 2 && a->dimensions[1] == 3 &&
           (a->flags & py::detail::npy_api::NPY_ARRAY_C_CONTIGUOUS_) != 0;
}

/// A new C-contiguous array of T with the given shape, straight from numpy's C API (pybind11's
/// array_t(shape) first builds shape and stride vectors on the heap).
template <class T, std::size_t N>
py::array_t<T> new_array(const std::array<Py_intptr_t, N>& shape) {
    auto& api = py::detail::npy_api::get();
    PyObject* a = api.PyArray_NewFromDescr_(api.PyArray_Type_, py::dtype::of<T>().release().ptr(), static_cast<int>(N),
                                            shape.data(), nullptr, nullptr, 0, nullptr);
    if (a == nullptr) throw py::error_already_set();
    return py::reinterpret_steal<py::array_t<T>>(a);
}

py::array_t<double, py::array::c_style> imu_array(py::handle obj, const char* name) {
    if (is_plain_imu(obj)) return py::reinterpret_borrow<py::array_t<double, py::array::c_style>>(obj);
    auto a = as_array<double>(obj, name);
    if (a.ndim() == 1 && a.shape(0) == 3) {
        a = py::array_t<double, py::array::c_style | py::array::forcecast>::ensure(a.reshape({py::ssize_t{1}, py::ssize_t{3}}));
    }
    if (a.ndim() != 2 || a.shape(1) != 3) {
        throw py::value_error(std::string(name) + " must have shape (n_samples, 3); got " + shape_str(a));
    }
    return a;
}

RobustParams robust_params(const py::dict& d) {
    RobustParams p;
    for (const auto& kv : d) {
        const auto k = py::cast<std::string>(kv.first);
        if (!set_robust_param(p, k, py::cast<double>(kv.second))) {
            throw py::value_error("unknown parameter '" + k + "' of the robust filter");
        }
    }
    return p;
}

/// The checked inputs of one update: gyr and acc (n, 3), mag (n, 3) or absent.
struct ImuInputs {
    // py::object, not py::array_t: a default-constructed array_t allocates an empty numpy array
    py::object gyr, acc, mag;  // keep converted inputs alive
    const double* gyr_ptr = nullptr;
    const double* acc_ptr = nullptr;
    const double* mag_ptr = nullptr;
    py::ssize_t n = 0;
};

ImuInputs imu_inputs(py::handle gyr_in, py::handle acc_in, py::handle mag_in) {
    ImuInputs in;
    auto gyr = imu_array(gyr_in, "gyr");
    auto acc = imu_array(acc_in, "acc");
    in.n = gyr.shape(0);
    if (acc.shape(0) != in.n) {
        throw py::value_error("acc must have as many samples as gyr (" + std::to_string(in.n) + "); got " +
                              std::to_string(acc.shape(0)));
    }
    in.gyr_ptr = gyr.data();
    in.acc_ptr = acc.data();
    in.gyr = std::move(gyr);
    in.acc = std::move(acc);
    if (!mag_in.is_none()) {
        auto mag = imu_array(mag_in, "mag");
        if (mag.shape(0) != in.n) {
            throw py::value_error("mag must have as many samples as gyr (" + std::to_string(in.n) + "); got " +
                                  std::to_string(mag.shape(0)));
        }
        in.mag_ptr = mag.data();
        in.mag = std::move(mag);
    }
    return in;
}

/// Below this many samples a call is too short for releasing and re-acquiring the GIL to pay off
/// (that pair costs about as much as one sample of the robust filter).
constexpr py::ssize_t kReleaseGilAboveSamples = 256;

/// Run `fn(gyr, acc, mag, n, q, bias, flags)` into fresh (q, bias, flags) arrays (or q alone, with
/// null bias and flags pointers, when `all` is false), without the GIL when the call is long
/// enough to matter.
template <class Fn>
py::object run_filter(const ImuInputs& in, bool all, Fn&& fn) {
    const py::ssize_t n = in.n;
    auto q = new_array<double>(std::array<Py_intptr_t, 2>{n, 4});
    py::object bias, flags;  // (not py::array_t: see ImuInputs)
    double* bp = nullptr;
    std::uint8_t* fp = nullptr;
    if (all) {
        auto b = new_array<double>(std::array<Py_intptr_t, 2>{n, 3});
        auto f = new_array<std::uint8_t>(std::array<Py_intptr_t, 1>{n});
        bp = b.mutable_data();
        fp = f.mutable_data();
        bias = std::move(b);
        flags = std::move(f);
    }
    const double* gp = in.gyr_ptr;
    const double* ap = in.acc_ptr;
    double* qp = q.mutable_data();
    if (n > kReleaseGilAboveSamples) {
        py::gil_scoped_release release;  // the core touches only these buffers and its own state
        fn(gp, ap, in.mag_ptr, static_cast<std::size_t>(n), qp, bp, fp);
    } else {
        fn(gp, ap, in.mag_ptr, static_cast<std::size_t>(n), qp, bp, fp);
    }
    if (!all) return std::move(q);
    return py::make_tuple(q, bias, flags);
}

py::object update(OrientationFilter& f, py::handle gyr_in, py::handle acc_in, py::handle mag_in, bool all) {
    UseGuard use(f);
    const ImuInputs in = imu_inputs(gyr_in, acc_in, mag_in);
    return run_filter(in, all, [&f](const double* g, const double* a, const double* m, std::size_t n, double* q,
                                    double* b, std::uint8_t* fl) { f.update(g, a, m, n, q, b, fl); });
}

}  // namespace

void register_fusion(py::module_& m) {
    py::class_<OrientationFilter, std::shared_ptr<OrientationFilter>>(m, "OrientationFilter")
        .def("update",
             [](OrientationFilter& f, py::handle g, py::handle a, py::handle m) {
                 return py::reinterpret_borrow<py::tuple>(update(f, g, a, m, true));
             },
             py::arg("gyr"), py::arg("acc"), py::arg("mag") = py::none(),
             "Process n samples; returns (q (n, 4), gyro bias (n, 3) rad/s, flags (n,) uint8).")
        .def("update_q",
             [](OrientationFilter& f, py::handle g, py::handle a, py::handle m) {
                 return py::reinterpret_borrow<py::array_t<double>>(update(f, g, a, m, false));
             },
             py::arg("gyr"), py::arg("acc"), py::arg("mag") = py::none(),
             "Process n samples; returns q (n, 4) only (no bias and flags outputs: the streaming fast path).")
        .def("reset", [](OrientationFilter& f) { UseGuard use(f); f.reset(); })
        .def_property_readonly("fs", &OrientationFilter::fs)
        .def("get_state", [](const OrientationFilter& f) { return state_to_dict(f.get_state()); })
        .def("set_state", [](OrientationFilter& f, const py::dict& d) {
            auto s = state_from_dict(d);
            UseGuard use(f);
            f.set_state(s);
        });
    py::class_<Madgwick, OrientationFilter, std::shared_ptr<Madgwick>>(m, "Madgwick")
        .def(py::init([](double fs, double beta, const Quat& q0) { return std::make_shared<Madgwick>(MadgwickParams{fs, beta, q0}); }),
             py::arg("fs"), py::arg("beta"), py::arg("q0"));
    py::class_<Mahony, OrientationFilter, std::shared_ptr<Mahony>>(m, "Mahony")
        .def(py::init([](double fs, double kp, double ki, const Quat& q0, const Vec3& b0) {
                 return std::make_shared<Mahony>(MahonyParams{fs, kp, ki, q0, b0});
             }),
             py::arg("fs"), py::arg("kp"), py::arg("ki"), py::arg("q0"), py::arg("b0"));
    py::class_<Complementary, OrientationFilter, std::shared_ptr<Complementary>>(m, "Complementary")
        .def(py::init([](double fs, double gain, const Quat& q0) {
                 return std::make_shared<Complementary>(ComplementaryParams{fs, gain, q0});
             }),
             py::arg("fs"), py::arg("gain"), py::arg("q0"));
    py::class_<RobustAhrs, OrientationFilter, std::shared_ptr<RobustAhrs>>(m, "RobustAhrs")
        .def(py::init([](const py::dict& d) { return std::make_shared<RobustAhrs>(robust_params(d)); }),
             py::arg("params"));
    m.def("robust_offline", [](const py::dict& d, py::handle gyr_in, py::handle acc_in, py::handle mag_in) {
        const RobustParams p = robust_params(d);
        RobustAhrs check(p);  // validates the parameters before any data is touched
        const ImuInputs in = imu_inputs(gyr_in, acc_in, mag_in);
        auto run = [&p](const double* g, const double* a, const double* m, std::size_t n, double* q, double* b,
                        std::uint8_t* fl) { robust_offline(p, g, a, m, n, q, b, fl); };
        return py::reinterpret_borrow<py::tuple>(run_filter(in, true, run));
    }, py::arg("params"), py::arg("gyr"), py::arg("acc"), py::arg("mag") = py::none());
}

}  // namespace kinemyo::py_bind
