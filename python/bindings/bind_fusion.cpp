// Bindings of kinemyo::fusion: orientation filters (double precision) with a common update().

#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include "arrays.hpp"
#include "kinemyo/fusion/classic.hpp"
#include "kinemyo/fusion/robust.hpp"

namespace kinemyo::py_bind {
namespace {

using namespace kinemyo::fusion;

py::array_t<double, py::array::c_style> imu_array(py::handle obj, const char* name) {
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

py::tuple update(OrientationFilter& f, py::handle gyr_in, py::handle acc_in, py::handle mag_in) {
    UseGuard use(f);
    auto gyr = imu_array(gyr_in, "gyr");
    auto acc = imu_array(acc_in, "acc");
    const py::ssize_t n = gyr.shape(0);
    if (acc.shape(0) != n) {
        throw py::value_error("acc must have as many samples as gyr (" + std::to_string(n) + "); got " +
                              std::to_string(acc.shape(0)));
    }
    py::array_t<double, py::array::c_style> mag;
    const double* mp = nullptr;
    if (!mag_in.is_none()) {
        mag = imu_array(mag_in, "mag");
        if (mag.shape(0) != n) {
            throw py::value_error("mag must have as many samples as gyr (" + std::to_string(n) + "); got " +
                                  std::to_string(mag.shape(0)));
        }
        mp = mag.data();
    }
    py::array_t<double> q({n, py::ssize_t{4}});
    py::array_t<double> bias({n, py::ssize_t{3}});
    py::array_t<std::uint8_t> flags(n);
    const double* gp = gyr.data();
    const double* ap = acc.data();
    double* qp = q.mutable_data();
    double* bp = bias.mutable_data();
    std::uint8_t* fp = flags.mutable_data();
    if (n > 256) {
        py::gil_scoped_release release;  // the filter touches only these buffers and its own state
        f.update(gp, ap, mp, static_cast<std::size_t>(n), qp, bp, fp);
    } else {
        f.update(gp, ap, mp, static_cast<std::size_t>(n), qp, bp, fp);
    }
    return py::make_tuple(q, bias, flags);
}

}  // namespace

void register_fusion(py::module_& m) {
    py::class_<OrientationFilter, std::shared_ptr<OrientationFilter>>(m, "OrientationFilter")
        .def("update", &update, py::arg("gyr"), py::arg("acc"), py::arg("mag") = py::none(),
             "Process n samples; returns (q (n, 4), gyro bias (n, 3) rad/s, flags (n,) uint8).")
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
        auto gyr = imu_array(gyr_in, "gyr");
        auto acc = imu_array(acc_in, "acc");
        const py::ssize_t n = gyr.shape(0);
        if (acc.shape(0) != n) {
            throw py::value_error("acc must have as many samples as gyr (" + std::to_string(n) + "); got " +
                                  std::to_string(acc.shape(0)));
        }
        py::array_t<double, py::array::c_style> mag;
        const double* mp = nullptr;
        if (!mag_in.is_none()) {
            mag = imu_array(mag_in, "mag");
            if (mag.shape(0) != n) {
                throw py::value_error("mag must have as many samples as gyr (" + std::to_string(n) + "); got " +
                                      std::to_string(mag.shape(0)));
            }
            mp = mag.data();
        }
        py::array_t<double> q({n, py::ssize_t{4}});
        py::array_t<double> bias({n, py::ssize_t{3}});
        py::array_t<std::uint8_t> flags(n);
        const double* gp = gyr.data();
        const double* ap = acc.data();
        double* qp = q.mutable_data();
        double* bp = bias.mutable_data();
        std::uint8_t* fp = flags.mutable_data();
        {
            py::gil_scoped_release release;  // touches only these buffers
            robust_offline(p, gp, ap, mp, static_cast<std::size_t>(n), qp, bp, fp);
        }
        return py::make_tuple(q, bias, flags);
    }, py::arg("params"), py::arg("gyr"), py::arg("acc"), py::arg("mag") = py::none());
}

}  // namespace kinemyo::py_bind
