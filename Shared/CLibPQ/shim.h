#ifndef MOVR_CLIBPQ_SHIM_H
#define MOVR_CLIBPQ_SHIM_H
#include <libpq-fe.h>
#endif
