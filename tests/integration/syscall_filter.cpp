// Test helper: runs a command under a seccomp filter the way systemd applies a unit's
// SystemCallFilter= (kill the process on any other system call: "Bad system call").
//   syscall_filter [--user NAME] --allow FILE -- COMMAND [ARG]...   only the calls in FILE
//   syscall_filter [--user NAME] --deny FILE -- COMMAND [ARG]...    every call but those
// --user switches to that user (and its groups) first, as systemd does for User= before it
// loads the filter.
// FILE has one system call name per line (tests/integration/test_systemd_unit.py expands the
// unit's @groups with systemd-analyze). Names this architecture does not have are skipped,
// as systemd skips them.
#include <grp.h>
#include <pwd.h>
#include <seccomp.h>
#include <sys/prctl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <string>

int main(int argc, char** argv) {
  const char* user = nullptr;
  if (argc > 2 && std::strcmp(argv[1], "--user") == 0) {
    user = argv[2];
    argv += 2;
    argc -= 2;
  }
  if (argc < 5 || (std::strcmp(argv[1], "--allow") != 0 && std::strcmp(argv[1], "--deny") != 0) ||
      std::strcmp(argv[3], "--") != 0) {
    std::fprintf(stderr, "usage: syscall_filter [--user NAME] --allow|--deny FILE -- COMMAND [ARG]...\n");
    return 2;
  }
  bool allow = std::strcmp(argv[1], "--allow") == 0;
  std::ifstream in(argv[2]);
  if (!in) {
    std::fprintf(stderr, "syscall_filter: cannot read %s: %s\n", argv[2], std::strerror(errno));
    return 2;
  }
  scmp_filter_ctx ctx = seccomp_init(allow ? SCMP_ACT_KILL_PROCESS : SCMP_ACT_ALLOW);
  if (!ctx) {
    std::fprintf(stderr, "syscall_filter: seccomp_init failed\n");
    return 2;
  }
  size_t rules = 0;
  for (std::string name; std::getline(in, name);) {
    if (name.empty() || name[0] == '#') continue;
    int nr = seccomp_syscall_resolve_name(name.c_str());
    if (nr == __NR_SCMP_ERROR) continue;  // not on this architecture
    int rc = seccomp_rule_add(ctx, allow ? SCMP_ACT_ALLOW : SCMP_ACT_KILL_PROCESS, nr, 0);
    if (rc != 0 && rc != -EEXIST) {
      std::fprintf(stderr, "syscall_filter: cannot add %s: %s\n", name.c_str(), std::strerror(-rc));
      return 2;
    }
    ++rules;
  }
  if (rules == 0) {
    std::fprintf(stderr, "syscall_filter: no system call names in %s\n", argv[2]);
    return 2;
  }
  if (user) {
    const passwd* pw = ::getpwnam(user);
    if (!pw || ::initgroups(user, pw->pw_gid) != 0 || ::setgid(pw->pw_gid) != 0 ||
        ::setuid(pw->pw_uid) != 0) {
      std::fprintf(stderr, "syscall_filter: cannot become %s: %s\n", user,
                   pw ? std::strerror(errno) : "no such user");
      return 2;
    }
  }
  // NoNewPrivileges=yes, as in the unit (and needed to load a filter without CAP_SYS_ADMIN).
  if (::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 || seccomp_load(ctx) != 0) {
    std::fprintf(stderr, "syscall_filter: cannot load the filter: %s\n", std::strerror(errno));
    return 2;
  }
  seccomp_release(ctx);
  ::execvp(argv[4], argv + 4);
  std::fprintf(stderr, "syscall_filter: cannot run %s: %s\n", argv[4], std::strerror(errno));
  return 127;
}
