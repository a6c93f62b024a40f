/*
 * util — the small helpers every module shares: hex, SHA-256, RFC 3339 time,
 * whole-file reads (with a stricter variant for secrets), atomic file
 * writes and constant-time comparison. Nothing here knows about
 * certificates; anything that does belongs in its own module.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "util.h"

/* Largest year time_rfc3339 prints: RFC 3339 5.6 date-fullyear is 4 digits. */
#define UTIL_MAX_YEAR 9999

static const char hex_digits[] = "0123456789abcdef";

/* Lowercase hex of n bytes into out (2n+1 bytes). */
void hex_encode(const unsigned char *in, size_t n, char *out)
{
	size_t i;

	for (i = 0; i < n; i++) {
		out[2 * i] = hex_digits[in[i] >> 4];
		out[2 * i + 1] = hex_digits[in[i] & 0x0f];
	}
	out[2 * n] = '\0';
}

int hex_digit(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Exactly 2n hex chars (then NUL) into out[n]; 0 or -ERR_MALFORMED_REQUEST.
 * out is left untouched on failure. */
int hex_decode(const char *in, unsigned char *out, size_t n)
{
	size_t i;

	for (i = 0; i < 2 * n; i++)
		if (hex_digit(in[i]) < 0)
			return -ERR_MALFORMED_REQUEST;
	if (in[2 * n] != '\0')
		return -ERR_MALFORMED_REQUEST;
	for (i = 0; i < n; i++)
		out[i] = (unsigned char)((unsigned)hex_digit(in[2 * i]) << 4 |
					 (unsigned)hex_digit(in[2 * i + 1]));
	return 0;
}

/* SHA-256 of data into out[32]. EVP_Digest only fails on allocation
 * failure; out is then all zeroes, which matches no real digest. */
void sha256(const void *data, size_t len, unsigned char out[32])
{
	if (EVP_Digest(data, len, out, NULL, EVP_sha256(), NULL) != 1)
		memset(out, 0, 32);
}

/* Lowercase hex SHA-256 into hex[65]. */
void sha256_hex(const void *data, size_t len, char hex[65])
{
	unsigned char md[32];

	sha256(data, len, md);
	hex_encode(md, sizeof(md), hex);
}

/* RFC 3339 UTC into out[21]. Times past year 9999 (or that gmtime cannot
 * represent) print as the last second of 9999 rather than overflow out. */
void time_rfc3339(time_t t, char out[21])
{
	struct tm tm;

	if (gmtime_r(&t, &tm) == NULL || tm.tm_year + 1900 > UTIL_MAX_YEAR ||
	    tm.tm_year + 1900 < 0 ||
	    strftime(out, 21, "%Y-%m-%dT%H:%M:%SZ", &tm) != 20)
		memcpy(out, "9999-12-31T23:59:59Z", 21);
}

/* Reads exactly n decimal digits from *p; -1 when they are not there. */
static int parse_digits(const char **p, int n)
{
	int v = 0, i;

	for (i = 0; i < n; i++) {
		if ((*p)[i] < '0' || (*p)[i] > '9')
			return -1;
		v = v * 10 + ((*p)[i] - '0');
	}
	*p += n;
	return v;
}

static int is_leap(int y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

/* Parses RFC 3339 5.6 date-time: full-date "T" full-time, time-offset "Z"
 * or "+hh:mm"/"-hh:mm", optional fraction (dropped). "t" and "z" are
 * accepted (RFC 3339 5.6 NOTE). 0 or -ERR_MALFORMED_REQUEST. */
int time_parse_rfc3339(const char *s, time_t *out)
{
	static const int mdays[12] = {31, 28, 31, 30, 31, 30,
				      31, 31, 30, 31, 30, 31};
	const char *p = s;
	struct tm tm;
	int y, mo, d, h, mi, sec, oh = 0, om = 0, sign = 0, dim;
	time_t t;

	if (s == NULL)
		return -ERR_MALFORMED_REQUEST;
	memset(&tm, 0, sizeof(tm));
	if ((y = parse_digits(&p, 4)) < 0 || *p++ != '-' ||
	    (mo = parse_digits(&p, 2)) < 0 || *p++ != '-' ||
	    (d = parse_digits(&p, 2)) < 0 || (*p != 'T' && *p != 't'))
		return -ERR_MALFORMED_REQUEST;
	p++;
	if ((h = parse_digits(&p, 2)) < 0 || *p++ != ':' ||
	    (mi = parse_digits(&p, 2)) < 0 || *p++ != ':' ||
	    (sec = parse_digits(&p, 2)) < 0)
		return -ERR_MALFORMED_REQUEST;
	if (*p == '.') {
		p++;
		if (*p < '0' || *p > '9')
			return -ERR_MALFORMED_REQUEST;
		while (*p >= '0' && *p <= '9')
			p++;
	}
	if (*p == 'Z' || *p == 'z') {
		p++;
	} else if (*p == '+' || *p == '-') {
		sign = *p++ == '+' ? 1 : -1;
		if ((oh = parse_digits(&p, 2)) < 0 || *p++ != ':' ||
		    (om = parse_digits(&p, 2)) < 0)
			return -ERR_MALFORMED_REQUEST;
	} else {
		return -ERR_MALFORMED_REQUEST;
	}
	if (*p != '\0')
		return -ERR_MALFORMED_REQUEST;
	if (mo < 1 || mo > 12)
		return -ERR_MALFORMED_REQUEST;
	dim = mdays[mo - 1] + (mo == 2 && is_leap(y));
	/* RFC 3339 5.7: second 60 only for a leap second; timegm carries it
	 * into the next minute, as POSIX time has no leap seconds. */
	if (d < 1 || d > dim || h > 23 || mi > 59 || sec > 60 || oh > 23 ||
	    om > 59)
		return -ERR_MALFORMED_REQUEST;
	tm.tm_year = y - 1900;
	tm.tm_mon = mo - 1;
	tm.tm_mday = d;
	tm.tm_hour = h;
	tm.tm_min = mi;
	tm.tm_sec = sec;
	t = timegm(&tm);
	if (t == (time_t)-1 && !(y == 1969 && mo == 12 && d == 31 && h == 23 &&
				 mi == 59 && sec == 59))
		return -ERR_MALFORMED_REQUEST;
	/* local = UTC + offset, so UTC = local - offset. */
	*out = t - (time_t)sign * (oh * 3600 + om * 60);
	return 0;
}

/* See util.h. */
char *str_printable(const char *s, char *out, size_t n)
{
	size_t i;

	if (n == 0)
		return out;
	for (i = 0; s && s[i] && i + 1 < n; i++)
		if (s[i] >= 0x20 && s[i] <= 0x7e)
			out[i] = s[i];
		else
			out[i] = '?';
	out[i] = '\0';
	return out;
}

/* See util.h. */
int time_parse_filter(const char *s, const char *what, char norm[21],
		      struct errd *e)
{
	time_t t;

	if (time_parse_rfc3339(s, &t) < 0)
		return err_set(e, ERR_MALFORMED_REQUEST,
			       "%s must be an RFC 3339 time "
			       "(2036-11-28T14:00:00Z)",
			       what);
	if (t < 0)
		return err_set(e, ERR_MALFORMED_REQUEST,
			       "%s must be 1970-01-01T00:00:00Z or later "
			       "(no ledger entry is older)",
			       what);
	time_rfc3339(t, norm);
	return 0;
}

/* RFC 5280 5.3.1 CRLReason; accept: whether a revocation may give it. */
static const struct {
	const char *name;
	int code, accept;
} crl_reasons[] = {
    {"unspecified", 0, 1},	  {"keyCompromise", 1, 1},
    {"cACompromise", 2, 1},	  {"affiliationChanged", 3, 1},
    {"superseded", 4, 1},	  {"cessationOfOperation", 5, 1},
    {"certificateHold", 6, 0},	  {"removeFromCRL", 8, 0},
    {"privilegeWithdrawn", 9, 1}, {"aACompromise", 10, 1},
};
#define N_CRL_REASONS (sizeof(crl_reasons) / sizeof(crl_reasons[0]))

int crl_reason_code(const char *name)
{
	size_t i;

	for (i = 0; name && i < N_CRL_REASONS; i++)
		if (strcasecmp(name, crl_reasons[i].name) == 0)
			return crl_reasons[i].code;
	return -1;
}

/* See util.h. */
int revocation_reason(const char *name, const char **canonical, struct errd *e)
{
	size_t i;

	for (i = 0; name && i < N_CRL_REASONS; i++) {
		if (strcasecmp(name, crl_reasons[i].name) != 0)
			continue;
		if (!crl_reasons[i].accept)
			return err_set(
			    e, ERR_MALFORMED_REQUEST,
			    "reason %s is refused: a revocation in the ledger "
			    "is final (certificateHold would promise a "
			    "release), and removeFromCRL belongs to delta "
			    "CRLs (RFC 5280 5.3.1)",
			    crl_reasons[i].name);
		*canonical = crl_reasons[i].name;
		return crl_reasons[i].code;
	}
	return err_set(e, ERR_MALFORMED_REQUEST,
		       "reason must be an RFC 5280 5.3.1 CRLReason: "
		       "unspecified, keyCompromise, cACompromise, "
		       "affiliationChanged, superseded, cessationOfOperation, "
		       "privilegeWithdrawn or aACompromise");
}

/* Reads the open fd (at most max_len bytes) into a new NUL-terminated
 * buffer, starting with a first-byte buffer; path is for messages only. */
static int read_fd(int fd, const char *path, size_t max_len, size_t first,
		   char **out, size_t *len, struct errd *e)
{
	char *buf = NULL, *nb;
	size_t cap = 0, old_cap = 0, n = 0;
	ssize_t r;
	int rc;

	/* Keeps cap * 2 and max_len + 1 from wrapping. */
	if (max_len > SIZE_MAX / 4)
		max_len = SIZE_MAX / 4;
	for (;;) {
		if (n == cap) {
			if (cap > max_len) {
				rc = err_set(e, ERR_IO,
					     "%s: larger than %zu bytes", path,
					     max_len);
				goto out;
			}
			cap = cap == 0 ? first : cap * 2;
			if (cap > max_len + 1)
				cap = max_len + 1;
			/* Not realloc: it may leave a copy of a secret
			 * behind in freed memory. */
			nb = malloc(cap + 1);
			if (nb == NULL) {
				rc = err_set(e, ERR_NOMEM, "%s: out of memory",
					     path);
				goto out;
			}
			if (buf != NULL) {
				memcpy(nb, buf, n);
				OPENSSL_cleanse(buf, old_cap + 1);
				free(buf);
			}
			buf = nb;
			old_cap = cap;
		}
		r = read(fd, buf + n, cap - n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			rc =
			    err_set(e, ERR_IO, "%s: %s", path, strerror(errno));
			goto out;
		}
		if (r == 0)
			break;
		n += (size_t)r;
		if (n > max_len) {
			rc = err_set(e, ERR_IO, "%s: larger than %zu bytes",
				     path, max_len);
			goto out;
		}
	}
	if (buf == NULL && (buf = malloc(1)) == NULL) {
		rc = err_set(e, ERR_NOMEM, "%s: out of memory", path);
		goto out;
	}
	buf[n] = '\0';
	*out = buf;
	buf = NULL;
	if (len != NULL)
		*len = n;
	rc = 0;
out:
	if (buf != NULL) {
		OPENSSL_cleanse(buf, cap + 1);
		free(buf);
	}
	return rc;
}

/* Opens path and reads it; with secret, refuses group/other access. */
static int file_read_common(const char *path, size_t max_len, char **out,
			    size_t *len, int secret, struct errd *e)
{
	struct stat st;
	size_t first;
	int fd, rc;

	*out = NULL;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return err_set(e, ERR_IO, "%s: %s", path, strerror(errno));
	/* fstat the descriptor we read, not the name: no race with a
	 * chmod or rename in between. */
	if (fstat(fd, &st) != 0) {
		rc = err_set(e, ERR_IO, "%s: %s", path, strerror(errno));
		goto out;
	}
	if (S_ISDIR(st.st_mode)) {
		rc = err_set(e, ERR_IO, "%s: is a directory", path);
		goto out;
	}
	if (secret && (st.st_mode & 077) != 0) {
		rc = err_set(e, ERR_CA_INVALID,
			     "%s is readable by group or others (mode %04o); "
			     "run chmod 600 %s",
			     path, (unsigned)(st.st_mode & 07777), path);
		goto out;
	}
	/* Size the buffer from st_size, plus one byte to see EOF (or that
	 * the file grew) without a second allocation. */
	first = S_ISREG(st.st_mode) && st.st_size >= 0 &&
			(uintmax_t)st.st_size < max_len
		    ? (size_t)st.st_size + 1
		    : 4096;
	rc = read_fd(fd, path, max_len, first, out, len, e);
out:
	close(fd);
	return rc;
}

/* Whole file into a malloc'd NUL-terminated buffer (caller frees). */
int buf_reserve(char **p, size_t *cap, size_t need)
{
	size_t c = *cap ? *cap : 1024;
	char *np;

	if (need <= *cap)
		return 0;
	while (c < need) {
		if (c > SIZE_MAX / 2)
			return -ERR_NOMEM;
		c *= 2;
	}
	np = realloc(*p, c);
	if (np == NULL)
		return -ERR_NOMEM;
	*p = np;
	*cap = c;
	return 0;
}

int file_read(const char *path, size_t max_len, char **out, size_t *len,
	      struct errd *e)
{
	return file_read_common(path, max_len, out, len, 0, e);
}

/* As file_read, refusing a file group or others may access; the caller
 * frees the buffer with secret_free. */
int file_read_secret(const char *path, size_t max_len, char **out, size_t *len,
		     struct errd *e)
{
	return file_read_common(path, max_len, out, len, 1, e);
}

/* fsyncs the directory holding path, so a rename or link in it is durable. */
static int fsync_parent(const char *path, struct errd *e)
{
	char *dir = path_dir(path);
	int fd = -1, rc;

	if (dir == NULL) {
		rc = err_set(e, ERR_NOMEM, "out of memory");
		goto out;
	}
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0 || fsync(fd) != 0) {
		rc = err_set(e, ERR_IO, "%s: %s", dir, strerror(errno));
		goto out;
	}
	rc = 0;
out:
	if (fd >= 0)
		close(fd);
	free(dir);
	return rc;
}

/* Writes data to path via path.tmp.XXXXXX in the same directory: write,
 * fchmod, fsync, then rename (or, with excl, link, which fails atomically
 * when path exists), then fsync the directory. On failure the temporary
 * file is removed and path is untouched. */
int file_write(const char *path, const void *data, size_t len, unsigned mode,
	       int excl, struct errd *e)
{
	const char *p = data;
	char *tmp = NULL;
	size_t plen = strlen(path), off = 0;
	ssize_t r;
	int fd = -1, rc, created = 0;

	tmp = malloc(plen + sizeof(".tmp.XXXXXX"));
	if (tmp == NULL) {
		rc = err_set(e, ERR_NOMEM, "out of memory");
		goto out;
	}
	memcpy(tmp, path, plen);
	memcpy(tmp + plen, ".tmp.XXXXXX", sizeof(".tmp.XXXXXX"));
	fd = mkostemp(tmp, O_CLOEXEC);
	if (fd < 0) {
		rc = err_set(e, ERR_IO, "%s: %s", tmp, strerror(errno));
		goto out;
	}
	created = 1;
	if (fchmod(fd, (mode_t)(mode & 07777)) != 0) {
		rc = err_set(e, ERR_IO, "%s: %s", tmp, strerror(errno));
		goto out;
	}
	while (off < len) {
		r = write(fd, p + off, len - off);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			rc = err_set(e, ERR_IO, "%s: %s", tmp, strerror(errno));
			goto out;
		}
		off += (size_t)r;
	}
	if (fsync(fd) != 0) {
		rc = err_set(e, ERR_IO, "%s: %s", tmp, strerror(errno));
		goto out;
	}
	if (close(fd) != 0) {
		fd = -1;
		rc = err_set(e, ERR_IO, "%s: %s", tmp, strerror(errno));
		goto out;
	}
	fd = -1;
	if (excl) {
		if (link(tmp, path) != 0) {
			rc = err_set(
			    e, ERR_IO, "%s: %s%s", path, strerror(errno),
			    errno == EEXIST ? "; refusing to overwrite" : "");
			goto out;
		}
		/* The data now has two names; drop the temporary one. */
		unlink(tmp);
		created = 0;
	} else {
		if (rename(tmp, path) != 0) {
			rc =
			    err_set(e, ERR_IO, "%s: %s", path, strerror(errno));
			goto out;
		}
		created = 0;
	}
	rc = fsync_parent(path, e);
out:
	if (fd >= 0)
		close(fd);
	if (created)
		unlink(tmp);
	free(tmp);
	return rc;
}

