#include "compare/page_store.h"

namespace cleancache::compare {

PageIds::PageIds(const PageCorpus& corpus) {
  file_of_page_.resize(corpus.page_count());
  index_of_page_.resize(corpus.page_count());
  for (const CorpusFile& file : corpus.files()) {
    const auto ordinal = static_cast<uint32_t>(file_keys_.size());
    file_keys_.push_back(FileKey::FromInode(file.device, file.inode));
    devices_.push_back(file.device);
    inodes_.push_back(file.inode);
    for (uint64_t i = 0; i < file.page_count; ++i) {
      file_of_page_[file.first_page + i] = ordinal;
      index_of_page_[file.first_page + i] = i;
    }
  }
}

}  // namespace cleancache::compare
