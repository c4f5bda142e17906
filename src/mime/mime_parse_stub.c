/*
 * TEMPORARY stand-in so that main links while src/mime/mime_parse.c is
 * written on its branch: DELETE THIS FILE (git rm) when mime_parse.c
 * lands. It parses nothing.
 */
#include <stdlib.h>

#include "core/xalloc.h"
#include "mime/mime_parse.h"

struct mime_parser {
	int	unused;
};

struct mime_parser *
mime_parser_new(const struct mime_callbacks *cb)
{
	(void)cb;
	return xcalloc(1, sizeof(struct mime_parser));
}

enum mime_rc
mime_parser_feed(struct mime_parser *p, const char *d, size_t l)
{
	(void)p;
	(void)d;
	(void)l;
	return MIME_OK;
}

enum mime_rc
mime_parser_finish(struct mime_parser *p)
{
	(void)p;
	return MIME_OK;
}

const char *
mime_rc_text(enum mime_rc rc)
{
	(void)rc;
	return "MIME error";
}

void
mime_parser_free(struct mime_parser **pp)
{
	free(*pp);
	*pp = NULL;
}
