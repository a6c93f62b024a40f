/*
 * p11 — the CA key in a PKCS#11 token (HSM, smart card, TPM), reached through
 * OpenSSL's "pkcs11" engine from libp11. The key never leaves the token: the
 * engine hands back an EVP_PKEY whose signing methods call C_Sign.
 *
 * This is the only file that touches the ENGINE API (deprecated in OpenSSL
 * 3, hence the pragma below) and libp11; it fills a struct signer (signer.h),
 * so an OpenSSL 3 provider (pkcs11-provider) can replace it without touching
 * the rest. It owns:
 *  - the RFC 7512 URI: token= and object= for messages, pin-source= read
 *    here (a file group/others may read is refused), pin-value= refused;
 *  - the PIN: $CREDENTIALS_DIRECTORY/ca.pin, else ca.key_pin_file, else the
 *    URI's pin-source, handed to the engine with the "PIN" control and never
 *    logged; a UI_METHOD that never prompts, so nothing reads a terminal;
 *  - start-up diagnosis: which of "module loads", "token present", "PIN
 *    right", "object exists" failed, and how to fix it;
 *  - recovery: after a failed signature ca.c calls p11_reopen (under its
 *    write lock, so no signature is in flight), which re-initialises the
 *    engine (and with it the PKCS#11 module) and loads the key again, at
 *    most once a second.
 *
 * Threads: libp11 (0.4.12) keeps a pool of sessions per slot and the module
 * is initialised with CKF_OS_LOCKING_OK, so concurrent signatures with one
 * EVP_PKEY are safe (tested: 8 threads x 200 signatures, SoftHSM2, EC and
 * RSA); no lock of ours serialises them.
 *
 * One PKCS#11 CA per process: OpenSSL 3 loads the engine's shared object
 * only once (a second "dynamic" load of it fails), so two signers would share
 * one libp11 context and one reopen would pull the key from under the other.
 */

/* The ENGINE API is deprecated in OpenSSL 3 but is libp11's only door in
 * Debian 12 (pkcs11-provider is not packaged there); confined to this file. */
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"

#include <dlfcn.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/engine.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/ui.h>
#include <openssl/x509.h>

#include "signer.h"
#include "util.h"

/* A PIN file: one line. PKCS#11 tokens take PINs of at most a few dozen
 * bytes (ulMaxPinLen); 4 KiB means someone pointed us at the wrong file. */
#define P11_PIN_MAX 4096
/* An RFC 7512 URI in the configuration: a few attributes of at most 32
 * bytes each (token labels), percent-encoded. */
#define P11_URI_MAX 4096
/* Reopen attempts after a failure: at most one per second, so a missing
 * token costs each request a 503 and not a module re-initialisation. */
#define P11_REOPEN_INTERVAL_NS 1000000000ull
/* Slots examined when diagnosing a missing token. */
#define P11_SLOTS_MAX 256

/* ---- The few PKCS#11 (v2.40) declarations the diagnosis needs ---------
 * Only C_Initialize/C_Finalize/C_GetSlotList/C_GetTokenInfo, to tell "no
 * such token" from "no such object" when the engine says only "object not
 * found". Layouts follow pkcs11t.h (no packing on Unix). */
typedef unsigned long ck_ulong;
typedef ck_ulong ck_rv;

struct ck_version {
	unsigned char major, minor;
};

struct ck_token_info {
	unsigned char label[32];
	unsigned char manufacturer_id[32];
	unsigned char model[16];
	unsigned char serial_number[16];
	ck_ulong flags;
	ck_ulong max_session_count, session_count;
	ck_ulong max_rw_session_count, rw_session_count;
	ck_ulong max_pin_len, min_pin_len;
	ck_ulong total_public_memory, free_public_memory;
	ck_ulong total_private_memory, free_private_memory;
	struct ck_version hardware_version, firmware_version;
	unsigned char utc_time[16];
};

struct ck_c_initialize_args {
	void *create_mutex, *destroy_mutex, *lock_mutex, *unlock_mutex;
	ck_ulong flags;
	void *reserved;
};

