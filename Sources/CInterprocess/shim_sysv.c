#define _GNU_SOURCE
#include "CInterprocessSystemV.h"

// The caller of semctl defines this union (SUSv3); glibc does not.
union cipc_semun {
    int val;
    struct semid_ds *buf;
    unsigned short *array;
};

int cipc_semtimedop(int id, struct sembuf *operations, size_t count, const struct timespec *timeout) {
    return semtimedop(id, operations, count, timeout);
}

int cipc_semctl(int id, int member, int command) {
    return semctl(id, member, command);
}

int cipc_semctl_setval(int id, int member, int value) {
    union cipc_semun argument = { .val = value };
    return semctl(id, member, SETVAL, argument);
}

int cipc_semctl_array(int id, int command, unsigned short *values) {
    union cipc_semun argument = { .array = values };
    return semctl(id, 0, command, argument);
}

int cipc_semctl_ds(int id, int command, struct semid_ds *info) {
    union cipc_semun argument = { .buf = info };
    return semctl(id, 0, command, argument);
}
