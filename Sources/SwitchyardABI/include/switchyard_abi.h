/* SPDX-License-Identifier: Apache-2.0 */
/*
 * switchyard_abi.h — the one definition of what the XDP datapath and the Swift control plane
 * exchange: map keys and values, constants, drop reasons and the flow hash.
 *
 * Read by two compilers: clang -target bpf (the datapath) and Swift's ClangImporter (the agent,
 * the model, the tests). Nothing here may be copied by hand into either side. Sizes are pinned by
 * _Static_assert below and by MemoryLayout tests in Swift; the loader checks every map's key and
 * value size against these structs when it opens the object.
 *
 * Byte order is in the type: __be16/__be32 fields hold network byte order. IPv4 addresses occupy
 * addr[0] of a four-word address with addr[1..3] zero, so one key layout serves both families.
 */
#ifndef SWITCHYARD_ABI_H
#define SWITCHYARD_ABI_H

#include <linux/types.h>

/* ---- limits ------------------------------------------------------------------------------- */

#define SY_MAGLEV_DEFAULT_SIZE	65537u	    /* prime; Maglev paper §3.4 recommends M >> N */
#define SY_MAGLEV_MAX_SIZE	1048573u    /* largest prime ring the loader accepts (< 2^20) */
#define SY_MAX_SERVICES		4096u	    /* VIP:port:protocol entries per node */
#define SY_MAX_BACKENDS		65536u	    /* backend slots per node */
#define SY_BACKEND_NONE		0xffffffffu /* ring slot with no backend (service has none) */
#define SY_IPV6_MAX_EXT_HEADERS 4	    /* extension headers skipped before giving up */
#define SY_DEFAULT_GUE_PORT	6080u	    /* UDP destination port of GUE (no IANA assignment) */
#define SY_GUE_SOURCE_PORT_BASE 0xc000u	    /* GUE source port = base | (hash & mask): RSS entropy */
#define SY_GUE_SOURCE_PORT_MASK 0x3fffu
#define SY_ENCAP_TTL		64u /* outer TTL / hop limit */
/* ICMP too-big replies quote the offending datagram (RFC 1812 §4.3.2.3: up to 576 bytes in all;
 * RFC 4443 §2.4(c): up to the IPv6 minimum MTU, 1280 bytes in all). */
#define SY_ICMP4_TOO_BIG_QUOTE	548u  /* 576 - 20 (IPv4) - 8 (ICMP) */
#define SY_ICMP6_TOO_BIG_QUOTE	1232u /* 1280 - 40 (IPv6) - 8 (ICMPv6) */

/* ---- address families, protocols ---------------------------------------------------------- */

#define SY_FAMILY_V4 4
#define SY_FAMILY_V6 6

/* ---- encapsulation overheads (bytes added in front of the inner IP packet) ---------------- */

#define SY_OVERHEAD_IPIP   20u /* IPv4 in IPv4, RFC 2003 */
#define SY_OVERHEAD_IP6IP6 40u /* IPv6 in IPv6, RFC 2473 */
#define SY_OVERHEAD_GUE4   28u /* outer IPv4 + UDP, GUE variant 1 (draft-ietf-intarea-gue §4) */
#define SY_OVERHEAD_GUE6   48u /* outer IPv6 + UDP, GUE variant 1 */

/* ---- services ----------------------------------------------------------------------------- */

/* Key of the `vips` map: is this destination address one of ours at all? */
struct sy_vip_addr {
	__be32 addr[4];
	__u32 family;
};

struct sy_vip_info {
	__u32 flags; /* reserved, zero */
};

/*
 * The VIP prefilter: a bitmap over destination addresses with a bit set for every VIP (and, while
 * VIPs change, for the old ones too). Most packets an LB node sees are not for a VIP; a clear bit
 * sends them on with one load instead of two hash-map lookups. A set bit proves nothing (another
 * address may share it): the exact lookups follow, so verdicts are those without the filter.
 */
#define SY_VIP_FILTER_BITS_LOG2 15
#define SY_VIP_FILTER_WORDS	512u /* (1 << SY_VIP_FILTER_BITS_LOG2) / 64 */

struct sy_vip_filter {
	__u64 word[SY_VIP_FILTER_WORDS];
};

