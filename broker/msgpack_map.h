/* Reading msgpack maps the broker did not build: keys are compared as
 * strings, anything else never matches. */
#ifndef FLOWSENSE_BROKER_MSGPACK_MAP_H
#define FLOWSENSE_BROKER_MSGPACK_MAP_H

#include <msgpack.h>
#include <stdbool.h>
#include <string.h>

static inline bool mp_str_is(const msgpack_object *o, const char *s, size_t len)
{
    return o->type == MSGPACK_OBJECT_STR && o->via.str.size == len &&
           memcmp(o->via.str.ptr, s, len) == 0;
}

static inline bool mp_key_is(const msgpack_object *key, const char *s)
{
    return mp_str_is(key, s, strlen(s));
}

/* The value of the first key equal to the len bytes at key, or NULL (no
 * such key, or map is not a map). */
static inline const msgpack_object *mp_map_get_n(const msgpack_object *map, const char *key,
                                                 size_t len)
{
    if (map->type != MSGPACK_OBJECT_MAP)
        return NULL;
    for (uint32_t i = 0; i < map->via.map.size; i++)
        if (mp_str_is(&map->via.map.ptr[i].key, key, len))
            return &map->via.map.ptr[i].val;
    return NULL;
}

static inline const msgpack_object *mp_map_get(const msgpack_object *map, const char *key)
{
    return mp_map_get_n(map, key, strlen(key));
}

#endif
