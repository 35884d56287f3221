#include <doctest/doctest.h>

#include <cmath>
#include <cstring>
#include <random>
#include <vector>

#include "kinemyo/fusion/classic.hpp"
#include "kinemyo/fusion/robust.hpp"
#include "kinemyo/kinematics/lumbar.hpp"
#include "kinemyo/quaternion/quaternion.hpp"

using namespace kinemyo;
namespace kq = kinemyo::quaternion;

namespace {
constexpr double kPi = 3.14159265358979323846;

// A synthetic IMU recording: smooth rotation, gravity, a dipped field, small noise.
struct Imu {
    std::vector<double> gyr, acc, mag;
    std::size_t n;
};

Imu make_imu(std::size_t n, double fs, unsigned seed) {
    std::mt19937 rng(seed);
    std::normal_distribution<double> noise(0.0, 0.01);
    Imu d{std::vector<double>(3 * n), std::vector<double>(3 * n), std::vector<double>(3 * n), n};
    kq::Quat q{1.0, 0.0, 0.0, 0.0};
    for (std::size_t i = 0; i < n; ++i) {
        const double t = static_cast<double>(i) / fs;
        const kq::Vec3 w{0.6 * std::sin(0.7 * t), 0.4 * std::cos(0.3 * t), 0.5 * std::sin(0.2 * t + 1.0)};
        q = kq::normalized(kq::mul(q, kq::from_rotvec({w[0] / fs, w[1] / fs, w[2] / fs})));
        const kq::Vec3 g = kq::rotate(kq::conj(q), {0.0, 0.0, 9.81});
        const kq::Vec3 m = kq::rotate(kq::conj(q), {0.0, 25.0, -43.3});
        for (std::size_t k = 0; k < 3; ++k) {
            d.gyr[3 * i + k] = w[k] + 0.01 + noise(rng);
            d.acc[3 * i + k] = g[k] + noise(rng);
            d.mag[3 * i + k] = m[k] + noise(rng);
        }
    }
    return d;
}

void check_filter_contract(fusion::OrientationFilter& f, const Imu& d, bool use_mag) {
    const double* mag = use_mag ? d.mag.data() : nullptr;
    std::vector<double> whole(4 * d.n), parts(4 * d.n), bias(3 * d.n);
    std::vector<std::uint8_t> flags(d.n);
    f.reset();
    f.update(d.gyr.data(), d.acc.data(), mag, d.n, whole.data(), bias.data(), flags.data());
    f.reset();
    std::size_t t = 0;
    std::mt19937 rng(3);
    while (t < d.n) {
        const std::size_t k = std::min<std::size_t>(rng() % 50, d.n - t);
        f.update(d.gyr.data() + 3 * t, d.acc.data() + 3 * t, mag ? mag + 3 * t : nullptr, k, parts.data() + 4 * t,
                 nullptr, nullptr);
        if (t == d.n / 2 || (t < d.n / 2 && t + k > d.n / 2)) {
            auto copy = f.clone();
            copy->set_state(f.get_state());
            CHECK(copy->get_state() == f.get_state());
        }
        t += k;
    }
    for (std::size_t i = 0; i < whole.size(); ++i) REQUIRE(std::memcmp(&whole[i], &parts[i], sizeof(double)) == 0);
    for (std::size_t i = 0; i < d.n; ++i) {
        const double nrm = std::sqrt(whole[4 * i] * whole[4 * i] + whole[4 * i + 1] * whole[4 * i + 1] +
                                     whole[4 * i + 2] * whole[4 * i + 2] + whole[4 * i + 3] * whole[4 * i + 3]);
        REQUIRE(nrm == doctest::Approx(1.0).epsilon(1e-9));
    }
}
}  // namespace

