// Test input builders: gzip members, WARC records, tar/zip archives, all made by the test itself.
#pragma once

#include <archive.h>
#include <archive_entry.h>
#include <zlib.h>

#include <map>
#include <stdexcept>
#include <string>

#include "lmzip/io/file.h"

namespace lmzip::corpus::testing {

// `data` deflated by zlib with window bits `wbits`: 16 + MAX_WBITS a gzip member, MAX_WBITS a zlib stream,
// -MAX_WBITS raw deflate.
inline std::string zlib_compress(const std::string& data, int wbits) {
  z_stream zs{};
  if (deflateInit2(&zs, 6, Z_DEFLATED, wbits, 8, Z_DEFAULT_STRATEGY) != Z_OK) throw std::runtime_error("zlib");
  std::string out(deflateBound(&zs, data.size()) + 64, '\0');
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
  zs.avail_in = static_cast<uInt>(data.size());
  zs.next_out = reinterpret_cast<Bytef*>(out.data());
  zs.avail_out = static_cast<uInt>(out.size());
  deflate(&zs, Z_FINISH);
  out.resize(zs.total_out);
  deflateEnd(&zs);
  return out;
}

// One complete gzip member holding `data`.
inline std::string gzip_member(const std::string& data) { return zlib_compress(data, 16 + MAX_WBITS); }

// A WARC/1.0 record with the given type, headers and block (Content-Length computed).
inline std::string warc_record(const std::string& type, const std::string& uri, const std::string& date,
                               const std::string& block, const std::string& extra_headers = "") {
  return "WARC/1.0\r\nWARC-Type: " + type + "\r\nWARC-Target-URI: " + uri + "\r\nWARC-Date: " + date +
         "\r\nWARC-Record-ID: <urn:uuid:" + std::to_string(block.size()) + ">\r\n" + extra_headers +
         "Content-Length: " + std::to_string(block.size()) + "\r\n\r\n" + block + "\r\n\r\n";
}

inline std::string http_response(const std::string& content_type, const std::string& body) {
  return "HTTP/1.1 200 OK\r\nContent-Type: " + content_type + "\r\nContent-Length: " + std::to_string(body.size()) +
         "\r\n\r\n" + body;
}

// Writes an archive: format "tar.gz", "tar" or "zip"; member mtimes are all `mtime`.
inline void write_archive(const std::string& path, const std::map<std::string, std::string>& members,
                          const std::string& format, int64_t mtime = 1696000000) {
  struct archive* a = archive_write_new();
  if (format == "zip") {
    archive_write_set_format_zip(a);
  } else {
    archive_write_set_format_pax_restricted(a);
    if (format == "tar.gz") archive_write_add_filter_gzip(a);
  }
  if (archive_write_open_filename(a, path.c_str()) != ARCHIVE_OK) throw std::runtime_error("archive open");
  for (const auto& [name, data] : members) {
    struct archive_entry* e = archive_entry_new();
    archive_entry_set_pathname(e, name.c_str());
    archive_entry_set_size(e, static_cast<la_int64_t>(data.size()));
    archive_entry_set_filetype(e, AE_IFREG);
    archive_entry_set_perm(e, 0644);
    archive_entry_set_mtime(e, mtime, 0);
    archive_write_header(a, e);
    archive_write_data(a, data.data(), data.size());
    archive_entry_free(e);
  }
  archive_write_close(a);
  archive_write_free(a);
}

// In-memory tar.gz bytes (for nested arXiv bundles).
inline std::string tar_gz_bytes(const std::string& tmp_path, const std::map<std::string, std::string>& members) {
  write_archive(tmp_path, members, "tar.gz");
  return read_file(tmp_path);
}

// English prose of about `words` words, varied by `seed` so documents differ.
inline std::string prose(int words, int seed) {
  static const char* kWords[] = {"the", "river", "carried", "stones", "and", "that", "old", "bridge", "with",
                                 "have", "people", "walked", "to", "market", "of", "town", "every", "morning",
                                 "while", "children", "played", "near", "water", "garden", "teacher", "spoke"};
  std::string s;
  uint64_t x = 0x12345u + static_cast<uint64_t>(seed) * 7919u;
  for (int i = 0; i < words; ++i) {
    x = x * 6364136223846793005ull + 1442695040888963407ull;
    s += kWords[(x >> 33) % 26];
    s += (i % 12 == 11) ? ".\n" : " ";
  }
  return s;
}

}  // namespace lmzip::corpus::testing
