// Runs untrusted generated code (HumanEval, MBPP, DS-1000 programs) in a separate python3 process, confined by
// the kernel (docs/EVAL.md "The code sandbox", docs/SECURITY.md):
// - new PID, mount, network and IPC namespaces (plus a user namespace when lmzip is not root). The program's
//   parent is PID 1 of its namespace, a tiny init that reaps; when the program ends, times out or is killed, that
//   init exits and the kernel kills and reaps every process left in the namespace (daemons, setsid(), fork
//   bombs) before run_python_sandboxed returns: no later sample can see anything of an earlier one;
// - its own root: /usr, /etc and the /bin, /lib* entries read-only, a fresh /proc, a minimal /dev (null, zero,
//   full, random, urandom, a private /dev/shm), and a private tmpfs /tmp (the working directory and HOME, holding
//   the program) as the only writable place. Nothing else of the host (other temporary directories, /home,
//   /root, /run, filesystem Unix sockets) is visible; no network (and no abstract Unix sockets) in the new
//   network namespace;
// - uid/gid 65534 (nobody) with no supplementary groups and no capabilities, PR_SET_NO_NEW_PRIVS, and a seccomp
//   filter refusing what a test program never needs (ptrace, mount, namespaces, kernel keys, bpf, io_uring, ...);
// - setrlimit: CPU seconds, address space, file size, no core files, a process-count limit (fork bomb guard);
//   and a wall-clock limit;
// - environment: PATH=/usr/bin:/bin, HOME=/tmp, one BLAS/OpenMP thread, MPLBACKEND=Agg, TF_CPP_MIN_LOG_LEVEL=3,
//   CUDA_VISIBLE_DEVICES=-1 (DS-1000's settings).
// Where the kernel refuses the namespaces, run_python_sandboxed refuses to run the program (lmzip::Error saying
// why) unless SandboxLimits::allow_unsafe (lmzip eval --unsafe-exec): then it runs with only the rlimits, the
// uid drop and a process-group kill, and SandboxResult::isolation says so.
// A timeout, crash or hang is a failed run; it never stalls the caller.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace lmzip::eval {

struct SandboxLimits {
  double wall_seconds = 3.0;          // lm-eval / HF code_eval default; (0, 1 day]
  int cpu_seconds = 3;                 // >= 1
  uint64_t memory_bytes = 1ull << 30;  // RLIMIT_AS; (0, 1 TiB]
  uint64_t file_bytes = 16ull << 20;   // RLIMIT_FSIZE; > 0
  uint64_t tmp_bytes = 256ull << 20;   // the size of the program's private /tmp (a tmpfs); > 0
  int max_processes = 16;              // RLIMIT_NPROC (of the sandbox user); >= 1
  std::string python = "python3";      // looked up in /usr/bin:/bin inside the sandbox, or an absolute path
  // Further host paths the program may read (e.g. a virtualenv outside /usr); an absolute `python`'s prefix
  // (the parent of its bin/) is added automatically.
  std::vector<std::string> read_only_paths;
  // Run even where the kernel refuses the namespaces (lmzip eval --unsafe-exec), without filesystem, process
  // and network confinement. Off: such a run throws.
  bool allow_unsafe = false;
};

enum class SandboxStatus { Passed, Failed, TimedOut, Crashed };
const char* status_name(SandboxStatus s);  // "passed", "failed", "timed out", "crashed"

struct SandboxResult {
  SandboxStatus status = SandboxStatus::Failed;
  int exit_code = -1;      // when the process exited
  int signal = 0;          // when a signal ended it
  double seconds = 0;      // wall clock
  bool network_isolated = false;
  bool isolated = false;   // ran in the namespaces (false only with allow_unsafe)
  std::string isolation;   // "namespaces" or "none (--unsafe-exec): <what the kernel refused>"
  std::string output;      // the last 4 KiB of stdout + stderr
};

// Runs `program` (Python source). lmzip::Error when a limit is out of range, when the sandbox cannot be set up
// (no temp dir, fork failed) and, without allow_unsafe, when the kernel refuses the namespaces; anything the
// program does is reported in the result.
SandboxResult run_python_sandboxed(const std::string& program, const SandboxLimits& limits = {});

// Whether `import module` succeeds in the sandbox (the interpreter and environment programs run in). Asked once
// per (python, module) in a process, then answered from a cache; thread-safe. lmzip::Error when `module` is not
// a dotted Python identifier.
bool python_can_import(const std::string& module, const SandboxLimits& limits = {});

// For tests: LMZIP_SANDBOX_NO_NAMESPACES=1 in the environment makes every run behave as on a kernel that refuses
// the namespaces (so the refusal and --unsafe-exec can be tested on a kernel that permits them).

}  // namespace lmzip::eval
