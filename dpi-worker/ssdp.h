/* The header lines of an SSDP message (UPnP device architecture 1.x:
 * HTTP/1.1-style requests and responses over UDP) that flow records show.
 * nDPI 4.2 recognises SSDP but keeps none of its headers. */
#ifndef FLOWSENSE_WORKER_SSDP_H
#define FLOWSENSE_WORKER_SSDP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Copies the values of the USER-AGENT and SERVER header lines of the
 * message in payload (names case-insensitive, value without surrounding
 * blanks, cut to cap - 1 bytes) into user_agent and server ("" when
 * absent).  Returns false when payload holds no CRLF-ended start line. */
bool ssdp_headers(const uint8_t *payload, size_t len, char *user_agent, char *server,
                  size_t cap);

#endif