/* The filter bit of an address (network byte order words; IPv4 in addr[0]). */
static inline __u32 sy_vip_filter_bit(const __be32 *addr, __u32 family)
{
	__u32 x = addr[0];

	if (family != SY_FAMILY_V4)
		x ^= ((addr[1] << 8) | (addr[1] >> 24)) ^ ((addr[2] << 16) | (addr[2] >> 16)) ^
		     ((addr[3] << 24) | (addr[3] >> 8)) ^ 0x5bd1e995u;
	return (x * 0x9e3779b1u) >> (32 - SY_VIP_FILTER_BITS_LOG2);
}

/* Key of the `services` map: one entry per VIP:port:protocol. */
struct sy_service_key {
	__be32 addr[4];
	__be16 port;
	__u8 proto;  /* IPPROTO_TCP or IPPROTO_UDP */
	__u8 family; /* SY_FAMILY_V4 or SY_FAMILY_V6 */
};

#define SY_SVC_F_STATEFUL      (1u << 0) /* flows are shared through the flow store */
#define SY_SVC_F_SOURCE_IP     (1u << 1) /* flow key is the client address only */
#define SY_SVC_F_GUE	       (1u << 2) /* encapsulate in GUE (else IPIP / IPv6-in-IPv6) */
#define SY_SVC_F_SOURCE_RANGES (1u << 3) /* clients must match one of its sy_source_ranges prefixes */

struct sy_service {
	__u32 id;	 /* index of this service's Maglev ring and counters, < SY_MAX_SERVICES */
	__u32 flags;	 /* SY_SVC_F_* */
	__u32 ring_size; /* number of slots in the ring, a prime */
	__be16 gue_port; /* GUE destination port when SY_SVC_F_GUE */
	__u16 pad;
};

/*
 * The service index: the services map (a hash: a jhash and a bucket walk per packet) mirrored into
 * an array the program reads with plain loads. Open addressing, at most SY_SERVICE_INDEX_PROBES
 * slots from sy_service_index_slot(key); a slot holds the key and a copy of the service. Two
 * halves: the writer fills the half no reader uses, switches `sy_service_generation` to it, and
 * waits out a grace period (membarrier) before it may touch the old half again, so a reader
 * never sees a slot being written. A miss in the index (or a key the writer could not place)
 * falls back to the services map, which stays the authority: verdicts are the map's.
 */
#define SY_SERVICE_INDEX_SLOTS	8192u /* per half: twice SY_MAX_SERVICES, a power of two */
#define SY_SERVICE_INDEX_PROBES 4

struct sy_service_slot {
	struct sy_service_key key; /* family 0: an empty slot */
	struct sy_service svc;
	__u32 pad;
};

static inline __u32 sy_service_index_slot(const struct sy_service_key *k)
{
	__u32 x = k->addr[0] ^ ((k->addr[1] << 7) | (k->addr[1] >> 25)) ^ ((k->addr[2] << 13) | (k->addr[2] >> 19)) ^
		  ((k->addr[3] << 19) | (k->addr[3] >> 13));

	x ^= ((__u32)k->port << 16) ^ ((__u32)k->proto << 8) ^ k->family;
	return (x * 0x9e3779b1u) >> (32 - 13); /* 13 = log2(SY_SERVICE_INDEX_SLOTS) */
}

/*
 * Source ranges (Kubernetes' loadBalancerSourceRanges): a service flagged SY_SVC_F_SOURCE_RANGES
 * admits only clients inside one of its prefixes; any other packet for it is dropped with
 * SY_DROP_SOURCE_RANGE. A service without the flag costs one bit test, never a trie lookup.
 *
 * One LPM trie for every service: the key's data is the service id then the address, and its
 * prefixlen counts both, so a lookup with prefixlen 32 + 32 (IPv4) or 32 + 128 (IPv6) finds a
 * prefix of that service or nothing. The id is always matched whole, so its byte order does not
 * matter; the address is network order, IPv4 in addr[0], host bits zero. The writer stores only
 * prefixes of the VIP's family (a packet to a VIP has a source of the same family), so an IPv6
 * prefix never admits an IPv4 client; a flagged service with no prefix of its family admits none.
 *
 * SY_SOURCE_RANGES_MAX prefixes per service: one cloud security group's worth (AWS allows 60
 * inbound rules per group by default), rounded up. The trie is not preallocated; the bound caps
 * what it can grow to at SY_MAX_SERVICES x 64 = 262,144 prefixes (roughly 50 MB at most, inner
 * nodes included). A lookup walks at most 32 + 128 bits however many prefixes there are.
 */
