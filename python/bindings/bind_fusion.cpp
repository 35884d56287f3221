// Bindings of kinemyo::fusion: the orientation filters (float64) and the offline RobustAHRS.

#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <optional>
#include <string>

#include "arrays.hpp"
#include "kinemyo/fusion/ahrs.hpp"

namespace kinemyo::py_bind {
namespace {

namespace kf = kinemyo::fusion;
using Arr = py::array_t<double, py::array::c_style>;

struct Inputs {
    Arr gyr, acc;
    std::optional<Arr> mag;
    py::ssize_t n = 0;
    bool single = false;
};

Inputs check_inputs(py::handle g, py::handle a, py::handle m) {
    Inputs in;
    in.gyr = as_array<double>(g, "gyr");
    in.acc = as_array<double>(a, "acc");
    if (!m.is_none()) in.mag = as_array<double>(m, "mag");
    in.single = in.gyr.ndim() == 1;
    auto check = [&](const Arr& x, const char* name) {
        const bool ok = in.single ? (x.ndim() == 1 && x.shape(0) == 3) : (x.ndim() == 2 && x.shape(1) == 3);
        if (!ok) {
            throw py::value_error(std::string(name) + " must have shape " + (in.single ? "(3,)" : "(n_samples, 3)") +
                                  " like gyr; got " + shape_str(x));
        }
    };
    if (!(in.gyr.ndim() == 1 && in.gyr.shape(0) == 3) && !(in.gyr.ndim() == 2 && in.gyr.shape(1) == 3)) {
        throw py::value_error("gyr must have shape (n_samples, 3) or (3,); got " + shape_str(in.gyr));
    }
    check(in.acc, "acc");
    if (in.mag) check(*in.mag, "mag");
    in.n = in.single ? 1 : in.gyr.shape(0);
    if (!in.single) {
        if (in.acc.shape(0) != in.n) {
            throw py::value_error("acc must have as many samples as gyr; got " + shape_str(in.acc) + " and " +
                                  shape_str(in.gyr));
        }
        if (in.mag && in.mag->shape(0) != in.n) {
            throw py::value_error("mag must have as many samples as gyr; got " + shape_str(*in.mag) + " and " +
                                  shape_str(in.gyr));
        }
    }
    return in;
}

Arr out_q(const Inputs& in) {
    return in.single ? Arr(std::vector<py::ssize_t>{4}) : Arr(std::vector<py::ssize_t>{in.n, 4});
}

Arr update(kf::OrientationFilter& f, py::handle g, py::handle a, py::handle m) {
    Inputs in = check_inputs(g, a, m);
    Arr q = out_q(in);
    const double* gp = in.gyr.data();
    const double* ap = in.acc.data();
    const double* mp = in.mag ? in.mag->data() : nullptr;
    double* qp = q.mutable_data();
    const auto n = static_cast<std::size_t>(in.n);
    if (in.n > 1024) {
        // Safe: the core touches only the arrays held by `in`/`q` and f's own state.
        py::gil_scoped_release release;
        f.update(gp, ap, mp, qp, n);
    } else {
        f.update(gp, ap, mp, qp, n);
    }
    return q;
}

void set_common(kf::CommonParams& p, double fs, const std::string& frame, const std::optional<std::vector<double>>& q0) {
    p.fs = fs;
    p.frame = kf::parse_frame(frame);
    if (q0) {
        if (q0->size() != 4) throw py::value_error("q0 must have 4 values (w, x, y, z); got " + std::to_string(q0->size()));
        p.has_q0 = true;
        p.q0 = {(*q0)[0], (*q0)[1], (*q0)[2], (*q0)[3]};
    }
}

template <class C>
py::class_<C, kf::OrientationFilter, std::shared_ptr<C>> bind_filter(py::module_& m, const char* name) {
    return py::class_<C, kf::OrientationFilter, std::shared_ptr<C>>(m, name);
}

kf::RobustParams robust_params(double fs, const std::string& frame, const std::optional<std::vector<double>>& q0,
                               const py::dict& kw) {
    kf::RobustParams p;
    set_common(p, fs, frame, q0);
    for (auto item : kw) {
        const auto key = py::cast<std::string>(item.first);
        const double v = py::cast<double>(item.second);
        if (key == "tau_acc") p.tau_acc = v;
        else if (key == "tau_mag") p.tau_mag = v;
        else if (key == "tau_bias_motion") p.tau_bias_motion = v;
        else if (key == "tau_bias_rest") p.tau_bias_rest = v;
        else if (key == "bias_max") p.bias_max = v;
        else if (key == "rest_th_gyr") p.rest_th_gyr = v;
        else if (key == "rest_th_acc") p.rest_th_acc = v;
        else if (key == "rest_min_t") p.rest_min_t = v;
        else if (key == "mag_norm_th") p.mag_norm_th = v;
        else if (key == "mag_dip_th") p.mag_dip_th = v;
        else if (key == "mag_new_t") p.mag_new_t = v;
        else if (key == "mag_init_t") p.mag_init_t = v;
        else if (key == "acc_dev_scale") p.acc_dev_scale = v;
        else throw py::type_error("RobustAHRS got an unexpected parameter '" + key + "'");
    }
    return p;
}

}  // namespace

void register_fusion(py::module_& m) {
    auto fm = m.def_submodule("fusion", "Orientation filters (core)");
    py::class_<kf::OrientationFilter, std::shared_ptr<kf::OrientationFilter>>(fm, "OrientationFilter")
        .def("update", &update, py::arg("gyr"), py::arg("acc"), py::arg("mag") = py::none())
        .def("reset", &kf::OrientationFilter::reset)
        .def("get_state", [](const kf::OrientationFilter& f) { return state_to_dict(f.get_state()); })
        .def("set_state", [](kf::OrientationFilter& f, const py::dict& d) { f.set_state(state_from_dict(d)); })
        .def_property_readonly("quaternion", [](const kf::OrientationFilter& f) {
            const auto q = f.quaternion();
            Arr a(std::vector<py::ssize_t>{4});
            for (py::ssize_t i = 0; i < 4; ++i) a.mutable_data()[i] = q[static_cast<std::size_t>(i)];
            return a;
        });

    bind_filter<kf::Madgwick>(fm, "Madgwick")
        .def(py::init([](double fs, double beta, const std::string& frame, std::optional<std::vector<double>> q0) {
                 kf::MadgwickParams p;
                 set_common(p, fs, frame, q0);
                 p.beta = beta;
                 return std::make_shared<kf::Madgwick>(p);
             }),
             py::arg("fs"), py::arg("beta"), py::arg("frame"), py::arg("q0"));

    bind_filter<kf::Mahony>(fm, "Mahony")
        .def(py::init([](double fs, double kp, double ki, const std::string& frame, std::optional<std::vector<double>> q0,
                         std::vector<double> b0) {
                 kf::MahonyParams p;
                 set_common(p, fs, frame, q0);
                 p.kp = kp;
                 p.ki = ki;
                 if (b0.size() != 3) throw py::value_error("b0 must have 3 values (rad/s); got " + std::to_string(b0.size()));
                 p.b0 = {b0[0], b0[1], b0[2]};
                 return std::make_shared<kf::Mahony>(p);
             }),
             py::arg("fs"), py::arg("kp"), py::arg("ki"), py::arg("frame"), py::arg("q0"), py::arg("b0"))
        .def_property_readonly("bias", [](const kf::Mahony& f) { return std::vector<double>(f.bias().begin(), f.bias().end()); });

    bind_filter<kf::Complementary>(fm, "Complementary")
        .def(py::init([](double fs, double gain, const std::string& frame, std::optional<std::vector<double>> q0) {
                 kf::ComplementaryParams p;
                 set_common(p, fs, frame, q0);
                 p.gain = gain;
                 return std::make_shared<kf::Complementary>(p);
             }),
             py::arg("fs"), py::arg("gain"), py::arg("frame"), py::arg("q0"));

    bind_filter<kf::RobustAHRS>(fm, "RobustAHRS")
        .def(py::init([](double fs, const std::string& frame, std::optional<std::vector<double>> q0, const py::dict& kw) {
                 return std::make_shared<kf::RobustAHRS>(robust_params(fs, frame, q0, kw));
             }),
             py::arg("fs"), py::arg("frame"), py::arg("q0"), py::arg("params"))
        .def("update_ex", [](kf::RobustAHRS& f, py::handle g, py::handle a, py::handle m) {
            Inputs in = check_inputs(g, a, m);
            Arr q = out_q(in);
            const py::ssize_t n = in.n;
            Arr b(std::vector<py::ssize_t>{n, 3});
            py::array_t<std::uint8_t> rest(std::vector<py::ssize_t>{n}), dist(std::vector<py::ssize_t>{n});
            const double* gp = in.gyr.data();
            const double* ap = in.acc.data();
            const double* mp = in.mag ? in.mag->data() : nullptr;
            double* qp = q.mutable_data();
            double* bp = b.mutable_data();
            std::uint8_t* rp = rest.mutable_data();
            std::uint8_t* dp = dist.mutable_data();
            {
                py::gil_scoped_release release;  // core touches only these buffers and f's state
                f.update_ex(gp, ap, mp, qp, bp, rp, dp, static_cast<std::size_t>(n));
            }
            return py::make_tuple(q, b, rest, dist);
        })
        .def_property_readonly("bias", [](const kf::RobustAHRS& f) { return std::vector<double>(f.bias().begin(), f.bias().end()); })
        .def_property_readonly("rest", [](const kf::RobustAHRS& f) { return f.state().rest; })
        .def_property_readonly("mag_disturbed", [](const kf::RobustAHRS& f) { return f.state().mag_dist; });

    fm.def("robust_offline", [](py::handle g, py::handle a, py::handle m, double fs, const std::string& frame,
                                std::optional<std::vector<double>> q0, const py::dict& kw) {
        const kf::RobustParams p = robust_params(fs, frame, q0, kw);
        kf::RobustAHRS check(p);  // validates params before touching data
        Inputs in = check_inputs(g, a, m);
        if (in.single) throw py::value_error("offline mode needs (n_samples, 3) arrays");
        Arr q = out_q(in);
        Arr b(std::vector<py::ssize_t>{in.n, 3});
        const double* gp = in.gyr.data();
        const double* ap = in.acc.data();
        const double* mp = in.mag ? in.mag->data() : nullptr;
        double* qp = q.mutable_data();
        double* bp = b.mutable_data();
        {
            py::gil_scoped_release release;
            kf::robust_offline(p, gp, ap, mp, qp, bp, static_cast<std::size_t>(in.n));
        }
        return py::make_tuple(q, b);
    });
}

}  // namespace kinemyo::py_bind
