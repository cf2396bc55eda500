#include "core/error.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

int enigma_error_set(enigma_error *err, const char *code, const char *fmt, ...)
{
    va_list ap;

    if (err == NULL)
        return -1;
    snprintf(err->code, sizeof err->code, "%s", code);
    err->detail[0] = err->hint[0] = '\0';
    err->position = 0;
    va_start(ap, fmt);
    vsnprintf(err->message, sizeof err->message, fmt, ap);
    va_end(ap);
    return -1;
}

void enigma_error_append(enigma_error *err, const char *fmt, ...)
{
    va_list ap;
    size_t used;

    if (err == NULL)
        return;
    used = strlen(err->message);
    if (used + 1 >= sizeof err->message)
        return;
    va_start(ap, fmt);
    vsnprintf(err->message + used, sizeof err->message - used, fmt, ap);
    va_end(ap);
}

void enigma_error_clear(enigma_error *err)
{
    if (err != NULL) {
        err->code[0] = '\0';
        err->message[0] = '\0';
        err->detail[0] = err->hint[0] = '\0';
        err->position = 0;
    }
}