/* 1 when the n bytes at a and b are equal; time does not depend on where
 * they differ. */
int ct_equal(const void *a, const void *b, size_t n)
{
	return CRYPTO_memcmp(a, b, n) == 0;
}

/* Zeroes then frees p. */
void secret_free(char *p, size_t len)
{
	if (p == NULL)
		return;
	OPENSSL_cleanse(p, len);
	free(p);
}

/* CLOCK_MONOTONIC in nanoseconds (0 if the clock is unavailable). */
uint64_t now_ns(void)
{
	struct timespec ts;

	if (clock_gettime(CLOCK_MONOTONIC, &ts) != 0)
		return 0;
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* Length of the valid UTF-8 sequence at s[0..n) (RFC 3629: no overlongs,
 * no surrogates, nothing above U+10FFFF), 0 when invalid. */
static size_t utf8_len(const unsigned char *s, size_t n)
{
	unsigned c = s[0];
	size_t len, i;
	unsigned long cp;

	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf)
		len = 2, cp = c & 0x1f;
	else if (c >= 0xe0 && c <= 0xef)
		len = 3, cp = c & 0x0f;
	else if (c >= 0xf0 && c <= 0xf4)
		len = 4, cp = c & 0x07;
	else
		return 0;
	if (len > n)
		return 0;
	for (i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (s[i] & 0x3f);
	}
	if ((len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) ||
	    (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff)
		return 0;
	return len;
}

/* See util.h. */
long utf8_chars(const char *s, size_t len)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t k;
	long n = 0;

	while (len > 0) {
		k = *p ? utf8_len(p, len) : 0;
		if (k == 0)
			return -1;
		p += k;
		len -= k;
		n++;
	}
	return n;
}

