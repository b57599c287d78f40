/* store: the key store on disk: where the data dir is, its permissions, key names and
 * paths, crash-safe atomic writes, bounded reads and the sorted list of keys. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* mkstemp, O_NOFOLLOW, fstatat, nftw; the Makefile sets it too */
#endif
#include "store.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#define STORE_PATH_MAX 4096
#define KEY_SUFFIX ".tss"
#define PUB_SUFFIX ".pub"

/* ---- where the store is ---- */

static int join(char *out, size_t len, const char *a, const char *b, struct errmsg *e)
{
	int n = snprintf(out, len, "%s%s", a, b);

	if (n < 0 || (size_t)n >= len)
		return errmsg_set(e, "store: path too long: %s%s", a, b);
	return 0;
}

static const char *nonempty_env(const char *name)
{
	const char *v = getenv(name);

	return v != NULL && v[0] != '\0' ? v : NULL;
}

static const char *home_dir(void)
{
	const char *home = nonempty_env("HOME");
	struct passwd *pw;

	if (home != NULL)
		return home;
	pw = getpwuid(getuid());
	return pw != NULL && pw->pw_dir != NULL && pw->pw_dir[0] != '\0' ? pw->pw_dir : NULL;
}

int store_default_dir(char *out, size_t len, struct errmsg *e)
{
	const char *v;

	if ((v = nonempty_env("TPM_AGENT_HOME")) != NULL) {
		/* The daemon changes to "/"; a relative dir would silently move. */
		if (v[0] != '/')
			return errmsg_set(e, "store: TPM_AGENT_HOME must be an absolute path, "
					  "not \"%s\"", v);
		return join(out, len, v, "", e);
	}
	/* The XDG spec says a relative XDG_DATA_HOME is invalid and must be ignored. */
	if ((v = nonempty_env("XDG_DATA_HOME")) != NULL && v[0] == '/')
		return join(out, len, v, "/tpm-agent", e);
	if ((v = home_dir()) == NULL)
		return errmsg_set(e, "store: cannot find your home directory: set HOME or "
				  "TPM_AGENT_HOME");
	return join(out, len, v, "/.local/share/tpm-agent", e);
}

/* ---- preparing it ---- */

/* Keeps errno: callers report the error that led here. */
static int is_dir(const char *path)
{
	int saved = errno;
	struct stat st;
	int rc = stat(path, &st) == 0 && S_ISDIR(st.st_mode);

	errno = saved;
	return rc;
}

/* mkdir -p with mode 0700 for every missing component. */
static int mkdir_parents(const char *dir, struct errmsg *e)
{
	char path[STORE_PATH_MAX];

	if (join(path, sizeof(path), dir, "", e) < 0)
		return -1;
	for (char *p = path + 1; ; p++) {
		if (*p != '/' && *p != '\0')
			continue;
		char saved = *p;

		*p = '\0';
		if (mkdir(path, 0700) < 0 && errno != EEXIST && !is_dir(path))
			return errmsg_set(e, "store: cannot create directory %s: %s", path,
					  strerror(errno));
		*p = saved;
		if (saved == '\0')
			return 0;
	}
}

/* The dir must be ours and closed to others: keys written into a dir others can write
 * could be swapped for theirs. Readable-by-others is just tightened. */
static int check_private_dir(const char *dir, struct errmsg *e)
{
	struct stat st;

	if (stat(dir, &st) < 0)
		return errmsg_set(e, "store: cannot stat %s: %s", dir, strerror(errno));
	if (!S_ISDIR(st.st_mode))
		return errmsg_set(e, "store: %s is not a directory", dir);
	if (st.st_uid != geteuid())
		return errmsg_set(e, "store: %s belongs to uid %u, not to you (uid %u); "
				  "use a directory of your own (TPM_AGENT_HOME)",
				  dir, (unsigned)st.st_uid, (unsigned)geteuid());
	if (st.st_mode & (S_IWGRP | S_IWOTH))
		return errmsg_set(e, "store: %s is writable by group or others (mode %03o); "
				  "check its contents, then run: chmod 700 %s",
				  dir, (unsigned)(st.st_mode & 0777), dir);
	if ((st.st_mode & 077) != 0 && chmod(dir, 0700) < 0)
		return errmsg_set(e, "store: cannot make %s private (chmod 700): %s", dir,
				  strerror(errno));
	if (access(dir, W_OK | X_OK) < 0)
		return errmsg_set(e, "store: directory %s is not writable: %s", dir,
				  strerror(errno));
	return 0;
}

