// Hands the values of one run (the float model's) to a concurrent run of a related model (the calibrated
// one) by tensor name, holding at most a byte budget of values not yet taken: the producer waits while the
// budget is used up, unless the consumer is itself waiting for a value (then the producer runs on, so the
// two can never wait for each other). Either side's failure ends the other's waits.
#pragma once

#include <condition_variable>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <unordered_set>

#include "ir/tensor.hpp"

namespace qf::pipeline {

class ValueHandoff {
 public:
  explicit ValueHandoff(size_t budget_bytes) : budget_(budget_bytes) {}

  // Producer: `name` now has `value` (nullopt: produced but not handed over, e.g. not float).
  void put(const std::string& name, std::optional<Tensor> value) {
    std::unique_lock lock(mutex_);
    changed_.wait(lock, [&] { return bytes_ < budget_ || consumer_waiting_ || consumer_done_; });
    produced_.insert(name);
    if (value && !consumer_done_) {
      bytes_ += value->nbytes();
      values_.insert_or_assign(name, std::move(*value));
    }
    changed_.notify_all();
  }
  // Producer: no more values (its run ended, or failed).
  void producer_done() {
    std::lock_guard lock(mutex_);
    producer_done_ = true;
    changed_.notify_all();
  }

  // Consumer: the producer's value of `name`, waiting until it is produced; nullopt when the producer
  // produced it without a value or ended without producing it.
  std::optional<Tensor> take(const std::string& name) {
    std::unique_lock lock(mutex_);
    for (;;) {
      if (auto it = values_.find(name); it != values_.end()) {
        Tensor value = std::move(it->second);
        values_.erase(it);
        bytes_ -= value.nbytes();
        changed_.notify_all();
        return value;
      }
      if (produced_.count(name) || producer_done_) return std::nullopt;
      consumer_waiting_ = true;
      changed_.notify_all();
      changed_.wait(lock);
      consumer_waiting_ = false;
    }
  }
  // Consumer: takes nothing more (its run ended, or failed); the producer no longer waits or keeps values.
  void consumer_done() {
    std::lock_guard lock(mutex_);
    consumer_done_ = true;
    values_.clear();
    bytes_ = 0;
    changed_.notify_all();
  }

 private:
  const size_t budget_;
  std::mutex mutex_;
  std::condition_variable changed_;
  std::unordered_map<std::string, Tensor> values_;
  std::unordered_set<std::string> produced_;
  size_t bytes_ = 0;
  bool consumer_waiting_ = false, consumer_done_ = false, producer_done_ = false;
};

}  // namespace qf::pipeline
