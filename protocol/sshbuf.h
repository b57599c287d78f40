/* sshbuf: one bounded byte buffer for building and parsing wire formats.
 * Modelled on OpenSSH's sshbuf: every get/put returns 0 or a negative SSHBUF_E_*
 * code, so parsing code reads straight down. A buffer never grows past its max. */
#ifndef TPM_AGENT_SSHBUF_H
#define TPM_AGENT_SSHBUF_H

#include <stddef.h>
#include <stdint.h>

#define SSHBUF_OK           0
#define SSHBUF_E_NOMEM     -1 /* allocation failed */
#define SSHBUF_E_SHORT     -2 /* not enough data left to read */
#define SSHBUF_E_TOOBIG    -3 /* would exceed the buffer's max, or a length field is implausible */
#define SSHBUF_E_FORMAT    -4 /* well-sized but malformed (bad mpint, NUL in a cstring, ...) */
#define SSHBUF_E_READONLY  -5 /* put on a read-only view */

#define SSHBUF_SIZE_MAX (1024 * 1024) /* hard ceiling for any buffer's max */

struct sshbuf {
	uint8_t *d;      /* storage */
	size_t off;      /* read offset */
	size_t size;     /* bytes written (valid data is d[off..size)) */
	size_t alloc;    /* bytes allocated */
	size_t max;      /* size may never exceed this */
	int readonly;    /* 1 for a view made by sshbuf_view */
};

/* A new empty buffer that may hold up to max bytes (max <= SSHBUF_SIZE_MAX). NULL on OOM. */
struct sshbuf *sshbuf_new(size_t max);
/* Frees b (NULL ok). Contents are wiped first (they may hold signatures or PIN prompts). */
void sshbuf_free(struct sshbuf *b);
/* Initialises *b as a read-only view of data[0..len); no allocation, nothing to free. */
void sshbuf_view(struct sshbuf *b, const void *data, size_t len);
/* Empties b (keeps its allocation and max). */
void sshbuf_reset(struct sshbuf *b);

size_t sshbuf_len(const struct sshbuf *b);      /* unread bytes */
const uint8_t *sshbuf_ptr(const struct sshbuf *b); /* first unread byte */
int sshbuf_consume(struct sshbuf *b, size_t n);  /* skip n unread bytes */

/* Reads. Pointers returned by get_string/get_mpint point into b and live as long as b's data. */
int sshbuf_get_u8(struct sshbuf *b, uint8_t *v);
int sshbuf_get_u32(struct sshbuf *b, uint32_t *v);
int sshbuf_get_u64(struct sshbuf *b, uint64_t *v);
int sshbuf_get_bool(struct sshbuf *b, int *v);
int sshbuf_get(struct sshbuf *b, void *out, size_t len);
/* uint32 length + bytes; zero-copy. */
int sshbuf_get_string(struct sshbuf *b, const uint8_t **p, size_t *len);
/* A string that must hold no NUL; copied into out (size outlen, NUL-terminated);
 * SSHBUF_E_TOOBIG if it does not fit. */
int sshbuf_get_cstring(struct sshbuf *b, char *out, size_t outlen);
/* An SSH mpint that must be non-negative and minimally encoded; returns the magnitude
 * (big-endian, leading zero byte stripped). A zero value gives len 0. */
int sshbuf_get_mpint(struct sshbuf *b, const uint8_t **p, size_t *len);

/* Writes. */
int sshbuf_put(struct sshbuf *b, const void *data, size_t len);
int sshbuf_put_u8(struct sshbuf *b, uint8_t v);
int sshbuf_put_u32(struct sshbuf *b, uint32_t v);
int sshbuf_put_u64(struct sshbuf *b, uint64_t v);
int sshbuf_put_bool(struct sshbuf *b, int v);
int sshbuf_put_string(struct sshbuf *b, const void *data, size_t len);
int sshbuf_put_cstring(struct sshbuf *b, const char *s);
/* Puts the unread contents of v as a string. */
int sshbuf_put_stringb(struct sshbuf *b, const struct sshbuf *v);
/* Puts an unsigned big-endian magnitude as an SSH mpint (strips leading zeros,
 * prepends 0x00 when the top bit is set). */
int sshbuf_put_mpint(struct sshbuf *b, const uint8_t *mag, size_t len);
/* Reserves len bytes at the end and returns a pointer to them for the caller to fill. */
int sshbuf_reserve(struct sshbuf *b, size_t len, uint8_t **p);
/* Overwrites 4 bytes at absolute position pos (< size) with v, big-endian: used to
 * back-patch a frame length. */
int sshbuf_poke_u32(struct sshbuf *b, size_t pos, uint32_t v);

/* A short static description of an SSHBUF_E_* code. */
const char *sshbuf_strerror(int r);

#endif
