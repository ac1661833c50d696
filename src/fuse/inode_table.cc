#include "fuse/inode_table.h"

#include <unistd.h>
#include "fuse/fuse_api.h"

namespace cleancache::fuse {

Inode::~Inode() {
  if (fd >= 0) close(fd);
}

InodeTable::InodeTable(int root_fd, FileKey root_identity, mode_t root_type) : root_(new Inode) {
  root_->fd = root_fd;
  root_->identity = root_identity;
  root_->type = root_type;
  root_->nlookup = 1;  // never forgotten
}

InodeTable::~InodeTable() {
  for (auto& [key, inode] : by_identity_) {
    if (inode != root_) delete inode;
  }
  delete root_;
}

Inode& InodeTable::Get(uint64_t nodeid) {
  if (nodeid == FUSE_ROOT_ID) return *root_;
  return *reinterpret_cast<Inode*>(static_cast<uintptr_t>(nodeid));
}

uint64_t InodeTable::NodeId(Inode& inode) {
  return &inode == root_ ? FUSE_ROOT_ID : static_cast<uint64_t>(reinterpret_cast<uintptr_t>(&inode));
}

Inode& InodeTable::Acquire(int fd, const FileKey& identity, const struct stat& st, bool nothing_cached) {
  std::lock_guard lock(mu_);
  if (identity == root_->identity) {
    close(fd);
    return *root_;
  }
  auto it = by_identity_.find(identity);
  if (it != by_identity_.end()) {
    Inode* known = it->second;
    struct stat old;
    bool dead = identity.is_inode_fallback() && fstat(known->fd, &old) == 0 && old.st_nlink == 0 && st.st_nlink > 0;
    if (!dead) {
      ++known->nlookup;
      known->departed_behind = false;  // found by a name again
      close(fd);
      return *known;
    }
    by_identity_.erase(it);  // stays alive for the kernel's remaining lookups
  }
  auto* inode = new Inode;
  inode->fd = fd;
  inode->identity = identity;
  inode->type = st.st_mode & S_IFMT;
  inode->nlookup = 1;
  // Set before the inode is published: no other request can reach it yet.
  inode->pages_may_be_cached = !nothing_cached;
  by_identity_.emplace(identity, inode);
  return *inode;
}

void InodeTable::AddLookup(Inode& inode) {
  std::lock_guard lock(mu_);
  ++inode.nlookup;
}

void InodeTable::Forget(Inode& inode, uint64_t count) {
  if (&inode == root_) return;
  std::lock_guard lock(mu_);
  inode.nlookup -= std::min(count, inode.nlookup);
  if (inode.nlookup > 0) return;
  auto it = by_identity_.find(inode.identity);
  if (it != by_identity_.end() && it->second == &inode) by_identity_.erase(it);
  delete &inode;
}

bool InodeTable::Visit(const FileKey& identity, const std::function<void(Inode&)>& fn) {
  std::lock_guard lock(mu_);
  Inode* inode = nullptr;
  if (identity == root_->identity) {
    inode = root_;
  } else if (auto it = by_identity_.find(identity); it != by_identity_.end()) {
    inode = it->second;
  }
  if (inode == nullptr) return false;
  fn(*inode);
  return true;
}

std::vector<uint64_t> InodeTable::NodeIds() {
  std::lock_guard lock(mu_);
  std::vector<uint64_t> ids{FUSE_ROOT_ID};
  for (auto& [key, inode] : by_identity_) ids.push_back(NodeId(*inode));
  return ids;
}

size_t InodeTable::size() {
  std::lock_guard lock(mu_);
  return by_identity_.size() + 1;
}

}  // namespace cleancache::fuse
