/*
 * t-util — hex, SHA-256 (FIPS 180-2 test vectors), RFC 3339 formatting and
 * parsing (offsets, fractions, hostile strings), secret-file permission
 * checks, atomic/exclusive file writes and JSON string quoting.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>

#include "tap.h"
#include "util.h"

static void test_hex(void)
{
	const unsigned char in[] = {0x00, 0x01, 0x7f, 0x80, 0xab, 0xff};
	unsigned char back[sizeof(in)];
	char hex[2 * sizeof(in) + 1];

	hex_encode(in, sizeof(in), hex);
	is_str(hex, "00017f80abff", "hex_encode");
	is_int(hex_decode(hex, back, sizeof(back)), 0, "hex_decode ok");
	ok(memcmp(in, back, sizeof(in)) == 0, "hex round trip");
	is_int(hex_decode("00017F80ABFF", back, sizeof(back)), 0,
	       "hex_decode accepts uppercase");
	ok(memcmp(in, back, sizeof(in)) == 0, "uppercase decodes the same");
	is_int(hex_decode("00017f80abf", back, sizeof(back)),
	       -ERR_MALFORMED_REQUEST, "short hex refused");
	is_int(hex_decode("00017f80abff00", back, sizeof(back)),
	       -ERR_MALFORMED_REQUEST, "long hex refused");
	is_int(hex_decode("00017f80abfg", back, sizeof(back)),
	       -ERR_MALFORMED_REQUEST, "non-hex char refused");
	is_int(hex_decode(" 0017f80abff", back, sizeof(back)),
	       -ERR_MALFORMED_REQUEST, "space refused");
	hex_encode(in, 0, hex);
	is_str(hex, "", "empty hex_encode");
}

static void test_sha256(void)
{
	char hex[65];
	unsigned char md[32];

	/* FIPS 180-2 appendix B.1 and B.2. */
	sha256_hex("abc", 3, hex);
	is_str(
	    hex,
	    "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
	    "sha256(abc)");
	sha256_hex("", 0, hex);
	is_str(
	    hex,
	    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
	    "sha256(empty)");
	sha256_hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
		   56, hex);
	is_str(
	    hex,
	    "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1",
	    "sha256(448-bit message)");
	sha256("abc", 3, md);
	is_int(md[0], 0xba, "sha256 raw first byte");
	is_int(md[31], 0xad, "sha256 raw last byte");
}

static void parse_is(const char *s, long long want, const char *name)
{
	time_t t = 0;
	int rc = time_parse_rfc3339(s, &t);

	is_int(rc, 0, "parse %s: rc", name);
	is_int(t, want, "parse %s (%s): time", name, s);
}

static void parse_bad(const char *s)
{
	time_t t = 12345;

	is_int(time_parse_rfc3339(s, &t), -ERR_MALFORMED_REQUEST, "refuse '%s'",
	       s ? s : "(null)");
	is_int(t, 12345, "refused '%s' leaves output alone", s ? s : "(null)");
}

