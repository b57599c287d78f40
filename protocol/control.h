/* control: the control protocol between tpm-key and the agent. Each command is an
 * ssh-agent EXTENSION message named "<command>@tpm-agent"; the agent answers SUCCESS
 * with the reply body or EXTENSION_FAILURE with a one-line message. This header holds
 * the names and flags both sides share (agent/daemon_control.c and the files it names
 * describe each payload). No code: a codec's vocabulary, like agentmsg.h. */
#ifndef TPM_AGENT_CONTROL_H
#define TPM_AGENT_CONTROL_H

#define TPM_AGENT_VERSION "0.1.0"

/* Control extension names (see agent/daemon_control.c for their payloads). */
#define CTL_LIST   "list@tpm-agent"
#define CTL_GEN    "gen@tpm-agent"
#define CTL_RM     "rm@tpm-agent"
#define CTL_LOAD   "load@tpm-agent"
#define CTL_STATUS "status@tpm-agent"
#define CTL_CERT_ADD  "cert-add@tpm-agent"
#define CTL_CERT_LIST "cert-list@tpm-agent"
#define CTL_CERT_RM   "cert-rm@tpm-agent"
#define CTL_DECRYPT   "decrypt@tpm-agent"  /* agent/daemon_decrypt.c */
#define CTL_SEAL      "seal@tpm-agent"     /* agent/daemon_seal.c */
#define CTL_UNSEAL    "unseal@tpm-agent"
#define CTL_SEAL_LIST "seal-list@tpm-agent"
#define CTL_SEAL_RM   "seal-rm@tpm-agent"
#define CTL_SEAL_NO_PIN 0x1 /* seal flag: no PIN; without it the agent asks one (pinentry) */
#define CTL_ATTEST    "attest@tpm-agent"   /* agent/daemon_attest.c */
#define CTL_IMPORT    "import@tpm-agent"   /* agent/daemon_import.c */
/* activate: string TPM2B_ID_OBJECT, string TPM2B_ENCRYPTED_SECRET -> string credential:
 * the enrolment CA's challenge answered with the cached AK (agent/daemon_attest.c). */
#define CTL_ACTIVATE  "activate@tpm-agent"
/* enrolled: string key name, uint32 n, n x string argument of tpm-key enroll after NAME:
 * the agent renews the certificate with them (agent/daemon_renew.c). */
#define CTL_ENROLLED  "enrolled@tpm-agent"
#define CTL_IMPORT_NO_PIN 0x2 /* import flag: no PIN; without it the agent asks one (pinentry) */
#define CTL_SRK       "srk@tpm-agent"      /* agent/daemon_peer.c */
#define CTL_ADD       "add@tpm-agent"
#define CTL_SUPPORTED "supported@tpm-agent"
#define CTL_HIERARCHY_PUB "hierarchy-pub@tpm-agent"
#define CTL_SANDBOX_PROBE "sandbox-probe@tpm-agent" /* agent/daemon_sandbox.c */

/* Padding of a CTL_DECRYPT request. */
#define CTL_PAD_OAEP  1
#define CTL_PAD_PKCS1 2

/* Where a certificate is (to be) stored, in CTL_CERT_ADD / CTL_CERT_LIST. */
#define CTL_CERT_AUTO 0
#define CTL_CERT_FILE 1
#define CTL_CERT_NV   2

/* Flags of a CTL_GEN request. */
#define CTL_GEN_DECRYPT 0x1 /* the key can also decrypt (RSA) or do ECDH (gpg subkeys) */
#define CTL_GEN_NO_PIN  0x2 /* no PIN (emptyAuth); without it the agent asks one (pinentry) */
#define CTL_GEN_HOST    0x100 /* a host key for sshd: only tpm-agent --host offers it */
/* PCR binding (agent/daemon_policy.c). CTL_GEN_PCR: after the flags come string pcrs
 * ("[BANK:]0,1,2,3,7") and string signer ("" = make "<name>-policy-signer"). */
#define CTL_GEN_PCR            0x10
#define CTL_GEN_PCR_AUTHORIZED 0x20 /* PolicyAuthorize by the signer: survives updates */
#define CTL_GEN_NO_PCR         0x40 /* not bound, whatever platform-policy says */
#define CTL_PCR_SEAL "pcr-seal@tpm-agent" /* string name -> string note */

/* PIN control extensions (agent/daemon_pinjob.c). env and update-env carry uint32 n,
 * n x (string name, string value) of the prompt's environment variables; forget a
 * string key name ("" = all); passwd a string key name and uint32 flags. */
#define CTL_ENV        "env@tpm-agent"        /* this connection's prompt environment */
#define CTL_UPDATE_ENV "update-env@tpm-agent" /* the prompt environment for ssh clients */
#define CTL_FORGET     "forget@tpm-agent"     /* drop cached PINs */
#define CTL_PASSWD     "passwd@tpm-agent"     /* change a key's PIN */
#define CTL_PASSWD_NO_PIN 0x1 /* passwd flag: the key gets no PIN (emptyAuth TRUE) */
/* init: uint32 SRK handle (0 = the agent's) [, uint32 flags] -> string what was done.
 * Asks the owner hierarchy's authorization (SO PIN) through pinentry only when the TPM
 * has one and the SRK must be created. Then, for the agent's SRK, the EK proof
 * (daemon_srkpin.h). A mutating admin command: it may replace the pinned SRK. */
#define CTL_INIT       "init@tpm-agent"
#define CTL_INIT_REPIN 0x1 /* init flag: adopt and pin the SRK the TPM has now */

/* CTL_LOAD, after the name (both optional): uint32 flags, uint32 lifetime in seconds
 * (0 = none). */
#define CTL_LOAD_CONFIRM 0x1 /* ask pinentry CONFIRM before each signature */

/* Flags in a CTL_LIST entry. */
#define CTL_KEY_HIDDEN     0x1 /* removed from the agent with ssh-add -d / -D */
#define CTL_KEY_EMPTY_AUTH 0x2 /* no PIN */
#define CTL_KEY_PCR        0x4 /* bound to PCR values (a PCR policy) */
#define CTL_KEY_SOFTWARE     0x100 /* a software key from ssh-add (memory only, no name in the store) */
#define CTL_KEY_HOST         0x200 /* a host key for sshd (tpm-key gen --host) */
#define CTL_KEY_SOFT_CONFIRM 0x400 /* software key added with ssh-add -c */
#define CTL_KEY_UNUSABLE     0x1000 /* not under this TPM's SRK: not offered to ssh */
/* Where a TPM key came from (none of them: made in a TPM, "generated"). */
#define CTL_KEY_IMPORTED     0x2000 /* its private key existed outside a TPM (import, wrap + add) */
#define CTL_KEY_GPG          0x4000 /* made or imported by gpg */
#define CTL_KEY_WRAPPED      0x8000 /* of those, one wrapped elsewhere (tpm-key wrap), then added */

#endif