/* The head of CK_FUNCTION_LIST, in the standard's order. */
struct ck_function_list_head {
	struct ck_version version;
	ck_rv (*c_initialize)(void *args);
	ck_rv (*c_finalize)(void *reserved);
	ck_rv (*c_get_info)(void *info);
	ck_rv (*c_get_function_list)(void *list);
	ck_rv (*c_get_slot_list)(unsigned char token_present, ck_ulong *slots,
				 ck_ulong *count);
	ck_rv (*c_get_slot_info)(ck_ulong slot, void *info);
	ck_rv (*c_get_token_info)(ck_ulong slot, struct ck_token_info *info);
};

typedef ck_rv (*ck_get_function_list_fn)(struct ck_function_list_head **);

#define CKR_OK 0x0ul
#define CKR_PIN_INCORRECT 0xa0ul
#define CKR_PIN_INVALID 0xa1ul
#define CKR_PIN_LEN_RANGE 0xa2ul
#define CKR_PIN_EXPIRED 0xa3ul
#define CKR_PIN_LOCKED 0xa4ul
#define CKR_CRYPTOKI_ALREADY_INITIALIZED 0x191ul
#define CKF_OS_LOCKING_OK 0x2ul
#define CKF_TOKEN_INITIALIZED 0x400ul

/* ---- State -------------------------------------------------------------- */

struct p11 {
	ENGINE *engine;	 /* structural ref (ENGINE_by_id) */
	int engine_init; /* we hold a functional ref (ENGINE_init) */
	UI_METHOD *ui;	 /* never prompts */
	char *uri;	 /* for the engine: no pin-source/pin-value, no query */
	char *shown;	 /* for messages: as configured */
	char *module;
	char *token;	    /* decoded token= (NULL: any) */
	char *manufacturer; /* decoded manufacturer=, serial=, model= */
	char *serial;
	char *model;
	char *object; /* "object=LABEL" or "id=%01" as written */
	char *pin;    /* NULL: none configured */
	size_t pin_len;
	const char *pin_from; /* where the PIN came from, for messages */
	char *pin_path;
	unsigned char *pub; /* DER SubjectPublicKeyInfo at open */
	int pub_len;
	uint64_t last_try_ns;
	/* Why the last reopen failed, repeated in the 503s until the next. */
	char last_err[sizeof(((struct errd *)0)->msg)];
	int pin_refused; /* never retry a refused PIN: tokens lock */
};

static atomic_int p11_open_count;

static void p11_free(struct p11 *p)
{
	if (!p)
		return;
	if (p->engine_init)
		ENGINE_finish(p->engine);
	ENGINE_free(p->engine);
	UI_destroy_method(p->ui);
	free(p->uri);
	free(p->shown);
	free(p->module);
	free(p->token);
	free(p->manufacturer);
	free(p->serial);
	free(p->model);
	free(p->object);
	secret_free(p->pin, p->pin_len);
	free(p->pin_path);
	OPENSSL_free(p->pub);
	free(p);
}

/* ---- URI (RFC 7512) -------------------------------------------------- */

/* The n bytes at s, %XX decoded (RFC 3986 2.1), as a new string; NULL on a
 * bad escape, an embedded NUL or ENOMEM. */
static char *pct_decode(const char *s, size_t n)
{
	char *out = malloc(n + 1), *o = out;
	size_t i;
	int hi, lo;

	if (!out)
		return NULL;
	for (i = 0; i < n; i++) {
		if (s[i] != '%') {
			*o++ = s[i];
			continue;
		}
		if (i + 2 >= n) {
			free(out);
			return NULL;
		}
		hi = hex_digit((unsigned char)s[i + 1]);
		lo = hex_digit((unsigned char)s[i + 2]);
		if (hi < 0 || lo < 0 || (hi == 0 && lo == 0)) {
			free(out);
			return NULL;
		}
		*o++ = (char)(hi * 16 + lo);
		i += 2;
	}
	*o = '\0';
	return out;
}

/* Appends n bytes of s to the URI being rebuilt in buf (size P11_URI_MAX),
 * with a ';' separator after the first attribute. */
static void uri_append(char *buf, size_t *len, const char *s, size_t n)
{
	if (*len > 7 && *len + 1 < P11_URI_MAX)
		buf[(*len)++] = ';';
	if (*len + n < P11_URI_MAX) {
		memcpy(buf + *len, s, n);
		*len += n;
	}
	buf[*len] = '\0';
}

