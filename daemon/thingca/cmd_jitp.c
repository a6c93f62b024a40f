/*
 * cmd_jitp — `thingca jitp template|policy|simulate`: the AWS IoT JITP
 * inputs a user otherwise writes by hand (registration config, IoT policy),
 * and an offline check of a registration config against one certificate or
 * every certificate the ledger holds, before a device meets AWS. The work is
 * in jitp.c; this file parses options, prints, and names the next `aws`
 * command to run. See docs/jitp.md.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/pem.h>

#include "cli.h"
#include "jitp.h"
#include "ledger.h"
#include "util.h"
#include "x509.h"

/* A registration config or template file we read: AWS caps the template
 * body at 10240 characters; escaping can double it, a policy document
 * inside more. 1 MiB bounds a wrong file given by mistake. */
#define TEMPLATE_FILE_MAX ((size_t)1024 * 1024)
/* An IoT policy document given with --policy-document: AWS caps policies
 * at 2048 characters (no whitespace); 64 KiB is plenty. */
#define POLICY_FILE_MAX ((size_t)64 * 1024)

/* Each jitp subcommand's usage, for its own --help. */
static const struct {
	const char *sub, *text;
} jitp_usages[] = {
    {"template",
     "usage: thingca [-c FILE] jitp template --role-arn ARN "
     "[--policy-name N | --policy-document FILE]\n"
     "                [--thing-type T] [--group G]... [--attribute K=REF]... "
     "[--out FILE]\n"
     "  the registration config (templateBody + roleArn) for the "
     "configured profile\n"},
    {"policy", "usage: thingca jitp policy --region R --account A "
	       "[--out FILE]\n"
	       "  the IoT policy of the seed workflow\n"},
    {"simulate",
     "usage: thingca [-c FILE] jitp simulate --template FILE (--cert BUNDLE "
     "| --ledger DB)\n"
     "                [--endpoint HOST] [--connect 'COMMAND']\n"
     "  what AWS IoT JITP would do with a certificate, or every reason it "
     "would refuse;\n"
     "  with --cert, the CA AWS IoT must have registered (the device's "
     "issuer);\n"
     "  --endpoint HOST / --connect 'mosquitto_pub ...' warn when the "
     "device would\n"
     "  not send the SNI a CA in SNI_ONLY mode needs (the account's full "
     "ATS endpoint)\n"},
};

/* The usage of one subcommand (sub), or of all three (sub NULL). */
static void usage_jitp_sub(FILE *f, const char *sub)
{
	size_t i, n = sizeof(jitp_usages) / sizeof(jitp_usages[0]);

	for (i = 0; i < n; i++)
		if (sub == NULL || strcmp(sub, jitp_usages[i].sub) == 0)
			fputs(jitp_usages[i].text, f);
	fputs("See docs/jitp.md.\n", f);
}

static void usage_jitp(FILE *f)
{
	usage_jitp_sub(f, NULL);
}