#define SY_SOURCE_RANGES_MAX	 64u
#define SY_SOURCE_RANGES_ENTRIES (SY_MAX_SERVICES * SY_SOURCE_RANGES_MAX)
#define SY_SOURCE_RANGE_ID_BITS	 32u /* prefixlen bits taken by the service id */

struct sy_source_range_key {
	__u32 prefixlen; /* SY_SOURCE_RANGE_ID_BITS + the prefix length */
	__u32 service;	 /* sy_service.id */
	__be32 addr[4];
};

/* ---- backends ----------------------------------------------------------------------------- */

enum sy_backend_state {
	SY_BACKEND_UNUSED = 0, /* slot not assigned: flow entries pointing here are stale */
	SY_BACKEND_UP = 1,
	SY_BACKEND_DRAINING = 2, /* keeps existing flows, is never in a ring */
	SY_BACKEND_DOWN = 3,	 /* a flow entry pointing here is a miss: re-pick from the ring */
};

struct sy_backend {
	__be32 addr[4];
	__u8 family;
	__u8 state; /* enum sy_backend_state */
	__u16 pad;
};

/* ---- flows -------------------------------------------------------------------------------- */

/* The flow key. For flowKey=connection it is the 5-tuple; for flowKey=sourceIP the source port
 * is zero, so every connection of one client to one service maps to one entry. */
struct sy_flow_key {
	__be32 src[4];
	__be32 dst[4];
	__be16 sport;
	__be16 dport;
	__u8 proto;
	__u8 family;
	__u16 pad;	       /* zero: it is hashed */
} __attribute__((aligned(8))); /* read as five u64 words by sy_flow_hash */

#define SY_FLOW_F_REMOTE  (1u << 0) /* installed from the flow store, not created here */
#define SY_FLOW_F_CLOSING (1u << 1) /* a stateful flow saw FIN or RST: no more refreshes */
#define SY_FLOW_F_EMBRYONIC \
	(1u << 2) /* a stateful TCP flow that has sent only SYNs: not shared
				       * until the handshake's ACK, so a SYN flood never reaches the
				       * store or the other nodes */

/* `sy_flow_overflow`: stateful entries that found both candidate sets full of busy flows — from
 * the flow store, or this node's own flows its agent kept; a lookup that finds no way for a
 * stateful flow tries it (an LRU hash of SY_FLOW_OVERFLOW_ENTRIES, entries made by user space
 * only), so a node with a crowded table still keeps every shared connection on its backend. */
#define SY_FLOW_OVERFLOW_ENTRIES 65536u

/* What a flow maps to. */
struct sy_flow_entry {
	__u32 backend; /* index into `backends` */
	__u32 service; /* sy_service.id the flow belongs to */
};

/* An overflow entry: flags and synced as in a table way, so a flow carried from the overflow is
 * reported like one in the table (refreshed, ended by FIN/RST, restarted by a SYN); the datapath
 * updates those two in place. */
struct sy_flow_overflow_entry {
	__u32 backend;
	__u32 service;
	__u32 flags;  /* SY_FLOW_F_* (REMOTE: from the store) */
	__u32 synced; /* jiffies the entry was last reported to the flow store */
};

/*
 * The flow table is set-associative with two choices: an array of sets of SY_FLOW_WAYS entries;
 * a key may live in either of two candidate sets, picked by independent halves of sy_flow_hash
 * (the low half: first set, the high half: second set). A set's first cache line holds a tag
 * and a last-seen time per way, so a lookup reads both candidates' header lines (independent
 * loads: the two misses overlap) and, on a tag match, one entry line. Lookups and inserts are
 * plain array accesses: no helper call, no lock. Writers on two CPUs can tear an entry; `check`
 * catches that (a torn entry is a miss, re-picked from the ring, and its way is rewritten).
 *
 * Insert: into the candidate set with more empty ways (the first on a tie) — its preferred way
 * (sy_flow_preferred_way) when empty, else its first empty way — else the way idle
 * longest over both sets — but only if it has been idle at least node.evict_idle jiffies. Busy
 * flows are never evicted by new ones (flood safety); the new flow is then forwarded by the ring
 * without an entry, and counted. Two choices keep sets evenly loaded: sized at
 * SY_FLOW_SLOTS_PER_100 ways per 100 configured flows (any set count: multiply-high reduction),
 * a table holds ~99.7% of its capacity in random flows (one choice of 4 ways held ~82%).
 */
