#pragma once
/// @file checks.hpp
/// Parameter validation helpers: every failure is a std::invalid_argument naming the parameter,
/// the allowed range and the value received.

#include <cmath>
#include <sstream>
#include <stdexcept>
#include <string>

namespace kinemyo::detail {

template <class V>
std::string to_str(const V& v) {
    std::ostringstream os;
    os.precision(12);
    os << v;
    return os.str();
}

/// Throw std::invalid_argument("<name> must be <rule>; got <value>").
template <class V>
[[noreturn]] void fail_param(const std::string& name, const std::string& rule, const V& value) {
    throw std::invalid_argument(name + " must be " + rule + "; got " + to_str(value));
}

inline void check_fs(double fs) {
    if (!(std::isfinite(fs) && fs > 0.0)) fail_param("fs", "a finite sampling rate > 0 Hz", fs);
}

inline void check_positive_count(const std::string& name, std::size_t v) {
    if (v == 0) fail_param(name, ">= 1", v);
}

}  // namespace kinemyo::detail
