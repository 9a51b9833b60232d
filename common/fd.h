/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Descriptor helpers shared by the broker's modules.
 */
#ifndef NBDBROKER_FD_H
#define NBDBROKER_FD_H

/*
 * Descriptors the broker keeps for its workers live at FD_HIGH_MIN or
 * above, clear of the fixed numbers a worker is given at spawn (0-9),
 * so that posix_spawn's dup2 onto those numbers can never clobber one.
 */
#define FD_HIGH_MIN	10

/*
 * Move fd to FD_HIGH_MIN or above (close-on-exec) and close the
 * original.  Returns the new descriptor (fd itself if already high),
 * or -1 with errno (the original is closed either way).
 */
int	fd_move_high(int fd);

#endif /* NBDBROKER_FD_H */
