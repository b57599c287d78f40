/* sealstore: the sealed/ directory of the data dir: one TSS2 key file per sealed
 * object, written atomically through store.c. */
#include "sealstore.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define SEAL_SUFFIX ".tss"

static int sealed_path(const char *dir, const char *name, char *out, size_t len,
		       struct errmsg *e)
{
	if (!store_name_valid(name))
		return errmsg_set(e, "invalid sealed object name '%s' (use letters, digits and "
				  ". _ @ + -)", name);
	if (snprintf(out, len, "%s/sealed/%s" SEAL_SUFFIX, dir, name) >= (int)len)
		return errmsg_set(e, "sealed object path too long");
	return 0;
}

static int sealed_dir_prepare(const char *dir, struct errmsg *e)
{
	char path[4200];

	if (store_prepare(dir, e) != 0)
		return -1;
	snprintf(path, sizeof(path), "%s/sealed", dir);
	if (mkdir(path, 0700) != 0 && errno != EEXIST)
		return errmsg_set(e, "cannot create %s: %s", path, strerror(errno));
	return store_check_dir(path, 0, e); /* keys/'s rules */
}

int sealstore_write(const char *dir, const char *name, const struct tss2key *f,
		    struct errmsg *e)
{
	char path[4200], *pem = NULL;
	size_t len = 0;
	struct stat st;
	int r;

	if (sealed_path(dir, name, path, sizeof(path), e) != 0 || sealed_dir_prepare(dir, e) != 0)
		return -1;
	if (lstat(path, &st) == 0)
		return errmsg_set(e, "a sealed object named '%s' exists already (tpm-key seal "
				  "--rm %s first)", name, name);
	if (tss2key_to_pem(f, &pem, &len, e) != 0)
		return -1;
	r = store_write_atomic(path, pem, len, 0600, e);
	free(pem);
	return r;
}

int sealstore_read(const char *dir, const char *name, struct tss2key *f, struct errmsg *e)
{
	char path[4200], *pem = NULL;
	size_t len = 0;
	int r;

	if (sealed_path(dir, name, path, sizeof(path), e) != 0)
		return -1;
	if (access(path, F_OK) != 0)
		return errmsg_set(e, "no sealed object named '%s' (see tpm-key list)", name);
	if (store_read_private(path, TSS2KEY_FILE_MAX, 0, &pem, &len, e) != 0)
		return -1;
	r = tss2key_from_pem(pem, len, f, e);
	free(pem);
	if (r != 0)
		return errmsg_prefix(e, "%s", path);
	if (f->type != TSS2KEY_SEALED)
		return errmsg_set(e, "%s: not a sealed-data object", path);
	return 0;
}

static int name_of(const char *file, char name[STORE_NAME_MAX])
{
	size_t len = strlen(file), slen = strlen(SEAL_SUFFIX);

	if (len <= slen || len - slen >= STORE_NAME_MAX || strcmp(file + len - slen, SEAL_SUFFIX))
		return 0;
	memcpy(name, file, len - slen);
	name[len - slen] = '\0';
	return store_name_valid(name);
}

static int cmp_names(const void *a, const void *b)
{
	return strcmp(a, b);
}

int sealstore_list(const char *dir, char (*names)[STORE_NAME_MAX], size_t max,
		   size_t *count, struct errmsg *e)
{
	char path[4200], name[STORE_NAME_MAX];
	struct dirent *de;
	DIR *d;

	*count = 0;
	snprintf(path, sizeof(path), "%s/sealed", dir);
	if ((d = opendir(path)) == NULL)
		return errno == ENOENT ? 0 : errmsg_set(e, "cannot list %s: %s", path,
							strerror(errno));
	while ((de = readdir(d)) != NULL && *count < max)
		if (name_of(de->d_name, name))
			memcpy(names[(*count)++], name, STORE_NAME_MAX);
	closedir(d);
	qsort(names, *count, STORE_NAME_MAX, cmp_names);
	return 0;
}

int sealstore_remove(const char *dir, const char *name, struct errmsg *e)
{
	char path[4200];

	if (sealed_path(dir, name, path, sizeof(path), e) != 0)
		return -1;
	if (unlink(path) != 0)
		return errmsg_set(e, errno == ENOENT ? "no sealed object named '%s'" :
				  "cannot remove sealed object '%s'", name);
	return 0;
}