static void test_time(void)
{
	static const char *bad[] = {
	    "",
	    "2036-11-28",
	    "2036-11-28T14:00:00",   /* no offset */
	    "2036-11-28 14:00:00Z",  /* space instead of T */
	    "2036-11-28T14:00Z",     /* no seconds */
	    "2036-13-01T00:00:00Z",  /* month 13 */
	    "2036-00-01T00:00:00Z",  /* month 0 */
	    "2036-02-30T00:00:00Z",  /* Feb 30 */
	    "2035-02-29T00:00:00Z",  /* not a leap year */
	    "2100-02-29T00:00:00Z",  /* century, not leap */
	    "2036-11-28T24:00:00Z",  /* hour 24 */
	    "2036-11-28T14:60:00Z",  /* minute 60 */
	    "2036-11-28T14:00:61Z",  /* second 61 */
	    "2036-11-28T14:00:00.Z", /* empty fraction */
	    "2036-11-28T14:00:00+0900",
	    "2036-11-28T14:00:00+09",
	    "2036-11-28T14:00:00+24:00",
	    "2036-11-28T14:00:00Zjunk",
	    "2036-11-28T14:00:00ZZ",
	    "+036-11-28T14:00:00Z",
	    "2036-1-28T14:00:00Z",
	    "20361128T140000Z",
	};
	char buf[21];
	time_t t;
	size_t i;

	time_rfc3339(0, buf);
	is_str(buf, "1970-01-01T00:00:00Z", "epoch formats");
	time_rfc3339(2111493600, buf);
	is_str(buf, "2036-11-28T14:00:00Z", "2036 formats");
	time_rfc3339(951782400, buf);
	is_str(buf, "2000-02-29T00:00:00Z", "leap day formats");

	parse_is("2036-11-28T14:00:00Z", 2111493600LL, "Z");
	parse_is("2036-11-28t14:00:00z", 2111493600LL, "lowercase t/z");
	parse_is("2036-11-28T23:00:00+09:00", 2111493600LL, "+09:00");
	parse_is("2036-11-28T08:30:00-05:30", 2111493600LL, "-05:30");
	parse_is("2036-11-28T14:00:00.123456Z", 2111493600LL, "fraction");
	parse_is("2036-11-28T14:00:00.5+00:00", 2111493600LL,
		 "fraction and +00:00");
	parse_is("2000-02-29T00:00:00Z", 951782400LL, "leap day");
	parse_is("1970-01-01T00:00:00Z", 0, "epoch");
	parse_is("1969-12-31T23:59:59Z", -1, "one second before epoch");
	parse_is("1970-01-01T08:59:59+09:00", -1, "before epoch via offset");

	/* Round trip over a spread of times. */
	for (t = 0; t < 4102444800LL; t += 86400 * 367 + 3671) {
		time_t back = -1;

		time_rfc3339(t, buf);
		if (time_parse_rfc3339(buf, &back) != 0 || back != t) {
			ok(0, "round trip %lld (%s -> %lld)", (long long)t, buf,
			   (long long)back);
			break;
		}
	}
	ok(t >= 4102444800LL, "format/parse round trip 1970..2100");

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		parse_bad(bad[i]);
	parse_bad(NULL);
}

/* A temp file with the given content and mode; path into tmpl. */
static int make_file(char *tmpl, const char *content, mode_t mode)
{
	int fd = mkstemp(tmpl);

	if (fd < 0)
		return -1;
	if (write(fd, content, strlen(content)) != (ssize_t)strlen(content) ||
	    fchmod(fd, mode) != 0) {
		close(fd);
		return -1;
	}
	close(fd);
	return 0;
}

