/* libbpf and the few system declarations the datapath layer needs. */
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/if_link.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/vfs.h>

/* Glibc's Swift module hides setns (it needs _GNU_SOURCE). */
int setns(int fd, int nstype);

/* Glibc's Swift module hides sched_setaffinity (it needs _GNU_SOURCE); the mask is a
 * cpu_set_t, here as its words. */
int sched_setaffinity(int pid, unsigned long cpusetsize, const unsigned long *mask);

/* membarrier(MEMBARRIER_CMD_GLOBAL): returns after an RCU grace period, so every BPF program
 * that was running when it was called (XDP runs under rcu_read_lock) has finished. glibc has no
 * wrapper. */
#include <sys/syscall.h>
#include <unistd.h>
static inline long sy_wait_for_running_programs(void)
{
	return syscall(__NR_membarrier, 1 /* MEMBARRIER_CMD_GLOBAL */, 0, 0);
}
