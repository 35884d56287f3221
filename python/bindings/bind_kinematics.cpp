// Bindings of kinemyo::kinematics: lumbar angles from two sensor orientations.

#include <optional>
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include "arrays.hpp"
#include "kinemyo/kinematics/lumbar.hpp"

namespace kinemyo::py_bind {
namespace {

using namespace kinemyo::kinematics;

py::ssize_t check_quats(const py::array& a, const char* name) {
    if (a.ndim() != 2 || a.shape(1) != 4) {
        throw py::value_error(std::string(name) + " must have shape (n_samples, 4) (w, x, y, z); got " + shape_str(a));
    }
    return a.shape(0);
}

}  // namespace

void register_kinematics(py::module_& m) {
    m.def("lumbar_angles",
          [](const Quat& upper_mount, const Quat& lower_mount, const Quat& neutral_offset, const std::string& heading,
             const std::array<double, 3>& up, py::handle q_upper_in, py::handle q_lower_in,
             std::optional<py::array_t<double, py::array::c_style>> carry) {
              LumbarParams p;
              p.upper_mount = upper_mount;
              p.lower_mount = lower_mount;
              p.neutral_offset = neutral_offset;
              if (heading == "align") p.heading = HeadingMode::align;
              else if (heading == "absolute") p.heading = HeadingMode::absolute;
              else throw py::value_error("heading must be 'align' or 'absolute'; got '" + heading + "'");
              p.up = up;
              auto qu = as_array<double>(q_upper_in, "q_upper");
              auto ql = as_array<double>(q_lower_in, "q_lower");
              const auto n = check_quats(qu, "q_upper");
              if (check_quats(ql, "q_lower") != n) {
                  throw py::value_error("q_upper and q_lower must have the same number of samples; got " +
                                        std::to_string(n) + " and " + std::to_string(ql.shape(0)));
              }
              py::array_t<double> out({n, py::ssize_t{3}});
              const double* a = qu.data();
              const double* b = ql.data();
              double* o = out.mutable_data();
              double* cr = nullptr;
              if (carry) {
                  if (carry->ndim() != 1 || carry->shape(0) != 1 || !carry->writeable())
                      throw py::value_error("carry must be a writeable float64 array of one value");
                  cr = carry->mutable_data();
              }
              {
                  py::gil_scoped_release release;  // reads a, b and writes o (and *cr) only; all outlive the call
                  lumbar_angles(p, a, b, static_cast<std::size_t>(n), o, cr);
              }
              return out;
          },
          py::arg("upper_mount"), py::arg("lower_mount"), py::arg("neutral_offset"), py::arg("heading"),
          py::arg("up"), py::arg("q_upper"), py::arg("q_lower"), py::arg("carry") = py::none());
}

}  // namespace kinemyo::py_bind