/* See util.h. */
const char *json_unknown_key(json_t *obj, const char *const *known)
{
	const char *key;
	json_t *v;
	size_t i;

	json_object_foreach(obj, key, v)
	{
		for (i = 0; known[i] != NULL && strcmp(key, known[i]) != 0; i++)
			;
		if (known[i] == NULL)
			return key;
	}
	return NULL;
}

/* 1 for the bytes json_quote copies as they are: printable ASCII but the
 * quote and the backslash. */
static const unsigned char json_plain[256] = {
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 1, 1, 1,
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
    1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
};

char *json_quote(char *out, const char *s, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0, run, k;
	char c;

	*out++ = '"';
	while (i < n) {
		/* A run of bytes that need no escape goes in one copy: base64
		 * and PEM are most of what passes here (the table: one load
		 * per byte instead of five comparisons, which made this loop
		 * 3% of thingcad's instructions per certificate). */
		for (run = 0; i + run < n && json_plain[p[i + run]]; run++)
			;
		if (run) {
			memcpy(out, p + i, run);
			out += run;
			i += run;
			continue;
		}
		switch (p[i]) {
		case '"':
			c = '"';
			break;
		case '\\':
			c = '\\';
			break;
		case '\b':
			c = 'b';
			break;
		case '\f':
			c = 'f';
			break;
		case '\n':
			c = 'n';
			break;
		case '\r':
			c = 'r';
			break;
		case '\t':
			c = 't';
			break;
		default:
			c = 0;
		}
		if (c) {
			*out++ = '\\';
			*out++ = c;
			i++;
		} else if (p[i] < 0x20 || p[i] == 0x7f) {
			*out++ = '\\';
			*out++ = 'u';
			*out++ = '0';
			*out++ = '0';
			*out++ = hex[p[i] >> 4];
			*out++ = hex[p[i] & 15];
			i++;
		} else {
			k = utf8_len(p + i, n - i);
			if (k == 0)
				return NULL;
			memcpy(out, p + i, k);
			out += k;
			i += k;
		}
	}
	*out++ = '"';
	return out;
}

/* See util.h. */
void path_dir_into(const char *path, char *out, size_t n)
{
	const char *slash = strrchr(path, '/');

	if (!slash)
		snprintf(out, n, ".");
	else
		snprintf(out, n, "%.*s",
			 slash == path ? 1 : (int)(slash - path), path);
}

/* See util.h. */
char *path_dir(const char *path)
{
	size_t n = strlen(path) + 2; /* "." for "", and the NUL */
	char *dir = malloc(n);

	if (dir != NULL)
		path_dir_into(path, dir, n);
	return dir;
}
