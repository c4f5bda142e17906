/*
 * master: supervision. The master keeps root (when started as root) only
 * to bind ports and read the configuration on reload; every child drops
 * to run_as before it touches a client or a mailbox.
 */
#include <errno.h>
#include <fcntl.h>
#include <event2/event.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "core/log.h"
#include "core/logremote.h"
#include "core/tls.h"
#include "core/xalloc.h"
#include "delivery/qmgr.h"
#include "ipc/ipc.h"
#include "ipc/ipc_proto.h"
#include "directory/directory.h"
#include "filter/filter_conn.h"
#include "queue/queue.h"
#include "server/conntrack.h"
#include "server/dird.h"
#include "server/master.h"
#include "server/mworker.h"
#include "server/privs.h"
#include "server/sandbox.h"
#include "server/worker.h"

#define MASTER_STOP_SEC		30	/* then SIGKILL what is left */
#define MASTER_BACKOFF_MAX	30
#define MASTER_LOG_FLUSH_MSEC	2000	/* at stop, for the remote log */
/* A child's datagrams of log lines may wait for the master's loop up to
 * this (the kernel doubles it, capped at net.core.wmem_max): lines are
 * dropped only when the master has fallen this far behind. */
#define MASTER_LOG_SNDBUF	(512 * 1024)

/* CHILD_MWORKER: a mailbox worker (POP3, IMAP), only when one of their
 * listeners is configured. */
enum child_kind { CHILD_WORKER, CHILD_QMGR, CHILD_DIRD, CHILD_MWORKER };

static const char *const master_kind_names[] = { "worker", "qmgr", "dird",
	"mworker" };

struct child {
	pid_t		 pid;
	enum child_kind	 kind;
	unsigned	 index;		/* (m)worker index: its socket set */
	unsigned	 slot;		/* conntrack slot */
	bool		 retiring;	/* an older generation, draining */
	bool		 hurried;	/* retiring, told to close now (SIGTERM) */
	time_t		 started;
	int		 ctl;		/* our end of its control socketpair */
	struct event	*ctl_ev;	/* workers: directory connection requests */
	struct logremote_source *logsrc;	/* its log lines, with log.remote */
};

/* The sockets of one listener, one per worker (SO_REUSEPORT). */
struct bound {
	enum cfg_service	 service;
	char			*address;
	int			*fds;
	bool			 keep;
};

struct master {
	struct config		*cfg;
	const char		*path;
	bool			 must_exist;
	SSL_CTX			*tls;
	struct privs		 privs;
	unsigned		 nworkers;
	struct bound		*bound;
	size_t			 nbound;
	int			**wfds;		/* [worker][listen index] */
	struct conntrack	*ct;
	bool			*slot_used;
	int			 notify[2];	/* [0] qmgr reads, [1] workers send */
	int			 dird_ctl;	/* control socket of the current dird, -1 = down */
	struct buf		 ctl_buf;
	struct child		*children;
	size_t			 nchildren;
	/* per worker index; [nworkers] = qmgr, [nworkers + 1] = dird,
	 * [nworkers + 2 + i] = mailbox worker i */
	unsigned		*backoff;
	/* Session processes of the current generation not spawned for lack
	 * of a conntrack slot: spawned as soon as a slot frees. */
	struct master_pending {
		enum child_kind	 kind;
		unsigned	 index;
	}			*pending;
	size_t			 npending;
	bool			 stopping;
	struct timespec		 stop_started;	/* CLOCK_MONOTONIC */
	struct event_base	*base;
	struct logremote	*relay;		/* log.remote; lines of every process */
	struct log_ctx		 log;
};

static bool
master_is_mailbox(enum cfg_service s)
{
	return s == SVC_POP3 || s == SVC_POP3S || s == SVC_IMAP || s == SVC_IMAPS;
}

static bool
master_is_served(enum cfg_service s)
{
	return s == SVC_SMTP || s == SVC_SUBMISSION || s == SVC_SUBMISSIONS ||
	    master_is_mailbox(s);
}

/* Mailbox workers run only for a configuration that has their listeners. */
static bool
master_has_mailbox(const struct config *cfg)
{
	for (size_t i = 0; i < cfg->nlisten; i++)
		if (master_is_mailbox(cfg->listen[i].service))
			return true;
	return false;
}

static bool
master_is_session_kind(enum child_kind kind)
{
	return kind == CHILD_WORKER || kind == CHILD_MWORKER;
}

