/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Stage 3 — mirrors DatapathModel/Pipeline/Conntrack.swift: the flow table first, the Maglev
 * ring on a miss, and the insert (rate-bounded per CPU, reported for stateful services). */
#ifndef SY_CONNTRACK_H
#define SY_CONNTRACK_H

#include "drop.h"

#define PICK_HIT       0
#define PICK_INSERTED  1
#define PICK_RING_ONLY 2

#define NSEC_PER_SEC 1000000000ull

struct pick {
	__u32 backend;
	__u32 outcome;
	struct sy_backend *be; /* the backend's entry, looked up once */
};

static __always_inline void make_flow_key(struct sy_flow_key *k, const struct sy_service *svc, const __be32 *src,
					  const __be32 *dst, __be16 sport, __be16 dport, __u8 proto, __u8 family)
{
	k->src[0] = src[0];
	k->src[1] = src[1];
	k->src[2] = src[2];
	k->src[3] = src[3];
	k->dst[0] = dst[0];
	k->dst[1] = dst[1];
	k->dst[2] = dst[2];
	k->dst[3] = dst[3];
	k->sport = (svc->flags & SY_SVC_F_SOURCE_IP) ? 0 : sport;
	k->dport = dport;
	k->proto = proto;
	k->family = family;
	k->pad = 0;
}

/* The flow table's clocks: the kernel's, or with SY_NODE_F_TEST_CLOCK (differential tests) the
 * values the test wrote into sy_clock, so the model runs on the same time. */
static __always_inline __u64 flow_clock(const struct sy_node *node, int coarse_ns)
{
	__u32 zero = 0;
	struct sy_clock *c;

	if (!(node->flags & SY_NODE_F_TEST_CLOCK))
		return coarse_ns ? bpf_ktime_get_coarse_ns() : bpf_jiffies64();
	c = bpf_map_lookup_elem(&sy_clock, &zero);
	if (!c)
		return 0;
	return coarse_ns ? c->ktime_ns : c->jiffies;
}

/* Token bucket in time units: each insert costs 1/rate s of credit; credit refills with time up
 * to one second's worth. Per CPU, so no atomics. */
static __always_inline int insert_allowed(__u32 rate, __u64 now)
{
	__u32 zero = 0;
	struct sy_insert_budget *b = bpf_map_lookup_elem(&sy_insert_budget, &zero);
	__u64 cost, credit;

	if (!b)
		return 1;
	cost = NSEC_PER_SEC / rate;
	credit = b->credit_ns + (now - b->last_ns);
	if (credit > NSEC_PER_SEC)
		credit = NSEC_PER_SEC;
	b->last_ns = now;
	if (credit < cost) {
		b->credit_ns = credit;
		return 0;
	}
	b->credit_ns = credit - cost;
	return 1;
}

static __always_inline void report_flow(const struct sy_flow_key *key, __u32 backend, __u32 service, __u32 kind)
{
	struct sy_flow_event *ev = bpf_ringbuf_reserve(&sy_flow_events, sizeof(*ev), 0);

	if (!ev) {
		count_event(SY_EVENT_FLOW_REPORT_LOST);
		return;
	}
	__builtin_memcpy(&ev->key, key, sizeof(*key));
	ev->backend = backend;
	ev->service = service;
	ev->kind = kind;
	ev->pad = 0;
	bpf_ringbuf_submit(ev, 0);
}

#define TCP_FIN 0x01
#define TCP_SYN 0x02
#define TCP_RST 0x04
#define TCP_ACK 0x10

/* A TCP packet that opens a connection: SYN without ACK. */
static __always_inline int is_syn(__u8 tcp_flags)
{
	return (tcp_flags & (TCP_SYN | TCP_ACK | TCP_RST)) == TCP_SYN;
}

/* A stateful service's entry was used. A TCP entry made by a SYN is shared once the client
 * completes the handshake (its first packet without SYN): a spoofed SYN flood never reaches the
 * store. After that: FIN and RST end it, a SYN on an ended entry starts over, and — at most once
 * per node.sync_refresh — a used entry is reported alive. Only the node carrying the traffic
 * reports, so a flow costs the store one write per period. */
