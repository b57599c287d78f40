/* tpm_wait: lets the program that owns the TPM do something else while a thread waits
 * for the TPM's answer. The TCTI's transmit and receive are wrapped in place, so every
 * command (ESAPI or SAPI) passes through tpm_wait's hooks. */
#include "tpm_internal.h"

#include <pthread.h>
#include <string.h>

#define WRAP_MAX 8 /* TCTI contexts wrapped at once (one connection, plus reconnects) */

static struct {
	TSS2_TCTI_CONTEXT *ctx;
	TSS2_TCTI_TRANSMIT_FCN transmit;
	TSS2_TCTI_RECEIVE_FCN receive;
} wrapped[WRAP_MAX];
static pthread_mutex_t wrap_mu = PTHREAD_MUTEX_INITIALIZER;
static tpm_wait_fn hook_enter, hook_leave;
static void *hook_arg;

void tpm_set_wait_hooks(tpm_wait_fn enter, tpm_wait_fn leave, void *arg)
{
	hook_arg = arg;
	hook_enter = enter;
	hook_leave = leave;
}

static int wrap_find(TSS2_TCTI_CONTEXT *ctx, TSS2_TCTI_TRANSMIT_FCN *tx,
		     TSS2_TCTI_RECEIVE_FCN *rx)
{
	int found = 0;

	pthread_mutex_lock(&wrap_mu);
	for (size_t i = 0; i < WRAP_MAX && !found; i++) {
		if (wrapped[i].ctx != ctx)
			continue;
		*tx = wrapped[i].transmit;
		*rx = wrapped[i].receive;
		found = 1;
	}
	pthread_mutex_unlock(&wrap_mu);
	return found;
}

/* Finds ctx's own functions and tells the hooks a wait begins; 0 if ctx is unknown. */
static int wait_begin(TSS2_TCTI_CONTEXT *ctx, TSS2_TCTI_TRANSMIT_FCN *tx,
		      TSS2_TCTI_RECEIVE_FCN *rx)
{
	if (!wrap_find(ctx, tx, rx))
		return 0;
	if (hook_enter != NULL)
		hook_enter(hook_arg);
	return 1;
}

static TSS2_RC wait_end(TSS2_RC rc)
{
	if (hook_leave != NULL)
		hook_leave(hook_arg);
	return rc;
}

static TSS2_RC wait_transmit(TSS2_TCTI_CONTEXT *ctx, size_t size, const uint8_t *cmd)
{
	TSS2_TCTI_TRANSMIT_FCN tx;
	TSS2_TCTI_RECEIVE_FCN rx;

	if (!wait_begin(ctx, &tx, &rx))
		return TSS2_TCTI_RC_BAD_CONTEXT;
	return wait_end(tx(ctx, size, cmd));
}

static TSS2_RC wait_receive(TSS2_TCTI_CONTEXT *ctx, size_t *size, uint8_t *resp,
			    int32_t timeout)
{
	TSS2_TCTI_TRANSMIT_FCN tx;
	TSS2_TCTI_RECEIVE_FCN rx;

	if (!wait_begin(ctx, &tx, &rx))
		return TSS2_TCTI_RC_BAD_CONTEXT;
	return wait_end(rx(ctx, size, resp, timeout));
}

void tpm_wait_wrap(TSS2_TCTI_CONTEXT *ctx)
{
	static size_t next; /* the table is full of finalised contexts: reuse in turn */
	size_t slot = WRAP_MAX;

	if (ctx == NULL || TSS2_TCTI_TRANSMIT(ctx) == wait_transmit)
		return;
	pthread_mutex_lock(&wrap_mu);
	/* The same address again is a new context in the memory of a finalised one. */
	for (size_t i = 0; i < WRAP_MAX && slot == WRAP_MAX; i++)
		if (wrapped[i].ctx == ctx || wrapped[i].ctx == NULL)
			slot = i;
	if (slot == WRAP_MAX)
		slot = next++ % WRAP_MAX;
	wrapped[slot].ctx = ctx;
	wrapped[slot].transmit = TSS2_TCTI_TRANSMIT(ctx);
	wrapped[slot].receive = TSS2_TCTI_RECEIVE(ctx);
	TSS2_TCTI_TRANSMIT(ctx) = wait_transmit;
	TSS2_TCTI_RECEIVE(ctx) = wait_receive;
	pthread_mutex_unlock(&wrap_mu);
}