/*
 * In a fresh child: the listening sockets of its kind and index, -1 for
 * the others (SMTP to the workers, POP3/IMAP to the mailbox workers), and
 * every other listening socket closed, so no process can accept on a
 * service that is not its own.
 */
static int *
master_child_listeners(struct master *m, enum child_kind kind, unsigned index)
{
	size_t n = m->cfg->nlisten;
	int *fds = xcalloc(n ? n : 1, sizeof(int));

	for (size_t i = 0; i < n; i++) {
		bool mine = master_is_session_kind(kind) &&
		    (kind == CHILD_MWORKER) ==
		    master_is_mailbox(m->cfg->listen[i].service);

		fds[i] = mine ? m->wfds[index][i] : -1;
	}
	for (size_t b = 0; b < m->nbound; b++)
		for (unsigned w = 0; w < m->nworkers; w++) {
			bool keep = false;

			for (size_t i = 0; i < n; i++)
				if (fds[i] == m->bound[b].fds[w])
					keep = true;
			if (!keep && m->bound[b].fds[w] != -1)
				close(m->bound[b].fds[w]);
		}
	return fds;
}

static int
master_bind_one(const struct cfg_listen *l, char *err, size_t errlen)
{
	int fd, one = 1;

	fd = socket(l->sa.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd == -1)
		goto fail;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)) == -1)
		goto fail;
	if (l->sa.ss_family == AF_INET6)
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
	if (bind(fd, (const struct sockaddr *)&l->sa, l->salen) == -1 ||
	    listen(fd, 1024) == -1)
		goto fail;
	return fd;
fail:
	snprintf(err, errlen, "listen %s (%s): %s", l->address,
	    config_service_name(l->service), strerror(errno));
	if (fd != -1)
		close(fd);
	return -1;
}

/*
 * Builds wfds for cfg: sockets already bound for the same service and
 * address are kept (no connection is refused during a reload), new ones
 * are bound, and those no longer configured are closed.
 */
static int
master_bind_all(struct master *m, const struct config *cfg, char *err,
    size_t errlen)
{
	int **wfds = xcalloc(m->nworkers, sizeof(*wfds));

	for (size_t b = 0; b < m->nbound; b++)
		m->bound[b].keep = false;
	for (unsigned w = 0; w < m->nworkers; w++) {
		wfds[w] = xcalloc(cfg->nlisten ? cfg->nlisten : 1, sizeof(int));
		for (size_t i = 0; i < cfg->nlisten; i++)
			wfds[w][i] = -1;
	}
	for (size_t i = 0; i < cfg->nlisten; i++) {
		const struct cfg_listen *l = &cfg->listen[i];
		struct bound *bd = NULL;

		if (!master_is_served(l->service)) {
			log_kv(&m->log, LOGL_WARN, "listen_skipped", "service",
			    config_service_name(l->service), "address", l->address,
			    "reason", "not available in this version", NULL);
			continue;
		}
		for (size_t b = 0; b < m->nbound && bd == NULL; b++)
			if (m->bound[b].service == l->service &&
			    strcmp(m->bound[b].address, l->address) == 0)
				bd = &m->bound[b];
		if (bd == NULL) {
			m->bound = xrealloc(m->bound, (m->nbound + 1) * sizeof(*m->bound));
			bd = &m->bound[m->nbound++];
			*bd = (struct bound){ .service = l->service,
			    .address = xstrdup(l->address),
			    .fds = xcalloc(m->nworkers, sizeof(int)) };
			for (unsigned w = 0; w < m->nworkers; w++) {
				bd->fds[w] = master_bind_one(l, err, errlen);
				if (bd->fds[w] == -1) {
					for (unsigned k = 0; k < m->nworkers; k++)
						free(wfds[k]);
					free(wfds);
					return -1;
				}
			}
		}
		bd->keep = true;
		for (unsigned w = 0; w < m->nworkers; w++)
			wfds[w][i] = bd->fds[w];
	}
	for (size_t b = 0; b < m->nbound; ) {
		if (m->bound[b].keep) {
			b++;
			continue;
		}
		for (unsigned w = 0; w < m->nworkers; w++)
			if (m->bound[b].fds[w] != -1)
				close(m->bound[b].fds[w]);
		free(m->bound[b].fds);
		free(m->bound[b].address);
		m->bound[b] = m->bound[--m->nbound];
	}
	if (m->wfds != NULL) {
		for (unsigned w = 0; w < m->nworkers; w++)
			free(m->wfds[w]);
		free(m->wfds);
	}
	m->wfds = wfds;
	return 0;
}

