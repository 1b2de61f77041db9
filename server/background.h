// Background threads (reloads, zonectl edits, transfers and their SQLite writes) must never
// delay answering. They run under SCHED_IDLE: a query worker waking on the same CPU preempts
// them at once, where a niced thread may finish its time slice first (milliseconds). They
// still run whenever workers leave CPU free, and get a small share (~0.3%) under full load,
// so a server saturated by queries reloads slowly rather than answering slowly.
#pragma once
#include <pthread.h>
#include <sched.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

namespace server {

inline void make_background_thread() {
  sched_param p{};
  p.sched_priority = 0;
  if (::pthread_setschedparam(::pthread_self(), SCHED_IDLE, &p) != 0)
    ::setpriority(PRIO_PROCESS, static_cast<id_t>(::syscall(SYS_gettid)), 19);
}

}  // namespace server
