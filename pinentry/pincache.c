/* pincache: a small list of per-key PINs in sodium secure memory with absolute TTLs.
 * Keys are few (one per loaded TPM key), so a linked list is plenty. */
#include "pincache.h"

#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct entry {
	struct entry *next;
	char *id;          /* not secret: a key name or keygrip */
	char *pin;         /* sodium_malloc(pin_len + 1), PROT_NONE while idle */
	size_t pin_len;
	uint64_t expires;  /* pincache_now() seconds */
};

struct pincache {
	struct entry *head;
	size_t count;
};

uint64_t pincache_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec;
}

struct pincache *pincache_new(void)
{
	if (sodium_init() < 0)
		return NULL;
	return calloc(1, sizeof(struct pincache));
}

static void entry_free(struct entry *en)
{
	sodium_free(en->pin); /* makes it writable, wipes it, unmaps it */
	free(en->id);
	free(en);
}

/* Unlinks and wipes the entry *link points to. */
static void unlink_entry(struct pincache *c, struct entry **link)
{
	struct entry *en = *link;

	*link = en->next;
	entry_free(en);
	c->count--;
}

static struct entry **find(struct pincache *c, const char *id)
{
	struct entry **link;

	for (link = &c->head; *link != NULL; link = &(*link)->next)
		if (strcmp((*link)->id, id) == 0)
			return link;
	return NULL;
}

int pincache_drop(struct pincache *c, const char *id)
{
	struct entry **link;

	if (c == NULL || id == NULL || (link = find(c, id)) == NULL)
		return 0;
	unlink_entry(c, link);
	return 1;
}

void pincache_drop_all(struct pincache *c)
{
	if (c == NULL)
		return;
	while (c->head != NULL)
		unlink_entry(c, &c->head);
}

void pincache_free(struct pincache *c)
{
	pincache_drop_all(c);
	free(c);
}

static struct entry *entry_new(const char *id, const char *pin, size_t pin_len,
			       uint64_t expires)
{
	struct entry *en = calloc(1, sizeof(*en));

	if (en == NULL)
		return NULL;
	en->id = strdup(id);
	en->pin = sodium_malloc(pin_len + 1);
	if (en->id == NULL || en->pin == NULL) {
		free(en->id);
		if (en->pin != NULL)
			sodium_free(en->pin);
		free(en);
		return NULL;
	}
	memcpy(en->pin, pin, pin_len);
	en->pin[pin_len] = '\0';
	en->pin_len = pin_len;
	en->expires = expires;
	sodium_mprotect_noaccess(en->pin); /* a stray read faults instead of leaking */
	return en;
}

int pincache_put(struct pincache *c, const char *id, const char *pin, size_t pin_len,
		 unsigned int ttl_s, uint64_t now)
{
	struct entry *en;

	if (c == NULL || id == NULL || *id == '\0' || (pin == NULL && pin_len > 0))
		return -1;
	pincache_drop(c, id);
	if (ttl_s == 0)
		return 0;
	en = entry_new(id, pin ? pin : "", pin_len, now + ttl_s);
	if (en == NULL)
		return -1;
	en->next = c->head;
	c->head = en;
	c->count++;
	return 0;
}

int pincache_get(struct pincache *c, const char *id, uint64_t now, char **pin,
		 size_t *pin_len)
{
	struct entry **link, *en;
	char *copy;

	*pin = NULL;
	*pin_len = 0;
	if (c == NULL || id == NULL || (link = find(c, id)) == NULL)
		return 0;
	en = *link;
	if (now >= en->expires) {
		unlink_entry(c, link);
		return 0;
	}
	copy = sodium_malloc(en->pin_len + 1);
	if (copy == NULL)
		return -1;
	sodium_mprotect_readonly(en->pin);
	memcpy(copy, en->pin, en->pin_len + 1);
	sodium_mprotect_noaccess(en->pin);
	*pin = copy;
	*pin_len = en->pin_len;
	return 1;
}

size_t pincache_expire(struct pincache *c, uint64_t now)
{
	struct entry **link;
	size_t dropped = 0;

	if (c == NULL)
		return 0;
	for (link = &c->head; *link != NULL;) {
		if (now >= (*link)->expires) {
			unlink_entry(c, link);
			dropped++;
		} else {
			link = &(*link)->next;
		}
	}
	return dropped;
}

int64_t pincache_next_expiry(const struct pincache *c, uint64_t now)
{
	const struct entry *en;
	int64_t best = -1;

	if (c == NULL)
		return -1;
	for (en = c->head; en != NULL; en = en->next) {
		int64_t left = en->expires > now ? (int64_t)(en->expires - now) : 0;

		if (best < 0 || left < best)
			best = left;
	}
	return best;
}

size_t pincache_count(const struct pincache *c)
{
	return c ? c->count : 0;
}
