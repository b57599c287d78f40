/* pubkey_evp: an SSH public key (struct sshkey_pub) as an OpenSSL EVP_PKEY, for code
 * that encrypts to or verifies with our keys' public halves in software. */
#ifndef TPM_AGENT_PUBKEY_EVP_H
#define TPM_AGENT_PUBKEY_EVP_H

#include <openssl/types.h>

#include "sshkey.h"

/* A new EVP_PKEY holding pub (RSA or NIST ECDSA), or NULL. EVP_PKEY_free it. */
EVP_PKEY *pubkey_to_evp(const struct sshkey_pub *pub);

#endif
