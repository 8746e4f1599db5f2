// The code sandbox (sandbox.h). Three processes per run when the kernel permits namespaces:
//
//   lmzip ──fork──> supervisor ──unshare(PID|NS|NET|IPC[|USER]), fork──> init (PID 1) ──fork──> program (PID 2)
//
// The supervisor stays in the host's PID namespace and owns the wall clock: on time-out it SIGKILLs init. Init
// builds the new root and reaps; when the program ends it exits. Either way init's exit makes the kernel kill every
// process left in the namespace and wait for them all, so when the supervisor's waitpid(init) returns nothing of
// the sample is alive, nor a zombie holding an RLIMIT_NPROC slot. The parent waits for the supervisor.
//
// The supervisor is forked with glibc's fork() (which leaves the child's malloc usable even when lmzip has
// threads); still, everything the children use is prepared before the fork (Plan), so they only make syscalls.
#include "lmzip/eval/sandbox.h"

#include <fcntl.h>
#include <grp.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sched.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstddef>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <map>
#include <mutex>
#include <thread>

#include "lmzip/core/error.h"
#include "lmzip/io/file.h"

namespace lmzip::eval {
namespace {

constexpr uid_t kNobody = 65534;

// ---- Limits ----

void check_limits(const SandboxLimits& l) {
  auto bad = [](const std::string& what) { throw Error("sandbox: " + what); };
  if (!(l.wall_seconds > 0 && l.wall_seconds <= 86400)) bad("wall-clock limit must be in (0, 86400] seconds");
  if (l.cpu_seconds < 1 || l.cpu_seconds > 86400) bad("CPU limit must be 1..86400 seconds");
  if (l.memory_bytes == 0 || l.memory_bytes > (1ull << 40)) bad("memory limit must be in (0, 1 TiB]");
  if (l.file_bytes == 0 || l.file_bytes > (1ull << 40)) bad("file-size limit must be in (0, 1 TiB]");
  if (l.tmp_bytes == 0 || l.tmp_bytes > (1ull << 40)) bad("/tmp size must be in (0, 1 TiB]");
  if (l.max_processes < 1 || l.max_processes > 65536) bad("process limit must be 1..65536");
  if (l.python.empty()) bad("no python interpreter given");
}

void set_limit(int resource, rlim_t value) {
  rlimit r{value, value};
  setrlimit(resource, &r);
}

// ---- Reports from the sandbox's processes to lmzip (one pipe, fixed-size records) ----

struct Report {
  char kind = 0;      // 'E': setting up the sandbox failed at `step` with errno `value`; 'X': the program ended
                      // with wait status `value`; 'T': the supervisor killed it at the wall-clock limit
  int value = 0;
  char step[56] = {};
};

void send(int fd, char kind, int value, const char* step = "") {
  Report r;
  r.kind = kind;
  r.value = value;
  for (size_t i = 0; step[i] && i + 1 < sizeof(r.step); ++i) r.step[i] = step[i];
  (void)!write(fd, &r, sizeof(r));  // < PIPE_BUF: atomic
}

// ---- The plan: every path, string and flag the children need, built before fork ----

// A host path shown read-only in the new root: a directory or file bind-mounted, or a symlink copied.
struct RootEntry {
  enum Kind { Dir, File, Symlink } kind;
  std::string target;        // inside the new root (root + path)
  std::string host;          // the host path (Dir, File) or the link's text (Symlink)
  unsigned long flags = 0;   // the host mount's flags a read-only remount must keep (noexec, atime)
};

struct Plan {
  // Both modes.
  int output = -1, report = -1;
  SandboxLimits limits;
  std::vector<std::string> env_strings, pythons;  // pythons: the interpreter paths to try, in order
  std::vector<char*> env;
  std::string script;  // the program's path as the interpreter sees it
  bool drop_to_nobody = false;
  // Namespaces.
  int ns_flags = 0;
  std::string uid_map, gid_map;  // when a user namespace is needed (not root)
  std::string root, old_root, tmp, tmp_opts, shm, shm_opts, proc, dev;
  std::vector<std::string> mkdirs;  // parents first
  std::vector<RootEntry> entries;
  std::vector<std::pair<std::string, std::string>> devices;   // host node, target
  std::vector<std::pair<std::string, std::string>> dev_links;  // link text, target
  std::string program_text, program_file;  // the program, written into the new /tmp
  // Unconfined (--unsafe-exec).
  std::string workdir;
};

unsigned long keep_flags(const std::string& host) {
  struct statvfs s{};
  if (statvfs(host.c_str(), &s) != 0) return 0;
  unsigned long f = 0;
  if (s.f_flag & ST_NOEXEC) f |= MS_NOEXEC;
  if (s.f_flag & ST_NOATIME) f |= MS_NOATIME;
  if (s.f_flag & ST_NODIRATIME) f |= MS_NODIRATIME;
  if (s.f_flag & ST_RELATIME) f |= MS_RELATIME;
  return f;
}

// What the program may read: the system's directories (merged-/usr symlinks copied as symlinks), the
// interpreter's prefix when given as a path, and SandboxLimits::read_only_paths.
void plan_root_entries(Plan& p) {
  namespace fs = std::filesystem;
  std::vector<std::string> paths = {"/usr", "/etc", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32"};
  if (p.limits.python.find('/') != std::string::npos) {
    paths.push_back(fs::path(p.limits.python).lexically_normal().parent_path().parent_path().string());
  }
  for (const std::string& extra : p.limits.read_only_paths) paths.push_back(fs::path(extra).lexically_normal().string());
  std::vector<std::string> shown;
  for (const std::string& path : paths) {
    if (path.empty() || path[0] != '/' || path == "/") continue;
    bool covered = false;
    for (const std::string& s : shown) covered |= path == s || path.rfind(s + "/", 0) == 0;
    if (covered) continue;
    struct stat st{};
    if (lstat(path.c_str(), &st) != 0) continue;
    // Parents of a nested path (e.g. /opt for /opt/venv) as plain directories of the new root.
    for (fs::path parent = fs::path(path).parent_path(); parent != "/"; parent = parent.parent_path()) {
      p.mkdirs.push_back(p.root + parent.string());
    }
    RootEntry e{.kind = RootEntry::Dir, .target = p.root + path, .host = path};
    if (S_ISLNK(st.st_mode)) {
      std::error_code ec;
      e.kind = RootEntry::Symlink;
      e.host = fs::read_symlink(path, ec).string();
      if (ec) continue;
    } else if (S_ISREG(st.st_mode)) {
      e.kind = RootEntry::File;
    } else if (!S_ISDIR(st.st_mode)) {
      continue;
    }
    e.flags = keep_flags(path);
    p.entries.push_back(e);
    shown.push_back(path);
  }
  // Parents first: shorter paths before longer ones; duplicates are harmless (mkdir's EEXIST is ignored).
  std::sort(p.mkdirs.begin(), p.mkdirs.end(), [](const std::string& a, const std::string& b) { return a.size() < b.size(); });
}

void plan_namespaces(Plan& p, const std::string& mount_point) {
  const bool root = geteuid() == 0;
  p.ns_flags = CLONE_NEWPID | CLONE_NEWNS | CLONE_NEWNET | CLONE_NEWIPC;
  if (!root) {
    // An unprivileged user may create the other namespaces inside its own user namespace; the program runs as
    // 65534 there (mapped to lmzip's own uid) and exec() leaves it no capabilities.
    p.ns_flags |= CLONE_NEWUSER;
    p.uid_map = "65534 " + std::to_string(getuid()) + " 1";
    p.gid_map = "65534 " + std::to_string(getgid()) + " 1";
  }
  p.drop_to_nobody = root;
  p.root = mount_point;
  p.old_root = p.root + "/.old";
  p.tmp = p.root + "/tmp";
  p.tmp_opts = "size=" + std::to_string(p.limits.tmp_bytes) + ",mode=0700,uid=65534,gid=65534";
  p.dev = p.root + "/dev";
  p.shm = p.dev + "/shm";
  p.shm_opts = "size=" + std::to_string(std::min<uint64_t>(p.limits.tmp_bytes, 64ull << 20)) + ",mode=1777";
  p.proc = p.root + "/proc";
  for (const char* d : {"null", "zero", "full", "random", "urandom"}) {
    p.devices.emplace_back(std::string("/dev/") + d, p.dev + "/" + d);
  }
  p.dev_links = {{"/proc/self/fd", p.dev + "/fd"}, {"/proc/self/fd/0", p.dev + "/stdin"},
                 {"/proc/self/fd/1", p.dev + "/stdout"}, {"/proc/self/fd/2", p.dev + "/stderr"}};
  p.program_file = p.tmp + "/program.py";
  p.script = "/tmp/program.py";
  plan_root_entries(p);
}

void plan_exec(Plan& p, const std::string& home) {
  // One BLAS/OpenMP thread (threads count against RLIMIT_NPROC), plots without a display, and DS-1000's
  // test_ds1000.py settings (TF_CPP_MIN_LOG_LEVEL=3, CUDA_VISIBLE_DEVICES=-1).
  p.env_strings = {"PATH=/usr/bin:/bin", "HOME=" + home, "PYTHONDONTWRITEBYTECODE=1", "PYTHONHASHSEED=0",
                   "OPENBLAS_NUM_THREADS=1", "OMP_NUM_THREADS=1", "MKL_NUM_THREADS=1", "MPLBACKEND=Agg",
                   "TF_CPP_MIN_LOG_LEVEL=3", "CUDA_VISIBLE_DEVICES=-1", "LANG=C.UTF-8"};
  for (std::string& s : p.env_strings) p.env.push_back(s.data());
  p.env.push_back(nullptr);
  // Looked up here, not through execvpe (which searches lmzip's own PATH, not the program's).
  if (p.limits.python.find('/') != std::string::npos) p.pythons = {p.limits.python};
  else p.pythons = {"/usr/bin/" + p.limits.python, "/bin/" + p.limits.python};
}

// ---- In the program's process, just before exec ----

// Syscalls no test program needs and a hostile one could use against the host or the sandbox: debugging other
// processes, mounts and namespaces (the root and the PID namespace are the confinement), kernel keys, bpf,
// perf, userfaultfd, io_uring (whose operations seccomp cannot see), modules, kexec, reboot, swap. clone3 answers
// ENOSYS (its flags are in memory, out of the filter's sight): glibc then falls back to clone, whose flags are
// checked here.
void install_seccomp() {
#if defined(__x86_64__)
  constexpr uint32_t kArch = AUDIT_ARCH_X86_64;
#elif defined(__aarch64__)
  constexpr uint32_t kArch = AUDIT_ARCH_AARCH64;
#else
  constexpr uint32_t kArch = 0;
#endif
  if (kArch == 0) return;
  static const long denied[] = {
      SYS_ptrace, SYS_process_vm_readv, SYS_process_vm_writev, SYS_mount, SYS_umount2, SYS_pivot_root,
      SYS_chroot, SYS_unshare, SYS_setns, SYS_keyctl, SYS_add_key, SYS_request_key, SYS_bpf,
      SYS_perf_event_open, SYS_userfaultfd, SYS_init_module, SYS_finit_module, SYS_delete_module,
      SYS_kexec_load, SYS_reboot, SYS_swapon, SYS_swapoff, SYS_open_by_handle_at, SYS_name_to_handle_at,
#ifdef SYS_kexec_file_load
      SYS_kexec_file_load,
#endif
#ifdef SYS_io_uring_setup
      SYS_io_uring_setup, SYS_io_uring_enter, SYS_io_uring_register,
#endif
#ifdef SYS_fsopen
      SYS_fsopen, SYS_fsconfig, SYS_fsmount, SYS_fspick, SYS_move_mount, SYS_open_tree,
#endif
#ifdef SYS_mount_setattr
      SYS_mount_setattr,
#endif
  };
  constexpr uint32_t kNewNamespaces = CLONE_NEWNS | CLONE_NEWUSER | CLONE_NEWPID | CLONE_NEWNET | CLONE_NEWIPC |
                                      CLONE_NEWUTS | CLONE_NEWCGROUP;
  std::vector<sock_filter> f;  // (a fork()ed single-threaded child: allocation is safe)
  auto stmt = [&](uint16_t code, uint32_t k) { f.push_back(BPF_STMT(code, k)); };
  auto jump = [&](uint16_t code, uint32_t k, uint8_t jt, uint8_t jf) { f.push_back(BPF_JUMP(code, k, jt, jf)); };
  const uint32_t eperm = SECCOMP_RET_ERRNO | EPERM;
  stmt(BPF_LD | BPF_W | BPF_ABS, offsetof(seccomp_data, arch));
  jump(BPF_JMP | BPF_JEQ | BPF_K, kArch, 1, 0);
  stmt(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS);
  stmt(BPF_LD | BPF_W | BPF_ABS, offsetof(seccomp_data, nr));
#if defined(__x86_64__)
  jump(BPF_JMP | BPF_JGE | BPF_K, 0x40000000u, 0, 1);  // the x32 ABI: another syscall table
  stmt(BPF_RET | BPF_K, eperm);
#endif
  for (long nr : denied) {
    jump(BPF_JMP | BPF_JEQ | BPF_K, static_cast<uint32_t>(nr), 0, 1);
    stmt(BPF_RET | BPF_K, eperm);
  }
  jump(BPF_JMP | BPF_JEQ | BPF_K, SYS_clone3, 0, 1);
  stmt(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | ENOSYS);
  jump(BPF_JMP | BPF_JEQ | BPF_K, SYS_clone, 0, 3);
  stmt(BPF_LD | BPF_W | BPF_ABS, offsetof(seccomp_data, args[0]));  // the flags' low 32 bits (little endian)
  jump(BPF_JMP | BPF_JSET | BPF_K, kNewNamespaces, 0, 1);
  stmt(BPF_RET | BPF_K, eperm);
  stmt(BPF_RET | BPF_K, SECCOMP_RET_ALLOW);
  sock_fprog prog{static_cast<unsigned short>(f.size()), f.data()};
  if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 || prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog) != 0) {
    _exit(126);  // never run the program with less confinement than documented
  }
}

[[noreturn]] void exec_program(const Plan& p, bool confined) {
  const SandboxLimits& l = p.limits;
  int in = open("/dev/null", O_RDONLY);
  if (in < 0) _exit(126);
  dup2(in, 0), dup2(p.output, 1), dup2(p.output, 2);
  // Soft limit: SIGXCPU (reported as a timeout); the hard limit a second later: SIGKILL.
  rlimit cpu{static_cast<rlim_t>(l.cpu_seconds), static_cast<rlim_t>(l.cpu_seconds) + 1};
  setrlimit(RLIMIT_CPU, &cpu);
  set_limit(RLIMIT_AS, l.memory_bytes);
  set_limit(RLIMIT_FSIZE, l.file_bytes);
  set_limit(RLIMIT_CORE, 0);
  set_limit(RLIMIT_NPROC, static_cast<rlim_t>(l.max_processes));
  // Root ignores RLIMIT_NPROC and may do anything: the program runs as nobody, without root's groups.
  if (p.drop_to_nobody && (setgroups(0, nullptr) != 0 || setgid(kNobody) != 0 || setuid(kNobody) != 0)) _exit(126);
  if (confined) install_seccomp();
  char* const argv[] = {const_cast<char*>(l.python.c_str()), const_cast<char*>("-I"),
                        const_cast<char*>(p.script.c_str()), nullptr};
  for (const std::string& python : p.pythons) execve(python.c_str(), argv, p.env.data());
  _exit(127);
}

// ---- Init (PID 1 of the new namespace): builds the root, starts the program, reaps ----

[[noreturn]] void setup_failed(const Plan& p, const char* step) {
  send(p.report, 'E', errno, step);
  _exit(125);
}

void bind_read_only(const Plan& p, const std::string& host, const std::string& target, unsigned long keep) {
  if (mount(host.c_str(), target.c_str(), nullptr, MS_BIND | MS_REC, nullptr) != 0) setup_failed(p, "bind mount");
  const unsigned long ro = MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | MS_NODEV | keep;
  if (mount(nullptr, target.c_str(), nullptr, ro, nullptr) != 0) setup_failed(p, "read-only remount");
}

void write_id_maps(const Plan& p) {
  auto put = [&](const char* file, const std::string& text) {
    int fd = open(file, O_WRONLY | O_CLOEXEC);
    if (fd < 0 || write(fd, text.data(), text.size()) != static_cast<ssize_t>(text.size())) {
      setup_failed(p, "user namespace id map");
    }
    close(fd);
  };
  put("/proc/self/setgroups", "deny");
  put("/proc/self/uid_map", p.uid_map);
  put("/proc/self/gid_map", p.gid_map);
}

void build_dev(const Plan& p) {
  if (mkdir(p.dev.c_str(), 0755) != 0 ||
      mount("tmpfs", p.dev.c_str(), "tmpfs", MS_NOSUID | MS_NOEXEC, "size=64k,mode=0755") != 0) {
    setup_failed(p, "/dev");
  }
  for (const auto& [host, target] : p.devices) {
    int fd = open(target.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0666);
    if (fd < 0) setup_failed(p, "/dev node");
    close(fd);
    if (mount(host.c_str(), target.c_str(), nullptr, MS_BIND, nullptr) != 0) setup_failed(p, "/dev node bind");
  }
  for (const auto& [text, target] : p.dev_links) (void)!symlink(text.c_str(), target.c_str());
  if (mkdir(p.shm.c_str(), 01777) != 0 ||
      mount("tmpfs", p.shm.c_str(), "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, p.shm_opts.c_str()) != 0) {
    setup_failed(p, "/dev/shm");
  }
  // (In a user namespace init and the program share a uid: only a read-only /dev keeps it unwritable.)
  if (mount(nullptr, p.dev.c_str(), nullptr, MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NOEXEC, nullptr) != 0) {
    setup_failed(p, "read-only /dev");
  }
}

// The program's /tmp: a fresh tmpfs of limits.tmp_bytes owned by 65534, holding the program.
void build_tmp(const Plan& p) {
  if (mkdir(p.tmp.c_str(), 0700) != 0 ||
      mount("tmpfs", p.tmp.c_str(), "tmpfs", MS_NOSUID | MS_NODEV, p.tmp_opts.c_str()) != 0) {
    setup_failed(p, "/tmp");
  }
  int fd = open(p.program_file.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  if (fd < 0) setup_failed(p, "writing the program");
  for (size_t done = 0; done < p.program_text.size();) {
    ssize_t n = write(fd, p.program_text.data() + done, p.program_text.size() - done);
    if (n <= 0) setup_failed(p, "writing the program");
    done += static_cast<size_t>(n);
  }
  close(fd);
}

void build_root(const Plan& p) {
  // Our mounts must not propagate back to the host (nor the host's into the sandbox).
  if (mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0) setup_failed(p, "private mounts");
  if (mount("tmpfs", p.root.c_str(), "tmpfs", MS_NOSUID | MS_NODEV, "size=1m,mode=0755") != 0) {
    setup_failed(p, "root tmpfs");
  }
  for (const std::string& d : p.mkdirs) {
    if (mkdir(d.c_str(), 0755) != 0 && errno != EEXIST) setup_failed(p, "mkdir in the new root");
  }
  for (const RootEntry& e : p.entries) {
    if (e.kind == RootEntry::Symlink) {
      if (symlink(e.host.c_str(), e.target.c_str()) != 0) setup_failed(p, "symlink in the new root");
      continue;
    }
    if (e.kind == RootEntry::Dir ? mkdir(e.target.c_str(), 0755) != 0 && errno != EEXIST
                                 : close(open(e.target.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0644)) != 0) {
      setup_failed(p, "mount point in the new root");
    }
    bind_read_only(p, e.host, e.target, e.flags);
  }
  build_dev(p);
  build_tmp(p);
  // A /proc of the new PID namespace shows only the sandbox's own processes. Optional: Python runs without it.
  if (mkdir(p.proc.c_str(), 0555) == 0) {
    (void)mount("proc", p.proc.c_str(), "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, nullptr);
  }
  // Enter the new root; the old one is detached, so no path leads back to the host's files.
  if (mkdir(p.old_root.c_str(), 0700) != 0) setup_failed(p, "mkdir old root");
  if (syscall(SYS_pivot_root, p.root.c_str(), p.old_root.c_str()) == 0) {
    if (chdir("/") != 0 || umount2("/.old", MNT_DETACH) != 0) setup_failed(p, "detaching the old root");
    rmdir("/.old");
  } else if (chroot(p.root.c_str()) != 0) {  // e.g. an initramfs root, which pivot_root refuses
    setup_failed(p, "pivot_root and chroot");
  }
  if (chdir("/tmp") != 0) setup_failed(p, "chdir /tmp");
  // The root itself (its mount points) read-only: /tmp and /dev/shm are the only writable places.
  if (mount(nullptr, "/", nullptr, MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV, nullptr) != 0) {
    setup_failed(p, "read-only root");
  }
}

[[noreturn]] void namespace_init(const Plan& p) {
  build_root(p);
  // Not dumpable: its /proc/1 entries belong to root, and (in a user namespace, where it shares the program's
  // uid) the program cannot open its memory. The program's exec makes the program itself dumpable again.
  prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
  const pid_t program = fork();
  if (program < 0) setup_failed(p, "fork of the program");
  if (program == 0) exec_program(p, true);
  // PID 1 reaps whatever is orphaned in the namespace; the program's end is the sample's end.
  for (;;) {
    int status = 0;
    const pid_t done = waitpid(-1, &status, 0);
    if (done == program) send(p.report, 'X', status);
    if (done == program || (done < 0 && errno != EINTR)) _exit(0);
  }
}

// ---- The supervisor: creates the namespaces, owns the wall clock ----

[[noreturn]] void supervisor(const Plan& p) {
  sigset_t chld;
  sigemptyset(&chld);
  sigaddset(&chld, SIGCHLD);
  sigprocmask(SIG_BLOCK, &chld, nullptr);  // waited for with sigtimedwait
  if (getenv("LMZIP_SANDBOX_NO_NAMESPACES") != nullptr) {
    errno = EPERM;
    setup_failed(p, "unshare (LMZIP_SANDBOX_NO_NAMESPACES)");
  }
  if (unshare(p.ns_flags) != 0) setup_failed(p, "unshare");
  if (!p.uid_map.empty()) write_id_maps(p);
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(p.limits.wall_seconds);
  const pid_t init = fork();
  if (init < 0) setup_failed(p, "fork of init");
  if (init == 0) {
    sigprocmask(SIG_UNBLOCK, &chld, nullptr);
    namespace_init(p);
  }
  for (;;) {
    int status = 0;
    if (waitpid(init, &status, WNOHANG) == init) _exit(0);
    const auto left = deadline - std::chrono::steady_clock::now();
    if (left <= std::chrono::nanoseconds(0)) break;
    const auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(left).count();
    timespec ts{static_cast<time_t>(ns / 1000000000), static_cast<long>(ns % 1000000000)};
    sigtimedwait(&chld, nullptr, &ts);
  }
  // Killing init kills the namespace: every process in it, however it detached itself.
  kill(init, SIGKILL);
  send(p.report, 'T', 0);
  waitpid(init, nullptr, 0);
  _exit(0);
}

// ---- Unconfined (--unsafe-exec, where the kernel refuses the namespaces): the pre-namespace sandbox ----

[[noreturn]] void unconfined_child(const Plan& p, int isolated_report) {
  setsid();  // own process group: the parent kills the group
  char isolated = unshare(geteuid() == 0 ? CLONE_NEWNET : (CLONE_NEWUSER | CLONE_NEWNET)) == 0 ? '1' : '0';
  (void)!write(isolated_report, &isolated, 1);
  if (chdir(p.workdir.c_str()) != 0) _exit(126);
  exec_program(p, false);
}

struct RunOutcome {
  int status = 0;
  bool have_status = false, timed_out = false;
  std::string setup_error;  // non-empty: the sandbox could not be set up
};

RunOutcome run_confined(Plan& plan) {
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0) throw Error("sandbox: pipe failed");
  plan.report = fds[1];
  const pid_t pid = fork();
  if (pid < 0) {
    close(fds[0]), close(fds[1]);
    throw Error("sandbox: fork failed");
  }
  if (pid == 0) supervisor(plan);
  close(fds[1]);
  while (waitpid(pid, nullptr, 0) < 0 && errno == EINTR) {}
  RunOutcome o;
  Report r;
  while (read(fds[0], &r, sizeof(r)) == static_cast<ssize_t>(sizeof(r))) {
    if (r.kind == 'E') o.setup_error = std::string(r.step) + ": " + std::strerror(r.value);
    if (r.kind == 'X') o.status = r.value, o.have_status = true;
    if (r.kind == 'T') o.timed_out = true;
  }
  close(fds[0]);
  if (!o.have_status && !o.timed_out && o.setup_error.empty()) o.status = SIGKILL, o.have_status = true;
  return o;
}

// The pre-namespace sandbox: the program in a host temporary directory (dir/work, handed to 65534), the
// rlimits, the uid drop and a process-group kill.
RunOutcome run_unconfined(Plan& plan, const std::string& program, const std::string& dir, bool& network_isolated) {
  plan.workdir = dir + "/work";
  std::filesystem::create_directory(plan.workdir);
  if (geteuid() == 0 && chown(plan.workdir.c_str(), kNobody, kNobody) != 0) {
    throw Error("sandbox: cannot hand " + plan.workdir + " to uid 65534");
  }
  chmod(dir.c_str(), 0711);
  plan.script = plan.workdir + "/program.py";
  plan.env_strings.clear(), plan.env.clear();
  plan_exec(plan, plan.workdir);
  write_file_atomic(plan.script, program);
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0) throw Error("sandbox: pipe failed");
  const auto start = std::chrono::steady_clock::now();
  const pid_t pid = fork();
  if (pid < 0) throw Error("sandbox: fork failed");
  if (pid == 0) unconfined_child(plan, fds[1]);
  close(fds[1]);
  char isolated = '0';
  network_isolated = read(fds[0], &isolated, 1) == 1 && isolated == '1';
  close(fds[0]);
  RunOutcome o;
  auto elapsed = [&] { return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count(); };
  while (waitpid(pid, &o.status, WNOHANG) == 0) {
    if (elapsed() > plan.limits.wall_seconds) {
      o.timed_out = true;
      kill(-pid, SIGKILL);
      waitpid(pid, &o.status, 0);
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  o.have_status = !o.timed_out;
  kill(-pid, SIGKILL);  // stragglers in the group (not those that left it: the reason for the namespaces)
  return o;
}

std::string make_temp_dir() {
  std::string tmpl = (std::filesystem::temp_directory_path() / "lmzip-sandbox-XXXXXX").string();
  if (!mkdtemp(tmpl.data())) throw Error("sandbox: cannot create a temporary directory in " + tmpl);
  return tmpl;
}

// The output the program wrote to its stdout/stderr (a memory file: nothing of it on the host's disk).
std::string read_tail(int fd, size_t max) {
  const off_t size = lseek(fd, 0, SEEK_END);
  if (size <= 0) return "";
  const off_t from = size > static_cast<off_t>(max) ? size - static_cast<off_t>(max) : 0;
  std::string out(static_cast<size_t>(size - from), '\0');
  const ssize_t n = pread(fd, out.data(), out.size(), from);
  out.resize(n > 0 ? static_cast<size_t>(n) : 0);
  return out;
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
  check_limits(limits);
  const auto start = std::chrono::steady_clock::now();
  const std::string dir = make_temp_dir();  // the new root's mount point (or, unconfined, the working directory)
  struct Cleanup {
    std::string dir;
    int fd = -1;
    ~Cleanup() {
      if (fd >= 0) close(fd);
      std::error_code ec;
      std::filesystem::remove_all(dir, ec);
    }
  } cleanup{dir, -1};
  Plan plan;
  plan.limits = limits;
  plan.output = cleanup.fd = memfd_create("lmzip-sandbox-output", 0);
  if (plan.output < 0) throw Error("sandbox: memfd_create failed");
  plan.program_text = program;
  plan_namespaces(plan, dir);
  plan_exec(plan, "/tmp");
  SandboxResult r;
  RunOutcome o = run_confined(plan);
  if (o.setup_error.empty()) {
    r.isolated = r.network_isolated = true;
    r.isolation = "namespaces";
  } else {
    if (!limits.allow_unsafe) {
      throw Error("sandbox: cannot confine untrusted code on this machine (" + o.setup_error +
                  "): the sandbox needs PID, mount, network and IPC namespaces (docs/EVAL.md); refusing to run "
                  "it. lmzip eval --unsafe-exec runs it anyway with only rlimits, a uid drop and a process-group "
                  "kill");
    }
    r.isolation = "none (--unsafe-exec): " + o.setup_error;
    o = run_unconfined(plan, program, dir, r.network_isolated);
  }
  r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  if (o.have_status && WIFEXITED(o.status)) r.exit_code = WEXITSTATUS(o.status);
  if (o.have_status && WIFSIGNALED(o.status)) r.signal = WTERMSIG(o.status);
  if (o.timed_out || r.signal == SIGXCPU) r.status = SandboxStatus::TimedOut;
  else if (r.signal != 0) r.status = SandboxStatus::Crashed;
  else r.status = r.exit_code == 0 ? SandboxStatus::Passed : SandboxStatus::Failed;
  r.output = read_tail(plan.output, 4096);
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
