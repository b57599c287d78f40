/* fixture: a TPM-less agent over a temp dir with one key and its certificate, restored per fuzz input. */
#include "fixture.h"

#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "../../agent/daemon_pin.h"
#include "../../keystore/log.h"

#ifndef FUZZ_DATA
#define FUZZ_DATA "tests/fuzz/data"
#endif

#define N_FIXTURE 3

static const struct { const char *src, *dst; } fixture[N_FIXTURE] = {
	{ "seed.tss", "keys/seed.tss" },
	{ "seed.pub", "keys/seed.pub" },
	{ "seed-cert.pub", "certs/seed-cert.pub" },
};
static char *fixture_data[N_FIXTURE];
static size_t fixture_len[N_FIXTURE];
static char dir[64];

static char *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *buf = malloc(65536);

	if (f == NULL || buf == NULL) {
		if (f != NULL)
			fclose(f);
		free(buf);
		return NULL;
	}
	*len = fread(buf, 1, 65536, f);
	fclose(f);
	return buf;
}

static void write_file(const char *rel, const char *data, size_t len)
{
	char path[256];
	int fd;

	snprintf(path, sizeof(path), "%s/%s", dir, rel);
	if ((fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600)) < 0)
		return;
	if (write(fd, data, len) != (ssize_t)len)
		fprintf(stderr, "fuzz fixture: short write to %s\n", path);
	close(fd);
}

/* Removes whatever an earlier input left in sub (keys added, certificates stored). */
static void empty_dir(const char *sub)
{
	char path[256];
	struct dirent *de;
	DIR *d;

	snprintf(path, sizeof(path), "%s/%s", dir, sub);
	if ((d = opendir(path)) == NULL)
		return;
	while ((de = readdir(d)) != NULL)
		if (de->d_name[0] != '.')
			unlinkat(dirfd(d), de->d_name, 0);
	closedir(d);
}

static void cleanup(void)
{
	char path[256];

	empty_dir("keys");
	empty_dir("certs");
	snprintf(path, sizeof(path), "%s/keys", dir);
	rmdir(path);
	snprintf(path, sizeof(path), "%s/certs", dir);
	rmdir(path);
	rmdir(dir);
	for (size_t i = 0; i < N_FIXTURE; i++)
		free(fixture_data[i]);
}

void fixture_init(const char *ident)
{
	char path[512];

	if (sodium_init() < 0)
		abort();
	log_init(ident, 1, LOG_LVL_ERROR);
	snprintf(dir, sizeof(dir), "%s/%s.XXXXXX", "/tmp", ident);
	if (mkdtemp(dir) == NULL)
		abort();
	snprintf(path, sizeof(path), "%s/keys", dir);
	if (mkdir(path, 0700) != 0)
		abort();
	snprintf(path, sizeof(path), "%s/certs", dir);
	if (mkdir(path, 0700) != 0)
		abort();
	for (size_t i = 0; i < N_FIXTURE; i++) {
		snprintf(path, sizeof(path), "%s/%s", FUZZ_DATA, fixture[i].src);
		if ((fixture_data[i] = slurp(path, &fixture_len[i])) == NULL)
			fprintf(stderr, "%s: no %s: the key store stays empty\n", ident, path);
	}
	atexit(cleanup);
}

void fixture_open(struct agent *a)
{
	struct errmsg e;

	empty_dir("keys");
	empty_dir("certs");
	for (size_t i = 0; i < N_FIXTURE; i++)
		if (fixture_data[i] != NULL)
			write_file(fixture[i].dst, fixture_data[i], fixture_len[i]);
	memset(a, 0, sizeof(*a));
	pthread_mutex_init(&a->lock, NULL);
	pthread_mutex_init(&a->tpm_lock, NULL); /* no worker: TPM requests run inline */
	snprintf(a->data_dir, sizeof(a->data_dir), "%s", dir);
	snprintf(a->socket_path, sizeof(a->socket_path), "%s/agent.sock", dir);
	snprintf(a->tcti, sizeof(a->tcti), "none");
	a->pid = getpid();
	if (keystore_open(dir, NULL, &a->ks, &e) != 0 || certstore_open(dir, &a->certs, &e) != 0) {
		fprintf(stderr, "fuzz fixture: %s\n", e.text);
		abort();
	}
}

void fixture_close(struct agent *a)
{
	if (a->lock_hash != NULL)
		sodium_free(a->lock_hash);
	a->lock_hash = NULL;
	pin_env_free(a->ssh_env); /* update-env@tpm-agent (daemon_pinjob.c) */
	a->ssh_env = NULL;
	certstore_close(a->certs);
	keystore_close(a->ks);
	pthread_mutex_destroy(&a->tpm_lock);
	pthread_mutex_destroy(&a->lock);
}
