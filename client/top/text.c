/* --batch: the four tables as plain text, bytes exact. */
#include "top.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

int top_print_text(const struct top_state *s, const char *address, const char *end, size_t max_rows)
{
    struct top_row *rows = malloc(max_rows * sizeof(*rows));
    char status[256];

    if (rows == NULL)
        return -1;
    top_status_line(s, status, sizeof(status));
    printf("flowsense-top %s: %s\n%s\n", address, end, status);
    for (int v = 0; v < VIEWS; v++) {
        size_t n = top_rows(s, (enum top_view)v, rows, max_rows);
        printf("\n== %s ==\n%14s %8s  %s\n", top_view_title[v], "BYTES", top_view_count[v],
               v == VIEW_FLOWS ? "PROTOCOL APPLICATION HOST L4 LOCAL > OTHER" : "NAME");
        for (size_t i = 0; i < n; i++)
            printf("%14" PRIu64 " %8" PRIu64 "  %s\n", rows[i].bytes, rows[i].count, rows[i].label);
    }
    free(rows);
    return fflush(stdout) == 0 && !ferror(stdout) ? 0 : -1;
}
