#pragma once
/// @file chain.hpp
/// Processors run back to back inside the core, in one call.

#include <memory>
#include <vector>

#include "kinemyo/common/processor.hpp"

namespace kinemyo::filters {

/// Runs its stages one after the other over blocks of samples that stay in cache, without leaving
/// the core between stages. Every stage must have the same channel count. The chain owns its
/// stages (shared so that a binding can expose them); it is itself a Processor.
template <class T>
class Chain final : public Processor<T> {
public:
    /// @throws std::invalid_argument if `stages` is empty, holds a null stage, or the stages'
    ///         channel counts differ.
    explicit Chain(std::vector<std::shared_ptr<Processor<T>>> stages);

    [[nodiscard]] std::size_t n_channels() const noexcept override { return n_channels_; }
    void process(const T* x, T* y, std::size_t n_samples) override;
    void reset() override;
    /// State of stage i under the keys "<i>.<key>".
    [[nodiscard]] StateRecord get_state() const override;
    void set_state(const StateRecord& state) override;
    /// Deep copy: the copy's stages are clones.
    [[nodiscard]] std::unique_ptr<Processor<T>> clone() const override;
    [[nodiscard]] const std::vector<std::shared_ptr<Processor<T>>>& stages() const noexcept {
        return stages_;
    }

private:
    std::vector<std::shared_ptr<Processor<T>>> stages_;
    std::size_t n_channels_ = 0;
};

}  // namespace kinemyo::filters