/* Splits cfg->key into the engine's URI (path attributes only, pin-* and
 * module-* removed), the decoded token attributes, the object for messages
 * and the pin-source path. */
static int parse_uri(struct p11 *p, const char *key, struct errd *e)
{
	char buf[P11_URI_MAX];
	const char *s, *end, *eq;
	size_t len = 7, n, name_len;
	char **dst;
	int rc = 0, in_query = 0;

	if (strlen(key) >= P11_URI_MAX) {
		rc = err_set(e, ERR_CA_INVALID,
			     "ca.key: the pkcs11: URI is longer than %d bytes",
			     P11_URI_MAX - 1);
		goto out;
	}
	memcpy(buf, "pkcs11:", 8);
	for (s = key + 7; *s; s = *end ? end + 1 : end) {
		end = s + strcspn(s, ";?&");
		n = (size_t)(end - s);
		eq = memchr(s, '=', n);
		name_len = eq ? (size_t)(eq - s) : n;
		dst = NULL;
		if (n == 0)
			goto next;
		if (!eq) {
			rc = err_set(e, ERR_CA_INVALID,
				     "ca.key: RFC 7512 attribute '%.*s' has "
				     "no '='",
				     (int)n, s);
			goto out;
		}
		if (name_len == 9 && strncmp(s, "pin-value", 9) == 0) {
			rc = err_set(e, ERR_CA_INVALID,
				     "ca.key: pin-value= would keep the PIN in "
				     "the configuration; put it in a file "
				     "(mode 0600) named by ca.key_pin_file or "
				     "pin-source=file:");
			goto out;
		}
		if (name_len == 10 && strncmp(s, "pin-source", 10) == 0)
			dst = &p->pin_path;
		else if (in_query ||
			 (name_len > 7 && strncmp(s, "module-", 7) == 0))
			goto next; /* the module is ca.pkcs11_module; other
				    * query attributes are not ours */
		else if (name_len == 5 && strncmp(s, "token", 5) == 0)
			dst = &p->token;
		else if (name_len == 12 && strncmp(s, "manufacturer", 12) == 0)
			dst = &p->manufacturer;
		else if (name_len == 6 && strncmp(s, "serial", 6) == 0)
			dst = &p->serial;
		else if (name_len == 5 && strncmp(s, "model", 5) == 0)
			dst = &p->model;
		if ((name_len == 6 && strncmp(s, "object", 6) == 0) ||
		    (name_len == 2 && strncmp(s, "id", 2) == 0)) {
			if (!p->object ||
			    strncmp(p->object, "object=", 7) != 0) {
				free(p->object);
				p->object = strndup(s, n);
				if (!p->object) {
					rc = err_set(e, ERR_NOMEM,
						     "out of memory");
					goto out;
				}
			}
		}
		if (dst) {
			free(*dst);
			*dst = pct_decode(eq + 1, n - name_len - 1);
			if (!*dst) {
				rc = err_set(
				    e, ERR_CA_INVALID,
				    "ca.key: attribute '%.*s' has a bad "
				    "%%XX escape (RFC 3986 2.1)",
				    (int)name_len, s);
				goto out;
			}
		}
		if (dst != &p->pin_path)
			uri_append(buf, &len, s, n);
	next:
		if (*end == '?')
			in_query = 1;
	}
	if (p->pin_path && strncmp(p->pin_path, "file:", 5) == 0)
		memmove(p->pin_path, p->pin_path + 5, strlen(p->pin_path) - 4);
	if (p->pin_path && p->pin_path[0] != '/') {
		rc = err_set(e, ERR_CA_INVALID,
			     "ca.key: pin-source must be file:/absolute/path "
			     "(RFC 7512 2.4)");
		goto out;
	}
	p->uri = strdup(buf);
	p->shown = strdup(key);
	if (!p->uri || !p->shown)
		rc = err_set(e, ERR_NOMEM, "out of memory");
out:
	return rc;
}

/* ---- PIN ------------------------------------------------------------- */

