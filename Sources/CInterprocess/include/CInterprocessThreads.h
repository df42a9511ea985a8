// C shim declarations for the library's threads, signals and futexes
// (see CInterprocess.h for the rules).
#pragma once
#include <stdint.h>
#include <signal.h>
#include <time.h>

// MARK: the signal that interrupts a library thread (SIGURG)

/// Installs, once, the handler for `signal` that interrupts a library thread
/// blocked in a system call: SA_SIGINFO, no SA_RESTART, so the call returns EINTR.
/// The action in place before is saved: a signal that the library did not send
/// (not a `tgkill` from this process to a thread expecting an interruption, see
/// `cipc_interrupt_expected`) is passed on to it. Returns 0, or -1 with errno set.
int cipc_interrupt_handler_install(int signal);
/// Marks the calling thread as expecting (1) or no longer expecting (0) the
/// library's interruption signal. Async-signal-safe.
void cipc_interrupt_expected(int expected);
/// How many interruption signals the handler passed on to the program's own
/// handler (for tests).
uint64_t cipc_interrupt_forwarded(void);
/// How many interruption signals the library sent and its handler kept (for tests).
uint64_t cipc_interrupt_library(void);

// MARK: thread creation

/// The signal mask of a library thread: every signal blocked except the
/// synchronous fault signals (SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGTRAP, SIGSYS),
/// which the kernel would otherwise deliver with the default action.
void cipc_library_thread_mask(sigset_t *mask);

/// `pthread_setname_np(pthread_self(), name)` (GNU): at most 15 bytes; 0 or ERANGE.
int cipc_set_thread_name(const char *name);

/// The calling thread's attributes as `pthread_getattr_np` reports them: its stack
/// size in bytes and whether it is detached (1) or joinable (0). 0 or the error number.
int cipc_thread_attributes(size_t *stack_size, int *detached);

// MARK: futex on a 32-bit word, shared between processes

/// `futex(word, FUTEX_WAIT_BITSET, value, deadline, NULL, FUTEX_BITSET_MATCH_ANY)`:
/// sleeps while `*word == value`, until woken or the absolute CLOCK_MONOTONIC
/// `deadline` (NULL: no deadline). Not private: works across processes on shared
/// memory. Returns 0, or -1 with errno (EAGAIN, EINTR, ETIMEDOUT, EFAULT, …).
int cipc_futex_wait(uint32_t *word, uint32_t value, const struct timespec *deadline);
/// `futex(word, FUTEX_WAKE, count)`: the number of waiters woken, or -1 with errno.
int cipc_futex_wake(uint32_t *word, int count);

// MARK: memory barriers on other processes' threads

/// `membarrier(MEMBARRIER_CMD_QUERY, 0, 0)`: the commands this kernel supports
/// (a bit mask), or -1 with errno.
int cipc_membarrier_query(void);
/// `membarrier(MEMBARRIER_CMD_REGISTER_GLOBAL_EXPEDITED, 0, 0)`: this process
/// will take part in `cipc_membarrier_global_expedited`. 0, or -1 with errno.
int cipc_membarrier_register_global_expedited(void);
/// `membarrier(MEMBARRIER_CMD_GLOBAL_EXPEDITED, 0, 0)`: every running thread of
/// every registered process executes a full memory barrier before this returns.
/// 0, or -1 with errno.
int cipc_membarrier_global_expedited(void);
/// The command bit of `MEMBARRIER_CMD_GLOBAL_EXPEDITED` in the query's mask.
int cipc_membarrier_cmd_global_expedited(void);
/// Keeps the compiler from moving memory accesses across this point (no
/// instruction is emitted): the channel's store of an index, then its load of the
/// peer's "asleep" flag, stay in that order; `membarrier` orders them in the
/// processor.
static inline void cipc_compiler_barrier(void) { __asm__ __volatile__("" ::: "memory"); }

// MARK: signals read through a descriptor

/// `signalfd(fd, mask, flags)`.
int cipc_signalfd(int fd, const sigset_t *mask, int flags);
/// The `ssi_int` (the value sent with `sigqueue`) of a `struct signalfd_siginfo`
/// read from a signalfd.
int32_t cipc_signalfd_value(const void *info);

// MARK: thread sanitizer annotations

/// Tells the thread sanitizer that the calling thread acquired (`acquire`) or is
/// about to release (`release`) the lock identified by `address`. Swift's
/// `Mutex` hands a contended lock over in the kernel (FUTEX_LOCK_PI /
/// FUTEX_UNLOCK_PI in the uninstrumented Synchronization library), which TSan
/// cannot see, so it would report the accesses the lock orders as races. No-ops
/// unless the TSan runtime (`__tsan_acquire`, `__tsan_release`) is linked in.
void cipc_sanitizer_acquire(void *address);
void cipc_sanitizer_release(void *address);

// MARK: spin locks and barriers (MappedSpinLock, MappedBarrier)

/// The most words one `futex_waitv` call waits on (the kernel's FUTEX_WAITV_MAX).
#define CIPC_FUTEX_WAITV_MAX 128

/// `futex_waitv` (Linux 5.16): sleeps until one of the `count` shared 32-bit
/// `words` is woken, or one of them no longer holds its `values[i]` (EAGAIN), or
/// the absolute CLOCK_MONOTONIC `deadline` (NULL: none). Returns the index of the
/// word that was woken, or -1 with errno (EAGAIN, ETIMEDOUT, EINTR, ENOSYS on
/// kernels before 5.16, EINVAL for a count outside 1...128).
int cipc_futex_waitv(uint32_t *const *words, const uint32_t *values, unsigned count, const struct timespec *deadline);

/// Whether thread `tid` of process `pid` is alive: 1 yes, 0 no (`tgkill(pid, tid,
/// 0)` says ESRCH, or it is a zombie not yet reaped, or the ids are not positive),
/// -1 with errno when that cannot be told.
int cipc_thread_alive(int32_t pid, int32_t tid);

/// The processor's hint that the caller is spinning (`pause` on x86, `yield` on
/// arm), so a spin loop wastes less power and lets a sibling hyper-thread run.
static inline void cipc_cpu_relax(void) {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__) || defined(__arm__)
    __asm__ __volatile__("yield");
#endif
}
