#include "number.h"

#include <errno.h>
#include <stdlib.h>

int parse_unsigned(const char *text, unsigned long min, unsigned long max, unsigned long *out)
{
    char *end;

    /* strtoul would skip spaces and accept a sign ("-1" wraps round). */
    if (text[0] < '0' || text[0] > '9')
        return -1;
    errno = 0;
    unsigned long v = strtoul(text, &end, 10);
    if (errno != 0 || *end != '\0' || v < min || v > max)
        return -1;
    *out = v;
    return 0;
}