/* The owner and mode rules for one file or directory: owned by us (or by root when
 * root_ok), not writable by group or others. */
static int check_owner_mode(const char *path, const struct stat *st, int root_ok,
			    struct errmsg *e)
{
	if (st->st_uid != geteuid() && !(root_ok && st->st_uid == 0))
		return errmsg_set(e, "store: %s belongs to uid %u, not to you (uid %u); refusing "
				  "to use it (remove it, or make it yours and check its contents)",
				  path, (unsigned)st->st_uid, (unsigned)geteuid());
	if (st->st_mode & (S_IWGRP | S_IWOTH))
		return errmsg_set(e, "store: %s is writable by group or others (mode %03o); "
				  "refusing to use it; check its contents, then run: chmod go-w %s",
				  path, (unsigned)(st->st_mode & 0777), path);
	return 0;
}

int store_check_dir(const char *dir, int root_ok, struct errmsg *e)
{
	struct stat st;

	if (lstat(dir, &st) < 0)
		return errmsg_set(e, "store: cannot stat %s: %s", dir, strerror(errno));
	if (S_ISLNK(st.st_mode))
		return errmsg_set(e, "store: %s is a symbolic link; refusing to follow it (make "
				  "it a directory)", dir);
	if (!S_ISDIR(st.st_mode))
		return errmsg_set(e, "store: %s is not a directory", dir);
	return check_owner_mode(dir, &st, root_ok, e);
}

int store_prepare(const char *dir, struct errmsg *e)
{
	char keys[STORE_PATH_MAX];
	struct stat st;

	if (dir == NULL || dir[0] == '\0')
		return errmsg_set(e, "store: empty data directory name");
	if (join(keys, sizeof(keys), dir, "/keys", e) < 0 || mkdir_parents(dir, e) < 0 ||
	    check_private_dir(dir, e) < 0)
		return -1;
	if (mkdir(keys, 0700) < 0 && errno != EEXIST)
		return errmsg_set(e, "store: cannot create directory %s: %s", keys,
				  strerror(errno));
	/* keys itself must be a real directory, not a link to elsewhere. */
	if (lstat(keys, &st) == 0 && S_ISLNK(st.st_mode))
		return errmsg_set(e, "store: %s is a symbolic link; make it a directory", keys);
	return check_private_dir(keys, e);
}

/* ---- names and paths ---- */

static int name_char_ok(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '.' || c == '_' || c == '@' || c == '+' || c == '-';
}

int store_name_valid(const char *name)
{
	size_t n;

	if (name == NULL || name[0] == '\0' || name[0] == '.' || name[0] == '-')
		return 0;
	for (n = 0; name[n] != '\0'; n++)
		if (n >= STORE_NAME_MAX - 1 || !name_char_ok(name[n]))
			return 0;
	return 1;
}

int store_key_path(const char *dir, const char *name, const char *suffix,
		   char *out, size_t len, struct errmsg *e)
{
	int n;

	/* Checked here too, so no caller can build a path outside dir/keys. */
	if (!store_name_valid(name))
		return errmsg_set(e, "store: invalid key name \"%.80s\": use 1 to %d of "
				  "A-Z a-z 0-9 . _ @ + -, not starting with . or -",
				  name ? name : "", STORE_NAME_MAX - 1);
	n = snprintf(out, len, "%s/keys/%s%s", dir, name, suffix ? suffix : "");
	if (n < 0 || (size_t)n >= len)
		return errmsg_set(e, "store: path too long for key %s in %s", name, dir);
	return 0;
}

/* ---- atomic write ---- */

static const char *remedy(int err)
{
	switch (err) {
	case ENOSPC: case EDQUOT: case EFBIG:
		return "; free some disk space (or raise the quota) and try again";
	case EACCES: case EPERM: case EROFS:
		return "; check that the directory is yours and writable";
	default:
		return "";
	}
}

/* The directory part of path ("." when there is none). */
static int dir_of(const char *path, char *out, size_t len, struct errmsg *e)
{
	const char *slash = strrchr(path, '/');
	size_t n;

	if (slash == NULL)
		return join(out, len, ".", "", e);
	if (slash == path)
		return join(out, len, "/", "", e);
	n = (size_t)(slash - path);
	if (n >= len)
		return errmsg_set(e, "store: path too long: %s", path);
	memcpy(out, path, n);
	out[n] = '\0';
	return 0;
}