TEST_CASE("quaternion: Euler round trips for every sequence, rotation vectors, heading split") {
    const char* seqs[] = {"xyz", "xzy", "yxz", "yzx", "zxy", "zyx", "xyx", "xzx", "yxy", "yzy", "zxz", "zyz",
                          "XYZ", "ZYX", "ZXZ", "YXY"};
    std::mt19937 rng(1);
    std::uniform_real_distribution<double> u(-1.0, 1.0);
    for (const char* s : seqs) {
        for (int k = 0; k < 50; ++k) {
            kq::Quat q = kq::normalized({u(rng), u(rng), u(rng), u(rng)});
            double ang[3], back[4];
            kq::to_euler(q.data(), ang, 1, s);
            kq::from_euler(ang, back, 1, s);
            const double d = std::abs(q[0] * back[0] + q[1] * back[1] + q[2] * back[2] + q[3] * back[3]);
            REQUIRE(d == doctest::Approx(1.0).epsilon(1e-12));
        }
    }
    const kq::Vec3 r{0.3, -0.2, 1.1};
    const kq::Vec3 r2 = kq::to_rotvec(kq::from_rotvec(r));
    for (std::size_t k = 0; k < 3; ++k) CHECK(r2[k] == doctest::Approx(r[k]).epsilon(1e-12));
    const kq::Quat q = kq::normalized({0.8, 0.3, -0.2, 0.4});
    double h[4], inc[4];
    kq::heading_inclination(q.data(), h, inc, 1, {0.0, 0.0, 1.0});
    CHECK(h[1] == 0.0);
    CHECK(h[2] == 0.0);
    CHECK(std::abs(inc[3]) < 1e-12);
    CHECK_THROWS_AS(kq::to_euler(q.data(), inc, 1, "xxz"), std::invalid_argument);
}

TEST_CASE("fusion filters keep the streaming contract and stay normalised") {
    const Imu d = make_imu(3000, 100.0, 2);
    fusion::Madgwick mw(fusion::MadgwickParams{100.0, 0.1, {1.0, 0.0, 0.0, 0.0}});
    fusion::Mahony mh(fusion::MahonyParams{100.0, 1.0, 0.3, {1.0, 0.0, 0.0, 0.0}, {0.0, 0.0, 0.0}});
    fusion::Complementary cf(fusion::ComplementaryParams{100.0, 0.02, {1.0, 0.0, 0.0, 0.0}});
    fusion::RobustAhrs ra(fusion::RobustParams{});
    for (bool mag : {false, true}) {
        check_filter_contract(mw, d, mag);
        check_filter_contract(mh, d, mag);
        check_filter_contract(cf, d, mag);
        check_filter_contract(ra, d, mag);
    }
}

TEST_CASE("fusion: bad parameters and bad samples") {
    CHECK_THROWS_AS(fusion::Madgwick(fusion::MadgwickParams{0.0, 0.1, {1, 0, 0, 0}}), std::invalid_argument);
    CHECK_THROWS_AS(fusion::Mahony(fusion::MahonyParams{100.0, -1.0, 0.3, {1, 0, 0, 0}, {0, 0, 0}}),
                    std::invalid_argument);
    CHECK_THROWS_AS(fusion::Madgwick(fusion::MadgwickParams{100.0, 0.1, {0, 0, 0, 0}}), std::invalid_argument);
    fusion::RobustParams p;
    p.tau_acc = 0.0;
    CHECK_THROWS_AS(fusion::RobustAhrs{p}, std::invalid_argument);
    Imu d = make_imu(500, 100.0, 4);
    for (std::size_t k = 0; k < 3; ++k) {
        d.gyr[3 * 100 + k] = std::nan("");
        d.acc[3 * 200 + k] = 0.0;
        d.mag[3 * 300 + k] = std::nan("");
    }
    fusion::RobustAhrs ra(fusion::RobustParams{});
    std::vector<double> q(4 * d.n);
    std::vector<std::uint8_t> flags(d.n);
    ra.update(d.gyr.data(), d.acc.data(), d.mag.data(), d.n, q.data(), nullptr, flags.data());
    CHECK((flags[100] & fusion::kGyrSkipped) != 0);
    CHECK((flags[200] & fusion::kAccSkipped) != 0);
    CHECK((flags[300] & fusion::kMagSkipped) != 0);
    // the non-finite gyroscope sample holds the orientation; every output is finite
    for (std::size_t i = 0; i < d.n; ++i) {
        for (std::size_t k = 0; k < 4; ++k) REQUIRE(std::isfinite(q[4 * i + k]));
    }
    for (std::size_t k = 0; k < 4; ++k) CHECK(q[4 * 100 + k] == q[4 * 99 + k]);
}