/*
 * A worker asks for a connection to the directory process: make a
 * socketpair, hand one end to dird and the other to the worker. While dird
 * is down the reply carries no descriptor and the worker asks again.
 */
static void
master_broker(struct master *m, struct child *c, uint32_t id)
{
	struct ipc_msg out;
	int sp[2] = { -1, -1 };

	ipc_msg_init(&out, IPCM_DIRD_SOCKET, id);
	if (m->dird_ctl != -1 &&
	    socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sp) == 0) {
		struct ipc_msg give;

		ipc_msg_init(&give, IPCM_DIRD_CLIENT, 0);
		give.fd = sp[0];
		if (ipc_send(m->dird_ctl, &give) == 0)
			out.fd = sp[1];
	}
	if (ipc_send(c->ctl, &out) == -1)
		log_kv(&m->log, LOGL_WARN, "broker_failed", "detail",
		    strerror(errno), NULL);
	if (sp[0] != -1) {
		close(sp[0]);
		close(sp[1]);
	}
}

static void
master_ctl_read(evutil_socket_t fd, short what, void *arg)
{
	struct master *m = arg;
	struct ipc_msg msg;
	struct child *c;

	(void)what;
	for (int i = 0; i < 16; i++) {
		int rc = ipc_recv(fd, &m->ctl_buf, &msg);

		c = NULL;
		if (rc != 1)
			return;	/* EAGAIN, closed (reaped soon) or malformed */
		if (msg.fd != -1)
			close(msg.fd);	/* children pass us nothing */
		for (size_t k = 0; k < m->nchildren && c == NULL; k++)
			if (m->children[k].ctl == fd)
				c = &m->children[k];
		if (c == NULL)
			return;
		/* Mailbox workers scan nothing: no filter sockets for them. */
		if (msg.type == IPCM_FILTER_CONNECT && c->kind != CHILD_MWORKER) {
			/* Checked against the current configuration. */
			filter_conn_broker_serve(m->cfg, fd, &msg);
			continue;
		}
		if (msg.type == IPCM_DIRD_CONNECT)
			master_broker(m, c, msg.id);
	}
}

/* A fresh child must not run the master's signal handlers. */
static void
master_child_signals(void)
{
	sigset_t none;
	int sigs[] = { SIGCHLD, SIGHUP, SIGTERM, SIGINT, SIGUSR1, SIGPIPE };

	for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
		signal(sigs[i], SIG_DFL);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
}

/* Confines a child that has dropped privileges, before it runs. */
static void
master_child_sandbox(enum child_kind kind)
{
	enum sandbox_role role = kind == CHILD_QMGR ? SANDBOX_QMGR :
	    kind == CHILD_DIRD ? SANDBOX_DIRD : kind == CHILD_MWORKER ?
	    SANDBOX_MAILBOX : SANDBOX_WORKER;
	struct log_ctx lc = { .service = master_kind_names[kind] };
	char err[256];
	bool ll;

	if (sandbox_apply(role, &ll, err, sizeof(err)) == -1) {
		log_kv(&lc, LOGL_ERROR, "sandbox", "role", sandbox_role_name(role),
		    "detail", err, NULL);
		_exit(1);
	}
	log_kv(&lc, LOGL_INFO, "sandbox", "role", sandbox_role_name(role),
	    "landlock", ll ? "yes" : "no", "seccomp",
	    sandbox_enabled() ? "yes" : "no", NULL);
}

/*
 * The datagram socketpair a child sends its log lines on, made only with
 * log.remote. Without it the child logs locally only (and says why here).
 */
static void
master_log_socket(struct master *m, int lsp[2])
{
	int sndbuf = MASTER_LOG_SNDBUF;

	if (socketpair(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0,
	    lsp) == -1) {
		log_kv(&m->log, LOGL_ERROR, "log_remote", "state", "error",
		    "detail", strerror(errno), NULL);
		lsp[0] = lsp[1] = -1;
		return;
	}
	/* Unix datagrams are charged to the sender's buffer. */
	setsockopt(lsp[1], SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof(sndbuf));
}

/* Start and reload: the relay's target and hostname. */
static void
master_log_remote(struct master *m, const struct config *cfg)
{
	char err[320];

	if (logremote_configure(m->relay, cfg->log.remote, cfg->hostname, err,
	    sizeof(err)) == -1)
		log_kv(&m->log, LOGL_ERROR, "log_remote", "state", "error",
		    "target", cfg->log.remote, "detail", err, NULL);
}

