// Serial scans of kinemyo::metrics: holds, hysteresis turning points, threshold segments.

#include "kinemyo/metrics/scan.hpp"

#include <cmath>
#include <limits>

#include "kinemyo/common/checks.hpp"

namespace kinemyo::metrics {

namespace {

inline std::int64_t i64(std::size_t v) { return static_cast<std::int64_t>(v); }

/// Monotonic queue of sample indices: pushes only at the back, pops at both ends. A vector with a
/// moving head (indices only grow, so nothing is ever pushed at the front); cheaper than std::deque.
class IndexQueue {
public:
    bool empty() const { return head_ == v_.size(); }
    std::size_t front() const { return v_[head_]; }
    std::size_t back() const { return v_.back(); }
    void push_back(std::size_t i) { v_.push_back(i); }
    void pop_back() { v_.pop_back(); }
    void pop_front() { ++head_; }
    void clear() {
        v_.clear();
        head_ = 0;
    }

private:
    std::vector<std::size_t> v_;
    std::size_t head_ = 0;
};

}  // namespace

template <class T>
std::vector<Segment> find_holds(const T* x, std::size_t n, const HoldParams& params) {
    if (!(std::isfinite(params.tolerance) && params.tolerance > 0.0)) {
        detail::fail_param("tolerance", "finite and > 0", params.tolerance);
    }
    detail::check_positive_count("min_samples", params.min_samples);
    const double tol = params.tolerance;
    const std::size_t min_len = params.min_samples;
    std::vector<Segment> out;
    IndexQueue hi;  // indices with decreasing values: front = max of the run
    IndexQueue lo;  // indices with increasing values: front = min of the run
    std::size_t s = 0;           // start of the current run
    auto emit_if_long = [&](std::size_t end) {
        if (end >= s + min_len) out.push_back({i64(s), i64(end)});
    };
    for (std::size_t r = 0; r < n; ++r) {
        const double v = static_cast<double>(x[r]);
        if (!std::isfinite(v)) {
            emit_if_long(r);
            hi.clear();
            lo.clear();
            s = r + 1;
            continue;
        }
        while (!hi.empty() && static_cast<double>(x[hi.back()]) <= v) hi.pop_back();
        hi.push_back(r);
        while (!lo.empty() && static_cast<double>(x[lo.back()]) >= v) lo.pop_back();
        lo.push_back(r);
        if (static_cast<double>(x[hi.front()]) - static_cast<double>(x[lo.front()]) <= tol) continue;
        if (r >= s + min_len) {
            // The run [s, r) is a hold: emit it and start afresh at r.
            out.push_back({i64(s), i64(r)});
            hi.clear();
            lo.clear();
            hi.push_back(r);
            lo.push_back(r);
            s = r;
            continue;
        }
        // Too short: move the start forward just past the older of the two extremes until the
        // range fits again (r itself is in both deques, so this ends at s <= r).
        while (static_cast<double>(x[hi.front()]) - static_cast<double>(x[lo.front()]) > tol) {
            if (hi.front() < lo.front()) {
                s = hi.front() + 1;
                hi.pop_front();
            } else {
                s = lo.front() + 1;
                lo.pop_front();
            }
        }
    }
    emit_if_long(n);
    return out;
}

template <class T>
std::vector<TurningPoint> find_turning_points(const T* x, std::size_t n, const TurningParams& params) {
    if (!(std::isfinite(params.hysteresis) && params.hysteresis > 0.0)) {
        detail::fail_param("hysteresis", "finite and > 0", params.hysteresis);
    }
    if (!(std::isfinite(params.plateau) && params.plateau >= 0.0)) {
        detail::fail_param("plateau", "finite and >= 0", params.plateau);
    }
    const double h = params.hysteresis;
    std::vector<TurningPoint> ext;
    int dir = 0;  // 0: none confirmed yet, +1: looking for a peak, -1: looking for a trough
    double hv = 0.0, lv = 0.0;
    std::size_t hi_i = 0, lo_i = 0;
    bool any = false;
    auto confirm = [&](std::size_t i, double v, bool peak) {
        TurningPoint tp;
        tp.index = i64(i);
        tp.value = v;
        tp.is_peak = peak;
        ext.push_back(tp);
    };
    for (std::size_t i = 0; i < n; ++i) {
        const double v = static_cast<double>(x[i]);
        if (!std::isfinite(v)) continue;
        if (!any) {
            hv = lv = v;
            hi_i = lo_i = i;
            any = true;
            continue;
        }
        if (dir == 0) {
            if (v > hv) { hv = v; hi_i = i; }
            if (v < lv) { lv = v; lo_i = i; }
            if (v - lv > h) {
                confirm(lo_i, lv, false);
                dir = 1;
                hv = v;
                hi_i = i;
            } else if (hv - v > h) {
                confirm(hi_i, hv, true);
                dir = -1;
                lv = v;
                lo_i = i;
            }
        } else if (dir == 1) {
            if (v > hv) {
                hv = v;
                hi_i = i;
            } else if (hv - v > h) {
                confirm(hi_i, hv, true);
                dir = -1;
                lv = v;
                lo_i = i;
            }
        } else {
            if (v < lv) {
                lv = v;
                lo_i = i;
            } else if (v - lv > h) {
                confirm(lo_i, lv, false);
                dir = 1;
                hv = v;
                hi_i = i;
            }
        }
    }
    // The pending extremum at the end counts when it is a full reversal from the last one.
    if (dir == 1 && hv - ext.back().value > h) confirm(hi_i, hv, true);
    if (dir == -1 && ext.back().value - lv > h) confirm(lo_i, lv, false);

    const double band = params.plateau;
    for (std::size_t k = 0; k < ext.size(); ++k) {
        const std::size_t a = k == 0 ? 0 : static_cast<std::size_t>(ext[k - 1].index) + 1;
        const std::size_t b = k + 1 == ext.size() ? n : static_cast<std::size_t>(ext[k + 1].index);  // exclusive
        const std::size_t e = static_cast<std::size_t>(ext[k].index);
        const double v = ext[k].value;
        auto near = [&](std::size_t i) {
            const double xi = static_cast<double>(x[i]);
            return std::isfinite(xi) && std::fabs(xi - v) <= band;
        };
        std::size_t f = a;
        while (f < e && !near(f)) ++f;
        std::size_t l = b - 1;
        while (l > e && !near(l)) --l;
        ext[k].plateau_first = i64(f);
        ext[k].plateau_last = i64(l);
    }
    return ext;
}

template <class T>
std::vector<Segment> find_active_segments(const T* x, std::size_t n, const ActiveParams& params) {
    if (std::isnan(params.high)) detail::fail_param("high", "a number", params.high);
    if (std::isnan(params.low) || params.low > params.high) {
        detail::fail_param("low", "a number <= high (" + detail::to_str(params.high) + ")", params.low);
    }
    detail::check_positive_count("min_on", params.min_on);
    std::vector<Segment> runs;
    bool in = false, hit = false;
    std::size_t s = 0;
    for (std::size_t i = 0; i < n; ++i) {
        const double v = static_cast<double>(x[i]);
        const bool above = std::isfinite(v) && v > params.low;
        if (above) {
            if (!in) {
                in = true;
                hit = false;
                s = i;
            }
            if (v > params.high) hit = true;
        } else if (in) {
            in = false;
            if (hit) runs.push_back({i64(s), i64(i)});
        }
    }
    if (in && hit) runs.push_back({i64(s), i64(n)});

    std::vector<Segment> merged;
    for (const Segment& r : runs) {
        if (!merged.empty() && r.start - merged.back().end < i64(params.min_off)) {
            merged.back().end = r.end;
        } else {
            merged.push_back(r);
        }
    }
    std::vector<Segment> out;
    for (const Segment& r : merged) {
        if (r.end - r.start >= i64(params.min_on)) out.push_back(r);
    }
    return out;
}

template <class T>
std::vector<Segment> trim_to_band(const T* x, std::size_t n, const std::vector<Segment>& segments,
                                  const double* centres, double band) {
    if (!(band >= 0.0)) detail::fail_param("band", ">= 0", band);
    std::vector<Segment> out;
    out.reserve(segments.size());
    for (std::size_t k = 0; k < segments.size(); ++k) {
        const Segment& sg = segments[k];
        if (sg.start < 0 || sg.end < sg.start || sg.end > i64(n)) {
            detail::fail_param("segments", "[start, end) ranges within [0, " + detail::to_str(n) + "]",
                               detail::to_str(sg.start) + ", " + detail::to_str(sg.end));
        }
        const double m = centres[k];
        auto near = [&](std::int64_t i) {
            const double v = static_cast<double>(x[i]);
            return std::isfinite(v) && std::fabs(v - m) <= band;
        };
        std::int64_t f = sg.start;
        while (f < sg.end && !near(f)) ++f;
        if (f == sg.end) {
            out.push_back({sg.start, sg.start});
            continue;
        }
        std::int64_t l = sg.end - 1;
        while (l > f && !near(l)) --l;
        out.push_back({f, l + 1});
    }
    return out;
}

template <class T>
std::vector<SegmentStats> segment_stats(const T* x, std::size_t n, std::size_t stride,
                                        const std::vector<Segment>& segments) {
    detail::check_positive_count("stride", stride);
    const double nan = std::numeric_limits<double>::quiet_NaN();
    std::vector<SegmentStats> out(segments.size());
    for (std::size_t k = 0; k < segments.size(); ++k) {
        const Segment& sg = segments[k];
        if (sg.start < 0 || sg.end < sg.start || sg.end > i64(n)) {
            detail::fail_param("segments", "[start, end) ranges within [0, " + detail::to_str(n) + "]",
                               detail::to_str(sg.start) + ", " + detail::to_str(sg.end));
        }
        double lo = std::numeric_limits<double>::infinity();
        double hi = -std::numeric_limits<double>::infinity();
        double sum = 0.0;
        std::int64_t am = -1, cnt = 0;
        for (std::int64_t i = sg.start; i < sg.end; ++i) {
            const double v = static_cast<double>(x[static_cast<std::size_t>(i) * stride]);
            if (!std::isfinite(v)) continue;
            ++cnt;
            sum += v;
            if (v < lo) lo = v;
            if (v > hi) {
                hi = v;
                am = i;
            }
        }
        SegmentStats& st = out[k];
        st.count = cnt;
        st.argmax = am;
        st.min = cnt ? lo : nan;
        st.max = cnt ? hi : nan;
        st.mean = cnt ? sum / static_cast<double>(cnt) : nan;
    }
    return out;
}

template std::vector<SegmentStats> segment_stats<float>(const float*, std::size_t, std::size_t,
                                                        const std::vector<Segment>&);
template std::vector<SegmentStats> segment_stats<double>(const double*, std::size_t, std::size_t,
                                                         const std::vector<Segment>&);
template std::vector<Segment> trim_to_band<float>(const float*, std::size_t, const std::vector<Segment>&,
                                                  const double*, double);
template std::vector<Segment> trim_to_band<double>(const double*, std::size_t, const std::vector<Segment>&,
                                                   const double*, double);
template std::vector<Segment> find_holds<float>(const float*, std::size_t, const HoldParams&);
template std::vector<Segment> find_holds<double>(const double*, std::size_t, const HoldParams&);
template std::vector<TurningPoint> find_turning_points<float>(const float*, std::size_t, const TurningParams&);
template std::vector<TurningPoint> find_turning_points<double>(const double*, std::size_t, const TurningParams&);
template std::vector<Segment> find_active_segments<float>(const float*, std::size_t, const ActiveParams&);
template std::vector<Segment> find_active_segments<double>(const double*, std::size_t, const ActiveParams&);

}  // namespace kinemyo::metrics