/* The PIN: $CREDENTIALS_DIRECTORY/ca.pin, else ca.key_pin_file, else the
 * URI's pin-source; none is fine for a token without login. */
static int load_pin(struct p11 *p, const struct ca_cfg *cfg, struct errd *e)
{
	const char *dir = getenv("CREDENTIALS_DIRECTORY");
	char cred[4096];
	const char *path = NULL;
	int rc = 0;

	if (dir && dir[0]) {
		snprintf(cred, sizeof(cred), "%s/ca.pin", dir);
		if (access(cred, F_OK) == 0) {
			path = cred;
			p->pin_from = "the ca.pin credential";
		}
	}
	if (!path && cfg->key_pin_file) {
		path = cfg->key_pin_file;
		p->pin_from = "ca.key_pin_file";
	}
	if (!path && p->pin_path) {
		path = p->pin_path;
		p->pin_from = "the URI's pin-source";
	}
	if (!path)
		goto out;
	rc = file_read_secret(path, P11_PIN_MAX, &p->pin, &p->pin_len, e);
	if (rc < 0)
		goto out;
	/* The line an editor or `echo` leaves is not part of the PIN. */
	while (p->pin_len > 0 && (p->pin[p->pin_len - 1] == '\n' ||
				  p->pin[p->pin_len - 1] == '\r'))
		p->pin[--p->pin_len] = '\0';
	if (p->pin_len == 0 || strlen(p->pin) != p->pin_len) {
		rc = err_set(e, ERR_CA_INVALID,
			     "PIN file %s (%s) is empty or holds a NUL byte",
			     path, p->pin_from);
		goto out;
	}
out:
	return rc;
}

/* UI reader that never asks anyone: the engine asks only when no PIN was
 * set, and a daemon has no one to ask (OpenSSL's default UI would open
 * /dev/tty and block). */
static int ui_no_prompt(UI *ui, UI_STRING *uis)
{
	(void)ui;
	(void)uis;
	return 0;
}

/* ---- Diagnosis ------------------------------------------------------- */

/* s (n blank-padded bytes) equals want. */
static int padded_eq(const unsigned char *s, size_t n, const char *want)
{
	size_t w = strlen(want);

	while (n > 0 && s[n - 1] == ' ')
		n--;
	return n == w && memcmp(s, want, n) == 0;
}

enum probe {
	PROBE_TOKEN_FOUND,
	PROBE_NO_TOKEN,
	PROBE_NO_MODULE,
};

/* Is a token matching the URI present in the module? Loads the module
 * beside the engine (dlopen shares it) to ask C_GetSlotList/C_GetTokenInfo;
 * finalises it again only when the engine had not initialised it. */
static enum probe probe_token(const struct p11 *p, char *why, size_t why_len)
{
	struct ck_c_initialize_args args;
	struct ck_function_list_head *f = NULL;
	struct ck_token_info ti;
	ck_get_function_list_fn get;
	ck_ulong slots[P11_SLOTS_MAX], n = P11_SLOTS_MAX, i;
	enum probe res = PROBE_NO_TOKEN;
	void *h;
	ck_rv rv;
	int we_init = 0;

	why[0] = '\0';
	h = dlopen(p->module, RTLD_NOW | RTLD_LOCAL);
	if (!h) {
		snprintf(why, why_len, "%s", dlerror());
		res = PROBE_NO_MODULE;
		goto out;
	}
	get = (ck_get_function_list_fn)dlsym(h, "C_GetFunctionList");
	if (!get || get(&f) != CKR_OK || !f) {
		snprintf(why, why_len, "not a PKCS#11 module");
		res = PROBE_NO_MODULE;
		goto out;
	}
	memset(&args, 0, sizeof(args));
	args.flags = CKF_OS_LOCKING_OK;
	rv = f->c_initialize(&args);
	if (rv == CKR_OK)
		we_init = 1;
	else if (rv != CKR_CRYPTOKI_ALREADY_INITIALIZED) {
		snprintf(why, why_len, " (C_Initialize: CKR 0x%lx)", rv);
		goto out;
	}
	rv = f->c_get_slot_list(1, slots, &n);
	if (rv != CKR_OK) {
		snprintf(why, why_len, " (C_GetSlotList: CKR 0x%lx)", rv);
		goto out;
	}
	for (i = 0; i < n && i < P11_SLOTS_MAX; i++) {
		if (f->c_get_token_info(slots[i], &ti) != CKR_OK ||
		    !(ti.flags & CKF_TOKEN_INITIALIZED))
			continue;
		if ((!p->token || padded_eq(ti.label, 32, p->token)) &&
		    (!p->manufacturer ||
		     padded_eq(ti.manufacturer_id, 32, p->manufacturer)) &&
		    (!p->serial ||
		     padded_eq(ti.serial_number, 16, p->serial)) &&
		    (!p->model || padded_eq(ti.model, 16, p->model))) {
			res = PROBE_TOKEN_FOUND;
			break;
		}
	}
out:
	if (we_init)
		f->c_finalize(NULL);
	if (h)
		dlclose(h);
	return res;
}

