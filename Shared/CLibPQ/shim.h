#ifndef MOVR_CLIBPQ_SHIM_H
#define MOVR_CLIBPQ_SHIM_H
#include <libpq-fe.h>

#if defined(__linux__)
#include <locale.h>
/* glibc declares strtod_l only under _GNU_SOURCE, which Swift's Glibc module is built without.
   MovRPostgres parses float8 text with it in the C locale (PostgresValueText.double). */
extern double strtod_l(const char *restrict nptr, char **restrict endptr, locale_t locale);
#endif

#endif
