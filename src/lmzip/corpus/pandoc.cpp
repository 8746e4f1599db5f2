// pandoc as an optional LaTeX converter, run as a child process under a wall-clock timeout.
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <thread>

#include "lmzip/corpus/extract.h"
#include "lmzip/corpus/text.h"
#include "lmzip/io/file.h"

extern char** environ;

namespace lmzip::corpus {

namespace {

std::string find_in_path(const std::string& exe) {
  const char* path = std::getenv("PATH");
  std::string_view rest = path ? path : "/usr/bin:/bin";
  while (!rest.empty()) {
    size_t colon = rest.find(':');
    std::string dir(rest.substr(0, colon));
    std::string cand = (dir.empty() ? "." : dir) + "/" + exe;
    if (access(cand.c_str(), X_OK) == 0) return cand;
    if (colon == std::string_view::npos) break;
    rest.remove_prefix(colon + 1);
  }
  return "";
}

std::string temp_path(const char* tag) {
  const char* tmp = std::getenv("TMPDIR");
  static std::atomic<uint64_t> counter{0};
  return std::string(tmp ? tmp : "/tmp") + "/lmzip-pandoc-" + std::to_string(getpid()) + "-" +
         std::to_string(counter++) + tag;
}

}  // namespace

bool pandoc_available() { return !find_in_path("pandoc").empty(); }

PandocResult pandoc_latex_to_markdown(std::string_view latex, double timeout_seconds) {
  PandocResult r;
  std::string exe = find_in_path("pandoc");
  if (exe.empty()) {
    r.error = "not installed";
    return r;
  }
  // Files rather than pipes: no risk of both sides blocking on full pipe buffers.
  std::string in = temp_path(".tex"), out = temp_path(".md");
  write_file_atomic(in, latex);
  std::vector<std::string> args = {exe, "-f", "latex", "-t", "markdown", "--wrap=none", "-o", out, in};
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0);
  pid_t pid = 0;
  int rc = posix_spawn(&pid, exe.c_str(), &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  if (rc != 0) {
    unlink(in.c_str());
    r.error = "failed: cannot start pandoc";
    return r;
  }
  auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(timeout_seconds);
  int status = 0;
  bool timed_out = false;
  while (waitpid(pid, &status, WNOHANG) == 0) {
    if (std::chrono::steady_clock::now() > deadline) {
      kill(pid, SIGKILL);
      waitpid(pid, &status, 0);
      timed_out = true;
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  unlink(in.c_str());
  if (timed_out) {
    unlink(out.c_str());
    r.error = "timeout";
    return r;
  }
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    unlink(out.c_str());
    r.error = "failed: pandoc exit status " + std::to_string(WIFEXITED(status) ? WEXITSTATUS(status) : -1);
    return r;
  }
  std::string md = file_exists(out) ? read_file(out) : "";
  unlink(out.c_str());
  // The study removed pandoc's div fences (lines of ":::" with or without attributes).
  for (auto line : split_lines(md)) {
    if (line.rfind(":::", 0) == 0) continue;
    r.text.append(line).push_back('\n');
  }
  r.ok = true;
  return r;
}

}  // namespace lmzip::corpus