/* The CKR code of the first PKCS#11 error libp11 queued (its library
 * "PKCS#11 module" uses the CKR value as reason), else 0; *ui set when the
 * UI failed (a PIN was needed and none configured). Clears the queue. */
static unsigned long queued_ckr(int *ui)
{
	const char *lib;
	unsigned long err, ckr = 0;

	*ui = 0;
	while ((err = ERR_get_error()) != 0) {
		lib = ERR_lib_error_string(err);
		if (ERR_GET_LIB(err) == ERR_LIB_UI)
			*ui = 1;
		else if (!ckr && lib && strcmp(lib, "PKCS#11 module") == 0)
			ckr = (unsigned long)ERR_GET_REASON(err);
	}
	return ckr;
}

/* The token's name for messages. */
static const char *token_name(const struct p11 *p)
{
	return p->token ? p->token : "(the first token)";
}

/* After ENGINE_load_private_key failed: says which start-up check failed
 * and how to fix it. Returns -code. */
static int explain_load(struct p11 *p, int code, struct errd *e)
{
	char why[256];
	unsigned long ckr;
	int ui;

	ckr = queued_ckr(&ui);
	if (ckr >= CKR_PIN_INCORRECT && ckr <= CKR_PIN_LOCKED) {
		p->pin_refused = 1;
		return err_set(
		    e, code, "PIN refused by token %s: check %s (%s)",
		    token_name(p),
		    p->pin_from ? p->pin_from : "ca.key_pin_file",
		    ckr == CKR_PIN_INCORRECT ? "PIN incorrect"
		    : ckr == CKR_PIN_LOCKED  ? "PIN locked: unblock it "
					       "with the SO PIN"
		    : ckr == CKR_PIN_EXPIRED ? "PIN expired"
					     : "PIN invalid or of a length "
					       "the token refuses");
	}
	if (ui && !p->pin)
		return err_set(e, code,
			       "token %s needs a PIN: set ca.key_pin_file (a "
			       "file of mode 0600), pin-source=file: in the "
			       "URI, or the ca.pin credential",
			       token_name(p));
	switch (probe_token(p, why, sizeof(why))) {
	case PROBE_NO_MODULE:
		return err_set(e, code,
			       "cannot load PKCS#11 module %s: %s: check "
			       "ca.pkcs11_module",
			       p->module, why);
	case PROBE_NO_TOKEN:
		return err_set(e, code,
			       "no token matching 'token=%s' in module %s: "
			       "check the URI's token= label and that the HSM "
			       "is plugged in%s",
			       p->token ? p->token : "", p->module, why);
	case PROBE_TOKEN_FOUND:
		break;
	}
	if (ckr)
		return err_set(e, code,
			       "token %s refused to load the key %s "
			       "(CKR 0x%lx)",
			       token_name(p), p->object ? p->object : "", ckr);
	return err_set(e, code,
		       "no private key '%s' on token %s: list keys with "
		       "pkcs11-tool --module %s --token-label '%s' --login -O",
		       p->object ? p->object : "(any)", token_name(p),
		       p->module, p->token ? p->token : "");
}

/* ---- Engine ---------------------------------------------------------- */

