#pragma once
/// @file processor.hpp
/// The streaming-processor interface shared by every stateful block of the core.

#include <atomic>
#include <cstddef>
#include <map>
#include <stdexcept>
#include <memory>
#include <string>
#include <vector>

namespace kinemyo {

/// A processor's evolving state, as named flat arrays of doubles.
///
/// Every value a processor keeps between calls (filter delays, ring buffers, counters) is exported
/// here, so that a run can be checkpointed and resumed bit for bit. Integers (counters, positions)
/// are stored exactly as doubles (they stay far below 2^53). float32 samples are widened exactly.
using StateRecord = std::map<std::string, std::vector<double>>;

/// Interface of a streaming processor over time-major multi-channel data.
///
/// Data is row-major `(n_samples, n_channels)`, contiguous. `process` may be called with any number
/// of samples, including zero; the concatenated output never depends on how the input was split.
/// Input and output may be the same buffer (in-place processing is supported by every processor).
/// The channel count is fixed at construction.
/// A flag that marks an object as in use by one thread. Copies start free (a copy is another
/// object), so classes holding one stay copyable.
class BusyFlag {
public:
    BusyFlag() = default;
    BusyFlag(const BusyFlag&) noexcept {}
    BusyFlag& operator=(const BusyFlag&) noexcept { return *this; }
    /// Mark busy; false if it already was.
    bool try_acquire() noexcept { return !busy_.exchange(true, std::memory_order_acquire); }
    void release() noexcept { busy_.store(false, std::memory_order_release); }

private:
    std::atomic<bool> busy_{false};
};

template <class T>
class Processor {
public:
    virtual ~Processor() = default;

    /// Guard against concurrent use of one object: bindings (and Chain, for its stages) take it
    /// around process/reset/set_state and refuse to run if another thread holds it. Processors
    /// are not thread-safe; different objects run in parallel freely.
    BusyFlag& busy() noexcept { return busy_; }

    /// Number of channels (columns) of both input and output.
    [[nodiscard]] virtual std::size_t n_channels() const noexcept = 0;

    /// Process `n_samples` rows of `x` into `y` (both `n_samples * n_channels()` values).
    virtual void process(const T* x, T* y, std::size_t n_samples) = 0;

    /// Return to the state right after construction.
    virtual void reset() = 0;

    /// Copy of the full evolving state.
    [[nodiscard]] virtual StateRecord get_state() const = 0;

    /// Restore a state from `get_state()` of a processor with the same parameters.
    /// @throws std::invalid_argument when a field is missing or has the wrong size.
    virtual void set_state(const StateRecord& state) = 0;

    /// Deep copy, state included.
    [[nodiscard]] virtual std::unique_ptr<Processor<T>> clone() const = 0;

private:
    BusyFlag busy_;
};

/// RAII holder of a BusyFlag; `held()` is false if another thread had it.
class BusyGuard {
public:
    explicit BusyGuard(BusyFlag& f) noexcept : flag_(f), held_(f.try_acquire()) {}
    ~BusyGuard() {
        if (held_) flag_.release();
    }
    BusyGuard(const BusyGuard&) = delete;
    BusyGuard& operator=(const BusyGuard&) = delete;
    [[nodiscard]] bool held() const noexcept { return held_; }

private:
    BusyFlag& flag_;
    bool held_;
};

namespace detail {

/// Fetch a field of a StateRecord and check its size.
inline const std::vector<double>& state_field(const StateRecord& s, const std::string& name,
                                              std::size_t expected_size) {
    auto it = s.find(name);
    if (it == s.end()) {
        throw std::invalid_argument("state is missing the field '" + name + "'");
    }
    if (it->second.size() != expected_size) {
        throw std::invalid_argument("state field '" + name + "' must have " +
                                    std::to_string(expected_size) + " values; got " +
                                    std::to_string(it->second.size()));
    }
    return it->second;
}

}  // namespace detail
}  // namespace kinemyo
