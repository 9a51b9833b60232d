/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Names that several processes must agree on.  The one home of the
 * plugin-name rule: the broker checks the names given on its command
 * line and reported in Ready with it, the worker the .name a plugin
 * declares.
 */
#ifndef NBDBROKER_NAMES_H
#define NBDBROKER_NAMES_H

#include <stdbool.h>

#define PLUGIN_NAME_MAX		64

/*
 * The PATH every worker gets, whatever the broker's caller had: the
 * system's directories, sbin included, because plugins run admin tools
 * (tmpdisk runs mkfs, linuxdisk and iso their builders).  Fixed rather
 * than inherited so that what a worker runs does not depend on who
 * started the broker.
 */
#define WORKER_PATH \
	"/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

/*
 * A plugin name: 1 to PLUGIN_NAME_MAX characters of [A-Za-z0-9_-]
 * (nbdkit allows upper case, so do we).
 */
bool	plugin_name_valid(const char *s);

#endif /* NBDBROKER_NAMES_H */
