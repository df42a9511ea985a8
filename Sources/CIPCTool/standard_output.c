#define _GNU_SOURCE
#include "CIPCTool.h"

#include <errno.h>
#include <stdio.h>

int cipc_flush_stdout(void) {
    errno = 0;
    int failed = fflush(stdout) != 0;
    int code = errno;
    if (!failed && !ferror(stdout)) return 0;
    clearerr(stdout);
    return failed && code != 0 ? code : -1;
}
