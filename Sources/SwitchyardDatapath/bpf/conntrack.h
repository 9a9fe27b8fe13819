/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Stage 3 — mirrors DatapathModel/Pipeline/Conntrack.swift: the flow table first, the Maglev
 * ring on a miss, and the insert (rate-bounded per CPU, reported for stateful services). */
#ifndef SY_CONNTRACK_H
#define SY_CONNTRACK_H

#include "drop.h"

#define PICK_HIT 0
#define PICK_INSERTED 1
#define PICK_RING_ONLY 2

#define NSEC_PER_SEC 1000000000ull

struct pick {
	__u32 backend;
	__u32 outcome;
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

static __always_inline void report_flow(const struct sy_flow_key *key, __u32 backend, __u32 service)
{
	struct sy_flow_event *ev = bpf_ringbuf_reserve(&sy_flow_events, sizeof(*ev), 0);

	if (!ev) {
		count_event(SY_EVENT_FLOW_REPORT_LOST);
		return;
	}
	__builtin_memcpy(&ev->key, key, sizeof(*key));
	ev->backend = backend;
	ev->service = service;
	bpf_ringbuf_submit(ev, 0);
}

/* SY_CONTINUE with *out set, or a counted drop. */
static __always_inline int pick_backend(const struct sy_service *svc, const struct sy_flow_key *key, __u64 hash,
					int may_insert, __u32 new_flow_rate, struct pick *out)
{
	struct sy_flow_entry *entry = bpf_map_lookup_elem(&sy_flows, key);
	struct sy_backend *be;
	__u32 slot, *chosen;
	void *ring;
	__u64 now;

	if (entry && entry->service == svc->id) {
		__u32 idx = entry->backend;

		be = bpf_map_lookup_elem(&sy_backends, &idx);
		if (be && (be->state == SY_BACKEND_UP || be->state == SY_BACKEND_DRAINING)) {
			now = bpf_ktime_get_coarse_ns();
			if (now - entry->last_seen_ns > NSEC_PER_SEC)
				entry->last_seen_ns = now;
			out->backend = idx;
			out->outcome = PICK_HIT;
			return SY_CONTINUE;
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

	out->outcome = PICK_RING_ONLY;
	if (!may_insert)
		return SY_CONTINUE;
	now = bpf_ktime_get_coarse_ns();
	if (new_flow_rate && !insert_allowed(new_flow_rate, now)) {
		count_event(SY_EVENT_INSERT_RATE_LIMITED);
		return SY_CONTINUE;
	}
	struct sy_flow_entry fresh = {
		.backend = out->backend,
		.service = svc->id,
		.created_ns = now,
		.last_seen_ns = now,
	};
	if (bpf_map_update_elem(&sy_flows, key, &fresh, BPF_ANY)) {
		count_event(SY_EVENT_INSERT_FAILED);
		return SY_CONTINUE;
	}
	if (svc->flags & SY_SVC_F_STATEFUL)
		report_flow(key, out->backend, svc->id);
	out->outcome = PICK_INSERTED;
	return SY_CONTINUE;
}

#endif
