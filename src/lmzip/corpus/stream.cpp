#include "lmzip/corpus/stream.h"

#include <lzma.h>
#include <sys/stat.h>
#include <zlib.h>
#include <zstd.h>

#include <cerrno>
#include <cstring>

#include "lmzip/core/error.h"
#include "lmzip/io/compressed.h"

namespace lmzip::corpus {

namespace {
constexpr size_t kChunk = 1 << 18;
}

// One decoder for the file's format; `in` holds raw bytes not yet consumed.
struct ByteReader::Decoder {
  Compression kind = Compression::None;
  std::string in;
  size_t in_pos = 0;
  bool file_eof = false;
  z_stream zs{};
  bool zs_live = false;
  bool gz_member_done = true;  // between gzip members (a clean place for the data to end)
  ZSTD_DStream* zstd = nullptr;
  size_t zstd_last = 0;
  lzma_stream xz = LZMA_STREAM_INIT;
  bool xz_live = false;
  bool xz_done = false;

  ~Decoder() {
    if (zs_live) inflateEnd(&zs);
    if (zstd) ZSTD_freeDStream(zstd);
    if (xz_live) lzma_end(&xz);
  }
};

ByteReader::ByteReader(const std::string& path) : path_(path), decoder_(std::make_unique<Decoder>()) {
  // A device never ends and opening a FIFO blocks until a writer comes: only regular files (or "-").
  struct stat st{};
  if (path != "-" && ::stat(path.c_str(), &st) == 0 && !S_ISREG(st.st_mode)) {
    throw Error(path + (S_ISDIR(st.st_mode) ? ": is a directory, expected a file"
                                            : ": not a regular file (use '-' to read standard input)"));
  }
  file_ = path == "-" ? stdin : std::fopen(path.c_str(), "rb");
  if (!file_) throw Error(path + ": cannot open (" + std::strerror(errno) + ")");
  Decoder& d = *decoder_;
  d.in.resize(kChunk);
  size_t n = std::fread(d.in.data(), 1, kChunk, file_);
  d.in.resize(n);
  d.file_eof = n < kChunk;
  init_decoder();
}

ByteReader::ByteReader(const std::string& name, std::string data)
    : path_(name), decoder_(std::make_unique<Decoder>()) {
  decoder_->in = std::move(data);
  decoder_->file_eof = true;
  init_decoder();
}

void ByteReader::init_decoder() {
  Decoder& d = *decoder_;
  const std::string& path = path_;
  d.kind = detect_compression(d.in);
  if (d.kind == Compression::Zstd) {
    d.zstd = ZSTD_createDStream();
    ZSTD_initDStream(d.zstd);
  } else if (d.kind == Compression::Xz) {
    if (lzma_stream_decoder(&d.xz, UINT64_MAX, LZMA_CONCATENATED) != LZMA_OK) {
      throw Error(path + ": cannot initialise xz decoder");
    }
    d.xz_live = true;
  }
}

ByteReader::~ByteReader() {
  if (file_ && file_ != stdin) std::fclose(file_);
}

bool ByteReader::fill() {
  if (fill_chunk()) return true;
  out_.clear();  // nothing stale may look like data after the end
  out_pos_ = 0;
  return false;
}

bool ByteReader::fill_chunk() {
  Decoder& d = *decoder_;
  out_.clear();
  out_pos_ = 0;
  for (;;) {
    if (d.in_pos == d.in.size() && !d.file_eof) {
      d.in.resize(kChunk);
      size_t n = std::fread(d.in.data(), 1, kChunk, file_);
      if (std::ferror(file_)) throw Error(path_ + ": read error (" + std::strerror(errno) + ")");
      d.in.resize(n);
      d.in_pos = 0;
      d.file_eof = n < kChunk;
    }
    size_t avail = d.in.size() - d.in_pos;
    const char* src = d.in.data() + d.in_pos;
    if (d.kind == Compression::None) {
      if (avail == 0) return false;
      out_.assign(src, avail);
      d.in_pos = d.in.size();
      return true;
    }
    out_.resize(kChunk);
    size_t produced = 0;
    if (d.kind == Compression::Gzip) {
      if (d.gz_member_done) {
        // Zero padding after the last member is tolerated, as in io/compressed.
        while (avail > 0 && *src == '\0') ++src, --avail, ++d.in_pos;
        if (avail == 0) {
          if (d.file_eof) return false;
          continue;
        }
        if (d.zs_live) inflateEnd(&d.zs);
        d.zs = z_stream{};
        if (inflateInit2(&d.zs, 16 + MAX_WBITS) != Z_OK) throw Error(path_ + ": cannot initialise gzip decoder");
        d.zs_live = true;
        d.gz_member_done = false;
      }
      d.zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(src));
      d.zs.avail_in = static_cast<uInt>(avail);
      d.zs.next_out = reinterpret_cast<Bytef*>(out_.data());
      d.zs.avail_out = static_cast<uInt>(out_.size());
      int rc = inflate(&d.zs, Z_NO_FLUSH);
      if (rc != Z_OK && rc != Z_STREAM_END && rc != Z_BUF_ERROR) {
        throw Error(path_ + ": corrupt gzip data at compressed byte offset ~" + std::to_string(d.zs.total_in) +
                    " (" + (d.zs.msg ? d.zs.msg : "error " + std::to_string(rc)) + ")");
      }
      d.in_pos += avail - d.zs.avail_in;
      produced = out_.size() - d.zs.avail_out;
      if (rc == Z_STREAM_END) d.gz_member_done = true;
      if (produced == 0 && d.in_pos == d.in.size() && d.file_eof && !d.gz_member_done) {
        throw Error(path_ + ": gzip data is truncated");
      }
    } else if (d.kind == Compression::Zstd) {
      ZSTD_inBuffer input{src, avail, 0};
      ZSTD_outBuffer output{out_.data(), out_.size(), 0};
      size_t ret = ZSTD_decompressStream(d.zstd, &output, &input);
      if (ZSTD_isError(ret)) throw Error(path_ + ": corrupt zstd data (" + ZSTD_getErrorName(ret) + ")");
      // 0 means "a frame just ended"; a call that moved nothing only asks for the next frame's header, so it
      // must not overwrite that.
      if (input.pos > 0 || output.pos > 0) d.zstd_last = ret;
      d.in_pos += input.pos;
      produced = output.pos;
      if (produced == 0 && d.in_pos == d.in.size() && d.file_eof) {
        if (d.zstd_last != 0) throw Error(path_ + ": zstd data is truncated");
        return false;
      }
    } else {
      if (d.xz_done) return false;
      d.xz.next_in = reinterpret_cast<const uint8_t*>(src);
      d.xz.avail_in = avail;
      d.xz.next_out = reinterpret_cast<uint8_t*>(out_.data());
      d.xz.avail_out = out_.size();
      lzma_ret rc = lzma_code(&d.xz, d.file_eof ? LZMA_FINISH : LZMA_RUN);
      d.in_pos += avail - d.xz.avail_in;
      produced = out_.size() - d.xz.avail_out;
      if (rc == LZMA_STREAM_END) d.xz_done = true;
      else if (rc != LZMA_OK && rc != LZMA_BUF_ERROR) {
        throw Error(path_ + ": corrupt or truncated xz data (lzma error " + std::to_string(rc) + ")");
      } else if (produced == 0 && d.in_pos == d.in.size() && d.file_eof) {
        throw Error(path_ + ": xz data is truncated");
      }
    }
    out_.resize(produced);
    if (produced > 0) return true;
    if (d.kind == Compression::Gzip && d.gz_member_done && d.in_pos == d.in.size() && d.file_eof) return false;
  }
}

