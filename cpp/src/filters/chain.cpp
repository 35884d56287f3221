#include "kinemyo/filters/chain.hpp"

#include <algorithm>
#include <stdexcept>
#include <string>

namespace kinemyo::filters {

template <class T>
Chain<T>::Chain(std::vector<std::shared_ptr<Processor<T>>> stages) : stages_(std::move(stages)) {
    if (stages_.empty()) throw std::invalid_argument("stages must hold at least one processor; got 0");
    for (std::size_t i = 0; i < stages_.size(); ++i) {
        if (!stages_[i]) throw std::invalid_argument("stages[" + std::to_string(i) + "] is empty");
    }
    n_channels_ = stages_[0]->n_channels();
    for (std::size_t i = 1; i < stages_.size(); ++i) {
        if (stages_[i]->n_channels() != n_channels_) {
            throw std::invalid_argument("stages[" + std::to_string(i) + "] must have n_channels = " +
                                        std::to_string(n_channels_) + " like stages[0]; got " +
                                        std::to_string(stages_[i]->n_channels()));
        }
    }
}

template <class T>
void Chain<T>::process(const T* x, T* y, std::size_t n_samples) {
    // The stages may also be reachable on their own (e.g. from Python): hold them all first.
    std::vector<std::unique_ptr<BusyGuard>> guards;
    guards.reserve(stages_.size());
    for (std::size_t i = 0; i < stages_.size(); ++i) {
        guards.push_back(std::make_unique<BusyGuard>(stages_[i]->busy()));
        if (!guards.back()->held()) {
            throw std::runtime_error("stage " + std::to_string(i) +
                                     " of the chain is in use by another thread");
        }
    }
    // Every stage works in place, so each block flows x -> y -> y -> ... while it is in cache.
    const std::size_t block = std::max<std::size_t>(1, 8192 / n_channels_);
    for (std::size_t t = 0; t < n_samples; t += block) {
        const std::size_t n = std::min(block, n_samples - t);
        const T* in = x + t * n_channels_;
        T* out = y + t * n_channels_;
        for (auto& s : stages_) {
            s->process(in, out, n);
            in = out;
        }
    }
}

template <class T>
void Chain<T>::reset() {
    for (auto& s : stages_) s->reset();
}

template <class T>
StateRecord Chain<T>::get_state() const {
    StateRecord out;
    for (std::size_t i = 0; i < stages_.size(); ++i) {
        for (const auto& kv : stages_[i]->get_state()) out[std::to_string(i) + "." + kv.first] = kv.second;
    }
    return out;
}

template <class T>
void Chain<T>::set_state(const StateRecord& state) {
    std::vector<std::unique_ptr<Processor<T>>> trial;
    for (std::size_t i = 0; i < stages_.size(); ++i) {
        const std::string prefix = std::to_string(i) + ".";
        StateRecord part;
        for (const auto& kv : state) {
            if (kv.first.compare(0, prefix.size(), prefix) == 0) part[kv.first.substr(prefix.size())] = kv.second;
        }
        auto copy = stages_[i]->clone();
        copy->set_state(part);  // throws before anything is changed
        trial.push_back(std::move(copy));
    }
    for (std::size_t i = 0; i < stages_.size(); ++i) stages_[i]->set_state(trial[i]->get_state());
}

template <class T>
std::unique_ptr<Processor<T>> Chain<T>::clone() const {
    std::vector<std::shared_ptr<Processor<T>>> copies;
    for (const auto& s : stages_) copies.push_back(std::shared_ptr<Processor<T>>(s->clone()));
    return std::make_unique<Chain<T>>(std::move(copies));
}

template class Chain<float>;
template class Chain<double>;

}  // namespace kinemyo::filters
