// C shim declarations for the Memory area (see CInterprocess.h for the rules).
#pragma once
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/mman.h>
#include <semaphore.h>
#include <time.h>
#include <signal.h>

// MARK: mappings and anonymous memory (GNU extensions, variadic mremap)

/// `memfd_create(name, flags)`.
int cipc_memfd_create(const char *name, unsigned int flags);
/// `mremap(address, old_length, new_length, flags)` without a new address.
void *cipc_mremap(void *address, size_t old_length, size_t new_length, int flags);
/// `MAP_FAILED`, `MREMAP_MAYMOVE`, `MFD_CLOEXEC`.
void *cipc_map_failed(void);
int cipc_mremap_maymove(void);
unsigned int cipc_mfd_cloexec(void);
/// `MFD_ALLOW_SEALING`, `F_ADD_SEALS`, `F_GET_SEALS`, `F_SEAL_SHRINK`, `F_SEAL_GROW`
/// (sealed anonymous channels, SPEC M5).
unsigned int cipc_mfd_allow_sealing(void);
int cipc_f_add_seals(void);
int cipc_f_get_seals(void);
int cipc_f_seal_shrink(void);
int cipc_f_seal_grow(void);

// MARK: semaphores (variadic sem_open, GNU sem_clockwait)

/// `sem_open(name, flags)` for an existing semaphore; NULL instead of SEM_FAILED.
sem_t *cipc_sem_open(const char *name, int flags);
/// `sem_open(name, flags | O_CREAT, mode, value)`; NULL instead of SEM_FAILED.
sem_t *cipc_sem_create(const char *name, int flags, mode_t mode, unsigned int value);
/// `sem_clockwait(sem, CLOCK_MONOTONIC, deadline)`.
int cipc_sem_clockwait_monotonic(sem_t *sem, const struct timespec *deadline);
/// `SEM_VALUE_MAX`.
int cipc_sem_value_max(void);

// MARK: semaphore operations, hardened (shim_semaphore.c)
//
// glibc's protocol on glibc's layout, so they interoperate with sem_* of any
// program; but a semaphore whose memory another process overwrote is EINVAL,
// never an abort, and a futex failure is an errno. Each returns 0, or -1 with
// errno set, like the sem_* function it replaces.

/// `sem_post`: EOVERFLOW at SEM_VALUE_MAX. Async-signal-safe.
int cipc_sem_post_checked(sem_t *sem);
/// `sem_trywait`: EAGAIN when the value is 0.
int cipc_sem_trywait_checked(sem_t *sem);
/// `sem_wait` when `deadline` is NULL, else `sem_clockwait` on CLOCK_MONOTONIC:
/// EINTR when a signal interrupted the wait, ETIMEDOUT at the deadline.
int cipc_sem_wait_checked(sem_t *sem, const struct timespec *deadline);
/// `sem_getvalue`.
int cipc_sem_getvalue_checked(sem_t *sem, int *value);
/// `O_TMPFILE` (a macro Swift does not import).
int cipc_o_tmpfile(void);

// MARK: posting a semaphore from a signal handler (sem_post is async-signal-safe)

/// Installs a handler for `signal` that calls `sem_post(sem)`, saving the previous
/// action. Returns 0, or -1 with errno set: EINVAL for a signal that cannot be
/// caught, EBUSY when `signal` already posts a semaphore.
int cipc_post_on_signal(int signal, sem_t *sem);
/// Restores the action saved by `cipc_post_on_signal` and forgets the semaphore.
int cipc_stop_post_on_signal(int signal);

// MARK: guard against SIGBUS in mappings whose backing object shrank

/// Installs the SIGBUS handler once (later calls do nothing). A fault inside a
/// registered range is repaired by mapping zero-filled private pages from the
/// faulting page to the end of the range, and counted; any other SIGBUS goes to the
/// action that was in place before (or the default action). Returns 0 or -1.
int cipc_mapping_guard_install(void);
/// Registers [start, start + length); returns the slot, or NULL (ENOMEM).
void *cipc_mapping_guard_register(void *start, size_t length);
/// Forgets a slot. The range must no longer be accessed.
void cipc_mapping_guard_unregister(void *slot);
/// Stops watching the slot's range while it is being remapped.
void cipc_mapping_guard_suspend(void *slot);
/// Watches [start, start + length) under the slot again, with no faults counted.
void cipc_mapping_guard_move(void *slot, void *start, size_t length);
/// How many faults the slot has absorbed since it was registered.
uint64_t cipc_mapping_guard_faults(const void *slot);
/// The lowest faulting address the slot has seen (0 when none).
uintptr_t cipc_mapping_guard_first_fault(const void *slot);