#define SY_FLOW_WAYS		8
#define SY_FLOW_SLOTS_PER_100	115 /* ways per 100 flows of configured capacity */
#define SY_FLOW_REFRESH_JIFFIES 64  /* last_seen is rewritten at most this often */
#define SY_FLOW_TAG_MULTIPLIER	0x9e3779b97f4a7c15ull

struct sy_flow_slot {
	struct sy_flow_key key;
	__u32 backend;
	__u32 service;
	__u32 flags;  /* SY_FLOW_F_* */
	__u32 check;  /* sy_flow_check(tag, backend, service) */
	__u32 synced; /* jiffies the entry was last reported to the flow store (stateful) */
	__u32 pad;
};

struct sy_flow_set {
	__u32 tag[SY_FLOW_WAYS];       /* sy_flow_tag(hash) of the way's key; 0 = empty */
	__u32 last_seen[SY_FLOW_WAYS]; /* low 32 bits of jiffies */
	struct sy_flow_slot way[SY_FLOW_WAYS];
};

/* Sets for a table of `capacity` flows (the loader and the model size tables with it). */
static inline __u32 sy_flow_set_count(__u64 capacity)
{
	__u64 sets = (capacity * SY_FLOW_SLOTS_PER_100 + 100 * SY_FLOW_WAYS - 1) / (100 * SY_FLOW_WAYS);

	return sets ? (__u32)sets : 1;
}

/* A key's candidate sets: multiply-high reductions (Lemire 2016) of the hash's two halves, below
 * set_count for any set count. The two may coincide (the same set, looked at twice). */
static inline __u32 sy_flow_set_first(__u64 hash, __u32 set_count)
{
	return (__u32)(((hash & 0xffffffffull) * set_count) >> 32);
}

static inline __u32 sy_flow_set_second(__u64 hash, __u32 set_count)
{
	return (__u32)(((hash >> 32) * set_count) >> 32);
}

/* A remix of all 64 bits, so keys sharing a candidate set still differ in their tags. */
static inline __u32 sy_flow_tag(__u64 hash)
{
	return (__u32)((hash * SY_FLOW_TAG_MULTIPLIER) >> 32) | 1; /* never 0, which marks an empty way */
}

/* The way a key is placed in when it is empty (else the set's first empty way): a lookup reads
 * this way of both candidate sets at once with their tag lines, so a flow sitting there costs one
 * round of memory reads instead of a tag line then an entry line. Bits 1-3 (bit 0 is always 1). */
static inline __u32 sy_flow_preferred_way(__u32 tag)
{
	return (tag >> 1) & (SY_FLOW_WAYS - 1);
}

static inline __u32 sy_flow_check(__u32 tag, __u32 backend, __u32 service)
{
	return tag ^ (backend * 0x9e3779b1u) ^ (service * 0x85ebca6bu);
}

/* ---- next hops ----------------------------------------------------------------------------- */
/*
 * Without fixed MACs (SY_NODE_F_NEXTHOP_MAC) the datapath asks the kernel's FIB for the outer
 * destination's MACs. `sy_nexthops` keeps the answer per backend index, so only a backend's first
 * packet (per generation) pays for bpf_fib_lookup. `sy_fib_generation` invalidates every cached
 * answer at once: the agent increments it whenever the kernel reports a neighbour, route or link
 * change (netlink), and an entry counts only while it carries the current generation, the
 * ingress interface it was looked up for, and a check over both (concurrent writers tear).
 */
struct sy_nexthop {
	__u8 dmac[6];
	__u8 smac[6];
	__u32 ifindex;	  /* the ingress interface the lookup was made for (XDP_TX goes back out) */
	__u32 generation; /* sy_fib_generation when looked up; 0 never counts */
	__u32 check;	  /* sy_nexthop_check */
};

static inline __u32 sy_nexthop_check(const struct sy_nexthop *n)
{
	const __u32 *w = (const __u32 *)n; /* the MACs and ifindex as four words */

	return (n->generation * 0x9e3779b1u) ^ (w[0] * 0x85ebca6bu) ^ (w[1] * 0xc2b2ae35u) ^ (w[2] * 0x27d4eb2fu) ^
	       (w[3] * 0x165667b1u) ^ 1u;
}

/* ---- node --------------------------------------------------------------------------------- */

#define SY_NODE_F_NEXTHOP_MAC (1u << 0) /* use nexthop_mac/src_mac instead of bpf_fib_lookup */
#define SY_NODE_F_TEST_CLOCK \
	(1u << 1) /* differential tests only: the flow table's clocks (jiffies,
					 * coarse ns) are read from sy_clock, which the test sets, so
					 * the model can be given the very same time */

