/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The worker's translation between the wire's values (RPC_* in
 * proto/rpc-frame.h) and the plugin SDK's (NBDBROKER_* in
 * nbdbroker-plugin.h, which are also nbdkit's).  The two sets are
 * equal today but answer to different masters: the SDK's are fixed by
 * the plugin ABI, the wire's by the protocol.  Each table below is the
 * one place that pairs them; nothing else in the worker converts.
 *
 * Pure functions; any thread.
 */
#include <config.h>

#include <stddef.h>

#include "log.h"
#include "nbd-protocol.h"
#include "worker.h"

/*
 * Extent types cross unchanged: a plugin's NBDBROKER_EXTENT_* are
 * nbdkit's, which are the NBD protocol's NBD_STATE_* bits, and the wire
 * carries NBD_STATE_* (Reply.extent_type).
 */
_Static_assert(NBDBROKER_EXTENT_HOLE == NBD_STATE_HOLE &&
    NBDBROKER_EXTENT_ZERO == NBD_STATE_ZERO,
    "extent types are the NBD protocol's");

/* One value (or bit) on the wire and the SDK's for it. */
struct wire_pair {
	uint32_t	wire;
	int		sdk;
};

#define WIRE_N(t)	(sizeof(t) / sizeof((t)[0]))

static const struct wire_pair	wire_flags[] = {
	{ RPC_FLAG_MAY_TRIM,	NBDBROKER_FLAG_MAY_TRIM },
	{ RPC_FLAG_FUA,		NBDBROKER_FLAG_FUA },
	{ RPC_FLAG_REQ_ONE,	NBDBROKER_FLAG_REQ_ONE },
	{ RPC_FLAG_FAST_ZERO,	NBDBROKER_FLAG_FAST_ZERO },
};

static const struct wire_pair	wire_thread_models[] = {
	{ RPC_THREAD_MODEL_SERIALIZE_CONNECTIONS,
	  NBDBROKER_THREAD_MODEL_SERIALIZE_CONNECTIONS },
	{ RPC_THREAD_MODEL_SERIALIZE_ALL_REQUESTS,
	  NBDBROKER_THREAD_MODEL_SERIALIZE_ALL_REQUESTS },
	{ RPC_THREAD_MODEL_SERIALIZE_REQUESTS,
	  NBDBROKER_THREAD_MODEL_SERIALIZE_REQUESTS },
	{ RPC_THREAD_MODEL_PARALLEL,	NBDBROKER_THREAD_MODEL_PARALLEL },
};

static const struct wire_pair	wire_durabilities[] = {
	{ RPC_DURABILITY_UNSPECIFIED,	NBDBROKER_DURABILITY_UNSPECIFIED },
	{ RPC_DURABILITY_STATELESS,	NBDBROKER_DURABILITY_STATELESS },
	{ RPC_DURABILITY_PERSISTENT,	NBDBROKER_DURABILITY_PERSISTENT },
	{ RPC_DURABILITY_VOLATILE,	NBDBROKER_DURABILITY_VOLATILE },
};

static const struct wire_pair	wire_fua_modes[] = {
	{ RPC_FUA_NONE,		NBDBROKER_FUA_NONE },
	{ RPC_FUA_EMULATE,	NBDBROKER_FUA_EMULATE },
	{ RPC_FUA_NATIVE,	NBDBROKER_FUA_NATIVE },
};

static const struct wire_pair	wire_cache_modes[] = {
	{ RPC_CACHE_NONE,	NBDBROKER_CACHE_NONE },
	{ RPC_CACHE_EMULATE,	NBDBROKER_CACHE_EMULATE },
	{ RPC_CACHE_NATIVE,	NBDBROKER_CACHE_NATIVE },
};

/*
 * The wire's value for the SDK's value sdk in table t.  The worker
 * only ever has valid values (they are checked or settled where they
 * come from the plugin): anything else is a bug in the worker.
 */
static uint32_t
wire_from_sdk(const struct wire_pair *t, size_t n, const char *what,
    int sdk)
{
	size_t	i;

	for (i = 0; i < n; i++)
		if (t[i].sdk == sdk)
			return t[i].wire;
	fatalx("wire: %s %d has no wire value", what, sdk);
	/* NOTREACHED */
}

/* Request.flags (RPC_FLAG_*) as the plugin's NBDBROKER_FLAG_*. */
uint32_t
wire_to_sdk_flags(uint32_t wire)
{
	uint32_t	sdk = 0;
	size_t		i;

	for (i = 0; i < WIRE_N(wire_flags); i++)
		if (wire & wire_flags[i].wire)
			sdk |= (uint32_t)wire_flags[i].sdk;
	return sdk;
}

/* Ready.thread_model for NBDBROKER_THREAD_MODEL_* tm. */
uint32_t
wire_thread_model(int tm)
{
	return wire_from_sdk(wire_thread_models, WIRE_N(wire_thread_models),
	    "thread model", tm);
}

/* Ready.durability for NBDBROKER_DURABILITY_* d. */
uint32_t
wire_durability(int d)
{
	return wire_from_sdk(wire_durabilities, WIRE_N(wire_durabilities),
	    "durability", d);
}

/* OpenReply.fua for NBDBROKER_FUA_* fua. */
uint32_t
wire_fua(int fua)
{
	return wire_from_sdk(wire_fua_modes, WIRE_N(wire_fua_modes),
	    "FUA mode", fua);
}

/* OpenReply.cache for NBDBROKER_CACHE_* cache. */
uint32_t
wire_cache(int cache)
{
	return wire_from_sdk(wire_cache_modes, WIRE_N(wire_cache_modes),
	    "cache mode", cache);
}

/* Reply.extent_type for a plugin's extent type: the same bits. */
uint32_t
wire_extent_type(uint32_t type)
{
	return type;
}
