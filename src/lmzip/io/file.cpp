#include "lmzip/io/file.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <iostream>
#include <iterator>
#include <random>

#include "lmzip/core/error.h"

namespace lmzip {
namespace {

std::string errno_text() { return std::strerror(errno); }

}  // namespace

MappedFile::MappedFile(const std::string& path) : path_(path) {
  // O_NONBLOCK: a FIFO given as a model must be refused, not wait forever for a writer.
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0) throw Error(path + ": cannot open: " + errno_text());
  struct stat st;
  if (::fstat(fd, &st) != 0) {
    std::string e = errno_text();
    ::close(fd);
    throw Error(path + ": cannot stat: " + e);
  }
  if (S_ISDIR(st.st_mode)) {
    ::close(fd);
    throw Error(path + ": is a directory, expected a file");
  }
  if (!S_ISREG(st.st_mode)) {
    ::close(fd);
    throw Error(path + ": is not a regular file (a FIFO, device or socket cannot be memory-mapped); give a file");
  }
  size_ = static_cast<size_t>(st.st_size);
  if (size_ > 0) {
    void* p = ::mmap(nullptr, size_, PROT_READ, MAP_PRIVATE, fd, 0);
    if (p == MAP_FAILED) {
      std::string e = errno_text();
      ::close(fd);
      throw Error(path + ": cannot memory-map: " + e);
    }
    data_ = static_cast<const uint8_t*>(p);
  }
  ::close(fd);
}

MappedFile::~MappedFile() { release(); }

void MappedFile::release() {
  if (data_ != nullptr) ::munmap(const_cast<uint8_t*>(data_), size_);
  data_ = nullptr;
  size_ = 0;
}

MappedFile::MappedFile(MappedFile&& other) noexcept
    : path_(std::move(other.path_)), data_(other.data_), size_(other.size_) {
  other.data_ = nullptr;
  other.size_ = 0;
}

MappedFile& MappedFile::operator=(MappedFile&& other) noexcept {
  if (this != &other) {
    release();
    path_ = std::move(other.path_);
    data_ = other.data_;
    size_ = other.size_;
    other.data_ = nullptr;
    other.size_ = 0;
  }
  return *this;
}

namespace {

// Reads fd to the end, within the limits. `name` is for messages.
std::string read_all(int fd, const std::string& name, bool stream, const ReadLimits& limits) {
  std::string out;
  char buf[1 << 16];
  for (;;) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0) {
      if (errno == EINTR) continue;
      throw Error(name + ": read failed: " + errno_text());
    }
    if (n == 0) break;
    const size_t before = out.size();
    out.append(buf, static_cast<size_t>(n));
    // The magic bytes as soon as there are enough of them: a wrong file is refused before it is read whole.
    if (!limits.magic.empty() && before < limits.magic.size() && out.size() >= limits.magic.size() &&
        out.compare(0, limits.magic.size(), limits.magic) != 0) {
      throw Error(name + ": not " + std::string(limits.format) + " file (bad magic bytes)");
    }
    if (stream && out.size() > limits.max_stream_bytes) {
      throw Error(name + ": more than " + std::to_string(limits.max_stream_bytes >> 20) +
                  " MiB from a stream; give a file instead");
    }
  }
  if (!limits.magic.empty() && out.size() < limits.magic.size()) {
    throw Error(name + ": not " + std::string(limits.format) + " file (too short for its magic bytes)");
  }
  return out;
}

}  // namespace

std::string read_file(const std::string& path, const ReadLimits& limits) {
  if (path == "-") return read_all(STDIN_FILENO, "<stdin>", /*stream=*/true, limits);
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) throw Error(path + ": cannot open: " + errno_text());
  struct stat st;
  if (::fstat(fd, &st) == 0 && (S_ISDIR(st.st_mode) || S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode))) {
    ::close(fd);
    throw Error(path + (S_ISDIR(st.st_mode) ? ": is a directory, expected a file"
                                            : ": is a device, not a file (use '-' to read standard input)"));
  }
  try {
    std::string out = read_all(fd, path, !S_ISREG(st.st_mode), limits);
    ::close(fd);
    return out;
  } catch (...) {
    ::close(fd);
    throw;
  }
}