struct sy_node {
	__be32 ipv4_source;    /* outer source for IPv4 encapsulation */
	__be32 ipv6_source[4]; /* outer source for IPv6 encapsulation */
	__u8 src_mac[6];
	__u8 nexthop_mac[6];
	__u16 mtu;	      /* egress MTU: largest outer IP packet */
	__u16 flags;	      /* SY_NODE_F_* */
	__u32 new_flow_rate;  /* flow-table inserts allowed per CPU per second; 0 = unlimited */
	__u32 flow_set_count; /* sets in sy_flows (sy_flow_set_count of the capacity) */
	__u32 evict_idle;     /* jiffies a way must be idle before a new flow may replace it */
	__u32 sync_refresh;   /* stateful: report a used entry to the store at most this often, in
				* jiffies; 0 = never */
	__u32 pad;
};

/* The datapath's clocks, read by the agent through the switchyard_clock program. With
 * SY_NODE_F_TEST_CLOCK the roles swap: the test writes them and the datapath reads them. */
struct sy_clock {
	__u64 jiffies;
	__u64 ktime_ns;
};

/* Value of the per-CPU `sy_insert_budget` map: the token bucket behind node.new_flow_rate. The
 * differential tests keep it in step with the model's. */
struct sy_insert_budget {
	__u64 last_ns;
	__u64 credit_ns; /* time-denominated credit, capped at one second */
};

/* ---- stateful mode: new-flow reports (ring buffer) ------------------------------------------ */

/* What a report says about a stateful service's flow entry. */
enum sy_flow_report {
	SY_REPORT_NEW = 0,     /* established here: first non-SYN packet (TCP), first packet (UDP) */
	SY_REPORT_REFRESH = 1, /* still in use: at most once per node.sync_refresh per entry */
	SY_REPORT_FIN = 2,     /* the client sent FIN: the entry ends after a short grace */
	SY_REPORT_RST = 3,     /* the client sent RST: the entry ends now */
};

/* One record per report; the agent turns them into flow-store writes. */
struct sy_flow_event {
	struct sy_flow_key key;
	__u32 backend;
	__u32 service;
	__u32 kind; /* enum sy_flow_report */
	__u32 pad;
};

/* ---- backend side: the decap program (tc ingress) ------------------------------------------ */

struct sy_decap_config {
	__be16 gue_port; /* UDP port GUE arrives on; 0 = GUE not accepted */
	__u16 pad;
	__u32 pad2;
};

enum sy_decap_stat {
	SY_DECAP_OK = 0,	   /* outer header removed */
	SY_DECAP_FAILED = 1,	   /* the kernel refused to shrink the packet */
	SY_DECAP_PORT_MAPPED = 2,  /* inner destination port rewritten to the target port */
	SY_DECAP_REPLY_MAPPED = 3, /* pod egress: reply source port rewritten to the service port */
	SY_DECAP_MAP_FAILED = 4,   /* the kernel refused a port rewrite; the packet was dropped */
	SY_DECAP__COUNT = 5,
};

/* ---- counters ----------------------------------------------------------------------------- */

struct sy_service_counters {
	__u64 packets;
	__u64 bytes;	 /* frame bytes as received */
	__u64 new_flows; /* flow entries created */
	__u64 too_big;	 /* ICMP fragmentation-needed / packet-too-big replies sent */
};

struct sy_backend_counters {
	__u64 packets;
	__u64 bytes;
	__u64 new_flows;
	__u64 pad;
};

