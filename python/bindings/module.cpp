// kinemyo._core: the table of contents of the binding layer. Each domain registers itself from its
// own bind_<domain>.cpp; no algorithm lives in the bindings.

#include <pybind11/pybind11.h>

namespace py = pybind11;

namespace kinemyo::py_bind {
void register_errors(py::module_& m);
void register_filters(py::module_& m);
void register_kinematics(py::module_& m);
void register_quaternion(py::module_& m);
void register_fusion(py::module_& m);
void register_metrics(py::module_& m);
void register_onset(py::module_& m);
void register_movement(py::module_& m);
}  // namespace kinemyo::py_bind

PYBIND11_MODULE(_core, m) {
    m.doc() = "kinemyo C++ core (private: use the kinemyo package)";
#ifdef KINEMYO_VERSION
    m.attr("__version__") = KINEMYO_VERSION;
#endif
    kinemyo::py_bind::register_errors(m);
    kinemyo::py_bind::register_filters(m);
    kinemyo::py_bind::register_kinematics(m);
    kinemyo::py_bind::register_quaternion(m);
    kinemyo::py_bind::register_fusion(m);
    kinemyo::py_bind::register_metrics(m);
    kinemyo::py_bind::register_onset(m);
    kinemyo::py_bind::register_movement(m);
}
