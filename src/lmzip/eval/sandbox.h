// Runs untrusted generated code (HumanEval, MBPP programs) in a separate python3 process:
// - its own temporary directory (the working directory and HOME; removed afterwards), stdin /dev/null;
// - a wall-clock limit: the whole process group is killed (SIGKILL) when it runs out, and after every run;
// - setrlimit: CPU seconds, address space, file size, no core files, and a process-count limit (fork bomb guard);
// - no network: unshare(CLONE_NEWNET) (with CLONE_NEWUSER when not root); when the kernel refuses, the run goes
//   ahead and SandboxResult::network_isolated says so;
// - when lmzip runs as root, the child drops to uid/gid 65534 (nobody): root ignores RLIMIT_NPROC, and the
//   program gets no privileges.
// - environment: PATH=/usr/bin:/bin, HOME, one BLAS/OpenMP thread, MPLBACKEND=Agg, TF_CPP_MIN_LOG_LEVEL=3,
//   CUDA_VISIBLE_DEVICES=-1 (DS-1000's settings);
// A timeout, crash or hang is a failed run; it never stalls the caller.
#pragma once

#include <cstdint>
#include <string>

namespace lmzip::eval {

struct SandboxLimits {
  double wall_seconds = 3.0;          // lm-eval / HF code_eval default
  int cpu_seconds = 3;
  uint64_t memory_bytes = 1ull << 30;  // RLIMIT_AS
  uint64_t file_bytes = 16ull << 20;   // RLIMIT_FSIZE
  int max_processes = 16;              // RLIMIT_NPROC (of the sandbox user)
  std::string python = "python3";
};

enum class SandboxStatus { Passed, Failed, TimedOut, Crashed };
const char* status_name(SandboxStatus s);  // "passed", "failed", "timed out", "crashed"

struct SandboxResult {
  SandboxStatus status = SandboxStatus::Failed;
  int exit_code = -1;      // when the process exited
  int signal = 0;          // when a signal ended it
  double seconds = 0;      // wall clock
  bool network_isolated = false;
  std::string output;      // the last 4 KiB of stdout + stderr
};

// Runs `program` (Python source). lmzip::Error only when the sandbox itself cannot be set up (no temp dir,
// fork failed); anything the program does is reported in the result.
SandboxResult run_python_sandboxed(const std::string& program, const SandboxLimits& limits = {});

// Whether `import module` succeeds in the sandbox (the interpreter and environment programs run in). Asked once
// per (python, module) in a process, then answered from a cache; thread-safe. lmzip::Error when `module` is not
// a dotted Python identifier.
bool python_can_import(const std::string& module, const SandboxLimits& limits = {});

}  // namespace lmzip::eval