/* Writes text to path (0644) or, when path is NULL, to stdout. */
static int emit(const char *path, json_t *j)
{
	char *text = json_dumps(j, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	struct errd e = {0};
	int rc = CLI_FAIL;
	size_t n;

	if (!text) {
		fprintf(stderr, "thingca: out of memory\n");
		goto out;
	}
	n = strlen(text);
	text[n] = '\n'; /* json_dumps' NUL becomes the final newline */
	if (!path) {
		if (fwrite(text, 1, n + 1, stdout) != n + 1 || fflush(stdout)) {
			fprintf(stderr, "thingca: cannot write output\n");
			goto out;
		}
	} else if (file_write(path, text, n + 1, 0644, 0, &e)) {
		fprintf(stderr, "thingca: %s\n", e.msg);
		goto out;
	}
	rc = CLI_OK;
out:
	free(text);
	return rc;
}

/* The AWS certificate ID of the configured CA, into id[65]; "<CA
 * certificate ID>" when it cannot be read (the hint still helps). */
static void ca_cert_id(const struct config *cfg, char id[65])
{
	char *pem = NULL;
	size_t len = 0;
	X509 *x = NULL;

	snprintf(id, 65, "<CA certificate ID>");
	if (!cfg->ca.certificate ||
	    file_read(cfg->ca.certificate, JITP_BUNDLE_MAX, &pem, &len, NULL))
		goto out;
	if (jitp_read_cert_bundle(pem, len, &x, NULL) == 0)
		x509_certificate_id(x, id);
out:
	X509_free(x);
	free(pem);
}

static int jitp_template(const struct cli *g, int argc, char **argv)
{
	static const struct option opts[] = {
	    {"role-arn", required_argument, NULL, 'r'},
	    {"policy-name", required_argument, NULL, 'p'},
	    {"policy-document", required_argument, NULL, 'd'},
	    {"thing-type", required_argument, NULL, 't'},
	    {"group", required_argument, NULL, 'g'},
	    {"attribute", required_argument, NULL, 'a'},
	    {"out", required_argument, NULL, 'o'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	struct jitp_template_opts o = {0};
	struct jitp_attr *attrs = NULL;
	const char **groups = NULL, *out_path = NULL, *doc_path = NULL;
	struct config *cfg = NULL;
	json_t *reg = NULL;
	struct errd e = {0};
	char *doc = NULL, *eq, id[65];
	size_t n_attrs = 0, n_groups = 0, len;
	int c, rc = CLI_USAGE;

	/* Each option takes one argument: argc bounds both lists. */
	attrs = calloc((size_t)argc + 1, sizeof(*attrs));
	groups = calloc((size_t)argc + 1, sizeof(*groups));
	if (!attrs || !groups) {
		fprintf(stderr, "thingca: out of memory\n");
		rc = CLI_FAIL;
		goto out;
	}
	optind = 0;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'r':
			o.role_arn = optarg;
			break;
		case 'p':
			o.policy_name = optarg;
			break;
		case 'd':
			doc_path = optarg;
			break;
		case 't':
			o.thing_type = optarg;
			break;
		case 'g':
			groups[n_groups++] = optarg;
			break;
		case 'a':
			eq = strchr(optarg, '=');
			if (!eq) {
				fprintf(stderr,
					"thingca: --attribute %s: "
					"expected KEY=REF (e.g. "
					"country=Country)\n",
					optarg);
				goto out;
			}
			*eq = '\0';
			attrs[n_attrs].key = optarg;
			attrs[n_attrs++].ref = eq + 1;
			break;
		case 'o':
			out_path = optarg;
			break;
		case 'h':
			usage_jitp_sub(stdout, "template");
			rc = CLI_OK;
			goto out;
		default:
			usage_jitp_sub(stderr, "template");
			goto out;
		}
	}
	if (optind != argc || !o.role_arn) {
		fprintf(stderr, "thingca: jitp template needs --role-arn "
				"(the IAM role AWS IoT assumes to "
				"provision)\n");
		usage_jitp_sub(stderr, "template");
		goto out;
	}
	rc = CLI_FAIL;
	if (doc_path) {
		if (file_read(doc_path, POLICY_FILE_MAX, &doc, &len, &e)) {
			fprintf(stderr, "thingca: %s\n", e.msg);
			goto out;
		}
		o.policy_document = doc;
	}
	o.attrs = attrs;
	o.n_attrs = n_attrs;
	o.groups = groups;
	o.n_groups = n_groups;
	/* The profile the template follows. */
	cfg = cli_config_or_defaults(g, 1);
	if (!cfg)
		goto out;
	if (jitp_registration_config(&cfg->profile, &o, &reg, &e)) {
		fprintf(stderr, "thingca: %s\n", e.msg);
		goto out;
	}
	rc = emit(out_path, reg);
	if (rc)
		goto out;
	ca_cert_id(cfg, id);
	fprintf(stderr,
		"thingca: attach it to the registered CA with:\n"
		"  aws iot update-ca-certificate --certificate-id %s "
		"--new-auto-registration-status ENABLE "
		"--registration-config file://%s\n"
		"check it first: thingca jitp simulate --template %s "
		"--cert <device bundle>\n",
		id, out_path ? out_path : "registration-config.json",
		out_path ? out_path : "registration-config.json");
out:
	json_decref(reg);
	config_free(cfg);
	free(doc);
	free(attrs);
	free(groups);
	return rc;
}

static int jitp_policy_cmd(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"region", required_argument, NULL, 'r'},
	    {"account", required_argument, NULL, 'a'},
	    {"out", required_argument, NULL, 'o'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	const char *region = NULL, *account = NULL, *out_path = NULL;
	json_t *pol = NULL;
	struct errd e = {0};
	int c, rc = CLI_USAGE;

	optind = 0;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'r':
			region = optarg;
			break;
		case 'a':
			account = optarg;
			break;
		case 'o':
			out_path = optarg;
			break;
		case 'h':
			usage_jitp_sub(stdout, "policy");
			rc = CLI_OK;
			goto out;
		default:
			usage_jitp_sub(stderr, "policy");
			goto out;
		}
	}
	if (optind != argc || !region || !account) {
		fprintf(stderr, "thingca: jitp policy needs --region and "
				"--account\n");
		usage_jitp_sub(stderr, "policy");
		goto out;
	}
	rc = CLI_FAIL;
	if (jitp_policy(region, account, &pol, &e)) {
		fprintf(stderr, "thingca: %s\n", e.msg);
		goto out;
	}
	rc = emit(out_path, pol);
	if (rc)
		goto out;
	fprintf(stderr,
		"thingca: create it once with:\n"
		"  aws iot create-policy --policy-name %s "
		"--policy-document file://%s\n",
		JITP_DEFAULT_POLICY_NAME,
		out_path ? out_path : "jitp-policy.json");
