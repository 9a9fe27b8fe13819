/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Every map of the backend-side object (decap on tc ingress, pod egress): its config, its
 * counters and the two port-mapping tables. Both programs load from one object, so they share
 * these maps; pinned, they outlive the agent that loaded them.
 */
#ifndef SY_DECAP_MAPS_H
#define SY_DECAP_MAPS_H

#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

#include "switchyard_abi.h"

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct sy_decap_config);
} sy_decap_config SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, SY_DECAP__COUNT);
	__type(key, __u32);
	__type(value, __u64);
} sy_decap_stats SEC(".maps");

/* Inner destination (vip, servicePort, proto) → targetPort. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, SY_PORT_MAPPINGS_MAX);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct sy_port_key);
	__type(value, struct sy_port_value);
} sy_port_in SEC(".maps");

/* Reply source (vip, targetPort, proto) → servicePort. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, SY_PORT_MAPPINGS_MAX);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct sy_port_key);
	__type(value, struct sy_port_value);
} sy_port_out SEC(".maps");

static __always_inline int count(__u32 which, int verdict)
{
	__u64 *n = bpf_map_lookup_elem(&sy_decap_stats, &which);

	if (n)
		*n += 1;
	return verdict;
}

#endif /* SY_DECAP_MAPS_H */