static __always_inline void stateful_use(__u32 *flags, __u32 *synced, const struct sy_flow_key *key, __u32 backend,
					 __u32 service, __u32 now, __u8 tcp_flags, const struct sy_node *node)
{
	if (*flags & SY_FLOW_F_EMBRYONIC) {
		if (!(tcp_flags & TCP_ACK) || (tcp_flags & (TCP_SYN | TCP_RST)))
			return;
		*flags &= ~SY_FLOW_F_EMBRYONIC;
		*synced = now;
		report_flow(key, backend, service, SY_REPORT_NEW);
		return;
	}
	if (*flags & SY_FLOW_F_CLOSING) {
		if (is_syn(tcp_flags))
			*flags = (*flags & ~SY_FLOW_F_CLOSING) | SY_FLOW_F_EMBRYONIC;
		return;
	}
	if (tcp_flags & (TCP_FIN | TCP_RST)) {
		*flags |= SY_FLOW_F_CLOSING;
		report_flow(key, backend, service, (tcp_flags & TCP_RST) ? SY_REPORT_RST : SY_REPORT_FIN);
		return;
	}
	if (node->sync_refresh && now - *synced >= node->sync_refresh) {
		*synced = now;
		report_flow(key, backend, service, SY_REPORT_REFRESH);
	}
}

static __always_inline int key_equal(const struct sy_flow_key *a, const struct sy_flow_key *b)
{
	const __u64 *x = (const __u64 *)a, *y = (const __u64 *)b;

	return ((x[0] ^ y[0]) | (x[1] ^ y[1]) | (x[2] ^ y[2]) | (x[3] ^ y[3]) | (x[4] ^ y[4])) == 0;
}

#define FLOW_WAY_TORN 0x100 /* find_way, find_candidate_way: the way found failed its check */

/* The way holding `key` in `set`, or -1. A matching way whose check fails was torn by concurrent
 * writers: it is returned | FLOW_WAY_TORN, a miss whose way the re-pick rewrites. */
static __always_inline int find_way(struct sy_flow_set *set, const struct sy_flow_key *key, __u32 tag)
{
#pragma unroll
	for (int w = 0; w < SY_FLOW_WAYS; w++) {
		struct sy_flow_slot *slot = &set->way[w];

		if (set->tag[w] != tag || !key_equal(&slot->key, key))
			continue;
		return slot->check == sy_flow_check(tag, slot->backend, slot->service) ? w : w | FLOW_WAY_TORN;
	}
	return -1;
}

/* The idlest way of `set` so far, over sets walked in order: the first way of the longest idle
 * wins. last_seen may lie in the future: entries installed from other nodes are protected that
 * way until the owner's next refresh is due (idle counts as 0 until then). */
static __always_inline void idlest_way(struct sy_flow_set *set, int base, __u32 now, int *victim, __s32 *oldest_idle)
{
#pragma unroll
	for (int w = 0; w < SY_FLOW_WAYS; w++) {
		__s32 idle = (__s32)(now - set->last_seen[w]);

		if (idle < 0)
			idle = 0;
		if (*victim < 0 || idle > *oldest_idle) {
			*victim = base + w;
			*oldest_idle = idle;
		}
	}
}

/*
 * Searches over both candidate sets number a way 0..SY_FLOW_WAYS-1 in the first set and
 * SY_FLOW_WAYS.. in the second. The verifier must not see a branch per way whose outcome it
 * knows exactly: sixteen of them multiply its states past its limit. So empty ways are counted
 * without branches, and the idlest-way scan (branches on times) is a global function, checked
 * once on its own; the lookup's branches are on loaded tags and keys, which it cannot predict.
 */

/* A way holding `key` (tag and key equal): `w`, or `w | FLOW_WAY_TORN` when its check fails. */
static __always_inline int matched_way(struct sy_flow_set *set, int w, __u32 tag)
{
	struct sy_flow_slot *slot = &set->way[w & (SY_FLOW_WAYS - 1)];

	return slot->check == sy_flow_check(tag, slot->backend, slot->service) ? w : w | FLOW_WAY_TORN;
}

/* find_way over the first set, then the second: the way holding `key` (| FLOW_WAY_TORN), or -1.
 * A key lives in at most one way, so the preferred way of each set (sy_flow_preferred_way) is
 * probed first: its tag and entry in both sets are loaded before any of them is compared, so the
 * four cache lines are fetched at once and a flow sitting there costs one round of memory reads. */
