/* daemon_sandbox: Landlock rules and a seccomp deny-list filter, by raw system calls
 * (linux/landlock.h, linux/seccomp.h, linux/filter.h): no new library (see
 * daemon_sandbox.h). Landlock grants, beneath each path:
 *   read+execute: the system (/usr, /lib*, /bin, /sbin, /etc, /opt, /proc, /sys, /run),
 *     the pinentry program's and swtpm's directories, the config file's, key-dirs,
 *     ssh-sk-helper's and ssh-pkcs11-helper's, and allowed-providers' (up to the
 *     first wildcard);
 *   read+write: the data dir, the socket's and gpg socket's directories,
 *     $XDG_RUNTIME_DIR, the simulator's state, /dev (terminals, the TPM), and
 *     sandbox-allow;
 * and nothing else: ~/.ssh, ~/.gnupg and the rest of $HOME stay out of reach. */
#include "daemon_sandbox.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/landlock.h>
#include <linux/seccomp.h>
#include <sched.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "daemon_fido.h"
#include "daemon_helper.h"
#include "daemon_pkcs11.h"
#include "../keystore/log.h"

/* Rights of later ABIs than Debian 12's headers (Linux 6.1) know: the kernel's UAPI values. */
#ifndef LANDLOCK_ACCESS_FS_REFER
#define LANDLOCK_ACCESS_FS_REFER (1ULL << 13)
#endif
#ifndef LANDLOCK_ACCESS_FS_TRUNCATE
#define LANDLOCK_ACCESS_FS_TRUNCATE (1ULL << 14)
#endif
#ifndef LANDLOCK_ACCESS_FS_IOCTL_DEV
#define LANDLOCK_ACCESS_FS_IOCTL_DEV (1ULL << 15)
#endif

#if defined(__x86_64__)
#define SB_ARCH AUDIT_ARCH_X86_64
#elif defined(__aarch64__)
#define SB_ARCH AUDIT_ARCH_AARCH64
#endif

static char described[96] = "off";

/* ---- Landlock ---- */

#define RO (LANDLOCK_ACCESS_FS_EXECUTE | LANDLOCK_ACCESS_FS_READ_FILE | \
	    LANDLOCK_ACCESS_FS_READ_DIR)
#define FILE_RIGHTS (LANDLOCK_ACCESS_FS_EXECUTE | LANDLOCK_ACCESS_FS_WRITE_FILE | \
		     LANDLOCK_ACCESS_FS_READ_FILE | LANDLOCK_ACCESS_FS_TRUNCATE | \
		     LANDLOCK_ACCESS_FS_IOCTL_DEV)

/* What Landlock ABI abi can restrict (all of it is handled, so all is denied unless a
 * rule grants it). */
static __u64 handled_fs(int abi)
{
	__u64 m = (LANDLOCK_ACCESS_FS_MAKE_SYM << 1) - 1; /* ABI 1: EXECUTE .. MAKE_SYM */

	if (abi >= 2)
		m |= LANDLOCK_ACCESS_FS_REFER;
	if (abi >= 3)
		m |= LANDLOCK_ACCESS_FS_TRUNCATE;
	if (abi >= 5)
		m |= LANDLOCK_ACCESS_FS_IOCTL_DEV;
	return m;
}

/* Grants access beneath path (a file gets the file rights only); a missing path is
 * skipped. */
static void ll_allow(int ruleset, __u64 handled, const char *path, __u64 access)
{
	struct landlock_path_beneath_attr pb = { 0 };
	struct stat st;
	int fd;

	if (path == NULL || path[0] != '/' || (fd = open(path, O_PATH | O_CLOEXEC)) < 0)
		return;
	if (fstat(fd, &st) == 0 && !S_ISDIR(st.st_mode))
		access &= FILE_RIGHTS;
	pb.parent_fd = fd;
	pb.allowed_access = access & handled;
	if (pb.allowed_access != 0 &&
	    syscall(SYS_landlock_add_rule, ruleset, LANDLOCK_RULE_PATH_BENEATH, &pb, 0) != 0)
		log_warn("sandbox: cannot allow %s: %s", path, strerror(errno));
	close(fd);
}

/* The directory part of path into out ("" when none). */
static const char *dir_of(const char *path, char *out, size_t len)
{
	const char *slash = strrchr(path, '/');

	if (slash == NULL || slash == path)
		return snprintf(out, len, "%s", slash ? "/" : ""), out;
	snprintf(out, len, "%.*s", (int)(slash - path), path);
	return out;
}

