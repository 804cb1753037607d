#include "top.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SLOTS (2 * TOP_TALLY_MAX) /* a power of two, half full at most */
#define OTHER "(other)"

int tally_init(struct tally *t)
{
    *t = (struct tally){ 0 };
    t->entries = calloc(TOP_TALLY_MAX + 1, sizeof(*t->entries)); /* + 1: "(other)" */
    t->slots = calloc(SLOTS, sizeof(*t->slots));
    if (t->entries == NULL || t->slots == NULL) {
        tally_destroy(t);
        return -1;
    }
    snprintf(t->entries[TOP_TALLY_MAX].name, TOP_LABEL, "%s", OTHER);
    return 0;
}

void tally_destroy(struct tally *t)
{
    free(t->entries);
    free(t->slots);
    *t = (struct tally){ 0 };
}

static uint32_t hash(const char *s)
{
    uint32_t h = 2166136261u; /* FNV-1a */
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 16777619u;
    return h;
}

uint32_t tally_find(struct tally *t, const char *name)
{
    char cut[TOP_LABEL];

    snprintf(cut, sizeof(cut), "%s", name);
    uint32_t i = hash(cut) & (SLOTS - 1);
    for (; t->slots[i] != 0; i = (i + 1) & (SLOTS - 1)) {
        if (strcmp(t->entries[t->slots[i] - 1].name, cut) == 0)
            return t->slots[i] - 1;
    }
    if (t->n == TOP_TALLY_MAX) /* full: the names after that share one row */
        return TOP_TALLY_MAX;
    memcpy(t->entries[t->n].name, cut, sizeof(cut));
    t->slots[i] = ++t->n;
    return t->n - 1;
}