/* At stop: what the log server can take within the stop deadline. */
static void
master_log_flush(struct master *m)
{
	struct timespec now;
	long left;

	clock_gettime(CLOCK_MONOTONIC, &now);
	left = MASTER_STOP_SEC * 1000L - ((now.tv_sec - m->stop_started.tv_sec) *
	    1000L + (now.tv_nsec - m->stop_started.tv_nsec) / 1000000L);
	if (left > MASTER_LOG_FLUSH_MSEC)
		left = MASTER_LOG_FLUSH_MSEC;
	if (left > 0)
		logremote_flush(m->relay, (unsigned)left);
}

/*
 * In a mailbox worker, still root: data_dir/mail, made 0700 and owned by
 * run_as when missing (as the first delivery would make it), becomes the
 * working directory. Opened without following a symbolic link (a
 * run_as that wrote one there would have root chown and root the worker
 * in a directory of its choosing): the chown and the chdir go through
 * that descriptor, and a link is refused.
 */
static void
master_mail_dir(struct master *m)
{
	bool made = false;
	int fd;

	if (mkdir("mail", 0700) == 0)
		made = true;
	else if (errno != EEXIST)
		fatal("mkdir mail: %s", strerror(errno));
	fd = open("mail", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd == -1) {
		struct stat st;

		if (errno == ELOOP || (lstat("mail", &st) == 0 &&
		    S_ISLNK(st.st_mode)))
			fatal("data_dir/mail is a symbolic link: refused (it must "
			    "be a directory)");
		fatal("open mail: %s", strerror(errno));
	}
	if (made && m->privs.drop &&
	    fchown(fd, m->privs.uid, m->privs.gid) == -1)
		fatal("chown mail: %s", strerror(errno));
	if (fchdir(fd) == -1)
		fatal("chdir mail: %s", strerror(errno));
	close(fd);
}

static void master_spawn(struct master *m, enum child_kind kind,
    unsigned index);

/*
 * No conntrack slot for a session process of the current generation: the
 * older generations still hold them (reloads in quick succession while
 * clients keep sessions open). Remember the spawn, done once a slot frees
 * (master_spawn_pending), and hurry the retiring session processes with
 * SIGTERM: a mailbox worker closes its sessions now instead of after its
 * grace; an SMTP worker answers 421 (nothing acknowledged is lost) rather
 * than wait for clients that may keep a session alive with NOOPs.
 */
static void
master_defer_spawn(struct master *m, enum child_kind kind, unsigned index)
{
	bool known = false;

	for (size_t i = 0; i < m->npending; i++)
		if (m->pending[i].kind == kind && m->pending[i].index == index)
			known = true;
	if (!known) {
		m->pending = xrealloc(m->pending, (m->npending + 1) *
		    sizeof(*m->pending));
		m->pending[m->npending++] = (struct master_pending){
		    .kind = kind, .index = index };
	}
	log_kv(&m->log, LOGL_WARN, "spawn_deferred", "kind",
	    master_kind_names[kind], "reason", "no free slot", NULL);
	for (size_t i = 0; i < m->nchildren; i++) {
		struct child *c = &m->children[i];

		if (c->retiring && !c->hurried &&
		    master_is_session_kind(c->kind)) {
			c->hurried = true;
			kill(c->pid, SIGTERM);
		}
	}
}

/* A slot may have freed: spawn what waits for one (in order). */
static void
master_spawn_pending(struct master *m)
{
	struct master_pending *p = m->pending;
	size_t n = m->npending;

	if (n == 0 || m->stopping)
		return;
	m->pending = NULL;
	m->npending = 0;
	for (size_t i = 0; i < n; i++)
		master_spawn(m, p[i].kind, p[i].index);	/* may defer again */
	free(p);
}

/* One mailbox worker per worker, when a POP3/IMAP listener exists. */
static void
master_spawn_mworkers(struct master *m)
{
	if (!master_has_mailbox(m->cfg))
		return;
	for (unsigned w = 0; w < m->nworkers; w++)
		master_spawn(m, CHILD_MWORKER, w);
}

