// The code-execution sandbox against hostile programs: every one ends, fails, and leaves nothing behind.
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <random>

#include "lmzip/core/error.h"
#include "lmzip/eval/sandbox.h"

namespace lmzip::eval {
namespace {

SandboxLimits quick() {
  SandboxLimits l;
  l.wall_seconds = 2.0, l.cpu_seconds = 1, l.memory_bytes = 512ull << 20, l.file_bytes = 1ull << 20;
  l.max_processes = 16;
  return l;
}

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


// ---- Escapes (docs/EVAL.md "The code sandbox"): each of these got out of the old process-group sandbox ----

// A host directory the test owns, world-writable like /tmp (so only the sandbox can keep a program out of it).
struct HostDir {
  std::string path;
  explicit HostDir(mode_t mode = 01777) {
    path = (std::filesystem::temp_directory_path() / "lmzip-sandbox-test-XXXXXX").string();
    if (!mkdtemp(path.data())) throw std::runtime_error("mkdtemp");
    chmod(path.c_str(), mode);
  }
  ~HostDir() { std::error_code ec; std::filesystem::remove_all(path, ec); }
};

std::string random_marker() {
  std::random_device rd;
  return "lmzipmarker" + std::to_string(rd()) + std::to_string(rd());
}

// Processes (any uid) whose command line contains `marker`.
int processes_with(const std::string& marker) {
  int n = 0;
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator("/proc", ec)) {
    std::ifstream f(e.path() / "cmdline", std::ios::binary);
    std::string cmd((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
    if (cmd.find(marker) != std::string::npos) ++n;
  }
  return n;
}

// Issue item 1: setsid() + double fork left a daemon running after the sample, which planted a file in the
// next sample's temporary directory and made it pass.
TEST(SandboxEscape, DaemonDoesNotOutliveItsSampleNorReachTheNext) {
  const std::string marker = random_marker();
  const std::string daemon =
      "import os, sys, glob, time\n"
      "if os.fork() == 0:\n"
      "    os.setsid()\n"
      "    if os.fork() == 0:\n"
      "        # the daemon: plant a file in every sandbox directory it can see, for 3 s, then linger\n"
      "        end = time.time() + 3\n"
      "        while time.time() < end:\n"
      "            for d in glob.glob('/tmp/lmzip-sandbox-*') + glob.glob('/tmp/*/') + ['/tmp', '.']:\n"
      "                try:\n"
      "                    open(os.path.join(d, 'planted'), 'w').write('x')\n"
      "                except OSError:\n"
      "                    pass\n"
      "            time.sleep(0.05)\n"
      "        os.execv(sys.executable, [sys.executable, '-c', 'import time; time.sleep(40)', '" + marker + "'])\n"
      "    os._exit(0)\n"
      "os.wait()\n"
      "os.execv(sys.executable, [sys.executable, '-c', 'pass', '" + marker + "'])\n";
  SandboxResult first = run_python_sandboxed(daemon, quick());
  EXPECT_EQ(first.status, SandboxStatus::Passed) << first.output;
  // The next sample passes only if something planted the file in its directory.
  SandboxResult next = run_python_sandboxed(
      "import os, time\ntime.sleep(1.0)\nraise SystemExit(0 if os.path.exists('planted') else 1)\n", quick());
  EXPECT_EQ(next.status, SandboxStatus::Failed) << "a file planted by the previous sample made this one pass";
  EXPECT_EQ(processes_with(marker), 0) << "the daemon outlived its sample";
}

// Issue item 2: a filesystem Unix socket created outside the sandbox (mode 0777) was reachable.
TEST(SandboxEscape, UnixSocketOutsideIsUnreachable) {
  HostDir dir;
  const std::string path = dir.path + "/s.sock";
  int listener = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0);
  ASSERT_GE(listener, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  ASSERT_LT(path.size(), sizeof(addr.sun_path));
  std::copy(path.begin(), path.end(), addr.sun_path);
  ASSERT_EQ(bind(listener, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
  chmod(path.c_str(), 0777);
  ASSERT_EQ(listen(listener, 4), 0);
  SandboxResult r = run_python_sandboxed(
      "import socket\ns = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)\ns.connect('" + path +
      "')\ns.sendall(b'escaped')\nprint('connected')\n", quick());
  EXPECT_NE(r.status, SandboxStatus::Passed) << r.output;
  EXPECT_EQ(r.output.find("connected"), std::string::npos) << r.output;
  int conn = accept(listener, nullptr, nullptr);  // non-blocking: a connection would wait in the backlog
  EXPECT_LT(conn, 0) << "the program connected to the host socket";
  if (conn >= 0) close(conn);
  close(listener);
}

// Issue item 3: a program wrote into a world-writable directory outside its own.
TEST(SandboxEscape, WritesOutsideItsDirectoryFail) {
  HostDir dir;  // 01777, like /tmp
  std::error_code ec;
  std::filesystem::remove("/var/tmp/escaped", ec);  // from an earlier, unconfined run
  SandboxResult r = run_python_sandboxed(
      "import os\nfor d in ['" + dir.path + "', '/tmp/..', '/var/tmp', '/dev/shm/..', '/usr', '/etc']:\n"
      "    try:\n"
      "        open(os.path.join(d, 'escaped'), 'w').write('x')\n"
      "        print('wrote', d)\n"
      "    except OSError:\n"
      "        pass\n"
      "open('mine', 'w').write('own directory is writable')\n", quick());
  EXPECT_EQ(r.status, SandboxStatus::Passed) << r.output;
  EXPECT_EQ(r.output.find("wrote"), std::string::npos) << r.output;
  EXPECT_FALSE(std::filesystem::exists(dir.path + "/escaped"));
  EXPECT_FALSE(std::filesystem::exists("/var/tmp/escaped"));
}

// Issue item 3: a program read a (world-readable) file in another temporary directory.
TEST(SandboxEscape, ReadsOfFilesOutsideFail) {
  HostDir dir(0755);
  const std::string secret = dir.path + "/secret.txt";
  { std::ofstream(secret) << "the answer key"; }
  chmod(secret.c_str(), 0644);
  SandboxResult r = run_python_sandboxed(
      "import os\n"
      "for p in ['" + secret + "', '/root/.bashrc', '/proc/1/environ']:\n"
      "    try:\n"
      "        print('read', p, open(p).read()[:40])\n"
      "    except OSError:\n"
      "        pass\n"
      "print('home', sorted(os.listdir('/home')) if os.path.isdir('/home') else None)\n", quick());
  EXPECT_EQ(r.status, SandboxStatus::Passed) << r.output;
  EXPECT_EQ(r.output.find("answer key"), std::string::npos) << r.output;
  EXPECT_EQ(r.output.find("read"), std::string::npos) << r.output;
}

// Issue item 4: after a fork bomb, the next sample's fork() failed with EAGAIN (the bomb's processes were killed
// but not yet reaped, or escaped the kill with setsid()).
TEST(SandboxEscape, ForkWorksRightAfterAForkBomb) {
  const char* bomb =
      "import os, time\n"
      "for i in range(500):\n"
      "    try:\n"
      "        pid = os.fork()\n"
      "    except OSError:\n"
      "        break\n"
      "    if pid == 0:\n"
      "        os.setsid()\n"
      "        time.sleep(30)\n"
      "        os._exit(0)\n"
      "time.sleep(0.2)\n";
  SandboxResult b = run_python_sandboxed(bomb, quick());
  EXPECT_EQ(b.status, SandboxStatus::Passed) << b.output;
  SandboxResult r = run_python_sandboxed(
      "import os\npids = [os.fork() for _ in range(1)]\n"
      "if pids[0] == 0:\n    os._exit(0)\n"
      "kids = []\n"
      "for i in range(8):\n"
      "    pid = os.fork()\n"
      "    if pid == 0:\n        os._exit(0)\n"
      "    kids.append(pid)\n"
      "for k in kids + pids:\n    os.waitpid(k, 0)\nprint('forked')\n", quick());
  EXPECT_EQ(r.status, SandboxStatus::Passed) << r.output;
  EXPECT_NE(r.output.find("forked"), std::string::npos) << r.output;
}

// What the program sees of itself: PID 2 of its own namespace under an init, uid 65534 without root's groups,
// a /proc of its namespace only, and no ptrace / unshare / mount (seccomp).
TEST(SandboxConfinement, ProgramRunsAsNobodyInItsOwnNamespaces) {
  SandboxResult r = run_python_sandboxed(
      "import os, ctypes\n"
      "assert os.getuid() == 65534 and os.getgid() == 65534, (os.getuid(), os.getgid())\n"
      "assert os.getgroups() in ([], [65534]), os.getgroups()\n"
      "assert os.getpid() == 2 and os.getppid() == 1, (os.getpid(), os.getppid())\n"
      "assert os.getcwd() == '/tmp' and os.path.exists('/tmp/program.py')\n"
      "procs = [p for p in os.listdir('/proc') if p.isdigit()]\n"
      "assert sorted(procs, key=int) == ['1', '2'], procs\n"
      "libc = ctypes.CDLL(None, use_errno=True)\n"
      "assert libc.ptrace(16, 1, 0, 0) == -1  # PTRACE_ATTACH init\n"
      "assert libc.unshare(0x10000000) == -1  # CLONE_NEWUSER\n"
      "assert sorted(os.listdir('/')) == sorted(set(os.listdir('/')) & {'bin', 'dev', 'etc', 'lib', 'lib32', "
      "'lib64', 'libx32', 'proc', 'sbin', 'tmp', 'usr'}), os.listdir('/')\n"
      "open('/dev/shm/x', 'w').write('private shm')\n"
      "print('confined')\n", quick());
  if (!r.isolated) GTEST_SKIP() << r.isolation;
  EXPECT_EQ(r.status, SandboxStatus::Passed) << r.output;
  EXPECT_EQ(r.output, "confined\n");
  EXPECT_EQ(r.isolation, "namespaces");
}

// DS-1000's libraries work inside the read-only root (BLAS through /etc/alternatives, matplotlib's config in
// /etc and its cache under HOME=/tmp).
TEST(SandboxConfinement, ScientificStackImportsAndPlots) {
  SandboxLimits l = quick();
  l.wall_seconds = 60, l.cpu_seconds = 60, l.memory_bytes = 4ull << 30;
  SandboxResult r = run_python_sandboxed(
      "import numpy as np, pandas as pd, scipy.linalg, matplotlib.pyplot as plt\n"
      "try:\n    import sklearn.linear_model\nexcept ImportError:\n    pass\n"
      "a = np.random.default_rng(0).normal(size=(50, 50))\n"
      "assert np.allclose(scipy.linalg.inv(a) @ a, np.eye(50), atol=1e-8)\n"
      "df = pd.DataFrame({'x': [1, 2, 3]})\nassert df.x.sum() == 6\n"
      "plt.plot([1, 2, 3])\nplt.savefig('plot.png')\nprint('ok')\n", l);
  if (r.output.find("No module named") != std::string::npos) GTEST_SKIP() << r.output;
  EXPECT_EQ(r.status, SandboxStatus::Passed) << r.output;
}

// Where the kernel refuses the namespaces, untrusted code is not run, unless allow_unsafe (--unsafe-exec); then
// the result says it ran unconfined.
TEST(SandboxConfinement, RefusesToRunUnconfinedUnlessAllowed) {
  setenv("LMZIP_SANDBOX_NO_NAMESPACES", "1", 1);
  SandboxLimits l = quick();
  try {
    run_python_sandboxed("print('ran')\n", l);
    ADD_FAILURE() << "ran without confinement";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("--unsafe-exec"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("unshare"), std::string::npos) << e.what();
  }
  l.allow_unsafe = true;
  SandboxResult r = run_python_sandboxed("print('ran')\n", l);
  unsetenv("LMZIP_SANDBOX_NO_NAMESPACES");
  EXPECT_EQ(r.status, SandboxStatus::Passed) << r.output;
  EXPECT_EQ(r.output, "ran\n");
  EXPECT_FALSE(r.isolated);
  EXPECT_EQ(r.isolation.rfind("none (--unsafe-exec): unshare", 0), 0u) << r.isolation;
}

// Issue item 5 (the sandbox's side): limits that would disable a guard are refused, not run.
TEST(SandboxLimitsCheck, NonsenseLimitsAreRefused) {
  for (double wall : {0.0, -1.0, 1e9}) {
    SandboxLimits l = quick();
    l.wall_seconds = wall;
    EXPECT_THROW(run_python_sandboxed("pass\n", l), Error) << wall;
  }
  SandboxLimits l = quick();
  l.cpu_seconds = 0;
  EXPECT_THROW(run_python_sandboxed("pass\n", l), Error);
  l = quick();
  l.memory_bytes = 0;
  EXPECT_THROW(run_python_sandboxed("pass\n", l), Error);
  l = quick();
  l.memory_bytes = ~0ull;  // what memory_mb: -1 became: no cap at all
  EXPECT_THROW(run_python_sandboxed("pass\n", l), Error);
  l = quick();
  l.max_processes = 0;
  EXPECT_THROW(run_python_sandboxed("pass\n", l), Error);
}

}  // namespace
}  // namespace lmzip::eval