/* The engine with our controls, initialised (functional reference). */
static int engine_start(struct p11 *p, int code, struct errd *e)
{
	int rc = 0;

	if (!p->engine) {
		p->engine = ENGINE_by_id("pkcs11");
		if (!p->engine) {
			ERR_clear_error();
			rc = err_set(e, code,
				     "OpenSSL's pkcs11 engine is not installed "
				     "(Debian: apt install "
				     "libengine-pkcs11-openssl)");
			goto out;
		}
		/* Before ENGINE_init: the module, no chatter on stderr
		 * (our messages say what failed), our UI. */
		if (!ENGINE_ctrl_cmd_string(p->engine, "MODULE_PATH", p->module,
					    0) ||
		    !ENGINE_ctrl_cmd_string(p->engine, "QUIET", NULL, 0) ||
		    !ENGINE_ctrl_cmd(p->engine, "SET_USER_INTERFACE", 0, p->ui,
				     NULL, 0)) {
			rc = err_set(e, code,
				     "the pkcs11 engine refused its settings");
			err_add_openssl(e);
			goto out;
		}
	}
	if (!p->engine_init) {
		if (!ENGINE_init(p->engine)) {
			rc = err_set(e, code,
				     "cannot initialise the pkcs11 engine");
			err_add_openssl(e);
			goto out;
		}
		p->engine_init = 1;
	}
out:
	return rc;
}

/* Loads the key (engine started). 0 with *out, or -code with e says why. */
static int load_key(struct p11 *p, int code, EVP_PKEY **out, struct errd *e)
{
	EVP_PKEY *k;
	int rc = 0;

	*out = NULL;
	ERR_clear_error();
	/* Set every time: libp11 forgets the PIN after a failed login. */
	if (p->pin && !ENGINE_ctrl_cmd_string(p->engine, "PIN", p->pin, 0)) {
		rc = err_set(e, code,
			     "the pkcs11 engine refused the PIN "
			     "control");
		ERR_clear_error();
		goto out;
	}
	k = ENGINE_load_private_key(p->engine, p->uri, p->ui, NULL);
	if (!k) {
		rc = explain_load(p, code, e);
		goto out;
	}
	/* Trap: libp11 caches this EVP_PKEY and binds it to the engine
	 * (EVP_PKEY_set1_engine: a functional reference that its own cache
	 * holds forever), so ENGINE_finish would never reach libp11's finish
	 * and a broken module could never be re-initialised. The key signs
	 * through its RSA/EC_KEY methods, not the engine's pkey methods, for
	 * the PKCS#1 v1.5 and ECDSA signatures a CA makes. */
	EVP_PKEY_set1_engine(k, NULL);
	ERR_clear_error();
	*out = k;
out:
	return rc;
}

/* ---- Signer hooks ---------------------------------------------------- */

static int p11_reopen(struct signer *s, struct errd *e)
{
	struct p11 *p = s->impl;
	unsigned char *der = NULL;
	EVP_PKEY *k = NULL;
	uint64_t now = now_ns();
	int rc, len, tried = 0;

	if (p->pin_refused) {
		rc = err_set(e, ERR_SIGNER_UNAVAILABLE,
			     "PIN refused by token %s: not retrying (a token "
			     "locks after a few wrong PINs); fix %s and "
			     "restart thingcad",
			     token_name(p),
			     p->pin_from ? p->pin_from : "ca.key_pin_file");
		goto out;
	}
	if (p->last_try_ns && now - p->last_try_ns < P11_REOPEN_INTERVAL_NS) {
		rc = err_set(e, ERR_SIGNER_UNAVAILABLE,
			     "%s (reconnecting at most once a second)",
			     p->last_err[0] ? p->last_err
					    : "the token is unavailable");
		goto out;
	}
	p->last_try_ns = now;
	tried = 1;
	/* Drop the key before the engine: finishing the engine frees the
	 * libp11 objects behind it. Then finish + init re-initialises the
	 * PKCS#11 module: a token that went away (SoftHSM2's token directory,
	 * a pulled smart card) leaves the module unusable until then. */
	EVP_PKEY_free(s->key);
	s->key = NULL;
	if (p->engine_init) {
		ENGINE_finish(p->engine);
		p->engine_init = 0;
	}
	rc = engine_start(p, ERR_SIGNER_UNAVAILABLE, e);
	if (rc == 0)
		rc = load_key(p, ERR_SIGNER_UNAVAILABLE, &k, e);
	if (rc < 0)
		goto out;
	len = i2d_PUBKEY(k, &der);
	if (len <= 0 || len != p->pub_len ||
	    memcmp(der, p->pub, (size_t)len) != 0) {
		rc = err_set(e, ERR_SIGNER_UNAVAILABLE,
			     "the key now at %s on token %s is not the one "
			     "thingcad started with (key in the token does "
			     "not match ca.certificate)",
			     p->object ? p->object : "(any)", token_name(p));
		ERR_clear_error();
		goto out;
	}
	s->key = k;
	k = NULL;
	p->last_err[0] = '\0';
out:
	if (rc < 0 && e && tried)
		memcpy(p->last_err, e->msg, sizeof(p->last_err));
	OPENSSL_free(der);
	EVP_PKEY_free(k);
	return rc;
}

