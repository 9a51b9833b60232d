/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The worker's half of sdk/sdk-host.h: where plugin log messages and
 * shutdown requests go, and whether the server runs -r.  Called from
 * plugin callbacks on any thread.
 */
#include <config.h>

#include "worker.h"

void
sdk_host_log(int level, const char *msg)
{
	rpc_send_log(level, msg);
}

bool
sdk_host_read_only(void)
{
	return host.readonly;
}

void
sdk_host_shutdown(void)
{
	Nbdbroker__Rpc__Envelope	env = NBDBROKER__RPC__ENVELOPE__INIT;
	Nbdbroker__Rpc__ShutdownRequest	sr =
	    NBDBROKER__RPC__SHUTDOWN_REQUEST__INIT;

	env.body_case = NBDBROKER__RPC__ENVELOPE__BODY_SHUTDOWN_REQUEST;
	env.shutdown_request = &sr;
	rpc_send(&env);
}