static void test_files(void)
{
	char p1[] = "/tmp/t-util-secret-XXXXXX";
	char dir[] = "/tmp/t-util-dir-XXXXXX";
	char path[256], *buf = NULL;
	struct errd e;
	struct stat st;
	size_t len = 0;
	int rc;

	ok(make_file(p1, "s3cret\n", 0644) == 0, "made %s", p1);
	err_clear(&e);
	rc = file_read_secret(p1, 4096, &buf, &len, &e);
	is_int(rc, -ERR_CA_INVALID, "0644 secret refused");
	ok(buf == NULL, "no buffer on refusal");
	ok(strstr(e.msg, "0644") && strstr(e.msg, "chmod 600") &&
	       strstr(e.msg, p1),
	   "message names mode, path and chmod 600 (got '%s')", e.msg);

	chmod(p1, 0640);
	is_int(file_read_secret(p1, 4096, &buf, &len, &e), -ERR_CA_INVALID,
	       "0640 secret refused");
	chmod(p1, 0604);
	is_int(file_read_secret(p1, 4096, &buf, &len, &e), -ERR_CA_INVALID,
	       "0604 secret refused");

	chmod(p1, 0600);
	rc = file_read_secret(p1, 4096, &buf, &len, &e);
	is_int(rc, 0, "0600 secret accepted (%s)", rc ? e.msg : "");
	is_str(buf, "s3cret\n", "secret content");
	is_int(len, 7, "secret length");
	secret_free(buf, len);
	buf = NULL;
	secret_free(NULL, 0);

	chmod(p1, 0400);
	rc = file_read_secret(p1, 4096, &buf, &len, &e);
	is_int(rc, 0, "0400 secret accepted");
	secret_free(buf, len);
	buf = NULL;

	chmod(p1, 0644);
	rc = file_read(p1, 4096, &buf, &len, &e);
	is_int(rc, 0, "file_read does not care about mode");
	free(buf);
	buf = NULL;

	rc = file_read(p1, 6, &buf, &len, &e);
	is_int(rc, -ERR_IO, "file over max_len refused");
	ok(buf == NULL, "no buffer when too large");
	rc = file_read(p1, 7, &buf, &len, &e);
	is_int(rc, 0, "file of exactly max_len accepted");
	free(buf);
	buf = NULL;
	unlink(p1);

	err_clear(&e);
	rc = file_read("/nonexistent/t-util", 4096, &buf, &len, &e);
	is_int(rc, -ERR_IO, "missing file is -ERR_IO");
	ok(strstr(e.msg, "/nonexistent/t-util") != NULL,
	   "message names the path (got '%s')", e.msg);
	is_int(file_read("/tmp", 4096, &buf, &len, &e), -ERR_IO,
	       "directory refused");

	/* file_write */
	if (mkdtemp(dir) == NULL) {
		ok(0, "mkdtemp");
		return;
	}
	snprintf(path, sizeof(path), "%s/out", dir);
	rc = file_write(path, "one", 3, 0600, 1, &e);
	is_int(rc, 0, "excl write to a new path (%s)", rc ? e.msg : "");
	ok(stat(path, &st) == 0 && (st.st_mode & 07777) == 0600,
	   "mode 0600 (got %04o)", (unsigned)(st.st_mode & 07777));
	err_clear(&e);
	rc = file_write(path, "two", 3, 0600, 1, &e);
	is_int(rc, -ERR_IO, "excl write refuses an existing path");
	ok(strstr(e.msg, path) != NULL, "message names the path (got '%s')",
	   e.msg);
	rc = file_read(path, 100, &buf, &len, &e);
	is_str(rc == 0 ? buf : NULL, "one", "existing file untouched");
	free(buf);
	buf = NULL;
	rc = file_write(path, "three", 5, 0644, 0, &e);
	is_int(rc, 0, "non-excl write replaces");
	rc = file_read(path, 100, &buf, &len, &e);
	is_str(rc == 0 ? buf : NULL, "three", "replaced content");
	free(buf);
	buf = NULL;
	ok(stat(path, &st) == 0 && (st.st_mode & 07777) == 0644,
	   "mode 0644 (got %04o)", (unsigned)(st.st_mode & 07777));
	unlink(path);
	/* Nothing but nothing left behind: rmdir fails on leftover tmp files.
	 */
	is_int(rmdir(dir), 0, "no temporary files left behind");

	snprintf(path, sizeof(path), "/nonexistent-dir/t-util/out");
	is_int(file_write(path, "x", 1, 0600, 0, &e), -ERR_IO,
	       "write into a missing directory fails");
}

/* json_quote: exact escapes, and what jansson parses back is the input. */
static void test_json_quote(void)
{
	static const char *const in[] = {"SN-0001",
					 "a\"b\\c",
					 "-----BEGIN X-----\nAB/+=\n",
					 "\x01\x1f\x7f tab\t",
					 "caf\xc3\xa9",
					 ""};
	char out[256], *end;
	json_t *j;
	size_t i;

	end = json_quote(out, "a\"\\\n\x01\t\x7f", 7);
	*end = '\0';
	is_str(out, "\"a\\\"\\\\\\n\\u0001\\t\\u007f\"",
	       "json_quote escapes as jq -c");
	ok(json_quote(out, "a\xff", 2) == NULL, "json_quote refuses bad UTF-8");
	ok(json_quote(out, "\xc3", 1) == NULL,
	   "json_quote refuses a truncated sequence");
	ok(json_quote(out, "\xed\xa0\x80", 3) == NULL,
	   "json_quote refuses a surrogate");
	for (i = 0; i < sizeof(in) / sizeof(in[0]); i++) {
		end = json_quote(out, in[i], strlen(in[i]));
		ok((size_t)(end - out) <= json_quoted_max(strlen(in[i])),
		   "json_quote %zu within json_quoted_max", i);
		j = json_loadb(out, (size_t)(end - out), JSON_DECODE_ANY, NULL);
		ok(j && json_is_string(j) &&
		       strcmp(json_string_value(j), in[i]) == 0,
		   "json_quote %zu parses back to its input", i);
		json_decref(j);
	}
}

