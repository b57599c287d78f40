/* pincache: PINs remembered per key for a limited time, only in sodium_malloc memory
 * (guard pages, mlock, no access while idle), wiped when dropped or expired. */
#ifndef TPM_AGENT_PINCACHE_H
#define TPM_AGENT_PINCACHE_H

#include <stddef.h>
#include <stdint.h>

struct pincache;

/* Seconds on CLOCK_MONOTONIC: the `now` every call below takes (tests pass their own). */
uint64_t pincache_now(void);

/* An empty cache, or NULL when out of memory (or libsodium fails to initialise). */
struct pincache *pincache_new(void);

/* Drops (wipes) every entry and frees the cache; NULL is fine. */
void pincache_free(struct pincache *c);

/* Remembers pin[0..pin_len) for key `id` (a key name or keygrip) until now + ttl_s,
 * replacing any earlier entry for id. ttl_s 0 means "never cache": any entry for id
 * is dropped and nothing is stored. The TTL runs from this call (it is not renewed
 * by pincache_get). Returns 0, or -1 on a bad argument or no secure memory (the
 * old entry is gone then too, so the next use simply asks again). */
int pincache_put(struct pincache *c, const char *id, const char *pin, size_t pin_len,
		 unsigned int ttl_s, uint64_t now);

/* On a hit returns 1 with *pin a fresh NUL-terminated sodium_malloc copy the caller
 * owns (sodium_free it after use, like a PIN from pinentry_getpin) and *pin_len its
 * length; a copy stays valid whatever the cache does next. Returns 0 on a miss
 * (absent or expired: an expired entry is dropped now), -1 when out of secure memory;
 * *pin is NULL then. */
int pincache_get(struct pincache *c, const char *id, uint64_t now, char **pin,
		 size_t *pin_len);

/* Forgets the PIN for id (after an AUTH_FAIL, `tpm-key forget`, ...). Returns 1 if
 * there was one, else 0. */
int pincache_drop(struct pincache *c, const char *id);

/* Forgets every PIN (agent LOCK, shutdown). */
void pincache_drop_all(struct pincache *c);

/* Drops entries whose time has come; returns how many. For the event loop. */
size_t pincache_expire(struct pincache *c, uint64_t now);

/* Seconds until the next entry expires (0 if one already has), or -1 when the cache
 * is empty: a poll timeout for the event loop. */
int64_t pincache_next_expiry(const struct pincache *c, uint64_t now);

/* Number of entries held (expired ones included until pincache_expire runs). */
size_t pincache_count(const struct pincache *c);

#endif
