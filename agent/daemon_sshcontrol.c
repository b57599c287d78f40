/* daemon_sshcontrol: $GNUPGHOME/sshcontrol read as gpg-agent reads it, kept parsed and
 * re-read when it changes; the ssh side asks it which gpg keys to offer. */
#include "daemon_sshcontrol.h"

#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "../keystore/store.h"
#include "../protocol/sshcontrol.h"
#include "daemon_gpghome.h"
#include "../keystore/log.h"

#define SSHCONTROL_FILE_MAX (1024 * 1024)

static struct {
	pthread_mutex_t mu;
	struct sshcontrol *list;    /* NULL: no file (nothing listed) */
	struct timespec mtime;
	off_t size;
	ino_t ino;
	int seen;                   /* a stat was done */
} sc = { .mu = PTHREAD_MUTEX_INITIALIZER };

int ks_key_from_gpg(const struct ks_key *k)
{
	return strcmp(k->comment, "gpg") == 0 || strncmp(k->comment, "gpg: ", 5) == 0;
}

static void load(const char *path)
{
	struct sshcontrol *list = NULL;
	struct errmsg e;
	char *text = NULL;
	size_t len = 0;

	if (store_read_file(path, SSHCONTROL_FILE_MAX, &text, &len, &e) == 0 &&
	    (list = calloc(1, sizeof(*list))) != NULL) {
		sshcontrol_parse(text, len, list);
		if (list->bad_lines > 0)
			log_warn("%s: %zu invalid line(s) skipped (a line is [!]KEYGRIP [TTL] "
				 "[confirm])", path, list->bad_lines);
	}
	free(text);
	free(sc.list);
	sc.list = list;
}

void sshcontrol_refresh(void)
{
	char home[PATH_MAX], path[PATH_MAX + 16];
	struct errmsg e;
	struct stat st;
	int have;

	if (gpg_home_dir(home, sizeof(home), &e) != 0)
		return;
	snprintf(path, sizeof(path), "%s/sshcontrol", home);
	have = stat(path, &st) == 0;
	pthread_mutex_lock(&sc.mu);
	if (!have) {
		free(sc.list);
		sc.list = NULL;
		sc.seen = 0;
	} else if (!sc.seen || st.st_mtim.tv_sec != sc.mtime.tv_sec ||
		   st.st_mtim.tv_nsec != sc.mtime.tv_nsec || st.st_size != sc.size ||
		   st.st_ino != sc.ino) {
		load(path);
		sc.mtime = st.st_mtim;
		sc.size = st.st_size;
		sc.ino = st.st_ino;
		sc.seen = 1;
	}
	pthread_mutex_unlock(&sc.mu);
}

int sshcontrol_offers(const struct ks_key *k)
{
	const struct sshcontrol_entry *en;
	int ok;

	if (!ks_key_from_gpg(k))
		return 1;
	pthread_mutex_lock(&sc.mu);
	ok = sc.list != NULL && (en = sshcontrol_find(sc.list, k->keygrip)) != NULL &&
	     !en->disabled;
	pthread_mutex_unlock(&sc.mu);
	return ok;
}

int sshcontrol_lookup(const char *grip, int *disabled, long *ttl, int *confirm)
{
	const struct sshcontrol_entry *en = NULL;

	pthread_mutex_lock(&sc.mu);
	if (sc.list != NULL && (en = sshcontrol_find(sc.list, grip)) != NULL) {
		*disabled = en->disabled;
		*ttl = en->ttl;
		*confirm = en->confirm;
	}
	pthread_mutex_unlock(&sc.mu);
	return en != NULL;
}

int sshcontrol_listed(const struct ks_key *k)
{
	int disabled, confirm;
	long ttl;

	return sshcontrol_lookup(k->keygrip, &disabled, &ttl, &confirm);
}