/* The directory a program name resolves to through $PATH. */
static const char *prog_dir(const char *prog, char *out, size_t len)
{
	const char *path = getenv("PATH");
	char cand[PATH_MAX];

	out[0] = '\0';
	if (prog == NULL || prog[0] == '\0')
		return out;
	if (strchr(prog, '/') != NULL)
		return dir_of(prog, out, len);
	for (const char *p = path ? path : "/usr/bin:/bin"; *p != '\0';) {
		size_t n = strcspn(p, ":");

		snprintf(cand, sizeof(cand), "%.*s/%s", (int)n, p, prog);
		if (access(cand, X_OK) == 0)
			return snprintf(out, len, "%.*s", (int)n, p), out;
		p += n + (p[n] == ':');
	}
	return out;
}

/* Each comma-separated entry of list (~ is $HOME) with access. */
static void ll_allow_list(int rs, __u64 handled, const char *list, __u64 access)
{
	const char *home = getenv("HOME");

	while (list != NULL && *list != '\0') {
		char path[PATH_MAX];
		size_t n;

		while (*list == ',' || *list == ' ')
			list++;
		n = strcspn(list, ",");
		while (n > 0 && list[n - 1] == ' ')
			n--;
		if (n > 0 && list[0] == '~' && home != NULL)
			snprintf(path, sizeof(path), "%s%.*s", home, (int)n - 1, list + 1);
		else
			snprintf(path, sizeof(path), "%.*s", (int)n, list);
		if (n > 0)
			ll_allow(rs, handled, path, access);
		list += n;
		list += strcspn(list, ",");
	}
}

/* Read+execute for what ssh-add may make the helpers load: the helper programs and,
 * for each allowed-providers pattern (-P), the directory before its first wildcard
 * ("/usr/lib*\/\*" gives /usr, "/\*" gives /): the helpers inherit the sandbox. */
static void ll_allow_providers(int rs, __u64 handled, const struct agent *a)
{
	const char *list = a->settings.allowed_providers;
	char buf[PATH_MAX];

	ll_allow(rs, handled, prog_dir(helper_path("SSH_SK_HELPER", FIDO_HELPER_DEFAULT), buf,
				       sizeof(buf)), RO);
	ll_allow(rs, handled, prog_dir(helper_path("SSH_PKCS11_HELPER", PKCS11_HELPER_DEFAULT),
				       buf, sizeof(buf)), RO);
	while (*list != '\0') {
		size_t n = strcspn(list, ","), lit = strcspn(list, "*?[");

		if (list[0] == '/' && lit > 0) {
			snprintf(buf, sizeof(buf), "%.*s", (int)(lit < n ? lit : n), list);
			/* the directory holding the wildcard (or the file) */
			*(strrchr(buf, '/') == buf ? buf + 1 : strrchr(buf, '/')) = '\0';
			ll_allow(rs, handled, buf, RO);
		}
		list += n + (list[n] == ',');
	}
}

static int landlock(struct agent *a, const char *gpg_socket, const char *config)
{
	static const char *const system_dirs[] = { "/usr", "/lib", "/lib32", "/lib64", "/bin",
						   "/sbin", "/etc", "/opt", "/proc", "/sys", "/run" };
	int abi = (int)syscall(SYS_landlock_create_ruleset, NULL, 0,
			       LANDLOCK_CREATE_RULESET_VERSION);
	struct landlock_ruleset_attr attr = { 0 };
	char buf[PATH_MAX];
	__u64 rw;
	int rs;

	if (abi < 1)
		return -1;
	attr.handled_access_fs = handled_fs(abi);
	rw = attr.handled_access_fs;
	if ((rs = (int)syscall(SYS_landlock_create_ruleset, &attr, sizeof(attr), 0)) < 0)
		return -1;
	for (size_t i = 0; i < sizeof(system_dirs) / sizeof(system_dirs[0]); i++)
		ll_allow(rs, rw, system_dirs[i], RO);
	ll_allow(rs, rw, prog_dir(a->settings.pinentry_program, buf, sizeof(buf)), RO);
	ll_allow(rs, rw, prog_dir("swtpm", buf, sizeof(buf)), RO);
	if (config != NULL && config[0] != '\0')
		ll_allow(rs, rw, dir_of(config, buf, sizeof(buf)), RO);
	ll_allow_list(rs, rw, a->settings.key_dirs, RO);
	ll_allow_providers(rs, rw, a);
	ll_allow(rs, rw, "/dev", rw & ~(__u64)(LANDLOCK_ACCESS_FS_MAKE_CHAR |
					      LANDLOCK_ACCESS_FS_MAKE_BLOCK));
	ll_allow(rs, rw, a->data_dir, rw);
	ll_allow(rs, rw, dir_of(a->socket_path, buf, sizeof(buf)), rw);
	if (gpg_socket != NULL && gpg_socket[0] != '\0')
		ll_allow(rs, rw, dir_of(gpg_socket, buf, sizeof(buf)), rw);
	ll_allow(rs, rw, getenv("XDG_RUNTIME_DIR"), rw);
	ll_allow(rs, rw, a->settings.simulator_dir, rw);
	ll_allow_list(rs, rw, a->settings.sandbox_allow, rw);
	if (syscall(SYS_landlock_restrict_self, rs, 0) != 0) {
		close(rs);
		return -1;
	}
	close(rs);
	return abi;
}

