/* What stream clients send: at most one command line, a subscription
 * (see subscription.h), before anything else.  Every byte is hostile:
 * a refused command gets one error record, then the client is closed;
 * nothing a client sends blocks the broker or grows its memory past
 * CLIENT_COMMAND_MAX per client. */
#include "broker.h"

#include "log.h"
#include "subscription.h"

#include <stdlib.h>
#include <string.h>

#define READ_CHUNK 4096
#define READS_PER_WAKEUP 4 /* a command is refused past 4 KiB anyway */

static void refuse(struct broker *b, struct client *c, const char *message)
{
    b->clients.rejected_commands++;
    if (log_budget_allow(&b->client_log))
        log_warnx("client %llu (fd %d): command refused: %s", (unsigned long long)c->id, c->fd,
                  message);
    broker_send_error(b, c, message);
    client_refuse(&b->clients, c);
}

static void take_command(struct broker *b, struct client *c)
{
    char err[256];
    size_t len = c->command_len;

    c->commanded = true;
    c->command_started_ms = 0;
    if (len > 0 && c->command[len - 1] == '\r')
        len--;
    if (len == 0) {
        refuse(b, c, "empty command line (expected {\"subscribe\":{...}})");
        return;
    }
    struct subscription *sub = malloc(sizeof(*sub));
    if (sub == NULL) {
        refuse(b, c, "out of memory");
        return;
    }
    if (subscription_parse(c->command, len, sub, err, sizeof(err)) != 0) {
        free(sub);
        refuse(b, c, err);
        return;
    }
    free(c->command);
    c->command = NULL;
    c->command_len = 0;
    c->sub = sub;
    b->clients.subscribed++;
    log_debug("client %llu (fd %d) subscribed", (unsigned long long)c->id, c->fd);
}

/* A byte no JSON text holds outside a string, and none inside one. */
static bool is_binary(unsigned char ch)
{
    return (ch < 0x20 && ch != '\t' && ch != '\r' && ch != '\n') || ch == 0x7f;
}

/* Returns 0 while the client may go on sending, -1 once refused. */
static int take_bytes(struct broker *b, struct client *c, const char *p, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)p[i];
        if (c->commanded) {
            refuse(b, c, "only one command line is accepted, before anything else");
            return -1;
        }
        if (ch == '\n') {
            take_command(b, c);
            if (c->closing || c->fd < 0)
                return -1;
            continue;
        }
        if (is_binary(ch)) {
            refuse(b, c, "binary data where a JSON command line was expected");
            return -1;
        }
        if (c->command == NULL && (c->command = malloc(CLIENT_COMMAND_MAX)) == NULL) {
            refuse(b, c, "out of memory");
            return -1;
        }
        if (c->command_len == CLIENT_COMMAND_MAX) {
            refuse(b, c, "command line longer than 4096 bytes");
            return -1;
        }
        if (c->command_len == 0)
            c->command_started_ms = client_clock_ms();
        c->command[c->command_len++] = (char)ch;
    }
    return 0;
}

void broker_client_input(struct broker *b, struct client *c)
{
    char buf[READ_CHUNK];

    for (int i = 0; i < READS_PER_WAKEUP && client_takes_records(c); i++) {
        bool eof;
        ssize_t n = client_recv(c, buf, sizeof(buf), &eof);
        if (n == 0)
            return;
        if (n < 0) {
            /* Half-closing after a subscription is fine: it still reads. */
            if (eof && c->sub != NULL) {
                c->input_closed = true;
                return;
            }
            client_close(&b->clients, c, eof ? "peer closed" : "read failed");
            return;
        }
        if (take_bytes(b, c, buf, (size_t)n) != 0)
            return;
    }
}

bool broker_commands_pending(const struct broker *b)
{
    for (unsigned i = 0; i < CLIENT_MAX; i++) {
        const struct client *c = &b->clients.slot[i];
        if (client_takes_records(c) && c->command_started_ms != 0)
            return true;
    }
    return false;
}

void broker_expire_commands(struct broker *b)
{
    int64_t now = client_clock_ms();

    for (unsigned i = 0; i < CLIENT_MAX; i++) {
        struct client *c = &b->clients.slot[i];
        if (!client_takes_records(c) || c->command_started_ms == 0 ||
            now - c->command_started_ms < CLIENT_COMMAND_MS)
            continue;
        b->clients.command_timeouts++;
        refuse(b, c, "command line not completed within 5 s");
    }
}