static void
master_spawn(struct master *m, enum child_kind kind, unsigned index)
{
	struct child c = { .kind = kind, .index = index, .started = time(NULL) };
	pid_t parent = getpid();
	char pidtxt[32];
	struct qmgr_pre *qpre = NULL;
	struct event_base *wbase = NULL;
	struct dns *wdns = NULL;
	int ctl[2], lsp[2] = { -1, -1 }, *lfds = NULL;

	if (master_is_session_kind(kind)) {
		unsigned nslots = conntrack_slots(m->ct);

		for (c.slot = 0; c.slot < nslots && m->slot_used[c.slot]; c.slot++)
			;
		if (c.slot == nslots) {
			master_defer_spawn(m, kind, index);
			return;
		}
	}
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, ctl) == -1) {
		log_kv(&m->log, LOGL_ERROR, "spawn_failed", "detail",
		    strerror(errno), NULL);
		return;
	}
	if (*m->cfg->log.remote != '\0')
		master_log_socket(m, lsp);
	c.pid = fork();
	if (c.pid == -1) {
		log_kv(&m->log, LOGL_ERROR, "spawn_failed", "detail",
		    strerror(errno), NULL);
		close(ctl[0]);
		close(ctl[1]);
		if (lsp[0] != -1) {
			close(lsp[0]);
			close(lsp[1]);
		}
		return;
	}
	if (c.pid == 0) {
		/* Not into the relay: its memory here is a copy. */
		log_remote_hook(NULL, NULL);
		/* A crashed master takes its children with it, like a crash of
		 * the whole server: nothing serves without supervision. */
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (getppid() != parent)
			_exit(1);
		/* The master's loop (and its signal handlers) is not ours. The
		 * epoll instance is shared across fork: reinit first, or freeing
		 * the base would unregister the master's own events. */
		event_reinit(m->base);
		event_base_free(m->base);
		master_child_signals();
		/* Only its own control socket: no child may speak for the master
		 * to another child. */
		close(ctl[0]);
		for (size_t k = 0; k < m->nchildren; k++)
			close(m->children[k].ctl);
		/* Nor may it read another child's log lines or write to the
		 * log server: its lines go to the master as datagrams. */
		logremote_close_after_fork(m->relay);
		if (lsp[0] != -1)
			close(lsp[0]);
		log_remote_attach(lsp[1], master_kind_names[kind]);
		lfds = master_child_listeners(m, kind, index);
		/* A session process lives in data_dir/queue: the directory, the
		 * TLS key and the mailboxes are not even in its file system. */
		if (kind == CHILD_WORKER) {
			char err[256];

			if (chdir("queue") == -1)
				fatal("chdir queue: %s", strerror(errno));
			queue_set_root(".");
			/* resolv.conf is read before the chroot. */
			if (worker_prepare(m->cfg, &wbase, &wdns, err,
			    sizeof(err)) == -1)
				fatal("worker: %s", err);
		} else if (kind == CHILD_MWORKER) {
			/* A mailbox worker lives in data_dir/mail: the
			 * mailboxes, nothing else. Its loop is made before the
			 * chroot. */
			master_mail_dir(m);	/* and chdir into it */
			wbase = event_base_new();
			if (wbase == NULL)
				fatal("mworker: event_base_new failed");
		} else if (kind == CHILD_QMGR) {
			char err[256];

			/* resolv.conf, the TLS client context and the relay
			 * credentials are read before the chroot. */
			qpre = qmgr_prepare(m->cfg, err, sizeof(err));
			if (qpre == NULL)
				fatal("qmgr: %s", err);
		}
		privs_drop(&m->privs);
		master_child_sandbox(kind);
		if (kind == CHILD_DIRD) {
			close(m->notify[0]);
			close(m->notify[1]);
			exit(dird_run(m->cfg, ctl[1]));
		} else if (kind == CHILD_QMGR) {
			close(m->notify[1]);
			exit(qmgr_run(m->cfg, qpre, m->notify[0], ctl[1]));
		} else if (kind == CHILD_MWORKER) {
			struct mworker_args a = { .cfg = m->cfg, .tls = m->tls,
			    .base = wbase, .ct = m->ct, .slot = c.slot,
			    .listen_fds = lfds, .ctl_fd = ctl[1] };

			close(m->notify[0]);
			close(m->notify[1]);
			exit(mworker_run(&a));
		} else {
			struct worker_args a = { .cfg = m->cfg, .tls = m->tls,
			    .base = wbase, .dns = wdns,
			    .ct = m->ct, .slot = c.slot, .listen_fds = lfds,
			    .qmgr_fd = m->notify[1], .ctl_fd = ctl[1] };

			close(m->notify[0]);
			exit(worker_run(&a));
		}
	}
	close(ctl[1]);
	c.ctl = ctl[0];
	if (lsp[0] != -1) {
		close(lsp[1]);
		c.logsrc = logremote_source_new(m->relay, lsp[0], c.pid);
	}
	if (master_is_session_kind(kind) || kind == CHILD_QMGR) {
		evutil_make_socket_nonblocking(c.ctl);
		c.ctl_ev = event_new(m->base, c.ctl, EV_READ | EV_PERSIST,
		    master_ctl_read, m);
		event_add(c.ctl_ev, NULL);
	} else if (kind == CHILD_DIRD) {
		m->dird_ctl = c.ctl;
	}
	if (master_is_session_kind(kind))
		m->slot_used[c.slot] = true;
	m->children = xrealloc(m->children, (m->nchildren + 1) * sizeof(*m->children));
	m->children[m->nchildren++] = c;
	snprintf(pidtxt, sizeof(pidtxt), "%d", (int)c.pid);
	log_kv(&m->log, LOGL_DEBUG, "spawn", "kind",
	    master_kind_names[kind], "pid", pidtxt, NULL);
}

