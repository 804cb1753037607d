/* Fuzz target (f): the DNS answer parser of the DNS hint cache.  Besides
 * not crashing, a parse that succeeds must keep its promises: a question
 * name of at most DNS_NAME_MAX printable characters, lower case, and
 * 1..DNS_ANSWER_MAX_RECORDS addresses of version 4 or 6. */
#include "dns_answer.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct dns_answer a;
    enum dns_answer_status st = dns_answer_parse(data, size, &a);

    if (st >= DNS_ANSWER_STATUS_COUNT || dns_answer_status_name(st) == NULL)
        abort();
    if (st != DNS_ANSWER_OK)
        return 0;
    size_t n = strnlen(a.qname, sizeof(a.qname));
    if (n > DNS_NAME_MAX || a.n_addresses == 0 || a.n_addresses > DNS_ANSWER_MAX_RECORDS)
        abort();
    for (size_t i = 0; i < n; i++)
        if (a.qname[i] <= ' ' || a.qname[i] > '~' || (a.qname[i] >= 'A' && a.qname[i] <= 'Z'))
            abort();
    for (unsigned i = 0; i < a.n_addresses; i++)
        if (a.addresses[i].ip_version != 4 && a.addresses[i].ip_version != 6)
            abort();
    return 0;
}