/* ---- seccomp: a deny list (an allow list would have to follow every library and
 * every pinentry the agent runs) ---- */

static const int denied[] = {
	SYS_ptrace, SYS_process_vm_readv, SYS_process_vm_writev, SYS_mount, SYS_umount2,
	SYS_pivot_root, SYS_chroot, SYS_kexec_load, SYS_init_module, SYS_finit_module,
	SYS_delete_module, SYS_bpf, SYS_perf_event_open, SYS_userfaultfd, SYS_add_key,
	SYS_request_key, SYS_keyctl, SYS_swapon, SYS_swapoff, SYS_reboot, SYS_setns,
	SYS_unshare, SYS_open_by_handle_at, SYS_name_to_handle_at, SYS_acct,
	SYS_settimeofday, SYS_clock_settime, SYS_clock_adjtime, SYS_adjtimex, SYS_quotactl,
	SYS_syslog, SYS_io_uring_setup, SYS_io_uring_enter, SYS_io_uring_register,
	SYS_fsopen, SYS_fsmount, SYS_fsconfig, SYS_move_mount, SYS_open_tree,
#ifdef SYS_kexec_file_load
	SYS_kexec_file_load,
#endif
#ifdef SYS_iopl
	SYS_iopl, SYS_ioperm,
#endif
};

static int seccomp_filter(void)
{
#ifdef SB_ARCH
	enum { N = sizeof(denied) / sizeof(denied[0]) };
	struct sock_filter f[8 + 2 * N];
	struct sock_fprog prog;
	size_t i = 0;

	f[i++] = (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS,
					      offsetof(struct seccomp_data, arch));
	f[i++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SB_ARCH, 1, 0);
	f[i++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS);
	f[i++] = (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS,
					      offsetof(struct seccomp_data, nr));
#if defined(__x86_64__)
	/* x32 system calls (bit 30) would bypass the numbers below */
	f[i++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JGE | BPF_K, 0x40000000u, 0, 1);
	f[i++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | EPERM);
#endif
	for (size_t j = 0; j < N; j++) {
		f[i++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K,
						      (unsigned)denied[j], 0, 1);
		f[i++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | EPERM);
	}
	f[i++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW);
	prog.len = (unsigned short)i;
	prog.filter = f;
	return (int)syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, SECCOMP_FILTER_FLAG_TSYNC,
			    &prog);
#else
	errno = ENOSYS;
	return -1;
#endif
}

int sandbox_apply(struct agent *a, const char *gpg_socket, const char *config,
		  struct errmsg *e)
{
	int abi;

	if (!a->settings.sandbox) {
		log_info("sandbox = no: the agent runs without Landlock and seccomp");
		return 0;
	}
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0)
		return errmsg_set(e, "sandbox: cannot set no_new_privs: %s (sandbox = no turns the "
				  "sandbox off)", strerror(errno));
	abi = landlock(a, gpg_socket, config);
	if (abi < 0)
		log_warn("sandbox: the kernel has no Landlock (%s): files are not restricted, "
			 "only system calls", strerror(errno));
	if (seccomp_filter() != 0)
		return errmsg_set(e, "sandbox: cannot install the seccomp filter: %s (sandbox = no "
				  "turns the sandbox off)", strerror(errno));
	if (abi > 0)
		snprintf(described, sizeof(described), "landlock ABI %d + seccomp", abi);
	else
		snprintf(described, sizeof(described), "seccomp (the kernel has no Landlock)");
	log_info("sandbox: %s", described);
	return 0;
}

const char *sandbox_describe(void)
{
	return described;
}

int ctl_sandbox_probe(struct agent *a, struct sshbuf *body, struct sshbuf *out,
		      struct errmsg *e)
{
	char probe[PATH_MAX + 16], result[PATH_MAX + 64];
	int r = 0;

	(void)a;
	if (sshbuf_get_cstring(body, probe, sizeof(probe)) != 0)
		return errmsg_set(e, "sandbox-probe: malformed request");
	if (strncmp(probe, "open:", 5) == 0) {
		int fd = open(probe + 5, O_RDONLY | O_CLOEXEC | O_NONBLOCK);

		if (fd < 0)
			r = errno;
		else
			close(fd);
	} else if (strcmp(probe, "syscall:unshare") == 0) {
		r = unshare(0) == 0 ? 0 : errno;
	} else {
		return errmsg_set(e, "sandbox-probe: probes are open:PATH and syscall:unshare");
	}
	snprintf(result, sizeof(result), r == 0 ? "allowed" : "denied: %s", strerror(r));
	log_info("sandbox-probe %s: %s", probe, result);
	r = sshbuf_put_cstring(out, result);
	return r == 0 ? 0 : errmsg_set(e, "sandbox-probe: %s", sshbuf_strerror(r));
}