struct master_respawn {
	struct master	*m;
	enum child_kind	 kind;
	unsigned	 index;
};

static void
master_respawn_cb(evutil_socket_t fd, short what, void *arg)
{
	struct master_respawn *r = arg;

	(void)fd;
	(void)what;
	if (!r->m->stopping)
		master_spawn(r->m, r->kind, r->index);
	free(r);
}

static void
master_reaped(struct master *m, struct child *c, int status)
{
	char pidtxt[32], st[32];
	unsigned *b = &m->backoff[c->kind == CHILD_WORKER ? c->index :
	    c->kind == CHILD_MWORKER ? m->nworkers + 2 + c->index :
	    m->nworkers + (c->kind == CHILD_DIRD)];
	struct master_respawn *r;
	struct timeval tv = { 0, 0 };
	bool clean = WIFEXITED(status) && WEXITSTATUS(status) == 0;

	/* Its last lines (the drop count at exit) before its exit's. */
	logremote_source_free(&c->logsrc);
	snprintf(pidtxt, sizeof(pidtxt), "%d", (int)c->pid);
	if (WIFSIGNALED(status))
		snprintf(st, sizeof(st), "signal %d", WTERMSIG(status));
	else
		snprintf(st, sizeof(st), "exit %d", WEXITSTATUS(status));
	log_kv(&m->log, clean || c->retiring || m->stopping ? LOGL_INFO : LOGL_ERROR,
	    "child_exit", "kind", master_kind_names[c->kind],
	    "pid", pidtxt, "status", st, NULL);
	if (master_is_session_kind(c->kind)) {
		conntrack_reset_slot(m->ct, c->slot);
		m->slot_used[c->slot] = false;
	}
	if (c->ctl_ev != NULL)
		event_free(c->ctl_ev);
	if (c->kind == CHILD_DIRD && m->dird_ctl == c->ctl)
		m->dird_ctl = -1;	/* workers are told to retry until it is back */
	close(c->ctl);
	if (m->stopping || c->retiring)
		return;
	/* Died on its own: restart, waiting longer each time it dies young. */
	if (time(NULL) - c->started < 10)
		*b = *b == 0 ? 1 : (*b * 2 > MASTER_BACKOFF_MAX ? MASTER_BACKOFF_MAX : *b * 2);
	else
		*b = 0;
	tv.tv_sec = *b;
	if (*b > 0) {
		snprintf(st, sizeof(st), "%u", *b);
		log_kv(&m->log, LOGL_WARN, "restart_backoff", "kind",
		    master_kind_names[c->kind], "seconds", st, NULL);
	}
	r = xcalloc(1, sizeof(*r));
	*r = (struct master_respawn){ .m = m, .kind = c->kind, .index = c->index };
	event_base_once(m->base, -1, EV_TIMEOUT, master_respawn_cb, r, &tv);
}

static void
master_sigchld(evutil_socket_t sig, short what, void *arg)
{
	struct master *m = arg;
	pid_t pid;
	int status;

	(void)sig;
	(void)what;
	while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
		for (size_t i = 0; i < m->nchildren; i++) {
			if (m->children[i].pid != pid)
				continue;
			struct child c = m->children[i];

			m->children[i] = m->children[--m->nchildren];
			master_reaped(m, &c, status);
			break;
		}
	}
	if (m->stopping && m->nchildren == 0)
		event_base_loopbreak(m->base);
	else
		master_spawn_pending(m);
}

