/* sexp: S-expressions as gpg-agent's clients send them (canonical form, RFC-less
 * "Rivest" S-expressions as libgcrypt uses them) and the few replies we build.
 * The parser treats its input as hostile: bounded depth, node count and length. */
#ifndef TPM_AGENT_SEXP_H
#define TPM_AGENT_SEXP_H

#include <stddef.h>
#include <stdint.h>

#include "sshbuf.h"
#include "sshkey.h"

#define SEXP_MAX_DEPTH 16     /* nesting of lists; a key parameter needs 3 */
#define SEXP_MAX_NODES 128    /* atoms + lists in one expression */
#define SEXP_MAX_LEN   8192   /* bytes of input (gpg-agent inquires at most 4096) */
#define SEXP_NONE      (-1)   /* "no node" for indexes */

#define SEXP_OK          0
#define SEXP_E_SYNTAX   -1  /* not an S-expression, or not in the accepted form */
#define SEXP_E_TOOBIG   -2  /* input, node count or depth over the bounds */
#define SEXP_E_TRUNCATED -3 /* ended early (an atom or a list left open) */

/* Parser flags. */
#define SEXP_CANONICAL  0
/* gpg's GENKEY parameters are written by hand in gpg ("(genkey(rsa(nbits 4:3072)))"):
 * this also accepts bare tokens [A-Za-z0-9-._/:*+=] and blanks between elements.
 * Quoted, hex, base64 and display-hint forms stay refused. */
#define SEXP_ALLOW_TOKENS 1

enum sexp_kind { SEXP_ATOM = 1, SEXP_LIST };

/* One node. An atom's bytes point into the parsed input (which must outlive the tree). */
struct sexp_node {
	enum sexp_kind kind;
	const uint8_t *data; size_t len; /* atoms only */
	int first;                       /* lists: first child, or SEXP_NONE */
	int next;                        /* next sibling, or SEXP_NONE */
};

struct sexp_tree {
	struct sexp_node nodes[SEXP_MAX_NODES];
	int n;
};

/* Parses exactly one list that spans all of buf[0..len). Node 0 is that list.
 * Returns SEXP_OK or a negative SEXP_E_* code; on error the tree is unusable. */
int sexp_parse(const uint8_t *buf, size_t len, int flags, struct sexp_tree *t);
const char *sexp_strerror(int r);

/* Child number i (0-based) of list node, or SEXP_NONE. */
int sexp_nth(const struct sexp_tree *t, int list, int i);
/* 1 if node is an atom equal to the C string s. */
int sexp_atom_is(const struct sexp_tree *t, int node, const char *s);
/* 1 if node is a list whose first element is the atom name. */
int sexp_list_named(const struct sexp_tree *t, int node, const char *name);
/* The first direct child of list that is a list named name, or SEXP_NONE. */
int sexp_find(const struct sexp_tree *t, int list, const char *name);
/* The value of a direct child "(name value)" of list: the atom after name.
 * Returns 0 and sets p and len, or -1 when absent, not an atom, or followed by more. */
int sexp_find_value(const struct sexp_tree *t, int list, const char *name,
		    const uint8_t **p, size_t *len);

/* Builders: append canonical text to out (0 or a negative SSHBUF_E_* code). */
int sexp_put_open(struct sshbuf *out);
int sexp_put_close(struct sshbuf *out);
int sexp_put_atom(struct sshbuf *out, const void *data, size_t len);
int sexp_put_str(struct sshbuf *out, const char *s);
/* An unsigned big-endian magnitude as libgcrypt writes an MPI: leading zeros stripped,
 * then one 0x00 put back when the top bit is set (so it reads as positive). */
int sexp_put_mpi(struct sshbuf *out, const uint8_t *mag, size_t len);
/* A magnitude without leading zeros and without a sign byte (gpg reads r, s and the
 * signature value as unsigned). */
int sexp_put_uint(struct sshbuf *out, const uint8_t *mag, size_t len);

/* (10:public-key(3:rsa(1:n..)(1:e..))) or (10:public-key(3:ecc(5:curve10:NIST P-256)(1:q..))) */
int sexp_build_public_key(const struct sshkey_pub *k, struct sshbuf *out);
/* (7:sig-val(3:rsa(1:s<k>:<s>))): s left-padded with zeros to mod_len bytes. */
int sexp_build_sig_rsa(const uint8_t *s, size_t s_len, size_t mod_len, struct sshbuf *out);
/* (7:sig-val(5:ecdsa(1:r..)(1:s..))) with r and s unsigned, minimal. */
int sexp_build_sig_ecdsa(const uint8_t *r, size_t r_len, const uint8_t *s, size_t s_len,
			 struct sshbuf *out);
/* (5:value<n>:<bytes>) as PKDECRYPT returns it. */
int sexp_build_value(const uint8_t *v, size_t len, struct sshbuf *out);

/* "NIST P-256" etc. for the ECDSA types, NULL otherwise. */
const char *sexp_curve_name(enum sshkey_type t);
/* Curve name (gpg's and its usual aliases) to type; SSHKEY_UNSPEC when unknown. */
enum sshkey_type sexp_curve_type(const uint8_t *name, size_t len);

#endif
