/* Helpers every test suite needs and none should write again: the monotonic clock, sleeping,
 * and child processes for private servers (a free loopback port, a binary on PATH, a spawn that
 * dies with its parent, a stop by PID, a temp dir removed). Plain C and POSIX; no cmocka, no
 * openfault, so harnesses, stress programs and benchmarks can all link it. */
#ifndef OPENFAULT_TESTS_TEST_UTIL_H
#define OPENFAULT_TESTS_TEST_UTIL_H

#include <stddef.h>
#include <stdint.h>
#include <netinet/in.h>
#include <sys/types.h>

#define TEST_NS_PER_MS INT64_C(1000000)

/* CLOCK_MONOTONIC in ns: the clock of of_clock_monotonic_ns(), so readings compare with the
 * library's deadlines and valid-until times. */
int64_t test_now_ns(void);

/* Sleep @p ms milliseconds, resumed after a signal; nothing for ms <= 0. */
void test_sleep_ms(int64_t ms);

/* @p a = 127.0.0.1:@p port (0: any port), the rest zeroed. */
void test_loopback_addr(struct sockaddr_in *a, int port);

/* A TCP port on 127.0.0.1 the kernel just handed out (free now: a race with another process is
 * the caller's start loop to catch), never a well-known server's (2379, 2380, 6379); -1 when no
 * socket could be bound. */
int test_free_port(void);

/* Full path of @p prog on $PATH into @p out (@p cap bytes); 0, or -1 when not found. Resolve
 * before fork(): the child then only calls exec. */
int test_find_program(const char *prog, char *out, size_t cap);

/* Fork and exec @p argv (argv[0] a full path, NULL-terminated), stdin from /dev/null, stdout
 * and stderr appended to @p log_path. The child gets SIGKILL when this process dies
 * (PR_SET_PDEATHSIG), its own process group (a terminal's ^C or a test's kill(0, ...) does not
 * reach it) and an empty signal mask. 0 with the PID in @p out_pid, or -1 with a message on
 * stderr naming @p who. */
int test_spawn(const char *who, const char *const *argv, const char *log_path, pid_t *out_pid);

/* 1 when @p pid has exited (it is then reaped), else 0. */
int test_exited(pid_t pid);

/* SIGKILL @p pid and reap it. */
void test_kill_reap(pid_t pid);

/* SIGCONT (a stopped process cannot act on SIGTERM), SIGTERM, SIGKILL if it is still there 5 s
 * later; reaped in every case. */
void test_stop_pid(pid_t pid);

/* Remove @p dir and everything below it. */
void test_remove_tree(const char *dir);

/* Number of open file descriptors of this process. */
int test_count_fds(void);

/* 1 when the suite runs under `meson test --setup valgrind` (which sets OF_UNDER_VALGRIND):
 * suites then shrink their largest loops, which valgrind slows 20-50 times. */
int test_under_valgrind(void);

#endif
