// Madgwick / Mahony batch speed in C++ alone (no Python), the driver used to profile them
// (docs/fusion.md, "Speed"): ns per sample over the benchmark's 10,000 samples, minimum and median
// of repeated runs, and a checksum of the output (to compare builds and variants).
//
// The data (one line):
//   python -c "import numpy as np; from kinemyo.sim import random_rotation, simulate_imu;
//     q, _ = random_rotation(100.0, 100.0, rate_dps=60, seed=1); r = simulate_imu(q, 100.0, seed=2);
//     np.concatenate([r.gyr, r.acc, r.mag], axis=1).tofile('/tmp/imu.bin')"
// Build and run (from the repository root):
//   cmake --preset release && cmake --build build/release
//   g++ -O3 -DNDEBUG -std=c++17 -Icpp/include benchmarks/cpp/classic_driver.cpp
//     build/release/cpp/libkinemyo_core.a -o /tmp/classic_driver
//   /tmp/classic_driver /tmp/imu.bin madgwick9   # or madgwick6, mahony6, mahony9; [repetitions]
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "kinemyo/fusion/classic.hpp"

using namespace kinemyo::fusion;

int main(int argc, char** argv) {
    if (argc < 3) {
        std::fprintf(stderr, "usage: %s imu.bin madgwick6|madgwick9|mahony6|mahony9 [repetitions]\n", argv[0]);
        return 2;
    }
    const std::string which = argv[2];
    const int reps = argc > 3 ? std::atoi(argv[3]) : 200;
    std::FILE* f = std::fopen(argv[1], "rb");
    if (f == nullptr) return 1;
    std::vector<double> raw;
    double row[9];
    while (std::fread(row, sizeof(double), 9, f) == 9) raw.insert(raw.end(), row, row + 9);
    std::fclose(f);
    const std::size_t n = raw.size() / 9;
    std::vector<double> g(3 * n), a(3 * n), m(3 * n), q(4 * n);
    for (std::size_t i = 0; i < n; ++i) {
        for (std::size_t k = 0; k < 3; ++k) {
            g[3 * i + k] = raw[9 * i + k];
            a[3 * i + k] = raw[9 * i + 3 + k];
            m[3 * i + k] = raw[9 * i + 6 + k];
        }
    }
    const bool madgwick = which.rfind("madgwick", 0) == 0;
    const double* mp = which.back() == '9' ? m.data() : nullptr;
    std::vector<double> t;
    double check = 0.0;
    for (int r = 0; r < reps; ++r) {
        const auto t0 = std::chrono::steady_clock::now();
        if (madgwick) {
            Madgwick filt(MadgwickParams{100.0, 0.1, {1, 0, 0, 0}});
            filt.update(g.data(), a.data(), mp, n, q.data(), nullptr, nullptr);
        } else {
            Mahony filt(MahonyParams{100.0, 1.0, 0.3, {1, 0, 0, 0}, {0, 0, 0}});
            filt.update(g.data(), a.data(), mp, n, q.data(), nullptr, nullptr);
        }
        const auto t1 = std::chrono::steady_clock::now();
        t.push_back(std::chrono::duration<double, std::nano>(t1 - t0).count() / static_cast<double>(n));
        check += q[4 * n - 1];
    }
    std::sort(t.begin(), t.end());
    std::printf("%s: min %.1f  median %.1f ns/sample  (checksum %.17g)\n", which.c_str(), t.front(), t[t.size() / 2],
                check);
    return 0;
}
