// Running a piece of a test as another user: a forked child takes the
// given uid, gid, supplementary groups and umask, runs `op` and exits.
#pragma once

#include <grp.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <functional>
#include <vector>

namespace cleancache::testing {

inline constexpr uid_t kNobody = 65534;

struct Caller {
  uid_t uid = kNobody;
  gid_t gid = kNobody;
  std::vector<gid_t> groups;  // supplementary
  mode_t umask = 022;
};

// The child's exit code: 0 if `op` returned true, else `op`'s errno (101
// when errno was 0); 100 if it could not become `caller`, 200 if it died.
inline int RunAs(const Caller& caller, const std::function<bool()>& op) {
  pid_t pid = fork();
  if (pid == 0) {
    umask(caller.umask);
    if (setgroups(caller.groups.size(), caller.groups.data()) != 0 ||
        setresgid(caller.gid, caller.gid, caller.gid) != 0 || setresuid(caller.uid, caller.uid, caller.uid) != 0) {
      _exit(100);
    }
    errno = 0;
    _exit(op() ? 0 : (errno == 0 ? 101 : errno));
  }
  int status = 0;
  waitpid(pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : 200;
}

inline int AsNobody(const std::function<bool()>& op) { return RunAs(Caller{}, op); }

}  // namespace cleancache::testing