/* Ledger filter times: from 1970 on only (year 999 would compare after
 * 2026 in the stored text form). */
static void test_time_filter(void)
{
	struct errd e = {0};
	char norm[21];

	is_int(
	    time_parse_filter("2026-12-07T10:00:00+09:00", "since", norm, &e),
	    0, "filter time with offset");
	is_str(norm, "2026-12-07T01:00:00Z",
	       "... normalised to the stored form");
	is_int(time_parse_filter("1970-01-01T00:00:00Z", "since", norm, &e), 0,
	       "1970-01-01T00:00:00Z is accepted");
	is_int(time_parse_filter("0999-01-01T00:00:00Z", "until", norm, &e),
	       -ERR_MALFORMED_REQUEST, "year 999 refused");
	ok(strstr(e.msg, "until must be 1970-01-01T00:00:00Z or later") != NULL,
	   "... naming the filter: %s", e.msg);
	is_int(time_parse_filter("1969-12-31T23:59:59Z", "since", norm, &e),
	       -ERR_MALFORMED_REQUEST, "1969 refused");
	is_int(
	    time_parse_filter("1970-01-01T00:30:00+01:00", "since", norm, &e),
	    -ERR_MALFORMED_REQUEST, "1970 local time that is 1969 UTC refused");
	is_int(time_parse_filter("yesterday", "since", norm, &e),
	       -ERR_MALFORMED_REQUEST, "not RFC 3339 refused");
}

/* Revocation reasons: RFC 5280 5.3.1 names, any case, canonical out. */
static void test_reasons(void)
{
	struct errd e = {0};
	const char *c = NULL;

	is_int(revocation_reason("KEYCOMPROMISE", &c, &e), 1,
	       "keyCompromise in any case, code 1");
	is_str(c, "keyCompromise", "... stored as the RFC spells it");
	is_int(revocation_reason("superseded", &c, &e), 4, "superseded, 4");
	is_int(revocation_reason("cessationofoperation", &c, &e), 5,
	       "cessationOfOperation, 5");
	is_str(c, "cessationOfOperation", "... canonical");
	is_int(revocation_reason("aACompromise", &c, &e), 10,
	       "aACompromise, 10");
	is_int(revocation_reason("Unspecified", &c, &e), 0, "unspecified, 0");
	is_int(revocation_reason("keyCompromize", &c, &e),
	       -ERR_MALFORMED_REQUEST, "a typo is refused");
	ok(strstr(e.msg, "RFC 5280 5.3.1") != NULL, "... citing RFC 5280: %s",
	   e.msg);
	is_int(revocation_reason("certificateHold", &c, &e),
	       -ERR_MALFORMED_REQUEST, "certificateHold refused (final)");
	is_int(revocation_reason("removeFromCRL", &c, &e),
	       -ERR_MALFORMED_REQUEST, "removeFromCRL refused");
	is_int(revocation_reason("", &c, &e), -ERR_MALFORMED_REQUEST,
	       "empty refused");
	is_int(crl_reason_code("certificatehold"), 6,
	       "an old certificateHold entry keeps its code in the CRL");
	is_int(crl_reason_code("stolen"), -1, "free text has no code");
}