static __always_inline int find_candidate_way(struct sy_flow_set *first, struct sy_flow_set *second,
					      const struct sy_flow_key *key, __u32 tag)
{
	__u32 p = sy_flow_preferred_way(tag) & (SY_FLOW_WAYS - 1);
	__u32 first_tag = first->tag[p], second_tag = second->tag[p];
	__u64 first_word = *(const __u64 *)&first->way[p].key, second_word = *(const __u64 *)&second->way[p].key;
	int w;

	/* Every load above is issued before the first comparison below can branch. */
	asm volatile("" : : "r"(first_tag), "r"(second_tag), "r"(first_word), "r"(second_word));
	if (first_tag == tag && key_equal(&first->way[p].key, key))
		return matched_way(first, p, tag);
	if (second_tag == tag && key_equal(&second->way[p].key, key))
		return matched_way(second, p, tag) + SY_FLOW_WAYS;
	w = find_way(first, key, tag);
	if (w >= 0)
		return w;
	w = find_way(second, key, tag);
	return w < 0 ? -1 : w + SY_FLOW_WAYS;
}

/* 1 for an empty way's tag, else 0, without a branch (the barrier keeps clang from folding the
 * arithmetic back into a compare and branch). */
static __always_inline int is_empty(__u32 tag)
{
	__u64 t = (__u64)tag - 1;

	asm volatile("" : "+r"(t));
	return (int)(t >> 63);
}

/* Empty ways of `set` << 4 | the one a new key takes: way `p` if empty, else the first empty one
 * (SY_FLOW_WAYS: none). */
static __always_inline int empty_ways(struct sy_flow_set *set, __u32 p)
{
	int free = 0, first = SY_FLOW_WAYS, preferred;

#pragma unroll
	for (int w = SY_FLOW_WAYS - 1; w >= 0; w--) {
		int empty = is_empty(set->tag[w]);

		free += empty;
		first ^= (first ^ w) & -empty; /* empty ? w : first */
	}
	preferred = is_empty(set->tag[p & (SY_FLOW_WAYS - 1)]);
	first ^= (first ^ (int)(p & (SY_FLOW_WAYS - 1))) & -preferred;
	return free << 4 | first;
}

/* An empty way for a new key in the candidate set with more empty ways (the first set on a tie:
 * two choices keep sets evenly loaded), or -1 when both sets are full. */
static __always_inline int empty_way(struct sy_flow_set *first, struct sy_flow_set *second, __u32 tag)
{
	__u32 p = sy_flow_preferred_way(tag);
	int in_first = empty_ways(first, p), in_second = empty_ways(second, p);

	if ((in_second >> 4) > (in_first >> 4))
		return SY_FLOW_WAYS + (in_second & (SY_FLOW_WAYS - 1));
	return in_first >> 4 ? in_first & (SY_FLOW_WAYS - 1) : -1;
}

/* Both sets full: the way idle longest over both if idle at least `evict_idle` jiffies, else -1
 * (busy flows are never evicted by new ones). */
__noinline int flow_idlest_way(struct sy_flow_set *first, struct sy_flow_set *second, __u32 now, __u32 evict_idle)
{
	__s32 oldest_idle = 0;
	int victim = -1;

	if (!first || !second)
		return -1;
	idlest_way(first, 0, now, &victim, &oldest_idle);
	idlest_way(second, SY_FLOW_WAYS, now, &victim, &oldest_idle);
	return oldest_idle >= (__s32)evict_idle ? victim : -1;
}

