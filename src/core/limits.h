/*
 * Hard ceilings on every input, each with its RFC or our reason. Config
 * limits (limits.*) are checked against these at load.
 */
#ifndef POSTERN_LIMITS_H
#define POSTERN_LIMITS_H

#define SMTP_CMD_LINE_MAX	512	/* RFC 5321 4.5.3.1.4, incl. CRLF */
#define SMTP_TEXT_LINE_MAX	1000	/* RFC 5321 4.5.3.1.6, incl. CRLF */
#define SMTP_PATH_MAX		256	/* RFC 5321 4.5.3.1.3, incl. <> */
#define SMTP_LOCAL_PART_MAX	64	/* RFC 5321 4.5.3.1.1 */
#define SMTP_DOMAIN_MAX		255	/* RFC 5321 4.5.3.1.2 */
#define SMTP_LABEL_MAX		63	/* RFC 1035 2.3.4 */
#define SMTP_PARAMS_MAX		16	/* MAIL/RCPT parameters per command: ours */
#define SMTP_RCPT_HARD_MAX	10000	/* ceiling for limits.recipients: ours */
#define SMTP_MSG_SIZE_HARD_MAX	(2ULL << 30)	/* 2 GiB: ours */
#define POP3_CMD_LINE_MAX	255	/* RFC 2449 section 4, incl. CRLF */
#define POP3_MSG_MAX		1000000	/* message numbers in one maildrop: ours */
#define POP3_TOP_LINES_MAX	1000000000	/* TOP line count: ours */
#define POP3_SASL_LINE_MAX	((SASL_RESPONSE_MAX + 2) / 3 * 4 + 2)	/* base64, incl. CRLF */
#define IMAP_CMD_LINE_MAX	8192	/* RFC 7162 section 4 guidance */
#define IMAP_NEST_MAX		8	/* parenthesis depth: ours */
#define IMAP_LITERAL_MAX	(64 * 1024)	/* literal bytes of one command held in
					 * memory (LOGIN, SEARCH, ...): ours */
#define IMAP_CMD_TOKENS_MAX	1024	/* arguments of one command, lists
					 * included: ours, > any real FETCH/SEARCH */
#define IMAP_SEQ_RANGES_MAX	4096	/* ranges in a sequence set: every set
					 * that fits IMAP_CMD_LINE_MAX ("1," each) */
#define IMAP_INPUT_MAX		(256 * 1024)	/* bytes fed to the IMAP parser and
					 * not yet consumed: ours */
#define MIME_BOUNDARY_MAX	70	/* RFC 2046 5.1.1 */
#define MIME_DEPTH_MAX		16	/* nested multiparts: ours */
#define SASL_RESPONSE_MAX	12288	/* AUTH PLAIN/LOGIN payload: ours */
#define PASSWORD_MAX		511	/* libxcrypt refuses 512 and longer */
#define ALIAS_TARGETS_MAX	100	/* targets of one alias: ours */
#define ALIAS_DEPTH_MAX		8	/* alias -> alias chains: ours */
#define CONFIG_FILE_MAX		(1 << 20)	/* configuration file: ours */
#define CONFIG_LIST_MAX		1024	/* entries of any config list: ours */
#define LOG_VALUE_MAX		512	/* peer text in one log value: ours */
#define LOG_LINE_MAX		8192	/* one log line: ours */
#define LOGREMOTE_TARGET_MAX	300	/* "tcp://[name]:port", 255-byte name: ours */
#define LOGREMOTE_QUEUE_MSGS_MAX 4096	/* messages waiting for the log server: ours */
#define LOGREMOTE_QUEUE_BYTES_MAX (1 << 20)	/* their bytes, framing included: ours */
#define QUEUE_HEADER_MAX	(1 << 20)	/* envelope part of a queue file */
#define HEADER_SCAN_MAX		(256 * 1024)	/* header bytes scanned: ours */
#define DNS_NAME_WIRE_MAX	255	/* RFC 1035 2.3.4, wire form incl. root */
#define DNS_ANSWERS_MAX		64	/* MX/A/AAAA/TXT/PTR kept per answer: ours */
#define DNS_TXT_MAX		4096	/* one TXT record, strings joined: ours */
#define DNS_QUERY_TIMEOUT_SEC	5	/* one lookup, retries included: ours */
#define SPF_LOOKUPS_MAX		10	/* RFC 7208 4.6.4: DNS-querying terms */
#define SPF_VOID_LOOKUPS_MAX	2	/* RFC 7208 4.6.4: NXDOMAIN/NODATA terms */
#define SPF_MX_NAMES_MAX	10	/* RFC 7208 4.6.4: MX names of one mx */
#define SPF_PTR_NAMES_MAX	10	/* RFC 7208 4.6.4: PTR names checked */
#define SPF_DOMAIN_MAX		253	/* RFC 7208 7.3: expanded domain-spec */
#define SPF_MACRO_DIGITS_MAX	128	/* RFC 7208 7.3: transformer digits */
#define SPF_TERMS_MAX		512	/* terms in one record: ours */
#define SPF_EXPAND_MAX		2048	/* one expansion before truncation: ours */
#define SPF_EXP_MAX		512	/* explanation text kept: ours */
#define SPF_HEADER_VALUE_MAX	256	/* one value in Received-SPF: ours */
#define CHECK_PTR_NAMES_MAX	10	/* PTR names forward-confirmed, as RFC
					 * 7208 4.6.4 bounds its ptr: ours */
#define CHECK_MEMO_SEC		30	/* a connection reuses its last sender's
					 * verdicts this long: ours */
#define CHECK_DEADLINE_SEC	20	/* MAIL's DNS checks, all together
					 * (RFC 7208 4.6.4: at least 20 s) */

#endif
