/* SPDX-License-Identifier: BSD-3-Clause */
#include <config.h>

#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

#include "fd.h"

int
fd_move_high(int fd)
{
	int	hi, saved;

	if (fd < 0 || fd >= FD_HIGH_MIN)
		return fd;
	hi = fcntl(fd, F_DUPFD_CLOEXEC, FD_HIGH_MIN);
	saved = errno;
	close(fd);
	errno = saved;
	return hi;
}
