#include "kinemyo/filters/design.hpp"

#include <algorithm>
#include <cmath>
#include <complex>
#include <stdexcept>

#include "kinemyo/common/checks.hpp"

namespace kinemyo::filters {
namespace {

using cplx = std::complex<double>;
constexpr double kPi = 3.14159265358979323846;

struct Zpk {
    std::vector<cplx> z;
    std::vector<cplx> p;
    double k = 1.0;
};

// Tolerance used to decide whether a root is real (roots of a real design come in exact conjugate
// pairs up to rounding).
bool is_real(const cplx& v) { return std::abs(v.imag()) <= 1e-12 * std::max(1.0, std::abs(v)); }

cplx prod_neg(const std::vector<cplx>& v) {
    cplx r(1.0, 0.0);
    for (const auto& x : v) r *= -x;
    return r;
}

// Analog Butterworth prototype: poles on the left half of the unit circle, no zeros, unit gain.
Zpk butter_prototype(int n) {
    Zpk f;
    for (int m = -n + 1; m < n; m += 2) {
        const double theta = kPi * static_cast<double>(m) / (2.0 * n);
        f.p.push_back(-std::exp(cplx(0.0, theta)));
    }
    return f;
}

void lp2lp(Zpk& f, double wo) {
    const auto degree = static_cast<int>(f.p.size() - f.z.size());
    for (auto& z : f.z) z *= wo;
    for (auto& p : f.p) p *= wo;
    f.k *= std::pow(wo, degree);
}

void lp2hp(Zpk& f, double wo) {
    const std::size_t degree = f.p.size() - f.z.size();
    const cplx gain = prod_neg(f.z) / prod_neg(f.p);
    for (auto& z : f.z) z = wo / z;
    for (auto& p : f.p) p = wo / p;
    for (std::size_t i = 0; i < degree; ++i) f.z.emplace_back(0.0, 0.0);
    f.k *= gain.real();
}

void lp2bp(Zpk& f, double wo, double bw) {
    const std::size_t degree = f.p.size() - f.z.size();
    std::vector<cplx> z, p;
    for (const auto& z0 : f.z) {
        const cplx zl = z0 * bw / 2.0;
        const cplx r = std::sqrt(zl * zl - wo * wo);
        z.push_back(zl + r);
        z.push_back(zl - r);
    }
    std::vector<cplx> p_minus;
    for (const auto& p0 : f.p) {
        const cplx pl = p0 * bw / 2.0;
        const cplx r = std::sqrt(pl * pl - wo * wo);
        p.push_back(pl + r);
        p_minus.push_back(pl - r);
    }
    p.insert(p.end(), p_minus.begin(), p_minus.end());
    for (std::size_t i = 0; i < degree; ++i) z.emplace_back(0.0, 0.0);
    f.z = z;
    f.p = p;
    f.k *= std::pow(bw, static_cast<double>(degree));
}

void lp2bs(Zpk& f, double wo, double bw) {
    const std::size_t degree = f.p.size() - f.z.size();
    const cplx gain = prod_neg(f.z) / prod_neg(f.p);
    std::vector<cplx> z, p, p_minus;
    for (const auto& z0 : f.z) {
        const cplx zh = (bw / 2.0) / z0;
        const cplx r = std::sqrt(zh * zh - wo * wo);
        z.push_back(zh + r);
        z.push_back(zh - r);
    }
    for (const auto& p0 : f.p) {
        const cplx ph = (bw / 2.0) / p0;
        const cplx r = std::sqrt(ph * ph - wo * wo);
        p.push_back(ph + r);
        p_minus.push_back(ph - r);
    }
    p.insert(p.end(), p_minus.begin(), p_minus.end());
    for (std::size_t i = 0; i < degree; ++i) z.emplace_back(0.0, wo);
    for (std::size_t i = 0; i < degree; ++i) z.emplace_back(0.0, -wo);
    f.z = z;
    f.p = p;
    f.k *= gain.real();
}

// Bilinear transform with the normalised sampling rate fs = 2 (frequencies already pre-warped).
void bilinear(Zpk& f, double fs) {
    const double fs2 = 2.0 * fs;
    const std::size_t degree = f.p.size() - f.z.size();
    cplx num(1.0, 0.0), den(1.0, 0.0);
    for (auto& z : f.z) {
        num *= (fs2 - z);
        z = (fs2 + z) / (fs2 - z);
    }
    for (auto& p : f.p) {
        den *= (fs2 - p);
        p = (fs2 + p) / (fs2 - p);
    }
    for (std::size_t i = 0; i < degree; ++i) f.z.emplace_back(-1.0, 0.0);
    f.k *= (num / den).real();
}

// Index of the element of v nearest to target (only real elements if real_only and any exist).
std::size_t nearest(const std::vector<cplx>& v, const cplx& target, bool real_only) {
    if (real_only && std::none_of(v.begin(), v.end(), is_real)) real_only = false;
    std::size_t best = v.size();
    double best_d = 0.0;
    for (std::size_t i = 0; i < v.size(); ++i) {
        if (real_only && !is_real(v[i])) continue;
        const double d = std::abs(v[i] - target);
        if (best == v.size() || d < best_d) {
            best = i;
            best_d = d;
        }
    }
    return best;
}

cplx take(std::vector<cplx>& v, std::size_t i) {
    if (i >= v.size()) throw std::logic_error("zpk2sos: root pairing ran out of roots");
    const cplx r = v[i];
    v.erase(v.begin() + static_cast<std::ptrdiff_t>(i));
    return r;
}

// Remove the conjugate partner of `x` (the element nearest to conj(x)) from v.
void drop_conjugate(std::vector<cplx>& v, const cplx& x) {
    const std::size_t i = nearest(v, std::conj(x), false);
    if (i < v.size()) v.erase(v.begin() + static_cast<std::ptrdiff_t>(i));
}

// Polynomial coefficients [1, c1, c2] of (x - r1)(x - r2), real by construction.
std::array<double, 3> poly2(const cplx& r1, const cplx& r2, bool has_r2) {
    if (!has_r2) return {1.0, -r1.real(), 0.0};
    return {1.0, -(r1 + r2).real(), (r1 * r2).real()};
}

// Pair every pole with its nearest zeros into second-order sections. The pole closest to the unit
// circle is handled first and goes to the last section (it gets the sharpest resonance, which is
// best applied last for round-off noise); gain goes to the first section.
Sos zpk2sos(Zpk f) {
    // Pad zeros at the origin so both lists have the same length (never needed for butter/notch).
    while (f.z.size() < f.p.size()) f.z.emplace_back(0.0, 0.0);
    const std::size_t n_sections = (f.p.size() + 1) / 2;
    if (f.p.size() % 2 == 1) {  // make the count even with a pole/zero pair at the origin
        f.p.emplace_back(0.0, 0.0);
        f.z.emplace_back(0.0, 0.0);
    }
    Sos sos(n_sections);
    std::vector<cplx> p = f.p, z = f.z;
    for (std::size_t si = n_sections; si-- > 0;) {
        std::size_t i1 = 0;
        for (std::size_t i = 1; i < p.size(); ++i) {
            if (std::abs(1.0 - std::abs(p[i])) < std::abs(1.0 - std::abs(p[i1]))) i1 = i;
        }
        const cplx p1 = take(p, i1);
        cplx p2, z1, z2;
        if (!is_real(p1)) {
            drop_conjugate(p, p1);
            p2 = std::conj(p1);
            z1 = take(z, nearest(z, p1, false));
            if (!is_real(z1)) {
                drop_conjugate(z, z1);
                z2 = std::conj(z1);
            } else {
                z2 = take(z, nearest(z, p1, true));
            }
        } else {
            p2 = take(p, nearest(p, p1, true));
            z1 = take(z, nearest(z, p1, false));
            if (!is_real(z1)) {  // e.g. band-stop zeros on the unit circle over real poles
                drop_conjugate(z, z1);
                z2 = std::conj(z1);
            } else {
                z2 = take(z, nearest(z, p2, true));
            }
        }
        const auto b = poly2(z1, z2, true);
        const auto a = poly2(p1, p2, true);
        sos[si] = {b[0], b[1], b[2], a[0], a[1], a[2]};
    }
    for (int j = 0; j < 3; ++j) sos[0][static_cast<std::size_t>(j)] *= f.k;
    return sos;
}

void check_freq(const std::string& name, double f, double fs) {
    if (!(std::isfinite(f) && f > 0.0 && f < fs / 2.0)) {
        detail::fail_param(name, "in (0, fs/2) = (0, " + detail::to_str(fs / 2.0) + ") Hz", f);
    }
}

}  // namespace

BandType parse_band_type(const std::string& btype) {
    if (btype == "lowpass" || btype == "low" || btype == "lp") return BandType::lowpass;
    if (btype == "highpass" || btype == "high" || btype == "hp") return BandType::highpass;
    if (btype == "bandpass" || btype == "band" || btype == "bp" || btype == "pass")
        return BandType::bandpass;
    if (btype == "bandstop" || btype == "stop" || btype == "bs") return BandType::bandstop;
    throw std::invalid_argument(
        "btype must be one of 'lowpass', 'highpass', 'bandpass', 'bandstop'; got '" + btype + "'");
}

Sos butter(int order, const std::vector<double>& cutoff, double fs, BandType btype) {
    detail::check_fs(fs);
    if (order < 1 || order > 10) detail::fail_param("order", "an integer in 1..10", order);
    const bool band = (btype == BandType::bandpass || btype == BandType::bandstop);
    if (band) {
        if (cutoff.size() != 2) {
            detail::fail_param("cutoff", "two frequencies (low, high) in Hz for a band filter",
                               std::to_string(cutoff.size()) + " values");
        }
        check_freq("cutoff[0]", cutoff[0], fs);
        check_freq("cutoff[1]", cutoff[1], fs);
        if (!(cutoff[0] < cutoff[1])) {
            detail::fail_param("cutoff", "(low, high) with low < high",
                               detail::to_str(cutoff[0]) + ", " + detail::to_str(cutoff[1]));
        }
    } else {
        if (cutoff.size() != 1) {
            detail::fail_param("cutoff", "one frequency in Hz for a low/high-pass filter",
                               std::to_string(cutoff.size()) + " values");
        }
        check_freq("cutoff", cutoff[0], fs);
    }
    // Normalised to Nyquist = 1, then pre-warped for the bilinear transform at fs = 2.
    constexpr double fs_n = 2.0;
    std::vector<double> warped;
    for (double c : cutoff) warped.push_back(2.0 * fs_n * std::tan(kPi * (2.0 * c / fs) / fs_n));
    Zpk f = butter_prototype(order);
    switch (btype) {
        case BandType::lowpass: lp2lp(f, warped[0]); break;
        case BandType::highpass: lp2hp(f, warped[0]); break;
        case BandType::bandpass:
            lp2bp(f, std::sqrt(warped[0] * warped[1]), warped[1] - warped[0]);
            break;
        case BandType::bandstop:
            lp2bs(f, std::sqrt(warped[0] * warped[1]), warped[1] - warped[0]);
            break;
    }
    bilinear(f, fs_n);
    return zpk2sos(f);
}

Sos notch(double freq, double fs, double q, int harmonics) {
    detail::check_fs(fs);
    check_freq("freq", freq, fs);
    if (!(std::isfinite(q) && q > 0.0)) detail::fail_param("q", "a finite quality factor > 0", q);
    if (harmonics < 1) detail::fail_param("harmonics", "an integer >= 1", harmonics);
    Sos sos;
    for (int h = 1; h <= harmonics; ++h) {
        const double f = freq * h;
        if (f >= fs / 2.0) break;
        // iirnotch: -3 dB bandwidth bw = f / q; beta = tan(bw/2) in normalised angular units.
        const double w0 = 2.0 * kPi * f / fs;
        const double bw = w0 / q;
        const double gain = 1.0 / (1.0 + std::tan(bw / 2.0));
        const double c = std::cos(w0);
        sos.push_back({gain, -2.0 * gain * c, gain, 1.0, -2.0 * gain * c, 2.0 * gain - 1.0});
    }
    return sos;
}

Sos validate_sos(const Sos& sos) {
    if (sos.empty()) throw std::invalid_argument("sos must have at least one section; got 0");
    Sos out = sos;
    for (std::size_t s = 0; s < sos.size(); ++s) {
        const std::string where = "sos[" + std::to_string(s) + "]";
        for (double v : sos[s]) {
            if (!std::isfinite(v)) throw std::invalid_argument(where + " must be finite; got " + detail::to_str(v));
        }
        const double a0 = sos[s][3];
        if (a0 == 0.0) throw std::invalid_argument(where + " must have a0 != 0; got a0 = 0");
        for (auto& v : out[s]) v /= a0;
        const double a1 = out[s][4], a2 = out[s][5];
        // Schur-Cohn (Jury) conditions for both roots of z^2 + a1 z + a2 inside the unit circle.
        if (!(std::abs(a2) < 1.0 && std::abs(a1) < 1.0 + a2)) {
            throw std::invalid_argument(where + " must be stable (poles strictly inside the unit "
                                        "circle: |a2| < 1 and |a1| < 1 + a2); got a1 = " +
                                        detail::to_str(a1) + ", a2 = " + detail::to_str(a2));
        }
    }
    return out;
}

std::vector<std::array<double, 2>> sosfilt_zi(const Sos& sos_in) {
    const Sos sos = validate_sos(sos_in);
    std::vector<std::array<double, 2>> zi(sos.size());
    double scale = 1.0;
    for (std::size_t s = 0; s < sos.size(); ++s) {
        const double b0 = sos[s][0], b1 = sos[s][1], b2 = sos[s][2];
        const double a1 = sos[s][4], a2 = sos[s][5];
        const double det = 1.0 + a1 + a2;  // a(1): nonzero for a stable section
        const double B0 = b1 - a1 * b0, B1 = b2 - a2 * b0;
        zi[s][0] = scale * (B0 + B1) / det;
        zi[s][1] = scale * ((1.0 + a1) * B1 - a2 * B0) / det;
        scale *= (b0 + b1 + b2) / det;
    }
    return zi;
}

std::size_t sosfiltfilt_padlen(const Sos& sos) {
    std::size_t nb = 0, na = 0;
    for (const auto& s : sos) {
        nb += (s[2] == 0.0);
        na += (s[5] == 0.0);
    }
    return 3 * (2 * sos.size() + 1 - std::min(nb, na));
}

}  // namespace kinemyo::filters
