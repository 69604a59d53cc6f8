#include "text_packer.h"

#include <zstd.h>

#include <algorithm>
#include <mutex>
#include <stdexcept>
#include <vector>

namespace ebb::kube::detail {

namespace {

// Level 1: within a few percent of level 3 on these texts, and its tables (sized by zstd for the
// dictionary) stay at ~32 KB a cache.
constexpr int kLevel = 1;
// A first object larger than this (a ConfigMap with a payload) gives only its start.
constexpr std::size_t kMaxDictionary = 64 * 1024;

// zstd's contexts are large (a decompression context ~95 KB, whatever the text) and hold no
// state between calls, so the process keeps a few in a pool shared by every packer instead of
// one per thread: as many as ever ran at once, not one for each thread that ever unpacked.
template <typename Context, Context* (*create)(), std::size_t (*destroy)(Context*)>
class ContextPool {
 public:
  ~ContextPool() {
    for (auto* c : free_) destroy(c);
  }
  struct Lease {
    Lease(ContextPool& p, Context* c) : pool(p), context(c) {}
    ~Lease() { pool.give_back(context); }
    Lease(const Lease&) = delete;
    Lease& operator=(const Lease&) = delete;
    ContextPool& pool;
    Context* context;
  };
  Lease take() {
    {
      std::lock_guard lock(mutex_);
      if (!free_.empty()) {
        Context* c = free_.back();
        free_.pop_back();
        return Lease(*this, c);
      }
    }
    Context* c = create();
    if (!c) throw std::bad_alloc();
    return Lease(*this, c);
  }

 private:
  void give_back(Context* c) noexcept {
    std::lock_guard lock(mutex_);
    try {
      free_.push_back(c);
    } catch (...) {
      destroy(c);  // no memory to keep it: the next take() makes another
    }
  }
  std::mutex mutex_;
  std::vector<Context*> free_;
};

using CompressionContexts = ContextPool<ZSTD_CCtx, ZSTD_createCCtx, ZSTD_freeCCtx>;
using DecompressionContexts = ContextPool<ZSTD_DCtx, ZSTD_createDCtx, ZSTD_freeDCtx>;

CompressionContexts& compression_contexts() {
  static auto* pool = new CompressionContexts;  // never destroyed: packers may outlive statics
  return *pool;
}

DecompressionContexts& decompression_contexts() {
  static auto* pool = new DecompressionContexts;
  return *pool;
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
    owned_ =
        std::make_unique<const Dictionary>(text.substr(0, std::min(text.size(), kMaxDictionary)));
    dictionary_.store(owned_.get(), std::memory_order_release);
  });
  const Dictionary* dictionary = dictionary_.load(std::memory_order_acquire);
  // Compressed into a buffer kept by the thread, then copied: the stored string is allocated at
  // its final size, with no slack (a cache holds one per object).
  thread_local std::string scratch;
  scratch.resize(ZSTD_compressBound(text.size()));
  const auto context = compression_contexts().take();
  const std::size_t n = ZSTD_compress_usingCDict(context.context, scratch.data(), scratch.size(),
                                                 text.data(), text.size(), dictionary->compress);
  if (ZSTD_isError(n))
    throw std::runtime_error(std::string("zstd compression failed: ") + ZSTD_getErrorName(n));
  return scratch.substr(0, n);
}

std::string TextPacker::unpack(std::string_view packed) const {
  // A packed text exists only after a pack(), which set the dictionary first.
  const Dictionary* dictionary = dictionary_.load(std::memory_order_acquire);
  if (!dictionary) throw std::runtime_error("zstd: nothing was packed");
  const unsigned long long size = ZSTD_getFrameContentSize(packed.data(), packed.size());
  if (size == ZSTD_CONTENTSIZE_ERROR || size == ZSTD_CONTENTSIZE_UNKNOWN)
    throw std::runtime_error("zstd: not a packed text");
  std::string out(static_cast<std::size_t>(size), '\0');
  const auto context = decompression_contexts().take();
  const std::size_t n =
      ZSTD_decompress_usingDDict(context.context, out.data(), out.size(), packed.data(),
                                 packed.size(), dictionary->decompress);
  if (ZSTD_isError(n) || n != out.size())
    throw std::runtime_error(std::string("zstd decompression failed: ") +
                             (ZSTD_isError(n) ? ZSTD_getErrorName(n) : "size mismatch"));
  return out;
}

}  // namespace ebb::kube::detail
