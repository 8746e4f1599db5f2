#include "lmzip/eval/sandbox.h"

#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <mutex>
#include <thread>

#include "lmzip/core/error.h"
#include "lmzip/io/file.h"

namespace lmzip::eval {
namespace {

constexpr uid_t kNobody = 65534;

void set_limit(int resource, rlim_t value) {
  rlimit r{value, value};
  setrlimit(resource, &r);
}

// In the child, before exec: only async-signal-safe calls. Reports network isolation as one byte on `report`.
// Everything the child needs, built before fork() (the parent may have threads: the child must not allocate).
struct ChildPlan {
  std::string dir, script, output, home;
};

[[noreturn]] void child(const ChildPlan& p, const SandboxLimits& l, int report) {
  setsid();  // own process group: the parent kills the group
  const bool root = geteuid() == 0;
  char isolated = unshare(root ? CLONE_NEWNET : (CLONE_NEWUSER | CLONE_NEWNET)) == 0 ? '1' : '0';
  (void)!write(report, &isolated, 1);
  close(report);
  int out = open(p.output.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  int in = open("/dev/null", O_RDONLY);
  if (out < 0 || in < 0) _exit(126);
  dup2(in, 0), dup2(out, 1), dup2(out, 2);
  // Soft limit: SIGXCPU (reported as a timeout); the hard limit a second later: SIGKILL.
  rlimit cpu{static_cast<rlim_t>(l.cpu_seconds), static_cast<rlim_t>(l.cpu_seconds) + 1};
  setrlimit(RLIMIT_CPU, &cpu);
  set_limit(RLIMIT_AS, l.memory_bytes);
  set_limit(RLIMIT_FSIZE, l.file_bytes);
  set_limit(RLIMIT_CORE, 0);
  set_limit(RLIMIT_NPROC, static_cast<rlim_t>(l.max_processes));
  if (root && (setgid(kNobody) != 0 || setuid(kNobody) != 0)) _exit(126);
  if (chdir(p.dir.c_str()) != 0) _exit(126);
  // One BLAS/OpenMP thread (threads count against RLIMIT_NPROC), plots without a display, and DS-1000's
  // test_ds1000.py settings (TF_CPP_MIN_LOG_LEVEL=3, CUDA_VISIBLE_DEVICES=-1).
  char* const env[] = {const_cast<char*>("PATH=/usr/bin:/bin"), const_cast<char*>(p.home.c_str()),
                       const_cast<char*>("PYTHONDONTWRITEBYTECODE=1"), const_cast<char*>("PYTHONHASHSEED=0"),
                       const_cast<char*>("OPENBLAS_NUM_THREADS=1"), const_cast<char*>("OMP_NUM_THREADS=1"),
                       const_cast<char*>("MKL_NUM_THREADS=1"), const_cast<char*>("MPLBACKEND=Agg"),
                       const_cast<char*>("TF_CPP_MIN_LOG_LEVEL=3"), const_cast<char*>("CUDA_VISIBLE_DEVICES=-1"), nullptr};
  char* const argv[] = {const_cast<char*>(l.python.c_str()), const_cast<char*>("-I"),
                        const_cast<char*>(p.script.c_str()), nullptr};
  execvpe(l.python.c_str(), argv, env);
  _exit(127);
}

std::string make_temp_dir() {
  std::string tmpl = (std::filesystem::temp_directory_path() / "lmzip-sandbox-XXXXXX").string();
  if (!mkdtemp(tmpl.data())) throw Error("sandbox: cannot create a temporary directory in " + tmpl);
  if (geteuid() == 0 && chown(tmpl.c_str(), kNobody, kNobody) != 0) {
    throw Error("sandbox: cannot hand " + tmpl + " to uid 65534");
  }
  return tmpl;
}

}  // namespace

const char* status_name(SandboxStatus s) {
  switch (s) {
    case SandboxStatus::Passed: return "passed";
    case SandboxStatus::Failed: return "failed";
    case SandboxStatus::TimedOut: return "timed out";
    case SandboxStatus::Crashed: return "crashed";
  }
  return "?";
}

SandboxResult run_python_sandboxed(const std::string& program, const SandboxLimits& limits) {
  const std::string dir = make_temp_dir();
  const ChildPlan plan{dir, dir + "/program.py", dir + "/output.txt", "HOME=" + dir};
  write_file_atomic(plan.script, program);
  int pipe_fds[2];
  if (pipe2(pipe_fds, O_CLOEXEC) != 0) throw Error("sandbox: pipe failed");
  const auto start = std::chrono::steady_clock::now();
  pid_t pid = fork();
  if (pid < 0) throw Error("sandbox: fork failed");
  if (pid == 0) child(plan, limits, pipe_fds[1]);
  close(pipe_fds[1]);
  SandboxResult r;
  char isolated = '0';
  r.network_isolated = read(pipe_fds[0], &isolated, 1) == 1 && isolated == '1';
  close(pipe_fds[0]);
  int status = 0;
  bool timed_out = false;
  auto elapsed = [&] { return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count(); };
  while (waitpid(pid, &status, WNOHANG) == 0) {
    if (elapsed() > limits.wall_seconds) {
      timed_out = true;
      kill(-pid, SIGKILL);
      waitpid(pid, &status, 0);
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  kill(-pid, SIGKILL);  // stragglers the program left behind
  r.seconds = elapsed();
  if (WIFEXITED(status)) r.exit_code = WEXITSTATUS(status);
  if (WIFSIGNALED(status)) r.signal = WTERMSIG(status);
  if (timed_out || r.signal == SIGXCPU) r.status = SandboxStatus::TimedOut;
  else if (r.signal != 0) r.status = SandboxStatus::Crashed;
  else r.status = r.exit_code == 0 ? SandboxStatus::Passed : SandboxStatus::Failed;
  std::error_code ec;
  if (std::filesystem::exists(plan.output, ec)) {
    std::string out = read_file(plan.output);
    r.output = out.size() > 4096 ? out.substr(out.size() - 4096) : out;
  }
  std::filesystem::remove_all(dir, ec);
  return r;
}

bool python_can_import(const std::string& module, const SandboxLimits& limits) {
  const bool valid = !module.empty() && module.find_first_not_of(
      "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.") == std::string::npos &&
      !(module[0] >= '0' && module[0] <= '9') && module.front() != '.' && module.back() != '.';
  if (!valid) throw Error("sandbox: '" + module + "' is not a Python module name");
  static std::mutex mutex;
  static std::map<std::pair<std::string, std::string>, bool> cache;
  std::lock_guard lock(mutex);
  const auto key = std::make_pair(limits.python, module);
  auto it = cache.find(key);
  if (it != cache.end()) return it->second;
  SandboxLimits l = limits;
  l.wall_seconds = std::max(l.wall_seconds, 60.0);
  l.cpu_seconds = std::max(l.cpu_seconds, 60);
  const SandboxResult r = run_python_sandboxed("import " + module + "\n", l);
  return cache[key] = r.status == SandboxStatus::Passed;
}

}  // namespace lmzip::eval
