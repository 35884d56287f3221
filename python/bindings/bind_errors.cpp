// C++ exceptions -> Python exceptions, in one place.
//   std::invalid_argument -> ValueError (pybind11 default), std::out_of_range -> IndexError,
//   std::domain_error -> ValueError, std::length_error -> ValueError, other std::exception -> RuntimeError.

#include <pybind11/pybind11.h>

#include <stdexcept>

namespace py = pybind11;

namespace kinemyo::py_bind {

void register_errors(py::module_& /*m*/) {
    py::register_exception_translator([](std::exception_ptr p) {
        try {
            if (p) std::rethrow_exception(p);
        } catch (const std::domain_error& e) {
            PyErr_SetString(PyExc_ValueError, e.what());
        } catch (const std::length_error& e) {
            PyErr_SetString(PyExc_ValueError, e.what());
        }
    });
}

}  // namespace kinemyo::py_bind
