// nettune's one C shim: the libnl headers it uses, static inline wrappers for
// what Swift cannot import directly (function-like macros), and the splice(2)
// declaration glibc hides behind _GNU_SOURCE. Nothing else is C.
#ifndef NETTUNE_CNETLINK_SHIM_H
#define NETTUNE_CNETLINK_SHIM_H

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

/* splice(2), accept4(2) and the pipe-size fcntl are declared by glibc only under
 * _GNU_SOURCE, which Swift's Glibc module is not built with. Declare the functions
 * and the constants here (values from the kernel's uapi headers); nothing is wrapped. */
#include <sys/types.h>
#include <sys/socket.h>
extern ssize_t splice(int fd_in, loff_t *off_in, int fd_out, loff_t *off_out, size_t len, unsigned int flags);
extern int accept4(int sockfd, struct sockaddr *addr, socklen_t *addrlen, int flags);
enum {
    CNL_SPLICE_F_MOVE = 1,
    CNL_SPLICE_F_MORE = 4,
    CNL_F_SETPIPE_SZ = 1031,
    CNL_F_GETPIPE_SZ = 1032,
};

#endif
