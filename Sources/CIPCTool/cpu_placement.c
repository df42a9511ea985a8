#define _GNU_SOURCE
#include "CIPCTool.h"

#include <sched.h>

int cipc_allowed_cpus(int *out, int capacity) {
    cpu_set_t set;
    if (sched_getaffinity(0, sizeof set, &set) != 0) return -1;
    int found = 0;
    for (int cpu = 0; cpu < CPU_SETSIZE && found < capacity; cpu++)
        if (CPU_ISSET(cpu, &set)) out[found++] = cpu;
    return found;
}

int cipc_sched_pin(int cpu) {
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    return sched_setaffinity(0, sizeof set, &set);
}
