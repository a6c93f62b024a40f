/*
 * fuzz — the libFuzzer targets of thingca (mk/fuzz.mk, `make fuzz`).
 *
 * Each target file tests/fuzz/fz-NAME.c defines fz_NAME_init() and
 * fz_NAME_one() as plain functions, and the two libFuzzer entry points
 * unless FUZZ_REGRESS is defined: tests/unit/t-fuzz-regress.c includes the
 * target files with FUZZ_REGRESS and replays every corpus file through the
 * same functions, so a crash once found stays a unit test under
 * `make check` (and `make check SAN=1`).
 */
#ifndef THINGCA_FUZZ_H
#define THINGCA_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

/* Sets up what every input shares (0, or -1 when the set-up failed). */
int fz_request_init(void);
int fz_config_init(void);
int fz_jitp_init(void);
int fz_csr_der_init(void);

/* Runs one input through the target; always returns 0 (libFuzzer's
 * convention). A bug shows as a sanitizer report or a crash. */
int fz_request_one(const uint8_t *data, size_t size);
int fz_config_one(const uint8_t *data, size_t size);
int fz_jitp_one(const uint8_t *data, size_t size);
int fz_csr_der_one(const uint8_t *data, size_t size);

/* Frees what init made (for the unit test's leak check). */
void fz_request_done(void);
void fz_jitp_done(void);

/* Entry points libFuzzer calls. */
int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Defines the libFuzzer entry points for target NAME. */
#ifdef FUZZ_REGRESS
#define FUZZ_ENTRY(name)
#else
#define FUZZ_ENTRY(name)                                                       \
	int LLVMFuzzerInitialize(int *argc, char ***argv)                      \
	{                                                                      \
		(void)argc;                                                    \
		(void)argv;                                                    \
		if (fz_##name##_init() < 0)                                    \
			abort();                                               \
		return 0;                                                      \
	}                                                                      \
	int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)          \
	{                                                                      \
		return fz_##name##_one(data, size);                            \
	}
#endif

#endif
