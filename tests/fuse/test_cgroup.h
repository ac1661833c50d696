// TestCgroup: a memory cgroup with a limit, for tests that need a real one
// (v1's memory hierarchy or v2, whichever the machine has). Created under
// the hierarchy's root; the destructor kills what is left in it and removes
// it. ok() is false where cgroups cannot be made (not root, no memory
// controller): tests then skip.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>

namespace cleancache::testing {

class TestCgroup {
 public:
  // ok() is also false under ThreadSanitizer: its shadow memory (several
  // times what the program touches) would be charged to the group.
  explicit TestCgroup(uint64_t limit_bytes);
  ~TestCgroup();
  TestCgroup(const TestCgroup&) = delete;
  TestCgroup& operator=(const TestCgroup&) = delete;

  bool ok() const { return !dir_.empty(); }
  const std::string& dir() const { return dir_; }
  // Moves a process (0: the caller) into the group. False on failure.
  bool Join(pid_t pid = 0) const;
  // OOM kills in the group so far.
  uint64_t OomKills() const;

 private:
  std::string dir_;
  int version_ = 0;
};

// Forks a process that joins `group`, touches `bytes` of anonymous memory
// in steps of `step_bytes` with `step_pause_us` between them (a neighbour
// that needs memory), writes one byte to `ready` and waits to be killed.
// Exits 2 if it cannot join, 3 if it cannot map. The caller closes its copy
// of `ready`'s write end, so that a hog that dies (OOM) ends its read.
pid_t StartMemoryHog(const TestCgroup& group, uint64_t bytes, uint64_t step_bytes, unsigned step_pause_us, int ready);

}  // namespace cleancache::testing
