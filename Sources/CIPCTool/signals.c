#define _GNU_SOURCE
#include "CIPCTool.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>
#include <signal.h>
#include <sys/prctl.h>

int cipc_kill_when_parent_dies(void) { return prctl(PR_SET_PDEATHSIG, SIGKILL); }

// MARK: signals that end `ipc bench`

static volatile int interrupt_pipe = -1;

static void forward_signal(int signal) {
    int saved = errno;
    unsigned char number = (unsigned char)signal;
    if (interrupt_pipe >= 0) (void)write(interrupt_pipe, &number, 1);
    errno = saved;
}

int cipc_forward_signals(int pipe_writer, const int *signals, int count) {
    interrupt_pipe = pipe_writer;
    struct sigaction action;
    memset(&action, 0, sizeof action);
    action.sa_handler = forward_signal;
    sigfillset(&action.sa_mask);
    action.sa_flags = SA_RESTART;
    for (int i = 0; i < count; i++)
        if (sigaction(signals[i], &action, NULL) != 0) return -1;
    return 0;
}

int cipc_restore_default_action(int signal) {
    struct sigaction action;
    memset(&action, 0, sizeof action);
    action.sa_handler = SIG_DFL;
    sigemptyset(&action.sa_mask);
    return sigaction(signal, &action, NULL);
}
