#define _GNU_SOURCE
#include "CIPCTool.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/syscall.h>

int cipc_kill_when_parent_dies(void) { return prctl(PR_SET_PDEATHSIG, SIGKILL); }

int cipc_restore_default_action(int signal) {
    struct sigaction action;
    memset(&action, 0, sizeof action);
    action.sa_handler = SIG_DFL;
    sigemptyset(&action.sa_mask);
    return sigaction(signal, &action, NULL);
}

int cipc_tool_pidfd_open(int pid) { return (int)syscall(SYS_pidfd_open, pid, 0); }
