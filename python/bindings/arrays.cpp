#include "arrays.hpp"

namespace kinemyo::py_bind {

py::dict state_to_dict(const StateRecord& s) {
    py::dict d;
    for (const auto& kv : s) {
        py::array_t<double> a(static_cast<py::ssize_t>(kv.second.size()));
        std::copy(kv.second.begin(), kv.second.end(), a.mutable_data());
        d[py::str(kv.first)] = a;
    }
    return d;
}

StateRecord state_from_dict(const py::dict& d) {
    StateRecord s;
    for (const auto& kv : d) {
        auto a = as_array<double>(kv.second, "state value");
        const auto n = static_cast<std::size_t>(a.size());
        s[py::cast<std::string>(kv.first)] = std::vector<double>(a.data(), a.data() + n);
    }
    return s;
}

}  // namespace kinemyo::py_bind
