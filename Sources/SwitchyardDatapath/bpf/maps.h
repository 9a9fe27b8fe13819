/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Every map of the LB program, in one place. Layouts come from switchyard_abi.h; the loader
 * checks each map's key and value size against it before use. */
#ifndef SY_MAPS_H
#define SY_MAPS_H

#include "common.h"

/* Destination addresses that are VIPs: anything else passes untouched. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, SY_MAX_SERVICES);
	__type(key, struct sy_vip_addr);
	__type(value, struct sy_vip_info);
} sy_vips SEC(".maps");

/* The prefilter over destination addresses (struct sy_vip_filter in the ABI header). */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct sy_vip_filter);
} sy_vip_filter SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, SY_MAX_SERVICES);
	__type(key, struct sy_service_key);
	__type(value, struct sy_service);
} sy_services SEC(".maps");

/* The array mirror of sy_services, two halves (see struct sy_service_slot), and which half is live. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 2 * SY_SERVICE_INDEX_SLOTS);
	__uint(map_flags, BPF_F_MMAPABLE);
	__type(key, __u32);
	__type(value, struct sy_service_slot);
} sy_service_index SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u32);
} sy_service_generation SEC(".maps");

/* Per service, the client prefixes it admits (struct sy_source_range_key in the ABI header);
 * read only for services flagged SY_SVC_F_SOURCE_RANGES. The value is reserved (zero). */
struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, SY_SOURCE_RANGES_ENTRIES);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct sy_source_range_key);
	__type(value, __u32);
} sy_source_ranges SEC(".maps");

/* One Maglev ring per service id: an array of backend indices. The agent builds a new inner map
 * and swaps it in with one update, so a packet sees the old ring or the new one, never a mix.
 * BPF_F_INNER_MAP lets rings differ in size; BPF_F_MMAPABLE lets the agent fill them by mmap. */
struct sy_ring {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__uint(map_flags, BPF_F_INNER_MAP | BPF_F_MMAPABLE);
	__type(key, __u32);
	__type(value, __u32);
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY_OF_MAPS);
	__uint(max_entries, SY_MAX_SERVICES);
	__type(key, __u32);
	__array(values, struct sy_ring);
} sy_rings SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, SY_MAX_BACKENDS);
	__type(key, __u32);
	__type(value, struct sy_backend);
} sy_backends SEC(".maps");

/* The flow table: sets of SY_FLOW_WAYS entries (see switchyard_abi.h). The loader sets the
 * number of sets from the configured capacity (sy_flow_set_count); mmap-able so the agent can
 * scan it without a syscall per set. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1 << 18);
	__uint(map_flags, BPF_F_MMAPABLE);
	__type(key, __u32);
	__type(value, struct sy_flow_set);
} sy_flows SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct sy_clock);
} sy_clock SEC(".maps");

/* Stateful entries from the store that did not fit the flow table (see SY_FLOW_OVERFLOW_ENTRIES). */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, SY_FLOW_OVERFLOW_ENTRIES);
	__type(key, struct sy_flow_key);
	__type(value, struct sy_flow_overflow_entry);
} sy_flow_overflow SEC(".maps");

/* Per backend index: the FIB's answer for its address (see struct sy_nexthop). */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, SY_MAX_BACKENDS);
	__type(key, __u32);
	__type(value, struct sy_nexthop);
} sy_nexthops SEC(".maps");

/* One counter: the current generation of sy_nexthops entries, incremented by the agent. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u32);
} sy_fib_generation SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct sy_node);
} sy_node SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, SY_MAX_SERVICES);
	__type(key, __u32);
	__type(value, struct sy_service_counters);
} sy_service_stats SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, SY_MAX_BACKENDS);
	__type(key, __u32);
	__type(value, struct sy_backend_counters);
} sy_backend_stats SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, SY_DROP__COUNT);
	__type(key, __u32);
	__type(value, __u64);
} sy_drops SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, SY_EVENT__COUNT);
	__type(key, __u32);
	__type(value, __u64);
} sy_events SEC(".maps");

/* Per-CPU token bucket for flow-table inserts (node.new_flow_rate); struct in the ABI header. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct sy_insert_budget);
} sy_insert_budget SEC(".maps");

/* New flows of stateful services, for the agent to publish to the flow store. */
struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 1 << 22);
} sy_flow_events SEC(".maps");

#endif
