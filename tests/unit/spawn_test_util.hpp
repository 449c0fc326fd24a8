// Runs the qforge binary as a child process for the interruption tests: stdout/stderr to files, the four
// interrupt signals at their default disposition and unblocked (whatever the test runner inherited), an
// optional QFORGE_TEST_SIGNAL_AT, and a deadline so a hang fails the test instead of blocking ctest.
#pragma once

#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <csignal>
#include <functional>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "quantize_test_util.hpp"

extern char** environ;

namespace qf::qtest {

struct ChildResult {
  bool hung = false;    // still running at the deadline (then killed)
  bool exited = false;  // ended by exit(); else by a signal
  int code = -1;        // exit status, or the signal that ended it
  std::string out, err;
};

// The deadline for one child: far beyond what the small test runs take, only there to catch a hang.
constexpr auto kChildDeadline = std::chrono::seconds(120);

// Starts `qforge <args>`; `signal_at` ("" or "<stage>:<SIGNAME>") goes to QFORGE_TEST_SIGNAL_AT. While it
// runs, `while_running(pid)` is called once (e.g. to send it a signal).
inline ChildResult run_qforge_child(const std::vector<std::string>& args, const fs::path& scratch,
                                    const std::string& signal_at = "",
                                    const std::function<void(pid_t)>& while_running = {}) {
  std::vector<std::string> argv_text = {QF_CLI_PATH};
  argv_text.insert(argv_text.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (auto& a : argv_text) argv.push_back(a.data());
  argv.push_back(nullptr);
  std::vector<std::string> env_text;
  for (char** e = environ; *e; ++e)
    if (std::string(*e).rfind("QFORGE_TEST_SIGNAL_AT=", 0) != 0) env_text.emplace_back(*e);
  if (!signal_at.empty()) env_text.push_back("QFORGE_TEST_SIGNAL_AT=" + signal_at);
  std::vector<char*> envp;
  for (auto& e : env_text) envp.push_back(e.data());
  envp.push_back(nullptr);

  const fs::path out = scratch / "child_stdout.txt", err = scratch / "child_stderr.txt";
  posix_spawn_file_actions_t files;
  posix_spawn_file_actions_init(&files);
  posix_spawn_file_actions_addopen(&files, 1, out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  posix_spawn_file_actions_addopen(&files, 2, err.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  sigset_t defaults, none;
  sigemptyset(&defaults);
  for (int s : {SIGINT, SIGTERM, SIGHUP, SIGQUIT}) sigaddset(&defaults, s);
  sigemptyset(&none);
  posix_spawnattr_setsigdefault(&attr, &defaults);
  posix_spawnattr_setsigmask(&attr, &none);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK);
  pid_t pid = -1;
  const int spawned = posix_spawn(&pid, argv[0], &files, &attr, argv.data(), envp.data());
  posix_spawn_file_actions_destroy(&files);
  posix_spawnattr_destroy(&attr);
  ChildResult r;
  if (spawned != 0) {
    r.err = "posix_spawn failed: " + std::to_string(spawned);
    return r;
  }
  if (while_running) while_running(pid);
  const auto deadline = std::chrono::steady_clock::now() + kChildDeadline;
  int status = 0;
  while (waitpid(pid, &status, WNOHANG) == 0) {
    if (std::chrono::steady_clock::now() > deadline) {
      r.hung = true;
      kill(pid, SIGKILL);
      waitpid(pid, &status, 0);
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  r.exited = WIFEXITED(status);
  r.code = r.exited ? WEXITSTATUS(status) : WIFSIGNALED(status) ? WTERMSIG(status) : -1;
  r.out = read_text(out);
  r.err = read_text(err);
  fs::remove(out);
  fs::remove(err);
  return r;
}

// The files in `dir` (recursively, hidden ones included) with their contents: the whole state of a folder.
inline std::map<std::string, std::string> folder_state(const fs::path& dir) {
  std::map<std::string, std::string> state;
  std::error_code ec;
  for (auto it = fs::recursive_directory_iterator(dir, ec); !ec && it != fs::recursive_directory_iterator();
       it.increment(ec)) {
    const std::string rel = fs::relative(it->path(), dir).string();
    state[rel] = it->is_directory() ? std::string("<dir>") : read_text(it->path());
  }
  return state;
}

}  // namespace qf::qtest