/* SY_CONTINUE with *out set, or a counted drop. */
static __always_inline int pick_backend(const struct sy_service *svc, const struct sy_flow_key *key, __u64 hash,
					int may_insert, __u8 tcp_flags, const struct sy_node *node, struct pick *out)
{
	__u32 first_index = sy_flow_set_first(hash, node->flow_set_count);
	__u32 second_index = sy_flow_set_second(hash, node->flow_set_count);
	/* Both sets are located (address arithmetic) before either is read; the second set's tag
	 * loads do not depend on the first's, so the CPU issues them while the first is in flight. */
	struct sy_flow_set *first = bpf_map_lookup_elem(&sy_flows, &first_index);
	struct sy_flow_set *second = bpf_map_lookup_elem(&sy_flows, &second_index);
	struct sy_flow_set *set = first;
	__u32 tag = sy_flow_tag(hash);
	__u32 now = (__u32)flow_clock(node, 0);
	int stateful = svc->flags & SY_SVC_F_STATEFUL;
	struct sy_backend *be;
	__u32 slot, *chosen;
	int w = -1, torn = 0;
	void *ring;

	if (first && second) {
		int found = find_candidate_way(first, second, key, tag);

		/* Masks, not comparisons, bound the way: the verifier keeps a mask's bounds. */
		if (found >= 0) {
			torn = found & FLOW_WAY_TORN;
			set = found & SY_FLOW_WAYS ? second : first;
			w = found & (SY_FLOW_WAYS - 1);
		}
		if (torn)
			count_event(SY_EVENT_FLOW_TORN);
		if (w >= 0 && !torn && set->way[w].service == svc->id) {
			__u32 idx = set->way[w].backend;

			be = bpf_map_lookup_elem(&sy_backends, &idx);
			if (be && (be->state == SY_BACKEND_UP || be->state == SY_BACKEND_DRAINING)) {
				if (now - set->last_seen[w] > SY_FLOW_REFRESH_JIFFIES)
					set->last_seen[w] = now;
				if (stateful)
					stateful_use(&set->way[w].flags, &set->way[w].synced, key, idx, svc->id, now,
						     tcp_flags, node);
				out->backend = idx;
				out->outcome = PICK_HIT;
				out->be = be;
				return SY_CONTINUE;
			}
		}
	}

	/* A stateful flow with no way in the table: the store's entry may sit in the overflow. */
	if (w < 0 && stateful) {
		struct sy_flow_overflow_entry *o = bpf_map_lookup_elem(&sy_flow_overflow, key);

		if (o && o->service == svc->id) {
			__u32 idx = o->backend;

			be = bpf_map_lookup_elem(&sy_backends, &idx);
			if (be && (be->state == SY_BACKEND_UP || be->state == SY_BACKEND_DRAINING)) {
				/* Carried here: refreshed and ended like an entry in the table. */
				stateful_use(&o->flags, &o->synced, key, idx, svc->id, now, tcp_flags, node);
				out->backend = idx;
				out->outcome = PICK_HIT;
				out->be = be;
				return SY_CONTINUE;
			}
		}
	}

	ring = bpf_map_lookup_elem(&sy_rings, &svc->id);
	if (!ring)
		return count_drop(SY_DROP_NO_BACKEND);
	slot = sy_ring_slot(hash, svc->ring_size);
	chosen = bpf_map_lookup_elem(ring, &slot);
	if (!chosen || *chosen == SY_BACKEND_NONE)
		return count_drop(SY_DROP_NO_BACKEND);
	out->backend = *chosen;
	be = bpf_map_lookup_elem(&sy_backends, &out->backend);
	if (!be || be->state != SY_BACKEND_UP)
		return count_drop(SY_DROP_BACKEND_DOWN);

	out->be = be;
	out->outcome = PICK_RING_ONLY;
	if (!may_insert || !first || !second)
		return SY_CONTINUE;
	if (w < 0) {
		int victim = empty_way(first, second, tag);

		if (victim < 0)
			victim = flow_idlest_way(first, second, now, node->evict_idle);

		if (victim < 0) {
			/* No entry: the next ring change may move this flow. A stateful flow is still
			 * reported, so every node keeps it on its backend: the others through the store,
			 * this one through its agent, which writes it into a way freed since or into the
			 * overflow. */
			count_event(SY_EVENT_FLOW_SET_BUSY);
			if (stateful && !is_syn(tcp_flags))
				report_flow(key, out->backend, svc->id, SY_REPORT_NEW);
			return SY_CONTINUE;
		}
		set = victim & SY_FLOW_WAYS ? second : first;
		w = victim & (SY_FLOW_WAYS - 1);
	}
	if (node->new_flow_rate && !insert_allowed(node->new_flow_rate, flow_clock(node, 1))) {
		/* Past the budget (a SYN flood spends it): an established stateful flow is still
		 * reported, and kept by the agent as above. */
		count_event(SY_EVENT_INSERT_RATE_LIMITED);
		if (stateful && !is_syn(tcp_flags))
			report_flow(key, out->backend, svc->id, SY_REPORT_NEW);
		return SY_CONTINUE;
	}
	struct sy_flow_slot *way = &set->way[w];

	__builtin_memcpy(&way->key, key, sizeof(*key));
	way->backend = out->backend;
	way->service = svc->id;
	way->flags = stateful && is_syn(tcp_flags) ? SY_FLOW_F_EMBRYONIC : 0;
	way->check = sy_flow_check(tag, out->backend, svc->id);
	way->synced = now;
	set->last_seen[w] = now;
	set->tag[w] = tag;
	if (stateful && !is_syn(tcp_flags))
		report_flow(key, out->backend, svc->id, SY_REPORT_NEW);
	out->outcome = PICK_INSERTED;
	return SY_CONTINUE;
}

#endif
