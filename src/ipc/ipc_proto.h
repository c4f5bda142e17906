/*
 * ipc_proto: the message types and field keys of Postern's internal
 * protocols, on top of ipc.h.
 *
 * Control (master <-> child):
 *   IPCM_DIRD_CONNECT   worker -> master: "give me a directory connection";
 *                       reply IPCM_DIRD_SOCKET with the socket as fd (none
 *                       while the directory process is down: retry later).
 *   IPCM_DIRD_CLIENT    master -> dird: serve this new client socket (fd).
 *   IPCM_FILTER_CONNECT worker -> master: IK_ADDR "unix:/path", one of the
 *                       configured filter daemons (filters.antivirus.clamd,
 *                       filters.milters[].address); reply (same id)
 *                       IPCM_FILTER_SOCKET with the connected socket as fd,
 *                       or no fd and IK_TEXT = why (filter/filter_conn.h).
 *
 * Directory (worker -> dird; each reply has type IPCM_REPLY and the id of
 * the request; IK_RC holds an enum ipc_verdict):
 *   IPCM_CONNECT  IK_IP                         -> IK_RC (OK|BANNED), IK_TRUSTED
 *   IPCM_MAIL     IK_IP IK_ADDR IK_DOMAIN [IK_USER] [IK_LITERAL]
 *                                               -> IK_RC (OK|REQUIRE_AUTH|NOT_OWNED|TEMPFAIL), IK_TRUSTED
 *   IPCM_RCPT     IK_LOCAL IK_DOMAIN IK_SIZE IK_FLAGS IK_ADDR(from key) IK_DOMAIN2(from domain)
 *                                               -> IK_RC (OK|REMOTE|RELAY_DENIED|SENDER_DENIED|UNKNOWN|DISABLED|FULL|TEMPFAIL),
 *                                                  IK_TARGETS ("L|R\tkey\tquota\n" lines),
 *                                                  IK_SIZE (the smallest max_message_size of
 *                                                  the local targets' domains, with OK)
 *   IPCM_DATA     IK_TARGETS (local keys with a quota, one a line), IK_SIZE (the message)
 *                                               -> IK_SIZE (max message size), IK_TARGETS (keys over quota for IK_SIZE)
 *   IPCM_AUTH     IK_USER IK_PASS IK_IP [IK_FLAGS]
 *                                               -> IK_RC (OK|AUTH_FAIL|BANNED|TEMPFAIL), IK_EXPIRES,
 *                                                  with OK IK_USER (the mailbox key "local@domain")
 *                 An IP banned now (the access list, as IPCM_CONNECT) gets
 *                 BANNED with IK_EXPIRES 0, the password not checked; a
 *                 BANNED made by this failure has IK_EXPIRES = the ban's end.
 *                 IK_FLAGS IPC_AUTH_MAILBOX: a POP3/IMAP login; with OK and
 *                 relay.smtp_after_pop > 0 it opens the smtp_after_pop window
 *                 for IK_IP (the database, table smtp_after_pop, so every
 *                 generation's dird sees it): IPCM_CONNECT and IPCM_MAIL then
 *                 answer IK_TRUSTED for that IP until it closes.
 *
 * Queue manager (qmgr -> dird, same reply form; for bounces and auto-replies):
 *   IPCM_BOUNCE_POLICY  IK_DOMAIN               -> IK_RC (OK|TEMPFAIL), with OK IK_FLAGS: the
 *                                                  enum cfg_spf_policy of `bounces` for that domain
 *                                                  (a local domain's own, else domain_defaults)
 *   IPCM_AUTOREPLY      IK_USER (the mailbox key "local@domain", or the queue's original
 *                       recipient: any address; non-users get UNKNOWN) IK_ADDR (the envelope
 *                       sender, "" = <>) IK_FLAGS (IPC_AUTOREPLY_SPF_PASS)
 *                                               -> IK_RC (OK|UNKNOWN|TEMPFAIL); with OK: IK_USER
 *                                                  (the user's address, for From:), IK_TEXT (the
 *                                                  body), IK_SUBJECT ("" = "Auto: " + original).
 *                       OK means "send it": the once-per-sender-per-7-days record is already
 *                       committed. The RFC 3834 message checks (autoreply_permitted()) are
 *                       the caller's, before asking. Runs on dird's pool (a write).
 *   dird cannot tell the queue manager from a worker on these sockets; a worker
 *   could ask too (it would learn auto-reply texts and could use up a sender's
 *   weekly reply).
 */
#ifndef POSTERN_IPC_PROTO_H
#define POSTERN_IPC_PROTO_H

enum ipc_type {
	IPCM_REPLY = 1,
	IPCM_DIRD_CONNECT = 10,
	IPCM_DIRD_SOCKET,
	IPCM_DIRD_CLIENT,
	IPCM_FILTER_CONNECT,
	IPCM_FILTER_SOCKET,
	IPCM_CONNECT = 20,
	IPCM_MAIL,
	IPCM_RCPT,
	IPCM_DATA,
	IPCM_AUTH,
	IPCM_BOUNCE_POLICY = 30,
	IPCM_AUTOREPLY,
};

enum ipc_key {
	IK_RC = 1,
	IK_IP,
	IK_ADDR,
	IK_DOMAIN,
	IK_DOMAIN2,
	IK_LOCAL,
	IK_USER,
	IK_PASS,
	IK_SIZE,
	IK_FLAGS,
	IK_TRUSTED,
	IK_LITERAL,
	IK_TARGETS,
	IK_EXPIRES,
	IK_TEXT,
	IK_SUBJECT,
};

/* IK_FLAGS of IPCM_RCPT */
#define IPC_RCPT_AUTH		0x1	/* the session is authenticated */
#define IPC_RCPT_TRUSTED	0x2	/* the transaction is trusted */

/* IK_FLAGS of IPCM_AUTH */
#define IPC_AUTH_MAILBOX	0x1	/* from a POP3/IMAP session */

/* IK_FLAGS of IPCM_AUTOREPLY */
#define IPC_AUTOREPLY_SPF_PASS	0x1	/* SPF passed for the original message's sender */

enum ipc_verdict {
	IPCV_OK = 0,
	IPCV_BANNED,
	IPCV_TRUSTED,
	IPCV_REQUIRE_AUTH,	/* 550 5.7.1 */
	IPCV_NOT_OWNED,		/* 553 5.7.1 */
	IPCV_REMOTE,		/* relay allowed: the caller adds its own target */
	IPCV_RELAY_DENIED,	/* 554 5.7.1 */
	IPCV_SENDER_DENIED,	/* 554 5.7.1, relay.sender_rule */
	IPCV_UNKNOWN,		/* 550 5.1.1 */
	IPCV_DISABLED,		/* 550 5.2.1 */
	IPCV_FULL,		/* 552 5.2.2 */
	IPCV_AUTH_FAIL,		/* 535 5.7.8 */
	IPCV_TEMPFAIL,		/* 451 4.3.0 */
};

#define IPC_TARGETS_MAX	(60 * 1024)	/* bytes of an IK_TARGETS field */

#endif
