/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Every drop goes through count_drop with a reason from enum sy_drop_reason. */
#ifndef SY_DROP_H
#define SY_DROP_H

#include "maps.h"

static __always_inline int count_drop(__u32 reason)
{
	__u64 *n = bpf_map_lookup_elem(&sy_drops, &reason);

	if (n)
		*n += 1;
	return XDP_DROP;
}

static __always_inline void count_event(__u32 event)
{
	__u64 *n = bpf_map_lookup_elem(&sy_events, &event);

	if (n)
		*n += 1;
}

#endif
