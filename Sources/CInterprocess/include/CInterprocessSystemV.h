// C shim declarations for System V IPC (see CInterprocess.h for the rules).
#pragma once
#include <sys/types.h>
#include <sys/ipc.h>
#include <sys/msg.h>
#include <sys/sem.h>
#include <sys/shm.h>

#include <time.h>

/// `semtimedop` (a GNU extension: declared only with _GNU_SOURCE). `timeout` is
/// relative; NULL waits without a limit.
int cipc_semtimedop(int id, struct sembuf *operations, size_t count, const struct timespec *timeout);

// MARK: semctl (variadic in C: the fourth argument is a `union semun` the
// caller must define, so Swift cannot pass it)

/// `semctl(id, member, command)` for commands without an argument:
/// GETVAL, GETPID, GETNCNT, GETZCNT, IPC_RMID.
int cipc_semctl(int id, int member, int command);
/// `semctl(id, member, SETVAL, value)`.
int cipc_semctl_setval(int id, int member, int value);
/// `semctl(id, 0, GETALL|SETALL, values)`.
int cipc_semctl_array(int id, int command, unsigned short *values);
/// `semctl(id, 0, IPC_STAT|IPC_SET, info)`.
int cipc_semctl_ds(int id, int command, struct semid_ds *info);

