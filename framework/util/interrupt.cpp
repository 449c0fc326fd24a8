#include "util/interrupt.hpp"

#include <atomic>
#include <csignal>
#include <cstdlib>
#include <mutex>

namespace qf {

namespace {

// The first signal recorded; written by the handler, so it must be a lock-free atomic.
std::atomic<int> g_signal{0};
static_assert(std::atomic<int>::is_always_lock_free, "the signal handler needs a lock-free store");

constexpr int kInterruptSignals[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT};

extern "C" void record_signal(int signo) {
  int none = 0;
  g_signal.compare_exchange_strong(none, signo);  // async-signal-safe: no locks, no allocation
}

struct NamedSignal {
  const char* name;
  int signo;
};

constexpr NamedSignal kNames[] = {
    {"SIGINT", SIGINT}, {"SIGTERM", SIGTERM}, {"SIGHUP", SIGHUP}, {"SIGQUIT", SIGQUIT}, {"SIGKILL", SIGKILL}};

struct TestHook {
  std::string stage;
  int signo = 0;
  std::atomic<bool> fired{false};
};

// QFORGE_TEST_SIGNAL_AT=<stage>:<SIGNAME>, parsed once; absent or malformed: no hook.
TestHook* test_hook() {
  static TestHook* hook = []() -> TestHook* {
    const char* spec = std::getenv("QFORGE_TEST_SIGNAL_AT");
    if (!spec) return nullptr;
    const std::string text = spec;
    const size_t colon = text.rfind(':');
    if (colon == std::string::npos) return nullptr;
    for (const auto& s : kNames)
      if (text.substr(colon + 1) == s.name) {
        auto* h = new TestHook;  // lives for the process
        h->stage = text.substr(0, colon);
        h->signo = s.signo;
        return h;
      }
    return nullptr;
  }();
  return hook;
}

std::mutex g_outcome_mutex;
std::string g_outcome;

}  // namespace

Interrupted::Interrupted(int signo) : std::runtime_error("interrupted by " + signal_name(signo)), signo_(signo) {}

void install_interrupt_handlers() {
  static std::once_flag once;
  std::call_once(once, [] {
    for (const int signo : kInterruptSignals) {
      struct sigaction previous {};
      if (sigaction(signo, nullptr, &previous) == 0 && previous.sa_handler == SIG_IGN) continue;
      struct sigaction action {};
      action.sa_handler = record_signal;
      sigemptyset(&action.sa_mask);
      // SA_RESETHAND: a second identical signal takes the default action (ends a stuck run).
      action.sa_flags = SA_RESETHAND | SA_RESTART;
      sigaction(signo, &action, nullptr);
    }
  });
}

int interrupt_signal() { return g_signal.load(std::memory_order_relaxed); }

void throw_if_interrupted() {
  if (const int signo = interrupt_signal()) throw Interrupted(signo);
}

std::string signal_name(int signo) {
  for (const auto& s : kNames)
    if (s.signo == signo) return s.name;
  return "signal " + std::to_string(signo);
}

void test_signal_hook(std::string_view stage) {
  TestHook* hook = test_hook();
  if (!hook || hook->stage != stage || hook->fired.exchange(true)) return;
  // raise() delivers to this thread before it returns, so the check right after sees the signal.
  std::raise(hook->signo);
}

void cancellation_point(std::string_view stage) {
  test_signal_hook(stage);
  throw_if_interrupted();
}

void set_interrupt_outcome(std::string text) {
  std::lock_guard lock(g_outcome_mutex);
  g_outcome = std::move(text);
}

std::string interrupt_outcome() {
  std::lock_guard lock(g_outcome_mutex);
  return g_outcome;
}

}  // namespace qf
