#ifndef C_INTERPROCESS_ERRNO_H
#define C_INTERPROCESS_ERRNO_H

// The errno of the last system call an adapter made on this thread, captured by
// the adapter right after the call (Core/Syscalls.swift `adapter`), so that no
// allocation, lock or log between the call and the error report can clobber it.

/// Stores the current `errno` as this thread's captured errno and returns it.
int cipc_errno_capture(void);
/// This thread's captured errno.
int cipc_errno_captured(void);
/// Sets this thread's captured errno (and `errno`) to `code`.
void cipc_errno_set_captured(int code);

#endif
