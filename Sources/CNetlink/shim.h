// nettune's one C shim: the libnl headers it uses, static inline wrappers for
// what Swift cannot import directly (function-like macros, variadic ioctl), and
// the declarations glibc hides behind _GNU_SOURCE. Nothing else is C.
#ifndef NETTUNE_CNETLINK_SHIM_H
#define NETTUNE_CNETLINK_SHIM_H

#include <stdio.h>
#include <netlink/netlink.h>
#include <netlink/errno.h>
#include <netlink/socket.h>
#include <netlink/cache.h>
#include <netlink/msg.h>
#include <netlink/attr.h>
#include <netlink/route/link.h>
#include <netlink/route/addr.h>
#include <netlink/route/route.h>
#include <netlink/route/nexthop.h>
#include <netlink/route/tc.h>
#include <netlink/route/qdisc.h>
#include <netlink/route/class.h>
#include <netlink/route/qdisc/tbf.h>
#include <netlink/route/qdisc/htb.h>
#include <linux/if_link.h>
#include <linux/rtnetlink.h>
#include <net/if.h>

/// TC_CAST: a qdisc or class viewed as its common traffic-control base.
static inline struct rtnl_tc *cnl_qdisc_as_tc(struct rtnl_qdisc *qdisc) { return TC_CAST(qdisc); }
static inline struct rtnl_tc *cnl_class_as_tc(struct rtnl_class *cls) { return TC_CAST(cls); }

/// TC_H_ROOT: the parent handle of a root qdisc.
static inline uint32_t cnl_tc_handle_root(void) { return TC_H_ROOT; }

/* splice(2), accept4(2), pipe2(2) and the pipe-size fcntl are declared by glibc only under
 * _GNU_SOURCE, which Swift's Glibc module is not built with. Declare the functions
 * and the constants here (values from the kernel's uapi headers); nothing is wrapped. */
#include <sys/types.h>
#include <sys/socket.h>
extern ssize_t splice(int fd_in, loff_t *off_in, int fd_out, loff_t *off_out, size_t len, unsigned int flags);
extern int accept4(int sockfd, struct sockaddr *addr, socklen_t *addrlen, int flags);
extern int pipe2(int pipefd[2], int flags);
enum {
    CNL_SPLICE_F_MOVE = 1,
    CNL_SPLICE_F_MORE = 4,
    CNL_F_SETPIPE_SZ = 1031,
    CNL_F_GETPIPE_SZ = 1032,
};

/* The lab's delay line: TUN devices. TUNSETIFF and TUNSETOFFLOAD are _IOW()
 * macros and ioctl(2) is variadic, so neither reaches Swift; each wrapper makes
 * exactly one ioctl and returns its result for Swift's Syscall layer to check. */
#include <linux/if_tun.h>
#include <sys/ioctl.h>
#include <string.h>

/// Attaches `fd` (an open /dev/net/tun) to the TUN device `name`, creating it.
static inline int cnl_tun_set_interface(int fd, const char *name, int flags) {
    struct ifreq request;
    memset(&request, 0, sizeof request);
    strncpy(request.ifr_name, name, IFNAMSIZ - 1);
    request.ifr_flags = (short)flags;
    return ioctl(fd, TUNSETIFF, &request);
}

/// Tells the kernel which offloads the reader handles (TUN_F_CSUM, TUN_F_TSO4 ...).
static inline int cnl_tun_set_offload(int fd, unsigned int offloads) {
    return ioctl(fd, TUNSETOFFLOAD, (unsigned long)offloads);
}

/// Lets this thread's sleeps end within `nanoseconds` of when asked (the default
/// slack of 50 µs would add to every delayed packet). prctl(2) is variadic.
#include <sys/prctl.h>
static inline int cnl_set_timer_slack(unsigned long nanoseconds) {
    return prctl(PR_SET_TIMERSLACK, nanoseconds, 0UL, 0UL, 0UL);
}

/// stdout, to check that what `print` wrote got there: a mutable C global, which
/// Swift 6 does not touch.
static inline FILE *cnl_standard_output(void) { return stdout; }

/* setns(2), to open a TUN device inside a lab namespace. */
extern int setns(int fd, int nstype);
enum { CNL_CLONE_NEWNET = 0x40000000 };

#endif
