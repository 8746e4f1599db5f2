#include "lmzip/corpus/output.h"

#include <zstd.h>

#include "lmzip/core/error.h"

namespace lmzip::corpus {

struct CorpusWriter::Zstd {
  ZSTD_CCtx* cctx = nullptr;
  std::string buf;
  ~Zstd() { ZSTD_freeCCtx(cctx); }
};

bool wants_zstd(const std::string& path) { return path.size() > 4 && path.ends_with(".zst"); }

CorpusWriter::CorpusWriter(const std::string& path, int zstd_level) : file_(path) {
  if (wants_zstd(path)) {
    zstd_ = std::make_unique<Zstd>();
    zstd_->cctx = ZSTD_createCCtx();
    ZSTD_CCtx_setParameter(zstd_->cctx, ZSTD_c_compressionLevel, zstd_level);
    ZSTD_CCtx_setParameter(zstd_->cctx, ZSTD_c_checksumFlag, 1);
    zstd_->buf.resize(ZSTD_CStreamOutSize());
  }
}

CorpusWriter::~CorpusWriter() = default;

void CorpusWriter::emit(const void* data, size_t size) {
  if (zstd_) file_sha_.update(data, size);  // uncompressed, the file is the JSONL: hashed once, in write()
  file_.write(data, size);
  file_bytes_ += size;
}

void CorpusWriter::compress(std::string_view data, bool finish) {
  ZSTD_inBuffer in{data.data(), data.size(), 0};
  for (;;) {
    ZSTD_outBuffer out{zstd_->buf.data(), zstd_->buf.size(), 0};
    size_t left = ZSTD_compressStream2(zstd_->cctx, &out, &in, finish ? ZSTD_e_end : ZSTD_e_continue);
    if (ZSTD_isError(left)) throw Error(file_.path() + ": zstd compression failed (" + ZSTD_getErrorName(left) + ")");
    emit(zstd_->buf.data(), out.pos);
    if (finish ? left == 0 : in.pos == in.size) break;
  }
}

void CorpusWriter::write(std::string_view jsonl) {
  jsonl_sha_.update(jsonl);
  jsonl_bytes_ += jsonl.size();
  pending_.append(jsonl);
  if (pending_.size() >= (1 << 20)) {
    if (zstd_) compress(pending_, false);
    else emit(pending_.data(), pending_.size());
    pending_.clear();
  }
}

void CorpusWriter::commit() {
  if (zstd_) compress(pending_, true);
  else emit(pending_.data(), pending_.size());
  pending_.clear();
  file_.commit();
  jsonl_sha_hex_ = jsonl_sha_.hex_digest();
  file_sha_hex_ = zstd_ ? file_sha_.hex_digest() : jsonl_sha_hex_;
}

}  // namespace lmzip::corpus
