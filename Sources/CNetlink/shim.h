// The libnl headers nettune uses, plus static inline wrappers for what Swift
// cannot import directly (function-like macros). Nothing else is C.
#ifndef NETTUNE_CNETLINK_SHIM_H
#define NETTUNE_CNETLINK_SHIM_H

#include <netlink/netlink.h>
#include <netlink/errno.h>
#include <netlink/socket.h>
#include <netlink/cache.h>
#include <netlink/msg.h>
#include <netlink/attr.h>
#include <netlink/route/link.h>
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

#endif
