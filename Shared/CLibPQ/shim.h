#ifndef MOVR_CLIBPQ_SHIM_H
#define MOVR_CLIBPQ_SHIM_H
#include <libpq-fe.h>

#if defined(__linux__)
#include <locale.h>
/* glibc declares strtod_l only under _GNU_SOURCE, which Swift's Glibc module is built without.
   MovRPostgres parses float8 text with it in the C locale (PostgresValueText.double). */
extern double strtod_l(const char *restrict nptr, char **restrict endptr, locale_t locale);

#include <spawn.h>
/* Also hidden without _GNU_SOURCE (glibc >= 2.34). Subprocess closes every inherited descriptor
   above stderr in the child: SwiftNIO opens sockets without CLOEXEC, and a child that inherits
   one keeps the connection open after the parent closes it. */
extern int posix_spawn_file_actions_addclosefrom_np(posix_spawn_file_actions_t *actions, int from);

/* Not in Swift's Glibc module: MovRPostgres waits for libpq's sockets with epoll
   (SocketReadiness), woken for shutdown by an eventfd. */
#include <sys/epoll.h>
#include <sys/eventfd.h>
#endif

#endif
