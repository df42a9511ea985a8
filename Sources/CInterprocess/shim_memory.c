#define _GNU_SOURCE
#include "CInterprocessMemory.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

// MARK: mappings and anonymous memory

int cipc_memfd_create(const char *name, unsigned int flags) { return memfd_create(name, flags); }

void *cipc_mremap(void *address, size_t old_length, size_t new_length, int flags) {
    return mremap(address, old_length, new_length, flags);
}

void *cipc_map_failed(void) { return MAP_FAILED; }
int cipc_mremap_maymove(void) { return MREMAP_MAYMOVE; }
unsigned int cipc_mfd_cloexec(void) { return MFD_CLOEXEC; }

// MARK: semaphores

sem_t *cipc_sem_open(const char *name, int flags) {
    sem_t *sem = sem_open(name, flags);
    return sem == SEM_FAILED ? NULL : sem;
}

sem_t *cipc_sem_create(const char *name, int flags, mode_t mode, unsigned int value) {
    sem_t *sem = sem_open(name, flags | O_CREAT, mode, value);
    return sem == SEM_FAILED ? NULL : sem;
}

int cipc_sem_clockwait_monotonic(sem_t *sem, const struct timespec *deadline) {
    return sem_clockwait(sem, CLOCK_MONOTONIC, deadline);
}

int cipc_sem_value_max(void) { return SEM_VALUE_MAX; }

// MARK: posting from a signal handler

static _Atomic(sem_t *) posted_semaphores[_NSIG];
static struct sigaction posted_previous[_NSIG];

static void post_handler(int signal) {
    int saved = errno;
    if (signal > 0 && signal < _NSIG) {
        sem_t *sem = atomic_load(&posted_semaphores[signal]);
        if (sem) cipc_sem_post_checked(sem);
    }
    errno = saved;
}

int cipc_post_on_signal(int signal, sem_t *sem) {
    if (signal <= 0 || signal >= _NSIG || signal == SIGKILL || signal == SIGSTOP || !sem) {
        errno = EINVAL;
        return -1;
    }
    sem_t *expected = NULL;
    if (!atomic_compare_exchange_strong(&posted_semaphores[signal], &expected, sem)) {
        errno = EBUSY;
        return -1;
    }
    struct sigaction action;
    memset(&action, 0, sizeof action);
    action.sa_handler = post_handler;
    sigemptyset(&action.sa_mask);
    action.sa_flags = SA_RESTART;
    if (sigaction(signal, &action, &posted_previous[signal]) != 0) {
        int code = errno;
        atomic_store(&posted_semaphores[signal], NULL);
        errno = code;
        return -1;
    }
    return 0;
}

int cipc_stop_post_on_signal(int signal) {
    if (signal <= 0 || signal >= _NSIG || !atomic_load(&posted_semaphores[signal])) {
        errno = EINVAL;
        return -1;
    }
    int rc = sigaction(signal, &posted_previous[signal], NULL);
    atomic_store(&posted_semaphores[signal], NULL);
    return rc;
}

// MARK: SIGBUS guard
//
// The registry is a list of fixed segments that only grows, so the handler can walk
// it without locks: a slot is FREE, CLAIMED (being filled or emptied) or ACTIVE, and
// the handler reads only ACTIVE slots.

enum { SLOT_FREE = 0, SLOT_CLAIMED = 1, SLOT_ACTIVE = 2 };
#define SLOTS_PER_SEGMENT 64

typedef struct guard_slot {
    _Atomic int state;
    _Atomic uintptr_t start;
    _Atomic size_t length;
    _Atomic uint64_t faults;
    _Atomic uintptr_t first_fault;
} guard_slot;

typedef struct guard_segment {
    guard_slot slots[SLOTS_PER_SEGMENT];
    _Atomic(struct guard_segment *) next;
} guard_segment;

static guard_segment guard_first;
static struct sigaction guard_previous;
static uintptr_t guard_page_mask;