static void
master_kill_all(struct master *m, int sig, bool only_current)
{
	for (size_t i = 0; i < m->nchildren; i++)
		if (!only_current || !m->children[i].retiring)
			kill(m->children[i].pid, sig);
}

static void
master_stop_deadline(evutil_socket_t fd, short what, void *arg)
{
	struct master *m = arg;

	(void)fd;
	(void)what;
	log_kv(&m->log, LOGL_WARN, "stop_timeout", NULL);
	master_kill_all(m, SIGKILL, false);
}

static void
master_sigterm(evutil_socket_t sig, short what, void *arg)
{
	struct master *m = arg;
	struct timeval tv = { MASTER_STOP_SEC, 0 };

	(void)what;
	if (m->stopping)
		return;
	m->stopping = true;
	clock_gettime(CLOCK_MONOTONIC, &m->stop_started);
	log_kv(&m->log, LOGL_INFO, "stop", "signal", sig == SIGINT ? "INT" : "TERM",
	    NULL);
	master_kill_all(m, SIGTERM, false);
	event_base_once(m->base, -1, EV_TIMEOUT, master_stop_deadline, m, &tv);
	if (m->nchildren == 0)
		event_base_loopbreak(m->base);
}

/* SIGHUP: a bad file changes nothing; a good one replaces every child. */
static void
master_sighup(evutil_socket_t sig, short what, void *arg)
{
	struct master *m = arg;
	struct config *ncfg = xcalloc(1, sizeof(*ncfg));
	char err[512];
	SSL_CTX *ntls;
	const char *lerr;

	(void)sig;
	(void)what;
	if (m->stopping) {
		free(ncfg);
		return;
	}
	if (config_load(m->path, m->must_exist, ncfg, err, sizeof(err)) == -1) {
		log_kv(&m->log, LOGL_ERROR, "reload", "result", "error", "detail",
		    err, NULL);
		free(ncfg);
		return;
	}
	ntls = tls_server_ctx_new(ncfg, "tls", err, sizeof(err));
	if (ntls == NULL || master_bind_all(m, ncfg, err, sizeof(err)) == -1) {
		log_kv(&m->log, LOGL_ERROR, "reload", "result", "error", "detail",
		    err, NULL);
		if (ntls != NULL)
			SSL_CTX_free(ntls);
		config_free(ncfg);
		free(ncfg);
		return;
	}
	if (strcmp(ncfg->log.file, m->cfg->log.file) != 0 &&
	    log_open(ncfg->log.file, &lerr) == -1)
		log_kv(&m->log, LOGL_ERROR, "log_open", "detail", lerr, NULL);
	log_set_level(ncfg->log.level);
	master_log_remote(m, ncfg);
	/* The old generation stops accepting and finishes its sessions. */
	for (size_t i = 0; i < m->nchildren; i++)
		m->children[i].retiring = true;
	master_kill_all(m, SIGUSR1, false);
	/* The new generation is spawned whole: what the previous one still
	 * waited for is not wanted any more. */
	free(m->pending);
	m->pending = NULL;
	m->npending = 0;
	config_free(m->cfg);
	free(m->cfg);
	SSL_CTX_free(m->tls);
	m->cfg = ncfg;
	m->tls = ntls;
	master_spawn(m, CHILD_DIRD, 0);
	for (unsigned w = 0; w < m->nworkers; w++)
		master_spawn(m, CHILD_WORKER, w);
	master_spawn_mworkers(m);
	master_spawn(m, CHILD_QMGR, 0);
	log_kv(&m->log, LOGL_INFO, "reload", "result", "ok", NULL);
}

/* data_dir contents are made by run_as, so they belong to run_as. */
static int
master_setup(struct master *m, char *err, size_t errlen)
{
	pid_t pid;
	int status;

	if (privs_datadir(m->cfg, &m->privs, err, errlen) == -1)
		return -1;
	pid = fork();
	if (pid == -1) {
		snprintf(err, errlen, "fork: %s", strerror(errno));
		return -1;
	}
	if (pid == 0) {
		struct directory *d;
		const char *e;
		char terr[512];

		privs_drop(&m->privs);
		if (queue_init_dirs(&e) == -1) {
			fprintf(stderr, "postern: queue: %s\n", e);
			_exit(1);
		}
		queue_clean_tmp();
		if (directory_open("postern.db", &d, &e) == -1) {
			fprintf(stderr, "postern: directory: %s\n", e);
			_exit(1);
		}
		directory_close(&d);
		if ((m->cfg->tls.cert == NULL || *m->cfg->tls.cert == '\0') &&
		    tls_selfsigned_ensure("tls", m->cfg->hostname, (uid_t)-1,
		    (gid_t)-1, terr, sizeof(terr)) == -1) {
			fprintf(stderr, "postern: tls: %s\n", terr);
			_exit(1);
		}
		_exit(0);
	}
	while (waitpid(pid, &status, 0) == -1 && errno == EINTR)
		;
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		snprintf(err, errlen, "setup of data_dir %s failed", m->cfg->data_dir);
		return -1;
	}
	return 0;
}

