#include "text_packer.h"

#include <zstd.h>

#include <stdexcept>

namespace ebb::kube::detail {

namespace {

// Level 1: within a few percent of level 3 on these texts, and its tables (sized by zstd for the
// dictionary) stay at ~32 KB a cache.
constexpr int kLevel = 1;
// A first object larger than this (a ConfigMap with a payload) gives only its start.
constexpr std::size_t kMaxDictionary = 64 * 1024;

struct CCtxDeleter {
  void operator()(ZSTD_CCtx* c) const { ZSTD_freeCCtx(c); }
};
struct DCtxDeleter {
  void operator()(ZSTD_DCtx* d) const { ZSTD_freeDCtx(d); }
};

ZSTD_CCtx* compression_context() {
  thread_local std::unique_ptr<ZSTD_CCtx, CCtxDeleter> context(ZSTD_createCCtx());
  return context.get();
}

ZSTD_DCtx* decompression_context() {
  thread_local std::unique_ptr<ZSTD_DCtx, DCtxDeleter> context(ZSTD_createDCtx());
  return context.get();
}

}  // namespace

struct TextPacker::Dictionary {
  explicit Dictionary(std::string_view sample)
      : compress(ZSTD_createCDict(sample.data(), sample.size(), kLevel)),
        decompress(ZSTD_createDDict(sample.data(), sample.size())) {
    if (!compress || !decompress) {
      free();
      throw std::bad_alloc();
    }
  }
  ~Dictionary() { free(); }
  Dictionary(const Dictionary&) = delete;
  Dictionary& operator=(const Dictionary&) = delete;
  void free() {
    ZSTD_freeCDict(compress);
    ZSTD_freeDDict(decompress);
  }
  ZSTD_CDict* compress;
  ZSTD_DDict* decompress;
};

TextPacker::TextPacker() = default;
TextPacker::~TextPacker() = default;

std::string TextPacker::pack(std::string_view text) {
  std::call_once(once_, [&] {
    dictionary_ =
        std::make_unique<const Dictionary>(text.substr(0, std::min(text.size(), kMaxDictionary)));
  });
  // Compressed into a buffer kept by the thread, then copied: the stored string is allocated at
  // its final size, with no slack (a cache holds one per object).
  thread_local std::string scratch;
  scratch.resize(ZSTD_compressBound(text.size()));
  const std::size_t n =
      ZSTD_compress_usingCDict(compression_context(), scratch.data(), scratch.size(), text.data(),
                               text.size(), dictionary_->compress);
  if (ZSTD_isError(n))
    throw std::runtime_error(std::string("zstd compression failed: ") + ZSTD_getErrorName(n));
  return scratch.substr(0, n);
}

std::string TextPacker::unpack(std::string_view packed) const {
  // A packed text exists only after a pack(), which set the dictionary first.
  if (!dictionary_) throw std::runtime_error("zstd: nothing was packed");
  const unsigned long long size = ZSTD_getFrameContentSize(packed.data(), packed.size());
  if (size == ZSTD_CONTENTSIZE_ERROR || size == ZSTD_CONTENTSIZE_UNKNOWN)
    throw std::runtime_error("zstd: not a packed text");
  std::string out(static_cast<std::size_t>(size), '\0');
  const std::size_t n =
      ZSTD_decompress_usingDDict(decompression_context(), out.data(), out.size(), packed.data(),
                                 packed.size(), dictionary_->decompress);
  if (ZSTD_isError(n) || n != out.size())
    throw std::runtime_error(std::string("zstd decompression failed: ") +
                             (ZSTD_isError(n) ? ZSTD_getErrorName(n) : "size mismatch"));
  return out;
}

}  // namespace ebb::kube::detail
