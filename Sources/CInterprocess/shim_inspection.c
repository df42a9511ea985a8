#define _GNU_SOURCE
#include "CInterprocessInspection.h"
#include <sched.h>
#include <sys/mount.h>
#include <fcntl.h>

int cipc_unshare(int flags) { return unshare(flags); }
int cipc_clone_newns_fs(void) { return CLONE_NEWNS | CLONE_FS; }

int cipc_mount(const char *source, const char *target, const char *type, unsigned long flags, const void *data) {
    return mount(source, target, type, flags, data);
}
unsigned long cipc_ms_rec_private(void) { return MS_REC | MS_PRIVATE; }
unsigned long cipc_ms_nosuid_nodev_noexec(void) { return MS_NOSUID | MS_NODEV | MS_NOEXEC; }

int cipc_umount2(const char *target, int flags) { return umount2(target, flags); }
int cipc_mnt_detach(void) { return MNT_DETACH; }
int cipc_o_noatime(void) { return O_NOATIME; }