/* ---- drop reasons ------------------------------------------------------------------------- */
/* One table for the datapath, the model, metrics and the CLI. Append only: values are stable. */
enum sy_drop_reason {
	SY_DROP_ETH_TRUNCATED = 0,	   /* frame shorter than an Ethernet header */
	SY_DROP_IP_TRUNCATED = 1,	   /* IP header extends past the frame */
	SY_DROP_IP_BAD_VERSION = 2,	   /* version field disagrees with the EtherType */
	SY_DROP_IP_BAD_HEADER_LEN = 3,	   /* IPv4 IHL below 5 */
	SY_DROP_IP_BAD_TOTAL_LEN = 4,	   /* IPv4 total / IPv6 payload length disagrees with the frame */
	SY_DROP_IPV6_EXT_TRUNCATED = 5,	   /* an IPv6 extension header extends past the packet */
	SY_DROP_IPV6_EXT_TOO_MANY = 6,	   /* more than SY_IPV6_MAX_EXT_HEADERS extension headers */
	SY_DROP_FRAGMENT = 7,		   /* fragment addressed to a VIP: no reassembly here */
	SY_DROP_L4_TRUNCATED = 8,	   /* TCP/UDP/ICMP header extends past the packet */
	SY_DROP_TCP_BAD_DATA_OFFSET = 9,   /* TCP data offset below 5 or past the packet */
	SY_DROP_UNSUPPORTED_PROTO = 10,	   /* VIP address, protocol not TCP/UDP/ICMP */
	SY_DROP_NO_SERVICE = 11,	   /* VIP address, no service on this port/protocol */
	SY_DROP_NO_BACKEND = 12,	   /* service has no backend in its ring */
	SY_DROP_BACKEND_DOWN = 13,	   /* the ring names a backend that is down or unused */
	SY_DROP_MTU_EXCEEDED = 14,	   /* too big after encapsulation, and no ICMP answer applies */
	SY_DROP_ICMP_UNSUPPORTED = 15,	   /* ICMP to a VIP that is not an error about a flow */
	SY_DROP_ICMP_QUOTE_TRUNCATED = 16, /* ICMP error quotes too little to find the flow */
	SY_DROP_ENCAP_FAILED = 17,	   /* the kernel refused to grow the packet */
	SY_DROP_NO_SOURCE_ADDRESS = 18,	   /* node has no outer source address of that family */
	SY_DROP_SOURCE_RANGE = 19,	   /* client outside the service's source ranges */
	SY_DROP__COUNT = 20,
};

/* Things the datapath counts that are not drops. Append only. */
enum sy_event {
	SY_EVENT_INSERT_RATE_LIMITED = 0, /* a new flow was forwarded by the ring without an entry */
	SY_EVENT_INSERT_FAILED = 1,	  /* the flow table refused an entry */
	SY_EVENT_FLOW_REPORT_LOST = 2,	  /* the flow-event ring buffer was full */
	SY_EVENT_FIB_MISS = 3,		  /* no FIB answer for the outer destination: MACs swapped */
	SY_EVENT_FLOW_SET_BUSY = 4,	  /* every way of the set is active: forwarded without an entry */
	SY_EVENT_FLOW_TORN = 5,		  /* an entry failed its check (concurrent writers): re-picked */
	SY_EVENT_ICMP_ECHO_REPLIED = 6,	  /* an echo request to a VIP was answered */
	SY_EVENT__COUNT = 7,
};

#ifndef __bpf__
static inline const char *sy_event_name(__u32 event)
{
	switch (event) {
	case SY_EVENT_INSERT_RATE_LIMITED:
		return "insert_rate_limited";
	case SY_EVENT_INSERT_FAILED:
		return "insert_failed";
	case SY_EVENT_FLOW_REPORT_LOST:
		return "flow_report_lost";
	case SY_EVENT_FIB_MISS:
		return "fib_miss";
	case SY_EVENT_FLOW_SET_BUSY:
		return "flow_set_busy";
	case SY_EVENT_FLOW_TORN:
		return "flow_torn";
	case SY_EVENT_ICMP_ECHO_REPLIED:
		return "icmp_echo_replied";
	default:
		return 0;
	}
}

/* Stable snake_case names: metric labels, CLI output and fixture files use these. */
static inline const char *sy_drop_reason_name(__u32 reason)
{
	switch (reason) {
	case SY_DROP_ETH_TRUNCATED:
		return "eth_truncated";
	case SY_DROP_IP_TRUNCATED:
		return "ip_truncated";
	case SY_DROP_IP_BAD_VERSION:
		return "ip_bad_version";
	case SY_DROP_IP_BAD_HEADER_LEN:
		return "ip_bad_header_len";
	case SY_DROP_IP_BAD_TOTAL_LEN:
		return "ip_bad_total_len";
	case SY_DROP_IPV6_EXT_TRUNCATED:
		return "ipv6_ext_truncated";
	case SY_DROP_IPV6_EXT_TOO_MANY:
		return "ipv6_ext_too_many";
	case SY_DROP_FRAGMENT:
		return "fragment";
	case SY_DROP_L4_TRUNCATED:
		return "l4_truncated";
	case SY_DROP_TCP_BAD_DATA_OFFSET:
		return "tcp_bad_data_offset";
	case SY_DROP_UNSUPPORTED_PROTO:
		return "unsupported_proto";
	case SY_DROP_NO_SERVICE:
		return "no_service";
	case SY_DROP_NO_BACKEND:
		return "no_backend";
	case SY_DROP_BACKEND_DOWN:
		return "backend_down";
	case SY_DROP_MTU_EXCEEDED:
		return "mtu_exceeded";
	case SY_DROP_ICMP_UNSUPPORTED:
		return "icmp_unsupported";
	case SY_DROP_ICMP_QUOTE_TRUNCATED:
		return "icmp_quote_truncated";
	case SY_DROP_ENCAP_FAILED:
		return "encap_failed";
	case SY_DROP_NO_SOURCE_ADDRESS:
		return "no_source_address";
	case SY_DROP_SOURCE_RANGE:
		return "source_range";
	default:
		return 0;
	}
}
#endif

