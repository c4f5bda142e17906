/*
 * spf_eval: the state of one SPF check (struct spf), shared by spf.c (the
 * API: spf_check, spf_cancel, the loop that runs the steps, delivery) and
 * spf_eval.c (the steps: terms, frames, the validated names of 5.5, exp).
 * Internal to policy/; callers use spf.h.
 */
#ifndef POSTERN_SPF_EVAL_H
#define POSTERN_SPF_EVAL_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

#include "core/limits.h"
#include "policy/spf.h"

/* What the machine does next, run by spf_drive(). */
enum spf_state {
	SPF_ST_WAIT,		/* a query is in flight */
	SPF_ST_EVAL,		/* evaluate the current term of the top frame */
	SPF_ST_FRAME_END,	/* no term matched: redirect= or neutral */
	SPF_ST_RESULT,		/* the top frame ended with s->fres */
	SPF_ST_RDNS_NEXT,	/* forward-confirm the next PTR name */
	SPF_ST_END,		/* result known: exp= or deliver */
	SPF_ST_EXP_NAME,	/* expand exp=, fetch its TXT */
	SPF_ST_EXP_TEXT,	/* expand the explanation */
	SPF_ST_DELIVER,		/* call back and free */
};

/* Which answer the query in flight is. */
enum spf_wait {
	SPF_W_NONE, SPF_W_TXT, SPF_W_ADDR, SPF_W_MX, SPF_W_MX_ADDR,
	SPF_W_EXISTS, SPF_W_PTR, SPF_W_PTR_ADDR, SPF_W_EXP,
};

/* One check_host() in progress: the top level, an include or a redirect
 * target (which replaces the frame it came from, 6.1). */
struct spf_frame {
	char		*domain;	/* <domain>, lower case */
	char		*record;	/* the SPF record; terms borrow it */
	struct spf_term	*terms;
	size_t		 nterms;
	size_t		 cur;		/* the term being evaluated */
	bool		 redirected;	/* domain came from redirect= */
};

enum spf_rdns { SPF_RDNS_NOT_YET, SPF_RDNS_RUNNING, SPF_RDNS_DONE };

struct spf {
	struct spf_resolver	 r;
	spf_cb			 cb;
	void			*arg;
	struct event		*defer;		/* result found in spf_check() */
	enum spf_state		 state;
	enum spf_wait		 wait;

	int			 family;	/* AF_INET (mapped too) or AF_INET6 */
	uint8_t			 addr[16];
	char			 ip[INET6_ADDRSTRLEN];
	struct sockaddr_storage	 sa;
	char			*helo, *receiver;
	int64_t			 now;

	struct spf_outcome	 out;
	struct spf_frame	 frames[SPF_LOOKUPS_MAX + 1];
	size_t			 depth;
	enum spf_result		 fres;		/* SPF_ST_RESULT: frame result */
	unsigned		 voids;
	char			*target;	/* the current term's target */
	unsigned		 cidr;		/* its prefix for our family */

	char			*mx[SPF_MX_NAMES_MAX];
	size_t			 nmx, mx_next;

	/* 5.5: the validated names of the client, found once for ptr and
	 * %{p}; rdns_resume is the state to return to. */
	enum spf_rdns		 rdns;
	enum spf_state		 rdns_resume;
	bool			 rdns_void;
	char			*ptr[SPF_PTR_NAMES_MAX];
	bool			 ptr_ok[SPF_PTR_NAMES_MAX];
	size_t			 nptr, ptr_next;

	bool			 exp_tried;
	char			*exp_text;	/* the exp TXT, unexpanded */
};

/* Starts fetching the record of the top frame's domain (4.4). */
void	spf_eval_fetch(struct spf *s);
/* Runs the step s->state names (not WAIT nor DELIVER), which sets the
 * next state. */
void	spf_eval_step(struct spf *s);
/* The dns_cb of every query: takes the answer, then spf_drive(). */
void	spf_eval_on_dns(void *arg, const struct dns_result *res);
/* Frees what the steps allocated (frames, names, texts). */
void	spf_eval_clear(struct spf *s);

/* spf.c: runs steps until a query is in flight or the result has been
 * delivered (s is then freed). */
void	spf_drive(struct spf *s);

#endif
