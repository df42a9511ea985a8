#include "CInterprocessErrno.h"

#include <errno.h>

static _Thread_local int captured;

int cipc_errno_capture(void) { captured = errno; return captured; }
int cipc_errno_captured(void) { return captured; }
void cipc_errno_set_captured(int code) { captured = code; errno = code; }