int
master_serve(struct config *cfg, const char *config_path, bool must_exist)
{
	struct master m = { .cfg = cfg, .path = config_path, .must_exist = must_exist };
	struct event *ev_chld, *ev_hup, *ev_term, *ev_int;
	char err[512];
	const char *lerr;
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);

	m.log.service = "master";
	if (log_open(cfg->log.file, &lerr) == -1) {
		fprintf(stderr, "postern: log.file %s: %s\n", cfg->log.file, lerr);
		return 1;
	}
	log_set_level(cfg->log.level);
	if (privs_resolve(cfg, &m.privs, err, sizeof(err)) == -1 ||
	    master_setup(&m, err, sizeof(err)) == -1) {
		fprintf(stderr, "postern: %s\n", err);
		return 1;
	}
	/* From here every line of the master goes to the relay too. */
	m.base = event_base_new();
	if (m.base == NULL)
		fatal("event_base_new failed");
	m.relay = logremote_new(m.base, &m.log);
	log_remote_hook(logremote_log_hook, m.relay);
	master_log_remote(&m, cfg);
	m.tls = tls_server_ctx_new(cfg, "tls", err, sizeof(err));
	if (m.tls == NULL) {
		fprintf(stderr, "postern: tls: %s\n", err);
		return 1;
	}
	m.nworkers = ncpu < 1 ? 1 : ncpu > 64 ? 64 : (unsigned)ncpu;
	if (master_bind_all(&m, cfg, err, sizeof(err)) == -1) {
		fprintf(stderr, "postern: %s\n", err);
		return 1;
	}
	if (socketpair(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0,
	    m.notify) == -1) {
		fprintf(stderr, "postern: socketpair: %s\n", strerror(errno));
		return 1;
	}
	/* Workers and mailbox workers: two generations may overlap during a
	 * reload, plus one spare each. limits.connections counts them all. */
	m.ct = conntrack_new(4 * m.nworkers + 2);
	m.slot_used = xcalloc(4 * m.nworkers + 2, sizeof(bool));
	m.backoff = xcalloc(2 * m.nworkers + 2, sizeof(unsigned));
	m.dird_ctl = -1;
	buf_init(&m.ctl_buf, IPC_MSG_MAX);
	signal(SIGPIPE, SIG_IGN);
	ev_chld = evsignal_new(m.base, SIGCHLD, master_sigchld, &m);
	ev_hup = evsignal_new(m.base, SIGHUP, master_sighup, &m);
	ev_term = evsignal_new(m.base, SIGTERM, master_sigterm, &m);
	ev_int = evsignal_new(m.base, SIGINT, master_sigterm, &m);
	event_add(ev_chld, NULL);
	event_add(ev_hup, NULL);
	event_add(ev_term, NULL);
	event_add(ev_int, NULL);
	master_spawn(&m, CHILD_DIRD, 0);
	master_spawn(&m, CHILD_QMGR, 0);
	for (unsigned w = 0; w < m.nworkers; w++)
		master_spawn(&m, CHILD_WORKER, w);
	master_spawn_mworkers(&m);
	{
		char nw[16];

		snprintf(nw, sizeof(nw), "%u", m.nworkers);
		log_kv(&m.log, LOGL_INFO, "start", "hostname", cfg->hostname,
		    "data_dir", cfg->data_dir, "workers", nw, "user",
		    m.privs.drop ? cfg->run_as : NULL, NULL);
	}

	event_base_dispatch(m.base);

	log_kv(&m.log, LOGL_INFO, "stopped", NULL);
	master_log_flush(&m);
	log_remote_hook(NULL, NULL);
	logremote_free(&m.relay);
	event_free(ev_chld);
	event_free(ev_hup);
	event_free(ev_term);
	event_free(ev_int);
	event_base_free(m.base);
	SSL_CTX_free(m.tls);
	config_free(m.cfg);
	free(m.cfg);
	free(m.pending);
	return 0;
}
