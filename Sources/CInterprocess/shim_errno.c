#include "CInterprocessErrno.h"

#include <errno.h>

static _Thread_local int captured;

int cipc_errno_capture(void) { captured = errno; return captured; }
int cipc_errno_captured(void) { return captured; }
void cipc_errno_set_captured(int code) { captured = code; errno = code; }

static _Thread_local int library_thread;

void cipc_library_thread_mark(void) { library_thread = 1; }
int cipc_library_thread_is_marked(void) { return library_thread; }
