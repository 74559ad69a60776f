/*
 * console.h — the web console's static files, embedded into raftqd at
 * build time (console/embed.cmake) and served at / by node/http.c.
 */
#ifndef RAFTQ_CONSOLE_H
#define RAFTQ_CONSOLE_H

#include <stddef.h>

struct console_file {
	const char *path; /* "/index.html" */
	const char *content_type;
	const unsigned char *data;
	size_t len;
};

extern const struct console_file console_files[];
extern const size_t console_nfiles;

#endif /* RAFTQ_CONSOLE_H */
