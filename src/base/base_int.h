/* Shared between the files of src/base only. */
#ifndef LL_BASE_INT_H
#define LL_BASE_INT_H

#include "base.h"

#include <jansson.h>

/* The fast path of base_json_parse: a direct scan of the common shapes of JSON (what our own
 * serializer writes into the database). Returns NULL, without an error, for anything it does not
 * handle or that is not valid JSON; the caller then asks jansson, so results (and error messages)
 * are always exactly jansson's. */
json_t *base_json_parse_fast(const char *text, size_t len);

/* A terminal progress bar tells the logger whether stderr's current line holds its unfinished
 * bar, so that a log line first erases it instead of being glued to its end (the bar comes back
 * on the line below at its next redraw). */
void base_log_bar_line(int open);

#endif
