/*
 * t-entry — CSV rows of ledger entries: RFC 4180 quoting, and a field that
 * a spreadsheet would run as a formula (starting with = + - @ TAB or CR,
 * the OWASP list) is prefixed with '.
 */
#include <stdlib.h>
#include <string.h>

#include "entry.h"
#include "tap.h"

/* The CSV row of an issued entry whose client, serial and thing name are s;
 * malloc'd. */
static char *row(const char *s)
{
	struct ledger_entry en = {.seq = 7, .reissue = -1};
	char *buf = NULL;
	size_t sz = 0;
	FILE *f = open_memstream(&buf, &sz);

	en.event = LEDGER_ISSUED;
	en.client = (char *)s;
	en.serial = (char *)s;
	en.thing_name = (char *)s;
	if (!f)
		return NULL;
	if (entry_csv_row(f, &en) < 0) {
		fclose(f);
		free(buf);
		return NULL;
	}
	fclose(f);
	return buf;
}

/* Whether row(s) holds want three times (client, serial, thing name). */
static int has3(const char *r, const char *want)
{
	const char *p = r;
	int n = 0;

	while (p && (p = strstr(p, want)) != NULL) {
		n++;
		p += strlen(want) - 1; /* the comma is shared */
	}
	return n == 3;
}

int main(void)
{
	static const struct {
		const char *in, *want;
	} cases[] = {
	    {"=HYPERLINK(\"http://x\")", ",\"'=HYPERLINK(\"\"http://x\"\")\","},
	    {"+1+2", ",'+1+2,"},
	    {"-2+3", ",'-2+3,"},
	    {"@SUM(A1:A9)", ",'@SUM(A1:A9),"},
	    {"\tcmd", ",'\tcmd,"},
	    {"\rcmd", ",\"'\rcmd\","},
	    {"A-0001", ",A-0001,"},
	    {"a=b", ",a=b,"},
	};
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *r = row(cases[i].in);

		ok(r && has3(r, cases[i].want), "CSV field %zu: %s", i,
		   cases[i].want);
		if (r && !has3(r, cases[i].want))
			diag("got: %s", r);
		free(r);
	}
	return done_testing();
}
