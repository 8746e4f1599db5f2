// The code-execution sandbox against hostile programs: every one ends, fails, and leaves nothing behind.
#include <gtest/gtest.h>

#include "lmzip/eval/sandbox.h"

namespace lmzip::eval {
namespace {

SandboxLimits quick() { return {.wall_seconds = 2.0, .cpu_seconds = 1, .memory_bytes = 512ull << 20,
                                .file_bytes = 1ull << 20, .max_processes = 16, .python = "python3"}; }

TEST(Sandbox, PassingAndFailingPrograms) {
  SandboxResult ok = run_python_sandboxed("def add(a, b):\n    return a + b\nassert add(2, 3) == 5\nprint('hi')\n", quick());
  EXPECT_EQ(ok.status, SandboxStatus::Passed) << ok.output;
  EXPECT_EQ(ok.output, "hi\n");
  SandboxResult bad = run_python_sandboxed("assert 1 + 1 == 3\n", quick());
  EXPECT_EQ(bad.status, SandboxStatus::Failed);
  EXPECT_NE(bad.output.find("AssertionError"), std::string::npos) << bad.output;
}

TEST(Sandbox, InfiniteLoopHitsTheCpuLimit) {
  SandboxResult r = run_python_sandboxed("while True:\n    pass\n", quick());
  EXPECT_EQ(r.status, SandboxStatus::TimedOut);
  EXPECT_LT(r.seconds, 2.5);
}

TEST(Sandbox, SleepingProgramHitsTheWallClockLimit) {
  SandboxLimits l = quick();
  l.wall_seconds = 0.5;
  SandboxResult r = run_python_sandboxed("import time\ntime.sleep(60)\n", l);
  EXPECT_EQ(r.status, SandboxStatus::TimedOut);
  EXPECT_LT(r.seconds, 1.5);
}

TEST(Sandbox, HugeAllocationFails) {
  SandboxResult r = run_python_sandboxed("x = bytearray(8 << 30)\nprint('allocated')\n", quick());
  EXPECT_NE(r.status, SandboxStatus::Passed);
  EXPECT_EQ(r.output.find("allocated"), std::string::npos);
  EXPECT_NE(r.output.find("MemoryError"), std::string::npos) << r.output;
}

TEST(Sandbox, ForkBombIsRefused) {
  const char* bomb =
      "import os, time\n"
      "n = 0\n"
      "try:\n"
      "    for i in range(500):\n"
      "        if os.fork() == 0:\n"
      "            time.sleep(30)\n"
      "            os._exit(0)\n"
      "        n += 1\n"
      "except OSError:\n"
      "    print('fork refused after', n)\n"
      "    raise SystemExit(3)\n";
  SandboxResult r = run_python_sandboxed(bomb, quick());
  EXPECT_EQ(r.status, SandboxStatus::Failed) << r.output;
  EXPECT_EQ(r.exit_code, 3);
  EXPECT_NE(r.output.find("fork refused after"), std::string::npos) << r.output;
  EXPECT_LT(r.seconds, 2.5);
}

TEST(Sandbox, NetworkIsUnreachable) {
  SandboxResult r = run_python_sandboxed(
      "import socket\ns = socket.create_connection(('1.1.1.1', 80), timeout=1)\nprint('connected')\n", quick());
  if (!r.network_isolated) {
    GTEST_SKIP() << "unshare(CLONE_NEWNET) is refused on this machine: programs run with the network (each sample "
                    "logs network_isolated=false)";
  }
  EXPECT_NE(r.status, SandboxStatus::Passed);
  EXPECT_EQ(r.output.find("connected"), std::string::npos);
  EXPECT_NE(r.output.find("OSError"), std::string::npos) << r.output;  // "Network is unreachable"
}

}  // namespace
}  // namespace lmzip::eval