TEST_CASE("lumbar angles: signs of pure flexion, lateral bending and axial rotation") {
    using kinematics::LumbarParams;
    LumbarParams p;
    p.heading = kinematics::HeadingMode::absolute;
    // segment frames (X anterior, Y superior, Z right) aligned with the sensors (identity mounts)
    const kq::Quat base{0.5, 0.5, 0.5, 0.5};  // segment -> ENU facing north
    struct Case {
        kq::Vec3 axis;
        double deg;
        int index;
        double sign;
    };
    const Case cases[] = {{{0, 0, 1}, -30.0, 0, 1.0}, {{1, 0, 0}, 20.0, 1, 1.0}, {{0, 1, 0}, 25.0, 2, 1.0}};
    for (const auto& c : cases) {
        const double a = c.deg * kPi / 180.0;
        const kq::Quat rel = kq::from_rotvec({c.axis[0] * a, c.axis[1] * a, c.axis[2] * a});
        const kq::Quat up = kq::mul(base, rel);
        double out[3];
        kinematics::lumbar_angles(p, up.data(), base.data(), 1, out);
        CHECK(out[c.index] == doctest::Approx(c.sign * std::abs(c.deg)).epsilon(1e-9));
        for (int k = 0; k < 3; ++k) {
            if (k != c.index) CHECK(std::abs(out[k]) < 1e-9);
        }
    }
    p.heading = kinematics::HeadingMode::align;
    double out[3];
    const kq::Quat bad{0.0, 0.0, 0.0, 0.0};
    kinematics::lumbar_angles(p, bad.data(), base.data(), 1, out);
    CHECK(std::isnan(out[0]));
}

TEST_CASE("Mahony rejects a non-finite or implausible initial bias b0") {
    const double nan = std::nan(""), inf = HUGE_VAL;
    for (const kq::Vec3& b : {kq::Vec3{nan, 0, 0}, kq::Vec3{0, inf, 0}, kq::Vec3{0, 0, -inf}, kq::Vec3{1e3, 0, 0},
                              kq::Vec3{800, 800, 0}}) {
        CHECK_THROWS_WITH_AS(fusion::Mahony(fusion::MahonyParams{100.0, 1.0, 0.3, {1, 0, 0, 0}, b}),
                             doctest::Contains("b0"), std::invalid_argument);
    }
    CHECK_NOTHROW(fusion::Mahony(fusion::MahonyParams{100.0, 1.0, 0.3, {1, 0, 0, 0}, {0.01, -0.02, 999.0}}));
}

