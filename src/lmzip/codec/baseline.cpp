#include "lmzip/codec/baseline.h"

#include <lzma.h>
#include <zlib.h>
#include <zstd.h>

#include "lmzip/core/error.h"

namespace lmzip::codec {
namespace {

std::string zstd_compress(std::string_view in) {
  std::string out(ZSTD_compressBound(in.size()), '\0');
  size_t n = ZSTD_compress(out.data(), out.size(), in.data(), in.size(), 19);
  if (ZSTD_isError(n)) throw Error(std::string("zstd: ") + ZSTD_getErrorName(n));
  out.resize(n);
  return out;
}

std::string xz_compress(std::string_view in) {
  std::string out(lzma_stream_buffer_bound(in.size()), '\0');
  size_t pos = 0;
  lzma_ret r = lzma_easy_buffer_encode(9, LZMA_CHECK_CRC64, nullptr, reinterpret_cast<const uint8_t*>(in.data()),
                                       in.size(), reinterpret_cast<uint8_t*>(out.data()), &pos, out.size());
  if (r != LZMA_OK) throw Error("xz: compression failed (code " + std::to_string(static_cast<int>(r)) + ")");
  out.resize(pos);
  return out;
}

std::string gzip_compress(std::string_view in) {
  z_stream z{};
  // windowBits 15 + 16: a gzip wrapper, as `gzip -9` writes.
  if (deflateInit2(&z, 9, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK) throw Error("gzip: init failed");
  std::string out(deflateBound(&z, in.size()) + 32, '\0');
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
  z.avail_in = static_cast<uInt>(in.size());
  z.next_out = reinterpret_cast<Bytef*>(out.data());
  z.avail_out = static_cast<uInt>(out.size());
  int r = deflate(&z, Z_FINISH);
  deflateEnd(&z);
  if (r != Z_STREAM_END) throw Error("gzip: compression failed");
  out.resize(z.total_out);
  return out;
}

}  // namespace

Baseline parse_baseline(std::string_view name) {
  if (name == "zstd") return Baseline::Zstd;
  if (name == "xz") return Baseline::Xz;
  if (name == "gzip") return Baseline::Gzip;
  throw Error("unknown codec '" + std::string(name) + "' (choose zstd, xz or gzip)");
}

std::string baseline_label(Baseline b) {
  switch (b) {
    case Baseline::Zstd: return "zstd -19";
    case Baseline::Xz: return "xz -9";
    case Baseline::Gzip: return "gzip -9";
  }
  return "?";
}

std::string baseline_compress(std::string_view input, Baseline b) {
  switch (b) {
    case Baseline::Zstd: return zstd_compress(input);
    case Baseline::Xz: return xz_compress(input);
    case Baseline::Gzip: return gzip_compress(input);
  }
  return {};
}

}  // namespace lmzip::codec
