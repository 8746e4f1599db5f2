// Files: read-only memory maps, whole-file reads, and atomic writes (temporary file + rename, so a reader
// never sees a half-written result under the final name). All failures throw lmzip::Error naming the path.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace lmzip {

// A read-only memory map of a whole file. Movable, not copyable. Thread-safe to read once constructed.
class MappedFile {
 public:
  MappedFile() = default;
  explicit MappedFile(const std::string& path);
  ~MappedFile();
  MappedFile(MappedFile&& other) noexcept;
  MappedFile& operator=(MappedFile&& other) noexcept;
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;

  const uint8_t* data() const { return data_; }
  size_t size() const { return size_; }
  const std::string& path() const { return path_; }
  std::string_view view() const { return {reinterpret_cast<const char*>(data_), size_}; }

 private:
  void release();
  std::string path_;
  const uint8_t* data_ = nullptr;
  size_t size_ = 0;
};

// What read_file accepts. Streams (standard input, pipes) are read up to max_stream_bytes; a device (/dev/zero)
// is refused: it never ends. With `magic`, the first bytes must equal it, checked before reading the rest, and
// the error says the file is not a `format` file.
struct ReadLimits {
  uint64_t max_stream_bytes = uint64_t{8} << 30;
  std::string_view magic{};
  std::string_view format{};
};

// The longest line a line-oriented reader (JSONL corpora) accepts; a longer one is an error naming FILE:LINE,
// so a file without newlines (or /dev/zero through a pipe) cannot grow one line until memory runs out.
inline constexpr size_t kMaxLineBytes = size_t{256} << 20;

// The whole content of a file ("-" reads standard input).
std::string read_file(const std::string& path, const ReadLimits& limits = {});

// Writes `content` to `path` atomically: a temporary file beside it, fsync, then rename.
void write_file_atomic(const std::string& path, std::string_view content);

// A file being written under a temporary name; commit() renames it into place. If destroyed without
// commit() (an error, an exception), the temporary file is removed and `path` is untouched.
// "-" is standard output; a device, FIFO or socket is written through (never replaced by a regular file); a
// symbolic link is followed (its target is replaced, the link stays); a directory is an error.
class AtomicFileWriter {
 public:
  explicit AtomicFileWriter(std::string path);
  ~AtomicFileWriter();
  AtomicFileWriter(const AtomicFileWriter&) = delete;
  AtomicFileWriter& operator=(const AtomicFileWriter&) = delete;

  void write(const void* data, size_t size);
  void write(std::string_view s) { write(s.data(), s.size()); }
  void commit();
  const std::string& path() const { return path_; }

 private:
  std::string path_;
  std::string target_;  // path_ with symbolic links followed
  std::string temp_path_;
  int fd_ = -1;
  bool direct_ = false;  // writing straight to stdout or a non-regular file
};

bool file_exists(const std::string& path);
uint64_t file_size(const std::string& path);

}  // namespace lmzip