TEST_CASE("classic filters: set_state rejects a non-finite or zero q and a bad bias, normalises q") {
    const Imu d = make_imu(200, 100.0, 6);
    fusion::Madgwick mw(fusion::MadgwickParams{100.0, 0.1, {1.0, 0.0, 0.0, 0.0}});
    fusion::Mahony mh(fusion::MahonyParams{100.0, 1.0, 0.3, {1.0, 0.0, 0.0, 0.0}, {0.0, 0.0, 0.0}});
    fusion::Complementary cf(fusion::ComplementaryParams{100.0, 0.02, {1.0, 0.0, 0.0, 0.0}});
    const double nan = std::nan(""), inf = HUGE_VAL;
    for (fusion::OrientationFilter* f : std::vector<fusion::OrientationFilter*>{&mw, &mh, &cf}) {
        std::vector<double> q(4 * d.n);
        f->update(d.gyr.data(), d.acc.data(), nullptr, d.n, q.data(), nullptr, nullptr);
        const StateRecord good = f->get_state();
        for (const std::vector<double>& bad : {std::vector<double>{0, 0, 0, 0}, std::vector<double>{nan, 0, 0, 1},
                                               std::vector<double>{inf, 0, 0, 0}}) {
            StateRecord s = good;
            s["q"] = bad;
            CHECK_THROWS_WITH_AS(f->set_state(s), doctest::Contains("q"), std::invalid_argument);
            CHECK(f->get_state() == good);  // nothing changed
        }
        // a finite non-unit q is normalised (as q0); a state from get_state is kept bit for bit
        StateRecord s = good;
        s["q"] = {2.0, 0.0, 0.0, 0.0};
        f->set_state(s);
        CHECK(f->get_state().at("q") == std::vector<double>{1.0, 0.0, 0.0, 0.0});
        f->set_state(good);
        CHECK(f->get_state() == good);
    }
    StateRecord s = mh.get_state();
    for (const std::vector<double>& bad : {std::vector<double>{nan, 0, 0}, std::vector<double>{0, -inf, 0}}) {
        s["bias"] = bad;
        CHECK_THROWS_WITH_AS(mh.set_state(s), doctest::Contains("bias"), std::invalid_argument);
    }
    // any finite bias: the filter can integrate one past kMaxRate with a large ki (its own state
    // must round-trip); only the user's b0 is bounded
    s["bias"] = {2e3, 0, 0};
    mh.set_state(s);
    CHECK(mh.get_state().at("bias") == std::vector<double>{2e3, 0, 0});
}

TEST_CASE("slerp: constant angular speed at every angle, exact endpoints") {
    std::mt19937 rng(3);
    std::uniform_real_distribution<double> u(-1.0, 1.0);
    for (double angle : {3.0, 0.5, 1e-3, 1e-6, 1e-9, 1e-12, 0.0}) {  // degrees
        for (int k = 0; k < 20; ++k) {
            const kq::Quat q0 = kq::normalized({u(rng), u(rng), u(rng), u(rng)});
            const kq::Vec3 ax0{u(rng), u(rng), u(rng)};
            const double an = std::sqrt(ax0[0] * ax0[0] + ax0[1] * ax0[1] + ax0[2] * ax0[2]);
            const double th = angle * kPi / 180.0;
            const kq::Quat dq = kq::from_rotvec({ax0[0] / an * th, ax0[1] / an * th, ax0[2] / an * th});
            const kq::Quat q1 = kq::mul(q0, dq);
            const double ts[] = {0.0, 0.1, 0.25, 0.5, 0.9, 1.0};
            double out[4 * 6], ang[6];
            kq::slerp(q0.data(), 1, q1.data(), 1, ts, 6, out, 6);
            kq::angle_between(q0.data(), 1, out, 6, ang, 6);
            for (std::size_t i = 0; i < 6; ++i) {
                CAPTURE(angle);
                CAPTURE(ts[i]);
                // rotation angle from q0 grows linearly in t (was nlerp below 3.6 degrees: 1e-6 rad off)
                REQUIRE(std::abs(ang[i] - ts[i] * th) <= 1e-9 * ts[i] * th + 1e-15);  // + angle_between's rounding
                const double n2 = out[4 * i] * out[4 * i] + out[4 * i + 1] * out[4 * i + 1] +
                                  out[4 * i + 2] * out[4 * i + 2] + out[4 * i + 3] * out[4 * i + 3];
                REQUIRE(n2 == doctest::Approx(1.0).epsilon(1e-14));
            }
            for (std::size_t c = 0; c < 4; ++c) {
                CHECK(out[c] == q0[c]);            // t = 0: q0 exactly
                CHECK(out[20 + c] == q1[c]);       // t = 1: q1 exactly (same hemisphere here)
            }
        }
    }
}