/* Text from the network for a terminal: no control characters. */
static void test_printable(void)
{
	char out[8];

	is_str(str_printable("a\033[2Jb", out, sizeof(out)), "a?[2Jb",
	       "ESC replaced");
	is_str(str_printable("\a\r\n\x7f\xc2\x9b", out, sizeof(out)), "??????",
	       "BEL CR LF DEL and UTF-8 C1 CSI replaced");
	is_str(str_printable("0123456789", out, sizeof(out)), "0123456",
	       "truncated to the buffer");
	is_str(str_printable(NULL, out, sizeof(out)), "", "NULL is empty");
}

/* The directory of a path, both forms: the config's base directory, the
 * ledger's directory that is checked and fsynced. */
static void test_path_dir(void)
{
	static const char *const cases[][2] = {
	    {"ledger.db", "."}, {"/ledger.db", "/"}, {"a/b/c.db", "a/b"},
	    {"/a/b", "/a"},	{"", "."},	     {"a/", "a"},
	};
	char buf[16];
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *d = path_dir(cases[i][0]);

		is_str(d, cases[i][1], "path_dir(\"%s\")", cases[i][0]);
		free(d);
		path_dir_into(cases[i][0], buf, sizeof(buf));
		is_str(buf, cases[i][1], "path_dir_into(\"%s\")", cases[i][0]);
	}
	path_dir_into("/very/long/directory/x", buf, 8);
	is_str(buf, "/very/l", "path_dir_into truncates to fit");
}

/* The one UTF-8 check: what x509_name_add counts for RFC 5280 bounds. */
static void test_utf8_chars(void)
{
	is_int(utf8_chars("h\xc3\xa9llo", 6), 5, "two-byte form counts once");
	is_int(utf8_chars("\xf0\x9f\x98\x80", 4), 1, "four-byte form");
	is_int(utf8_chars("", 0), 0, "empty");
	is_int(utf8_chars("\xc0\x80", 2), -1, "overlong NUL refused");
	is_int(utf8_chars("\xe0\x80\xaf", 3), -1, "overlong '/' refused");
	is_int(utf8_chars("\xed\xa0\x80", 3), -1, "surrogate refused");
	is_int(utf8_chars("\xf4\x90\x80\x80", 4), -1, "above U+10FFFF refused");
	is_int(utf8_chars("\xe2\x82", 2), -1, "truncated sequence refused");
	is_int(utf8_chars("a\0b", 3), -1, "NUL refused");
}

/* The one growable buffer (HTTP bodies, canonical entries, enroll). */
static void test_buf_reserve(void)
{
	char *p = NULL;
	size_t cap = 0, i;
	int fails = 0;

	is_int(buf_reserve(&p, &cap, 1), 0, "first reserve");
	is_int((long long)cap, 1024, "starts at 1024");
	is_int(buf_reserve(&p, &cap, 1024), 0, "within capacity");
	is_int((long long)cap, 1024, "no growth within capacity");
	is_int(buf_reserve(&p, &cap, 1025), 0, "beyond capacity");
	is_int((long long)cap, 2048, "doubles");
	for (i = 0; i < 3000; i++)
		p[i % 2048] = 'x';
	is_int(buf_reserve(&p, &cap, 5000), 0, "several doublings");
	is_int((long long)cap, 8192, "to the next power of two");
	fails = buf_reserve(&p, &cap, SIZE_MAX) != -ERR_NOMEM;
	ok(!fails && cap == 8192,
	   "an impossible size is -ERR_NOMEM, buffer kept");
	free(p);
}

int main(void)
{
	uint64_t a, b;

	test_hex();
	test_sha256();
	test_time();
	test_files();
	test_json_quote();
	test_time_filter();
	test_reasons();
	test_printable();

	is_int(ct_equal("abcd", "abcd", 4), 1, "ct_equal equal");
	is_int(ct_equal("abcd", "abce", 4), 0, "ct_equal differs at end");
	is_int(ct_equal("xbcd", "abcd", 4), 0, "ct_equal differs at start");
	a = now_ns();
	b = now_ns();
	ok(a > 0 && b >= a, "now_ns monotonic");
	test_path_dir();
	test_utf8_chars();
	test_buf_reserve();
	return done_testing();
}