/* ---- the flow hash ------------------------------------------------------------------------ */
/*
 * sy_flow_hash: 64-bit hash of a struct sy_flow_key (40 bytes), the same on every LB node, in
 * BPF and in Swift. It picks the Maglev slot, the GUE source port and the IPv6 flow label.
 * Maglev's permutation uses the same function over a backend's identity with other seeds.
 *
 *   words   w[0..n-1]: the key's bytes in memory order read as little-endian u64
 *           (addresses and ports inside are network byte order, as stored)
 *   h       = seed                                   (SY_HASH_SEED_FLOW for flows)
 *   for each word k:
 *           k *= C1; k = rotl64(k, 31); k *= C2
 *           h ^= k;  h = rotl64(h, 27); h = h * 5 + 0x52dce729
 *   h      ^= n * 8                                  (byte length)
 *   finalise (fmix64):
 *           h ^= h >> 33; h *= 0xff51afd7ed558ccd; h ^= h >> 33;
 *           h *= 0xc4ceb9fe1a85ec53; h ^= h >> 33
 *   C1 = 0x87c37b91114253d5, C2 = 0x4cf5ad432745937f (the MurmurHash3 x64 constants)
 *
 * Ring slot:  ((h >> 32) * ring_size) >> 32   (multiply-high: no division, uniform for a prime
 *             ring below 2^32; Lemire, "A fast alternative to the modulo reduction", 2016)
 * GUE source port: SY_GUE_SOURCE_PORT_BASE | (h & SY_GUE_SOURCE_PORT_MASK)
 * IPv6 outer flow label: h & 0xfffff
 *
 * Known-answer vectors: Tests/Fixtures/flow-hash-vectors.txt, read by both sides' tests.
 */
#define SY_HASH_SEED_FLOW	   0x53574954434859ull /* "SWITCHY" */
#define SY_HASH_SEED_MAGLEV_OFFSET 0x4d41474c45564f46ull
#define SY_HASH_SEED_MAGLEV_SKIP   0x4d41474c45565350ull
#define SY_HASH_C1		   0x87c37b91114253d5ull
#define SY_HASH_C2		   0x4cf5ad432745937full

static inline __u64 sy_rotl64(__u64 x, unsigned r)
{
	return (x << r) | (x >> (64 - r));
}

static inline __u64 sy_hash_mix_word(__u64 h, __u64 k)
{
	k *= SY_HASH_C1;
	k = sy_rotl64(k, 31);
	k *= SY_HASH_C2;
	h ^= k;
	h = sy_rotl64(h, 27);
	return h * 5 + 0x52dce729;
}

static inline __u64 sy_hash_finish(__u64 h, __u64 len)
{
	h ^= len;
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdull;
	h ^= h >> 33;
	h *= 0xc4ceb9fe1a85ec53ull;
	h ^= h >> 33;
	return h;
}

/* The key must be 8-byte aligned (stack or map memory). Little-endian hosts only (x86, bpfel). */
static inline __u64 sy_flow_hash(const struct sy_flow_key *key)
{
	const __u64 *w = (const __u64 *)key;
	__u64 h = SY_HASH_SEED_FLOW;

	h = sy_hash_mix_word(h, w[0]);
	h = sy_hash_mix_word(h, w[1]);
	h = sy_hash_mix_word(h, w[2]);
	h = sy_hash_mix_word(h, w[3]);
	h = sy_hash_mix_word(h, w[4]);
	return sy_hash_finish(h, sizeof(*key));
}