static void p11_close(struct signer *s)
{
	EVP_PKEY_free(s->key);
	s->key = NULL;
	p11_free(s->impl);
	s->impl = NULL;
	atomic_fetch_sub(&p11_open_count, 1);
}

int p11_signer_open(const struct ca_cfg *cfg, struct signer *s, struct errd *e)
{
	struct p11 *p = NULL;
	EVP_PKEY *k = NULL;
	int rc, counted = 0;

	memset(s, 0, sizeof(*s));
	if (atomic_fetch_add(&p11_open_count, 1) != 0) {
		counted = 1;
		rc = err_set(e, ERR_CA_INVALID,
			     "a PKCS#11 CA key is already open in this "
			     "process (one per process)");
		goto out;
	}
	counted = 1;
	p = calloc(1, sizeof(*p));
	if (!p) {
		rc = err_set(e, ERR_NOMEM, "out of memory");
		goto out;
	}
	if (!cfg->key || strncmp(cfg->key, "pkcs11:", 7) != 0) {
		rc = err_set(e, ERR_CA_INVALID, "ca.key is not a pkcs11: URI");
		goto out;
	}
	if (!cfg->pkcs11_module) {
		rc = err_set(e, ERR_CA_INVALID,
			     "ca.key is a pkcs11: URI but ca.pkcs11_module is "
			     "not set: name the token's PKCS#11 module, e.g. "
			     "/usr/lib/softhsm/libsofthsm2.so");
		goto out;
	}
	p->module = strdup(cfg->pkcs11_module);
	p->ui = UI_create_method("thingca: no PIN prompts");
	if (!p->module || !p->ui ||
	    UI_method_set_reader(p->ui, ui_no_prompt) != 0) {
		rc = err_set(e, ERR_NOMEM, "out of memory");
		goto out;
	}
	if (strchr(p->module, '/') && access(p->module, R_OK) != 0) {
		rc = err_set(e, ERR_CA_INVALID,
			     "PKCS#11 module %s (ca.pkcs11_module) not found: "
			     "install it or fix the path",
			     p->module);
		goto out;
	}
	rc = parse_uri(p, cfg->key, e);
	if (rc == 0)
		rc = load_pin(p, cfg, e);
	if (rc == 0)
		rc = engine_start(p, ERR_CA_INVALID, e);
	if (rc == 0)
		rc = load_key(p, ERR_CA_INVALID, &k, e);
	if (rc < 0)
		goto out;
	p->pub_len = i2d_PUBKEY(k, &p->pub);
	if (p->pub_len <= 0) {
		rc = err_set(e, ERR_CA_INVALID,
			     "the key at %s comes without its public half: "
			     "give the private and public key objects one "
			     "CKA_ID (pkcs11-tool --keypairgen --id 01 ...)",
			     p->shown);
		err_add_openssl(e);
		goto out;
	}
	s->key = k;
	k = NULL;
	s->impl = p;
	p = NULL;
	s->reopen = p11_reopen;
	s->close = p11_close;
	counted = 0; /* p11_close gives it back */
out:
	EVP_PKEY_free(k);
	p11_free(p);
	if (counted)
		atomic_fetch_sub(&p11_open_count, 1);
	return rc;
}