out:
	json_decref(pol);
	return rc;
}

/* Prints each warning of w on stderr. */
static void print_warnings(json_t *w)
{
	json_t *r;
	size_t i;

	json_array_foreach(w, i, r)
	{
		fprintf(stderr, "thingca: warning: %s\n", json_string_value(r));
	}
}

/* Simulates text against one PEM bundle file: the template against the
 * device certificate, and which CA AWS IoT must have registered (the
 * device's issuer, from the bundle). Warnings go to w. */
static int simulate_cert(const char *text, const char *bundle, json_t *w)
{
	json_t *result = NULL, *reasons = NULL, *ca = NULL, *r;
	struct errd e = {0};
	char *pem = NULL;
	size_t len = 0, i;
	X509 *x = NULL;
	int rc = CLI_FAIL, src;

	if (file_read(bundle, JITP_BUNDLE_MAX, &pem, &len, &e) ||
	    jitp_read_cert_bundle(pem, len, &x, &e) ||
	    jitp_bundle_ca(pem, len, &ca, w, &e)) {
		fprintf(stderr, "thingca: %s: %s\n", bundle, e.msg);
		goto out;
	}
	src = jitp_simulate(text, x, &result, &reasons, &e);
	print_warnings(w);
	if (src == -ERR_MALFORMED_REQUEST) {
		fprintf(stderr,
			"thingca: AWS IoT would refuse this "
			"certificate (%zu %s):\n",
			json_array_size(reasons),
			json_array_size(reasons) == 1 ? "reason" : "reasons");
		json_array_foreach(reasons, i, r)
		{
			fprintf(stderr, "%s\n", json_string_value(r));
		}
		goto out;
	}
	if (src) {
		fprintf(stderr, "thingca: %s\n", e.msg);
		goto out;
	}
	if (ca)
		fprintf(stderr,
			"thingca: AWS IoT must have registered CA %s (%s), "
			"the device's issuer%s, with auto-registration and "
			"this template\n",
			json_string_value(json_object_get(ca, "id")),
			json_string_value(json_object_get(ca, "subject")),
			json_is_true(json_object_get(ca, "self_signed"))
			    ? ""
			    : " (not the root above it)");
	if (json_object_set_new(result, "ca", ca ? ca : json_null())) {
		ca = NULL;
		fprintf(stderr, "thingca: out of memory\n");
		goto out;
	}
	ca = NULL;
	rc = emit(NULL, result);
out:
	json_decref(ca);
	json_decref(result);
	json_decref(reasons);
	X509_free(x);
	free(pem);
	return rc;
}

/* Tally of a ledger-wide simulation. */
struct sim_tally {
	const char *text;
	long checked;
	long failed;
	int nomem;
};

static int simulate_entry(void *arg, const struct ledger_entry *en)
{
	struct sim_tally *t = arg;
	const unsigned char *p = en->der;
	json_t *result = NULL, *reasons = NULL, *r;
	X509 *x = NULL;
	size_t i;
	int src;

	t->checked++;
	if (!p || !(x = d2i_X509(NULL, &p, (long)en->der_len))) {
		t->failed++;
		printf("%s serial=%s: certificate DER in the ledger does not "
		       "parse\n",
		       en->certificate_id ? en->certificate_id : "?",
		       en->serial ? en->serial : "?");
		goto out;
	}
	src = jitp_simulate(t->text, x, &result, &reasons, NULL);
	if (src == -ERR_NOMEM) {
		t->nomem = 1;
		goto out;
	}
	if (src) {
		t->failed++;
		printf("%s serial=%s thing=%s\n",
		       en->certificate_id ? en->certificate_id : "?",
		       en->serial ? en->serial : "?",
		       en->thing_name ? en->thing_name : "?");
		json_array_foreach(reasons, i, r)
		{
			printf("  %s\n", json_string_value(r));
		}
	}
out:
	json_decref(result);
	json_decref(reasons);
	X509_free(x);
	return t->nomem;
}

/* Simulates text against every `issued` entry of the ledger, a page at a
 * time. */
