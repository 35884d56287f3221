// Bindings of kinemyo::onset::movement_onsets (movement onsets from angular velocity).

#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include "arrays.hpp"
#include "kinemyo/onset/movement.hpp"

namespace kinemyo::py_bind {

void register_movement(py::module_& m) {
    m.def(
        "movement_onsets",
        [](py::handle gyro_in, double fs, double rest_begin, double rest_end, double k, double k_low,
           double min_duration, double smooth_s, double min_gap) {
            auto g = as_array<double>(gyro_in, "gyro");
            if (g.ndim() != 1 && g.ndim() != 2) {
                throw py::value_error("gyro must have shape (n_samples, n_axes) or (n_samples,); got " + shape_str(g));
            }
            const auto n = static_cast<std::size_t>(g.shape(0));
            const auto axes = g.ndim() == 2 ? static_cast<std::size_t>(g.shape(1)) : std::size_t{1};
            onset::MovementParams p;
            p.fs = fs;
            p.rest_begin = rest_begin;
            p.rest_end = rest_end;
            p.k = k;
            p.k_low = k_low;
            p.min_duration = min_duration;
            p.smooth_s = smooth_s;
            p.min_gap = min_gap;
            std::vector<std::int64_t> out;
            {
                py::gil_scoped_release release;  // reads g (kept alive by `g`) only
                out = onset::movement_onsets(g.data(), n, axes, p);
            }
            py::array_t<std::int64_t> a(static_cast<py::ssize_t>(out.size()));
            std::copy(out.begin(), out.end(), a.mutable_data());
            return a;
        },
        py::arg("gyro"), py::arg("fs"), py::arg("rest_begin"), py::arg("rest_end"), py::arg("k"), py::arg("k_low"),
        py::arg("min_duration"), py::arg("smooth_s"), py::arg("min_gap"));
}

}  // namespace kinemyo::py_bind
