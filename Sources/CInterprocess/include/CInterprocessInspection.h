/// The C shim for the host-wide inventory of IPC objects (SPEC L2): the calls
/// that list POSIX message queues by mounting the mqueue filesystem in a mount
/// namespace private to one thread. `unshare` and `mount` are GNU/Linux
/// declarations Swift's Glibc module does not expose, and their flags are macros.
#ifndef C_INTERPROCESS_INSPECTION_H
#define C_INTERPROCESS_INSPECTION_H

/// `unshare(2)`.
int cipc_unshare(int flags);
/// `CLONE_NEWNS | CLONE_FS`: a mount namespace and filesystem information
/// (root, cwd, umask) of the calling thread's own.
int cipc_clone_newns_fs(void);
/// `mount(2)`.
int cipc_mount(const char *source, const char *target, const char *type, unsigned long flags, const void *data);
/// `MS_REC | MS_PRIVATE`: make every mount below a point private (no propagation).
unsigned long cipc_ms_rec_private(void);
/// `MS_NOSUID | MS_NODEV | MS_NOEXEC`.
unsigned long cipc_ms_nosuid_nodev_noexec(void);
/// `umount2(2)`.
int cipc_umount2(const char *target, int flags);
/// `MNT_DETACH`.
int cipc_mnt_detach(void);
/// `O_NOATIME`: a read leaves the file's access time alone (GNU; the owner or
/// CAP_FOWNER only, else `open` fails with EPERM).
int cipc_o_noatime(void);

#endif
