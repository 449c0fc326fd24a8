// Interruption by SIGINT, SIGTERM, SIGHUP or SIGQUIT. The handlers only record the signal (an async-signal-
// safe store); the work notices it at cancellation points (stage boundaries, progress ticks, per-sample
// loops, between exported files) and unwinds with qf::Interrupted, so every cleanup (staging folders,
// temp files) runs on the normal path, outside the handler. A second identical signal gets the default
// action (the handler resets itself), so a stuck run can still be ended from the keyboard.
#pragma once

#include <stdexcept>
#include <string>
#include <string_view>

namespace qf {

// Thrown at a cancellation point once a signal was recorded. Not a qf::Error, so code that adds context
// to errors (catch (const Error&)) lets it pass; main turns it into exit status 128 + signo.
class Interrupted : public std::runtime_error {
 public:
  explicit Interrupted(int signo);
  int signo() const { return signo_; }

 private:
  int signo_;
};

// Installs the recording handlers once per process (sigaction). A signal the process inherited as ignored
// (nohup, background jobs) stays ignored.
void install_interrupt_handlers();

// The first recorded signal, 0 when none.
int interrupt_signal();

// Throws Interrupted when a signal was recorded. Cheap: one atomic load.
void throw_if_interrupted();

// "SIGINT", "SIGTERM", ... ("signal N" for others).
std::string signal_name(int signo);

// A named cancellation point ("calibrate", "export", ...): runs the test hook, then throw_if_interrupted().
void cancellation_point(std::string_view stage);

// TEST ONLY: with QFORGE_TEST_SIGNAL_AT=<stage>:<SIGNAME> in the environment (e.g. "export:SIGTERM"), the
// process sends itself that signal (kill(getpid(), ...)) when it first reaches cancellation point <stage>,
// so tests can interrupt every stage deterministically. Unset, it does nothing.
void test_signal_hook(std::string_view stage);

// What main's one-line "interrupted" message says about the output (e.g. "nothing was written to OUT"),
// set by a command as its output state changes. Empty: the message names only the signal.
void set_interrupt_outcome(std::string text);
std::string interrupt_outcome();

}  // namespace qf