static int guard_repair(uintptr_t address) {
    for (guard_segment *segment = &guard_first; segment; segment = atomic_load(&segment->next)) {
        for (int i = 0; i < SLOTS_PER_SEGMENT; i++) {
            guard_slot *slot = &segment->slots[i];
            if (atomic_load(&slot->state) != SLOT_ACTIVE) continue;
            uintptr_t start = atomic_load(&slot->start);
            size_t length = atomic_load(&slot->length);
            if (address < start || address - start >= length) continue;
            uintptr_t page = address & guard_page_mask;
            if (page < start) page = start;
            // The backing object ends before this page: every later page of the range
            // is past its end too, so replace them all at once.
            void *zero = mmap((void *)page, start + length - page, PROT_READ | PROT_WRITE,
                              MAP_FIXED | MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
            if (zero == MAP_FAILED) return 0;
            uintptr_t first = atomic_load(&slot->first_fault);
            while ((first == 0 || address < first) &&
                   !atomic_compare_exchange_weak(&slot->first_fault, &first, address)) {
            }
            atomic_fetch_add(&slot->faults, 1);
            return 1;
        }
    }
    return 0;
}

static void guard_handler(int signal, siginfo_t *info, void *context) {
    int saved = errno;
    if (info && info->si_code > 0 && guard_repair((uintptr_t)info->si_addr)) {
        errno = saved;
        return;
    }
    errno = saved;
    if (guard_previous.sa_flags & SA_SIGINFO) {
        guard_previous.sa_sigaction(signal, info, context);
    } else if (guard_previous.sa_handler != SIG_DFL && guard_previous.sa_handler != SIG_IGN) {
        guard_previous.sa_handler(signal);
    } else if (guard_previous.sa_handler == SIG_DFL || (info && info->si_code > 0)) {
        // Not ours: give the signal its default action. A fault re-occurs on return;
        // a sent signal is raised again and delivered once this handler returns.
        struct sigaction fallback;
        memset(&fallback, 0, sizeof fallback);
        fallback.sa_handler = SIG_DFL;
        sigemptyset(&fallback.sa_mask);
        sigaction(SIGBUS, &fallback, NULL);
        if (!info || info->si_code <= 0) raise(SIGBUS);
    }
}

int cipc_mapping_guard_install(void) {
    static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
    static int installed = 0;
    pthread_mutex_lock(&lock);
    int rc = 0;
    if (!installed) {
        guard_page_mask = ~((uintptr_t)sysconf(_SC_PAGESIZE) - 1);
        struct sigaction action;
        memset(&action, 0, sizeof action);
        action.sa_sigaction = guard_handler;
        sigemptyset(&action.sa_mask);
        action.sa_flags = SA_SIGINFO | SA_ONSTACK | SA_RESTART;
        rc = sigaction(SIGBUS, &action, &guard_previous);
        if (rc == 0) installed = 1;
    }
    pthread_mutex_unlock(&lock);
    return rc;
}

void *cipc_mapping_guard_register(void *start, size_t length) {
    for (;;) {
        guard_segment *last = &guard_first;
        for (guard_segment *segment = &guard_first; segment; segment = atomic_load(&segment->next)) {
            last = segment;
            for (int i = 0; i < SLOTS_PER_SEGMENT; i++) {
                guard_slot *slot = &segment->slots[i];
                int expected = SLOT_FREE;
                if (!atomic_compare_exchange_strong(&slot->state, &expected, SLOT_CLAIMED)) continue;
                atomic_store(&slot->start, (uintptr_t)start);
                atomic_store(&slot->length, length);
                atomic_store(&slot->faults, 0);
                atomic_store(&slot->first_fault, 0);
                atomic_store(&slot->state, SLOT_ACTIVE);
                return slot;
            }
        }
        guard_segment *added = calloc(1, sizeof *added);
        if (!added) {
            errno = ENOMEM;
            return NULL;
        }
        guard_segment *expected = NULL;
        if (!atomic_compare_exchange_strong(&last->next, &expected, added)) free(added);
    }
}

void cipc_mapping_guard_unregister(void *slot) {
    guard_slot *s = slot;
    atomic_store(&s->state, SLOT_CLAIMED);
    atomic_store(&s->start, 0);
    atomic_store(&s->length, 0);
    atomic_store(&s->state, SLOT_FREE);
}

void cipc_mapping_guard_suspend(void *slot) { atomic_store(&((guard_slot *)slot)->state, SLOT_CLAIMED); }

void cipc_mapping_guard_move(void *slot, void *start, size_t length) {
    guard_slot *s = slot;
    atomic_store(&s->state, SLOT_CLAIMED);
    atomic_store(&s->start, (uintptr_t)start);
    atomic_store(&s->length, length);
    atomic_store(&s->faults, 0);
    atomic_store(&s->first_fault, 0);
    atomic_store(&s->state, SLOT_ACTIVE);
}

uint64_t cipc_mapping_guard_faults(const void *slot) {
    return atomic_load_explicit(&((guard_slot *)slot)->faults, memory_order_acquire);
}

uintptr_t cipc_mapping_guard_first_fault(const void *slot) {
    return atomic_load(&((guard_slot *)slot)->first_fault);
}

// MARK: sealed memfds (channels, SPEC M5)

unsigned int cipc_mfd_allow_sealing(void) { return MFD_ALLOW_SEALING; }
int cipc_f_add_seals(void) { return F_ADD_SEALS; }
int cipc_f_get_seals(void) { return F_GET_SEALS; }
int cipc_f_seal_shrink(void) { return F_SEAL_SHRINK; }
int cipc_f_seal_grow(void) { return F_SEAL_GROW; }
