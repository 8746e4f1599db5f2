#include "lmzip/io/compressed.h"

#include <lzma.h>
#include <zlib.h>
#include <zstd.h>

#include <cstring>

#include "lmzip/core/error.h"
#include "lmzip/io/file.h"

namespace lmzip {

Compression detect_compression(std::string_view b) {
  if (b.size() >= 2 && uint8_t(b[0]) == 0x1f && uint8_t(b[1]) == 0x8b) return Compression::Gzip;
  if (b.size() >= 4 && std::memcmp(b.data(), "\x28\xb5\x2f\xfd", 4) == 0) return Compression::Zstd;
  if (b.size() >= 6 && std::memcmp(b.data(), "\xfd\x37\x7a\x58\x5a\x00", 6) == 0) return Compression::Xz;
  return Compression::None;
}

namespace {

std::string gunzip(std::string_view in, const std::string& name) {
  std::string out;
  size_t pos = 0;
  // Concatenated gzip members (as WARC files use) are decoded one after another.
  while (pos < in.size()) {
    z_stream zs{};
    if (inflateInit2(&zs, 16 + MAX_WBITS) != Z_OK) throw Error(name + ": cannot initialise gzip decoder");
    zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data() + pos));
    zs.avail_in = static_cast<uInt>(std::min<size_t>(in.size() - pos, 1u << 30));
    char buf[1 << 16];
    int rc;
    do {
      zs.next_out = reinterpret_cast<Bytef*>(buf);
      zs.avail_out = sizeof buf;
      rc = inflate(&zs, Z_NO_FLUSH);
      if (rc != Z_OK && rc != Z_STREAM_END) {
        std::string msg = zs.msg ? zs.msg : "error " + std::to_string(rc);
        inflateEnd(&zs);
        throw Error(name + ": corrupt gzip data (" + msg + ")");
      }
      out.append(buf, sizeof buf - zs.avail_out);
      if (rc != Z_STREAM_END && zs.avail_in == 0 && zs.avail_out != 0) {
        inflateEnd(&zs);
        throw Error(name + ": gzip data is truncated");
      }
    } while (rc != Z_STREAM_END);
    pos += zs.total_in;
    inflateEnd(&zs);
    // Trailing zero padding after the last member is tolerated.
    while (pos < in.size() && in[pos] == '\0') ++pos;
  }
  return out;
}

std::string unzstd(std::string_view in, const std::string& name) {
  ZSTD_DStream* ds = ZSTD_createDStream();
  ZSTD_initDStream(ds);
  std::string out;
  ZSTD_inBuffer input{in.data(), in.size(), 0};
  char buf[1 << 16];
  size_t last = 0;
  while (input.pos < input.size) {
    ZSTD_outBuffer output{buf, sizeof buf, 0};
    last = ZSTD_decompressStream(ds, &output, &input);
    if (ZSTD_isError(last)) {
      std::string msg = ZSTD_getErrorName(last);
      ZSTD_freeDStream(ds);
      throw Error(name + ": corrupt zstd data (" + msg + ")");
    }
    out.append(buf, output.pos);
    if (output.pos == 0 && input.pos == input.size) break;
  }
  // Flush what remains buffered (only when the last frame has not ended: a call past the end of a frame
  // returns the next frame's header size, which is not a truncation).
  while (last != 0) {
    ZSTD_outBuffer output{buf, sizeof buf, 0};
    last = ZSTD_decompressStream(ds, &output, &input);
    if (ZSTD_isError(last)) break;
    out.append(buf, output.pos);
    if (output.pos < sizeof buf) break;
  }
  ZSTD_freeDStream(ds);
  if (last != 0) throw Error(name + ": zstd data is truncated");
  return out;
}

std::string unxz(std::string_view in, const std::string& name) {
  lzma_stream s = LZMA_STREAM_INIT;
  if (lzma_stream_decoder(&s, UINT64_MAX, LZMA_CONCATENATED) != LZMA_OK) {
    throw Error(name + ": cannot initialise xz decoder");
  }
  s.next_in = reinterpret_cast<const uint8_t*>(in.data());
  s.avail_in = in.size();
  std::string out;
  uint8_t buf[1 << 16];
  for (;;) {
    s.next_out = buf;
    s.avail_out = sizeof buf;
    lzma_ret rc = lzma_code(&s, LZMA_FINISH);
    out.append(reinterpret_cast<char*>(buf), sizeof buf - s.avail_out);
    if (rc == LZMA_STREAM_END) break;
    if (rc != LZMA_OK) {
      lzma_end(&s);
      throw Error(name + ": corrupt or truncated xz data (lzma error " + std::to_string(rc) + ")");
    }
  }
  lzma_end(&s);
  return out;
}

}  // namespace

std::string decompress(std::string_view data, const std::string& name) {
  switch (detect_compression(data)) {
    case Compression::Gzip: return gunzip(data, name);
    case Compression::Zstd: return unzstd(data, name);
    case Compression::Xz: return unxz(data, name);
    case Compression::None: break;
  }
  return std::string(data);
}

std::string read_decompressed(const std::string& path) {
  std::string raw = read_file(path);
  if (detect_compression(raw) == Compression::None) return raw;
  return decompress(raw, path);
}

void for_each_line(const std::string& path, const std::function<void(std::string_view, size_t)>& on_line) {
  std::string text = read_decompressed(path);
  size_t line_number = 0, pos = 0;
  while (pos < text.size()) {
    size_t end = text.find('\n', pos);
    if (end == std::string::npos) end = text.size();
    on_line(std::string_view(text).substr(pos, end - pos), ++line_number);
    pos = end + 1;
  }
}

}  // namespace lmzip