static inline __u32 sy_ring_slot(__u64 hash, __u32 ring_size)
{
	return (__u32)(((hash >> 32) * (__u64)ring_size) >> 32);
}

/* ---- layout proofs ------------------------------------------------------------------------ */

_Static_assert(sizeof(struct sy_vip_addr) == 20, "sy_vip_addr");
_Static_assert(sizeof(struct sy_vip_info) == 4, "sy_vip_info");
_Static_assert(sizeof(struct sy_vip_filter) == 4096, "sy_vip_filter");
_Static_assert(SY_VIP_FILTER_WORDS * 64 == 1u << SY_VIP_FILTER_BITS_LOG2, "sy_vip_filter: one bit per filter slot");
_Static_assert(sizeof(struct sy_service_key) == 20, "sy_service_key");
_Static_assert(sizeof(struct sy_service) == 16, "sy_service");
_Static_assert(sizeof(struct sy_service_slot) == 40, "sy_service_slot");
_Static_assert(SY_SERVICE_INDEX_SLOTS == 1u << 13, "sy_service_index_slot reduces to 13 bits");
_Static_assert(SY_SERVICE_INDEX_SLOTS >= 2 * SY_MAX_SERVICES, "sy_service_index: at most half full");
_Static_assert(sizeof(struct sy_source_range_key) == 24, "sy_source_range_key: prefixlen + 20 bytes of data");
_Static_assert(SY_SOURCE_RANGE_ID_BITS == 8 * sizeof(__u32), "sy_source_range_key: the id is matched whole");
_Static_assert(sizeof(struct sy_backend) == 20, "sy_backend");
_Static_assert(sizeof(struct sy_flow_key) == 40, "sy_flow_key: hashed as five u64 words");
_Static_assert(sizeof(struct sy_flow_entry) == 8, "sy_flow_entry");
_Static_assert(sizeof(struct sy_flow_slot) == 64, "sy_flow_slot: one cache line, the 64-byte budget");
_Static_assert(SY_FLOW_WAYS * 2 * sizeof(__u32) == 64, "sy_flow_set: tags and last-seen fill one line");
_Static_assert(__builtin_offsetof(struct sy_flow_set, way) == 64, "sy_flow_set: slots start on the second line");
_Static_assert(sizeof(struct sy_flow_set) == 64 + 64 * SY_FLOW_WAYS, "sy_flow_set: header line + ways");
_Static_assert(sizeof(struct sy_node) == 56, "sy_node");
_Static_assert(sizeof(struct sy_clock) == 16, "sy_clock");
_Static_assert(sizeof(struct sy_nexthop) == 24, "sy_nexthop");
_Static_assert(sizeof(struct sy_insert_budget) == 16, "sy_insert_budget");
_Static_assert(sizeof(struct sy_flow_event) == 56, "sy_flow_event");
_Static_assert(sizeof(struct sy_decap_config) == 8, "sy_decap_config");
_Static_assert(sizeof(struct sy_service_counters) == 32, "sy_service_counters");
_Static_assert(sizeof(struct sy_backend_counters) == 32, "sy_backend_counters");

/* ---- pods as DSR backends: port mapping (decap ingress, pod egress) ---------------------- */

/*
 * A Kubernetes Service maps its port to the pod's targetPort; with DSR no proxy does that, so the
 * pod's own tc programs do: after decapsulation the inner destination (vip, servicePort, proto) is
 * looked up in `sy_port_in` and its port becomes the target port; on the pod's egress a reply's
 * source (vip, targetPort, proto) is looked up in `sy_port_out` and its port becomes the service
 * port again. Both are stateless, so (vip, proto, targetPort) must name one service port per pod.
 * A pod answers for few Service ports: SY_PORT_MAPPINGS_MAX bounds each map (hash, not
 * preallocated, so an idle pod costs almost nothing).
 */
#define SY_PORT_MAPPINGS_MAX 256u

struct sy_port_key {
	__be32 addr[4]; /* IPv4 in addr[0] */
	__be16 port;
	__u8 proto;  /* IPPROTO_TCP or IPPROTO_UDP */
	__u8 family; /* SY_FAMILY_V4 or SY_FAMILY_V6 */
};

struct sy_port_value {
	__be16 port; /* the port to write instead */
	__u16 pad;
};

_Static_assert(sizeof(struct sy_port_key) == 20, "sy_port_key");
_Static_assert(sizeof(struct sy_port_value) == 4, "sy_port_value");

#endif /* SWITCHYARD_ABI_H */