static int simulate_ledger(const struct cli *g, const char *text,
			   const char *ledger_opt)
{
	struct ledger_query q = {
	    .event = LEDGER_ISSUED,
	    .limit = LEDGER_PAGE_MAX,
	    .with_der = 1,
	};
	struct sim_tally t = {.text = text};
	struct config *cfg = NULL;
	struct ledger *l = NULL;
	struct errd e = {0};
	const char *path;
	int64_t next = 0;
	int rc = CLI_FAIL, lrc;

	path = cli_ledger_path(g, ledger_opt, &cfg);
	if (!path)
		goto out;
	if (ledger_open(path, LEDGER_RDONLY, &l, &e)) {
		fprintf(stderr, "thingca: %s\n", e.msg);
		goto out;
	}
	do {
		lrc = ledger_list(l, &q, simulate_entry, &t, &next, &e);
		q.after = next;
	} while (lrc == 0 && next);
	if (t.nomem) {
		fprintf(stderr, "thingca: out of memory\n");
		goto out;
	}
	if (lrc) {
		fprintf(stderr, "thingca: %s\n", e.msg);
		goto out;
	}
	printf("%ld %s checked, %ld would fail\n", t.checked,
	       t.checked == 1 ? "certificate" : "certificates", t.failed);
	if (t.failed) {
		fprintf(stderr,
			"thingca: AWS IoT would refuse %ld of %ld "
			"certificates: fix the template (or the "
			"profile) before these devices connect\n",
			t.failed, t.checked);
		goto out;
	}
	rc = CLI_OK;
out:
	ledger_close(l);
	config_free(cfg);
	return rc;
}

static int jitp_simulate_cmd(const struct cli *g, int argc, char **argv)
{
	static const struct option opts[] = {
	    {"template", required_argument, NULL, 't'},
	    {"cert", required_argument, NULL, 'c'},
	    {"ledger", required_argument, NULL, 'l'},
	    {"endpoint", required_argument, NULL, 'e'},
	    {"connect", required_argument, NULL, 'C'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	const char *tpath = NULL, *cert = NULL, *ledger = NULL;
	const char *endpoint = NULL, *connect = NULL;
	json_t *w = json_array();
	struct errd e = {0};
	char *text = NULL;
	size_t len;
	int c, rc = CLI_USAGE;

	optind = 0;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 't':
			tpath = optarg;
			break;
		case 'c':
			cert = optarg;
			break;
		case 'l':
			ledger = optarg;
			break;
		case 'e':
			endpoint = optarg;
			break;
		case 'C':
			connect = optarg;
			break;
		case 'h':
			usage_jitp_sub(stdout, "simulate");
			rc = CLI_OK;
			goto out;
		default:
			usage_jitp_sub(stderr, "simulate");
			goto out;
		}
	}
	if (!w) {
		fprintf(stderr, "thingca: out of memory\n");
		rc = CLI_FAIL;
		goto out;
	}
	if (optind != argc || !tpath || !cert == !ledger) {
		fprintf(stderr, "thingca: jitp simulate needs --template and "
				"one of --cert or --ledger\n");
		usage_jitp_sub(stderr, "simulate");
		goto out;
	}
	rc = CLI_FAIL;
	if (file_read(tpath, TEMPLATE_FILE_MAX, &text, &len, &e)) {
		fprintf(stderr, "thingca: %s\n", e.msg);
		goto out;
	}
	/* How the device reaches AWS: SNI_ONLY needs the SNI. */
	if ((endpoint && jitp_check_endpoint(endpoint, w)) ||
	    (connect && jitp_check_connect(connect, w))) {
		fprintf(stderr, "thingca: out of memory\n");
		goto out;
	}
	if (cert) {
		rc = simulate_cert(text, cert, w);
	} else {
		print_warnings(w);
		rc = simulate_ledger(g, text, ledger);
	}
out:
	json_decref(w);
	free(text);
	return rc;
}

int cmd_jitp(const struct cli *g, int argc, char **argv)
{
	const char *sub = argc > 1 ? argv[1] : NULL;

	if (sub && strcmp(sub, "template") == 0)
		return jitp_template(g, argc - 1, argv + 1);
	if (sub && strcmp(sub, "policy") == 0)
		return jitp_policy_cmd(argc - 1, argv + 1);
	if (sub && strcmp(sub, "simulate") == 0)
		return jitp_simulate_cmd(g, argc - 1, argv + 1);
	if (sub && (strcmp(sub, "--help") == 0 || strcmp(sub, "-h") == 0 ||
		    strcmp(sub, "help") == 0)) {
		usage_jitp(stdout);
		return CLI_OK;
	}
	if (sub)
		fprintf(stderr, "thingca: jitp: unknown subcommand %s\n", sub);
	usage_jitp(stderr);
	return CLI_USAGE;
}