bool ByteReader::read_line(std::string& line, size_t max_bytes, bool* too_long) {
  line.clear();
  if (too_long) *too_long = false;
  bool any = false;
  for (;;) {
    if (out_pos_ == out_.size() && !fill()) return any;
    any = true;
    const char* start = out_.data() + out_pos_;
    size_t avail = out_.size() - out_pos_;
    const void* nl = std::memchr(start, '\n', avail);
    size_t take = nl ? static_cast<size_t>(static_cast<const char*>(nl) - start) : avail;
    size_t room = max_bytes > line.size() ? max_bytes - line.size() : 0;
    if (take > room && too_long) *too_long = true;
    line.append(start, std::min(take, room));
    out_pos_ += take + (nl ? 1 : 0);
    position_ += take + (nl ? 1 : 0);
    if (nl) return true;
  }
}

size_t ByteReader::read(std::string& out, size_t n) {
  size_t done = 0;
  while (done < n) {
    if (out_pos_ == out_.size() && !fill()) break;
    size_t take = std::min(n - done, out_.size() - out_pos_);
    out.append(out_.data() + out_pos_, take);
    out_pos_ += take;
    done += take;
  }
  position_ += done;
  return done;
}

size_t ByteReader::skip(size_t n) {
  size_t done = 0;
  while (done < n) {
    if (out_pos_ == out_.size() && !fill()) break;
    size_t take = std::min(n - done, out_.size() - out_pos_);
    out_pos_ += take;
    done += take;
  }
  position_ += done;
  return done;
}

}  // namespace lmzip::corpus