namespace {

// The file a path names, following symlinks deliberately: the link stays and its target is written. A dangling
// link names the file it would point to.
std::string resolve_output(const std::string& path) {
  std::string target = path;
  for (int hops = 0; hops < 32; ++hops) {
    struct stat st;
    if (::lstat(target.c_str(), &st) != 0 || !S_ISLNK(st.st_mode)) return target;
    char buf[4096];
    const ssize_t n = ::readlink(target.c_str(), buf, sizeof buf - 1);
    if (n < 0) throw Error(path + ": cannot read the symbolic link: " + errno_text());
    std::string link(buf, static_cast<size_t>(n));
    if (link.empty() || link[0] != '/') {  // relative to the link's directory
      const size_t slash = target.rfind('/');
      link = (slash == std::string::npos ? std::string() : target.substr(0, slash + 1)) + link;
    }
    target = link;
  }
  throw Error(path + ": too many levels of symbolic links");
}

}  // namespace

AtomicFileWriter::AtomicFileWriter(std::string path) : path_(std::move(path)) {
  if (path_ == "-") {  // standard output: written through, never closed here
    fd_ = STDOUT_FILENO;
    direct_ = true;
    return;
  }
  target_ = resolve_output(path_);
  struct stat st;
  if (::stat(target_.c_str(), &st) == 0) {
    if (S_ISDIR(st.st_mode)) throw Error(path_ + ": is a directory");
    if (!S_ISREG(st.st_mode)) {
      // A device, FIFO or socket: write through to it. Renaming a temporary file over it would replace
      // /dev/null or a pipe with a regular file.
      fd_ = ::open(target_.c_str(), O_WRONLY | O_CLOEXEC);
      if (fd_ < 0) throw Error(path_ + ": cannot open for writing: " + errno_text());
      direct_ = true;
      return;
    }
  }
  std::random_device rd;
  temp_path_ = target_ + ".tmp." + std::to_string(::getpid()) + "." + std::to_string(rd() % 1000000);
  fd_ = ::open(temp_path_.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  if (fd_ < 0) throw Error(path_ + ": cannot create temporary file " + temp_path_ + ": " + errno_text());
}

AtomicFileWriter::~AtomicFileWriter() {
  if (fd_ >= 0 && fd_ != STDOUT_FILENO) ::close(fd_);
  if (fd_ >= 0 && !direct_) ::unlink(temp_path_.c_str());
}

void AtomicFileWriter::write(const void* data, size_t size) {
  const char* p = static_cast<const char*>(data);
  while (size > 0) {
    ssize_t n = ::write(fd_, p, size);
    if (n < 0) {
      if (errno == EINTR) continue;
      throw Error(path_ + ": write failed: " + errno_text());
    }
    p += n;
    size -= static_cast<size_t>(n);
  }
}

void AtomicFileWriter::commit() {
  if (direct_) {
    const int fd = fd_;
    fd_ = -1;
    if (fd != STDOUT_FILENO && ::close(fd) != 0) throw Error(path_ + ": close failed: " + errno_text());
    return;
  }
  if (::fsync(fd_) != 0) throw Error(path_ + ": fsync failed: " + errno_text());
  if (::close(fd_) != 0) {
    fd_ = -1;
    ::unlink(temp_path_.c_str());
    throw Error(path_ + ": close failed: " + errno_text());
  }
  fd_ = -1;
  if (::rename(temp_path_.c_str(), target_.c_str()) != 0) {
    std::string e = errno_text();
    ::unlink(temp_path_.c_str());
    throw Error(path_ + ": cannot rename temporary file into place: " + e);
  }
}

void write_file_atomic(const std::string& path, std::string_view content) {
  AtomicFileWriter w(path);
  w.write(content);
  w.commit();
}

bool file_exists(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0;
}

uint64_t file_size(const std::string& path) {
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) throw Error(path + ": cannot stat: " + errno_text());
  return static_cast<uint64_t>(st.st_size);
}

}  // namespace lmzip