static int write_all(int fd, const void *data, size_t len)
{
	const char *p = data;

	while (len > 0) {
		ssize_t n = write(fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* The rename is only durable once the directory entry is on disk too. */
static int fsync_dir(const char *dir)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	int rc, saved;

	if (fd < 0)
		return -1;
	rc = fsync(fd);
	saved = errno;
	close(fd);
	/* Some file systems cannot fsync a directory; nothing more can be done there. */
	if (rc < 0 && (saved == EINVAL || saved == EROFS))
		return 0;
	errno = saved;
	return rc;
}

/* Fills the temp file; returns -1 with errno and the failing step in *step. */
static int fill_temp(int fd, const void *data, size_t len, int mode, const char **step)
{
	*step = "chmod";
	if (fchmod(fd, (mode_t)mode) < 0)
		return -1;
	*step = "write";
	if (write_all(fd, data, len) < 0)
		return -1;
	*step = "fsync";
	return fsync(fd);
}

/* Writes a temp file, then renames it over path or, exclusive, links it to path (so
 * a name already taken stays with its file: STORE_E_EXISTS). */
static int write_file(const char *path, const void *data, size_t len, int mode,
		      int exclusive, struct errmsg *e)
{
	char dir[STORE_PATH_MAX], tmp[STORE_PATH_MAX];
	const char *base = strrchr(path, '/'), *step = "create";
	int fd, err, r;

	base = base ? base + 1 : path;
	/* A leading '.' keeps the temp file out of key listings. */
	if (dir_of(path, dir, sizeof(dir), e) < 0 ||
	    snprintf(tmp, sizeof(tmp), "%s/.%s.XXXXXX", dir, base) >= (int)sizeof(tmp))
		return errmsg_set(e, "store: path too long: %s", path);
	fd = mkstemp(tmp);
	if (fd < 0) {
		err = errno;
		return errmsg_set(e, "store: cannot create a file in %s: %s%s", dir,
				  strerror(err), remedy(err));
	}
	if (fill_temp(fd, data, len, mode, &step) < 0) {
		err = errno;
		close(fd);
		unlink(tmp);
		return errmsg_set(e, "store: cannot write %s (%s failed: %s); the old file "
				  "is unchanged%s", path, step, strerror(err), remedy(err));
	}
	/* close can report a delayed write error (NFS). */
	r = close(fd) < 0 ? -1 : exclusive ? link(tmp, path) : rename(tmp, path);
	err = errno;
	if (r < 0 || exclusive)
		unlink(tmp);
	if (r < 0 && exclusive && err == EEXIST) {
		errmsg_set(e, "store: %s exists already", path);
		return STORE_E_EXISTS;
	}
	if (r < 0)
		return errmsg_set(e, "store: cannot %s %s: %s; the old file is unchanged%s",
				  exclusive ? "create" : "replace", path, strerror(err),
				  remedy(err));
	if (fsync_dir(dir) < 0)
		return errmsg_set(e, "store: wrote %s but could not sync directory %s: %s",
				  path, dir, strerror(errno));
	return 0;
}

int store_write_atomic(const char *path, const void *data, size_t len, int mode,
		       struct errmsg *e)
{
	return write_file(path, data, len, mode, 0, e);
}

int store_write_new(const char *path, const void *data, size_t len, int mode,
		    struct errmsg *e)
{
	return write_file(path, data, len, mode, 1, e);
}

/* ---- bounded read ---- */

static int read_all(int fd, char *buf, size_t want, size_t *got)
{
	*got = 0;
	while (*got < want) {
		ssize_t n = read(fd, buf + *got, want - *got);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		if (n == 0)
			break;
		*got += (size_t)n;
	}
	return 0;
}

static int open_regular(const char *path, size_t max, size_t *size, struct errmsg *e)
{
	/* O_NONBLOCK: a FIFO planted under the name must not hang the agent. */
	int fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	struct stat st;

	if (fd < 0 && errno == ELOOP)
		return errmsg_set(e, "store: %s is a symbolic link; refusing to follow it", path);
	if (fd < 0)
		return errmsg_set(e, "store: cannot open %s: %s", path, strerror(errno));
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return errmsg_set(e, "store: %s is not a regular file", path);
	}
	if ((uintmax_t)st.st_size > max) {
		close(fd);
		return errmsg_set(e, "store: %s is %jd bytes, more than the %zu allowed", path,
				  (intmax_t)st.st_size, max);
	}
	*size = (size_t)st.st_size;
	return fd;
}

/* Reads the size bytes of the open fd (closed here) into *data. */
static int read_opened(int fd, size_t size, const char *path, char **data, size_t *len,
		       struct errmsg *e)
{
	size_t got;
	char *buf;
	int rc, err;

	/* One byte more than stat said, to notice a file that grew meanwhile. */
	if ((buf = malloc(size + 2)) == NULL) {
		close(fd);
		return errmsg_set(e, "store: out of memory reading %s", path);
	}
	rc = read_all(fd, buf, size + 1, &got);
	err = errno;
	close(fd);
	if (rc < 0 || got != size) {
		free(buf);
		if (rc < 0)
			return errmsg_set(e, "store: cannot read %s: %s", path, strerror(err));
		return errmsg_set(e, "store: %s changed while being read; try again", path);
	}
	buf[size] = '\0';
	*data = buf;
	*len = size;
	return 0;
}

int store_read_file(const char *path, size_t max, char **data, size_t *len, struct errmsg *e)
{
	size_t size = 0;
	int fd;

	*data = NULL;
	if ((fd = open_regular(path, max, &size, e)) < 0)
		return -1;
	return read_opened(fd, size, path, data, len, e);
}

int store_read_private(const char *path, size_t max, int root_ok, char **data, size_t *len,
		       struct errmsg *e)
{
	char dir[STORE_PATH_MAX];
	struct stat st;
	size_t size;
	int fd;

	*data = NULL;
	if (dir_of(path, dir, sizeof(dir), e) != 0 || store_check_dir(dir, root_ok, e) != 0)
		return -1;
	/* The file itself: checked on the open descriptor, so what is read is what passed. */
	if ((fd = open_regular(path, max, &size, e)) < 0)
		return -1;
	if (fstat(fd, &st) != 0)
		errmsg_set(e, "store: cannot stat %s: %s", path, strerror(errno));
	else if (check_owner_mode(path, &st, root_ok, e) == 0)
		return read_opened(fd, size, path, data, len, e);
	close(fd);
	return -1;
}

/* ---- listing, existence, removal ---- */

/* The key name of a directory entry "<name>.tss", or 0 if it is not one. */
static int key_name_of(const char *entry, char name[STORE_NAME_MAX])
{
	size_t n = strlen(entry), sl = strlen(KEY_SUFFIX);

	if (n <= sl || n - sl >= STORE_NAME_MAX || strcmp(entry + n - sl, KEY_SUFFIX) != 0)
		return 0;
	memcpy(name, entry, n - sl);
	name[n - sl] = '\0';
	return store_name_valid(name);
}

static int is_regular_at(DIR *d, const char *entry)
{
	struct stat st;

	return fstatat(dirfd(d), entry, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG(st.st_mode);
}

static int cmp_names(const void *a, const void *b)
{
	return strcmp(a, b);
}

int store_list_keys(const char *dir, char (*names)[STORE_NAME_MAX], size_t max,
		    size_t *count, struct errmsg *e)
{
	char keys[STORE_PATH_MAX], name[STORE_NAME_MAX];
	struct dirent *de;
	DIR *d;

	*count = 0;
	if (join(keys, sizeof(keys), dir, "/keys", e) < 0)
		return -1;
	if ((d = opendir(keys)) == NULL) {
		if (errno == ENOENT)
			return 0; /* no keys made yet */
		return errmsg_set(e, "store: cannot list %s: %s", keys, strerror(errno));
	}
	while ((de = readdir(d)) != NULL) {
		if (!key_name_of(de->d_name, name) || !is_regular_at(d, de->d_name))
			continue;
		if (*count == max) {
			closedir(d);
			return errmsg_set(e, "store: more than %zu keys in %s; remove some", max,
					  keys);
		}
		memcpy(names[(*count)++], name, STORE_NAME_MAX);
	}
	closedir(d);
	qsort(names, *count, STORE_NAME_MAX, cmp_names);
	return 0;
}

int store_list_dir_keys(const char *dir, char (*files)[STORE_FILE_MAX], size_t max,
			size_t *count, struct errmsg *e)
{
	struct dirent *de;
	DIR *d;

	*count = 0;
	if ((d = opendir(dir)) == NULL)
		return errmsg_set(e, "key-dirs: cannot list %s: %s", dir, strerror(errno));
	while ((de = readdir(d)) != NULL) {
		size_t n = strlen(de->d_name);
		char name[STORE_NAME_MAX];

		if (n <= 4 || n - 4 >= STORE_NAME_MAX || (strcmp(de->d_name + n - 4, ".tss") != 0 &&
							   strcmp(de->d_name + n - 4, ".tpm") != 0))
			continue;
		memcpy(name, de->d_name, n - 4);
		name[n - 4] = '\0';
		if (!store_name_valid(name) || !is_regular_at(d, de->d_name))
			continue;
		if (*count == max) {
			closedir(d);
			return errmsg_set(e, "key-dirs: more than %zu keys in %s", max, dir);
		}
		memcpy(files[(*count)++], de->d_name, n + 1);
	}
	closedir(d);
	qsort(files, *count, STORE_FILE_MAX, cmp_names);
	return 0;
}

/* The key name of a directory entry "<name>.pub" whose "<name>.tss" is missing, or 0. */
static int orphan_pub_of(DIR *d, const char *entry, char name[STORE_NAME_MAX])
{
	size_t n = strlen(entry), sl = strlen(PUB_SUFFIX);
	char tss[STORE_NAME_MAX + sizeof(KEY_SUFFIX)];
	struct stat st;

	if (n <= sl || n - sl >= STORE_NAME_MAX || strcmp(entry + n - sl, PUB_SUFFIX) != 0)
		return 0;
	memcpy(name, entry, n - sl);
	name[n - sl] = '\0';
	snprintf(tss, sizeof(tss), "%s" KEY_SUFFIX, name);
	return store_name_valid(name) && is_regular_at(d, entry) &&
	       fstatat(dirfd(d), tss, &st, AT_SYMLINK_NOFOLLOW) != 0 && errno == ENOENT;
}

int store_remove_orphans(const char *dir, size_t *removed, struct errmsg *e)
{
	char keys[STORE_PATH_MAX], name[STORE_NAME_MAX];
	struct dirent *de;
	DIR *d;

	*removed = 0;
	if (join(keys, sizeof(keys), dir, "/keys", e) < 0)
		return -1;
	if ((d = opendir(keys)) == NULL)
		return errno == ENOENT ? 0 : errmsg_set(e, "store: cannot list %s: %s", keys,
							strerror(errno));
	while ((de = readdir(d)) != NULL) {
		if (!orphan_pub_of(d, de->d_name, name))
			continue;
		if (unlinkat(dirfd(d), de->d_name, 0) != 0) {
			errmsg_set(e, "store: cannot remove %s/%s: %s", keys, de->d_name,
				   strerror(errno));
			closedir(d);
			return -1;
		}
		(*removed)++;
	}
	closedir(d);
	if (*removed > 0 && fsync_dir(keys) < 0)
		return errmsg_set(e, "store: could not sync %s: %s", keys, strerror(errno));
	return 0;
}

int store_key_exists(const char *dir, const char *name)
{
	char path[STORE_PATH_MAX];
	struct stat st;

	if (store_key_path(dir, name, KEY_SUFFIX, path, sizeof(path), NULL) < 0)
		return 0;
	return lstat(path, &st) == 0;
}

int store_remove_key(const char *dir, const char *name, struct errmsg *e)
{
	static const char *const side_files[] = { ".pcr", ".origin" };
	char tss[STORE_PATH_MAX], pub[STORE_PATH_MAX], keys[STORE_PATH_MAX];

	if (store_key_path(dir, name, KEY_SUFFIX, tss, sizeof(tss), e) < 0 ||
	    store_key_path(dir, name, PUB_SUFFIX, pub, sizeof(pub), e) < 0 ||
	    join(keys, sizeof(keys), dir, "/keys", e) < 0)
		return -1;
	if (!store_key_exists(dir, name))
		return errmsg_set(e, "store: no key named \"%s\" in %s", name, keys);
	/* First the PCR values of a PCR-bound key (keypolicy.c) and the origin record
	 * (keyorigin.c), if any: a crash after them leaves a key that still works (its
	 * origin unknown), never a record that a key restored later would inherit. */
	for (size_t i = 0; i < sizeof(side_files) / sizeof(side_files[0]); i++)
		if (store_key_path(dir, name, side_files[i], pub, sizeof(pub), e) == 0 &&
		    unlink(pub) < 0 && errno != ENOENT)
			return errmsg_set(e, "store: cannot remove %s: %s", pub, strerror(errno));
	if (store_key_path(dir, name, PUB_SUFFIX, pub, sizeof(pub), e) < 0)
		return -1;
	if (unlink(tss) < 0)
		return errmsg_set(e, "store: cannot remove %s: %s", tss, strerror(errno));
	if (unlink(pub) < 0 && errno != ENOENT)
		return errmsg_set(e, "store: removed %s but not %s: %s", tss, pub,
				  strerror(errno));
	if (fsync_dir(keys) < 0)
		return errmsg_set(e, "store: removed key %s but could not sync %s: %s", name,
				  keys, strerror(errno));
	return 0;
}
