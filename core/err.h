/* SPDX-License-Identifier: MIT */
/*
 * core/err.h — error codes shared by every layer of shoal.
 *
 * An action returns 0 on success or one of the negative codes below; a
 * predicate returns bool. err_str() turns a code into a short English phrase
 * for logs and one-line CLI errors. The codes are stable: they also travel in
 * control-socket replies, so never renumber one, only append.
 */
#ifndef SHOAL_CORE_ERR_H
#define SHOAL_CORE_ERR_H

enum err_code {
	ERR_OK = 0,
	ERR_NOMEM = -1,	    /* an allocation failed */
	ERR_INVAL = -2,	    /* an argument is not acceptable */
	ERR_RANGE = -3,	    /* a number is out of its allowed range */
	ERR_TOOBIG = -4,    /* a hard size limit would be exceeded */
	ERR_TRUNC = -5,	    /* the input ended before the value did */
	ERR_DECODE = -6,    /* malformed encoding: wrong type, trailing bytes */
	ERR_AUTH = -7,	    /* authentication failed: key, label or tampering */
	ERR_NOKEY = -8,	    /* no key with that id in the keyring */
	ERR_VERSION = -9,   /* unsupported protocol version */
	ERR_FULL = -10,	    /* a bounded table is full */
	ERR_EXIST = -11,    /* it already exists */
	ERR_NOENT = -12,    /* no such thing */
	ERR_STALE = -13,    /* older than what we already have */
	ERR_REPLAY = -14,   /* seen before (replay window) */
	ERR_STATE = -15,    /* not allowed in the current state */
	ERR_KEYLEN = -16,   /* a key does not decode to 32 bytes */
	ERR_KEYCHARS = -17, /* a key has characters outside base64 */
	ERR_IO = -18,	    /* an operating-system call failed (runtimes only) */
	ERR_TIMEOUT = -19,  /* gave up waiting */
	ERR_PERM = -20,	    /* not permitted */
	ERR_NOQUORUM = -21, /* no majority of eligible managers in view */
	ERR_CONFLICT = -22, /* a name is claimed by another live member */
	ERR_PLAIN = -23,    /* plaintext packet where encryption is required */
	ERR_SKEW = -24,	    /* timestamp outside the allowed clock skew */
	ERR__LAST = -25,
};

/* Short, static, English description of an error code. Never NULL; unknown
 * codes give "unknown error". Positive values are treated as unknown. */
const char *err_str(int code);

#endif
